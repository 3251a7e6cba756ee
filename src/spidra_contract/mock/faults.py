"""The mock's faults and variants as objects: each bends the reference answer at named points, and the reference
(`app.py`) calls every point whatever is on, so it reads as the spec says and each departure lives in one place.

The points, in the order a request meets them (pytest-httpserver composes its answers from hooks the same way):

- `route` / `pace`: the route the app sees, and how fast (or whether: a 429, a 503) it answers;
- `answer_first`: an answer before the reference's checks (a preflight, a cached reply...);
- `trailing_slash` / `spell`: the id the handler goes on with;
- `channel` / `account` / `account_without_key` / `accepts` / `opens` / `refusal_status` / `unauthenticated`:
  authentication (where a key is read, which key is taken for which account, who is let past the check);
- `crosses` / `stranger`: another account's key on a job, and its refusal;
- `lookup` / `unknown` / `crash`: finding the job, answering an id that names none, failing on an id;
- `job_read`: the facts of one read of a job (status, progress, result, error) before they become a body;
- `page`: one result item; `job_body`: the 200 body as a whole;
- `message` / `error_body` / `error_page`: a refusal's ErrorResponse;
- `shape` / `encoded`: any JSON reply on its way out, before and after it is written as text;
- `served`: after a 200 to the job's owner (a session cookie, a cache entry); `root`: GET /api/.

A fault is chosen per app instance (`make_state(switches)`), or per request (`X-Mock-Switch`, where the app was
made with `per_request=True`), so one process can serve the reference and any fault side by side. The transport and
wire faults (`transport_fault` in `app.py`, `wire.py`) bend the bytes of an answer, which the ASGI app does not
write: they are chosen per app instance only.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from spidra_contract.mock.jobs import ACCOUNTS, ZERO_PAGES_JOB, Job

TRACEBACK = (
    'Traceback (most recent call last):\n  File "/srv/spidra/api/jobs.py", line 88, in get_job\n'
    "    row = db.fetch_one(query)\nKeyError: 'job'"
)
HUGE_DIGITS = 5000


@dataclass
class JobRead:
    """One read of a job as the reference found it, before it becomes a body: what `job_read` hooks bend."""

    job: Job
    read_number: int
    actual_status: str  # what the job's clock says (body rewrites that apply to one status read this)
    status: str
    crawled: int
    error: str | None
    message: str
    max_pages: int
    pages: list[dict[str, Any]]
    result: list[Any] | None = None


@dataclass
class Outgoing:
    """A JSON reply on its way out: `shape` hooks bend its body, headers and form before it is written,
    `encoded` hooks its text and media type after."""

    status: int
    body: Any
    headers: dict[str, str]
    media_type: str = "application/json"
    ascii_only: bool = False
    indent: int | None = None
    text: str = ""

    @property
    def job_progress(self) -> dict[str, Any] | None:
        """A 200 job's progress object (None for any other reply)."""
        progress = self.body.get("progress") if isinstance(self.body, dict) else None
        return progress if self.status == 200 and isinstance(progress, dict) else None


@dataclass
class Ask:
    """One request to GET /crawl/{jobId} as the reference handles it: what the hooks that bend who is let in, to
    which job, may look at and answer with."""

    request: Request
    job_id: str  # as the route captured it
    find: Callable[[str], Job | None]  # the lookup, lookup faults included
    write: Callable[[int, Any], Response]  # a JSON reply, through the faults on
    refuse: Callable[..., Response]  # an ErrorResponse (status, message, headers), through the faults on
    render: Callable[[Job], Any]  # a job's body now (a read not counted)
    account: Callable[[], str | None]  # the account the request's key belongs to
    cache: dict[str, tuple[float, Any]]  # the app's response cache (a cache fault's)


class Fault:
    """A departure from the reference at one or more points; every hook leaves the answer as it is."""

    name: ClassVar[str] = ""
    # routing: /crawl/{id}/ is served as /crawl/{id}
    trailing_slash: ClassVar[bool] = False

    # routing and pacing, before the app (the Instrument middleware)
    def route(self, scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        """Another scope for the app to route (None: as sent)."""
        return None

    async def pace(self, number: int, concurrent: int, refuse: Callable[..., Response]) -> Response | None:
        """Wait before the answer, or answer instead of the app (a 429, a 503)."""
        return None

    def edge(self, scope: dict[str, Any], headers: dict[str, str]) -> Response | None:
        """An answer from a layer in front of the app (an edge's own page), before it sees the request."""
        return None

    def root(self) -> Any | None:
        """A body for GET /api/ (None: no such route)."""
        return None

    # who is let in
    def channel(self, request: Request) -> tuple[str, str] | None:
        """A key this request presents in a channel the reference does not read, and the channel's name."""
        return None

    def account_without_key(self, request: Request) -> str | None:
        return None

    def answer_first(self, ask: Ask) -> Response | None:
        """An answer before the reference's method, key and lookup (a preflight, a cached reply...)."""
        return None

    def spell(self, job_id: str, ask: Ask) -> str | None:
        """Another spelling of the id the handler goes on with (None: as routed)."""
        return None

    def opens(self, ask: Ask, trailing: bool) -> bool:
        """The request is let past the key check to the job's owner."""
        return False

    def crosses(self, ask: Ask, channel: str) -> bool:
        """A stranger's key is let read another account's job."""
        return False

    def unauthenticated(self, ask: Ask) -> Response | None:
        """The answer to a request no account's key came with (None: 403 ErrorResponse)."""
        return None

    def stranger(self, ask: Ask, job: Job) -> Response | None:
        """The answer to another account's key (None: 404 ErrorResponse)."""
        return None

    def served(self, ask: Ask, response: Response, account: str, body: Any) -> None:
        """After a 200 to the job's owner."""

    # authentication
    def accepts(self, key: str, known: str, channel: str) -> bool:
        """Whether `key`, which is not `known`, is taken for it all the same."""
        return False

    def account(self, key: str | None) -> str | None:
        """An account the request speaks for whatever key it presents (None: as the reference decides)."""
        return None

    def refusal_status(self, status: int) -> int:
        return status

    # lookup
    def lookup(self, job_id: str, find: Callable[[str], Job | None]) -> Job | None:
        """A job found for an id the reference finds none for."""
        return None

    def unknown(self, ask: Ask) -> Response | None:
        """The answer to an id that names no job (None: the reference's 404)."""
        return None

    def crash(self, job_id: str, outgoing: Callable[[int, Any], Response]) -> Response | None:
        """A failure on this id before the lookup (None: no failure)."""
        return None

    # a job's body
    def job_read(self, read: JobRead) -> None:
        pass

    def page(self, item: Any, depth: int) -> Any:
        return item

    def job_body(self, body: Any, read: JobRead) -> Any:
        return body

    # refusals
    def message(self, status: int, message: str) -> str:
        return message

    def error_body(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        return body

    def error_page(self, status: int, message: str) -> Response | None:
        return None

    # any JSON reply
    def shape(self, out: Outgoing) -> None:
        pass

    def encoded(self, out: Outgoing) -> None:
        pass


REGISTRY: dict[str, Fault] = {}


def registered(cls: type[Fault]) -> type[Fault]:
    """Register one instance of a fault class under its name (the catalogue's switch name)."""
    if cls.name in REGISTRY:
        raise ValueError(f"fault {cls.name} is registered twice")
    REGISTRY[cls.name] = cls()
    return cls


@dataclass(frozen=True)
class Chain:
    """The faults on for one answer, in the registry's order (a fixed order, whatever order they were asked in)."""

    faults: tuple[Fault, ...] = field(default=())

    @classmethod
    def of(cls, names: Iterable[str]) -> Chain:
        wanted = set(names)
        return cls(tuple(fault for name, fault in REGISTRY.items() if name in wanted))

    def __iter__(self) -> Iterator[Fault]:
        return iter(self.faults)

    def __add__(self, other: Chain) -> Chain:
        names = {fault.name for fault in (*self.faults, *other.faults)}
        return Chain.of(names)

    def first(self, ask: Callable[[Fault], Any]) -> Any:
        """The first hook's answer that is not None."""
        for fault in self.faults:
            answer = ask(fault)
            if answer is not None:
                return answer
        return None


# --- authentication -------------------------------------------------------------------------------------


@registered
class NoAuth(Fault):
    name = "no-auth"

    def account(self, key: str | None) -> str | None:
        return "alpha"


@registered
class EmptyKeyAccepted(Fault):
    name = "empty-key-accepted"

    def account(self, key: str | None) -> str | None:
        return "alpha" if key == "" else None


@registered
class KeyCaseInsensitive(Fault):
    name = "key-case-insensitive"

    def accepts(self, key: str, known: str, channel: str) -> bool:
        return key.lower() == known.lower()


@registered
class KeyPrefix(Fault):
    name = "key-prefix"

    def accepts(self, key: str, known: str, channel: str) -> bool:
        return bool(key) and (known.startswith(key) or key.startswith(known))


@registered
class BearerNearMiss(Fault):
    name = "bearer-near-miss"

    def accepts(self, key: str, known: str, channel: str) -> bool:
        # compares all but the last character
        return channel == "bearer" and len(key) >= len(known) - 1 > 0 and key[: len(known) - 1] == known[:-1]


@registered
class Auth401(Fault):
    name = "auth-401"

    def refusal_status(self, status: int) -> int:
        return 401 if status == 403 else status


# --- lookup -----------------------------------------------------------------------------------------------


@registered
class TraversalReadsJob(Fault):
    name = "traversal-reads-job"

    def lookup(self, job_id: str, find: Callable[[str], Job | None]) -> Job | None:
        import posixpath

        if "/" in job_id or "\\" in job_id:
            return find(posixpath.basename(posixpath.normpath(job_id.replace("\\", "/"))))
        return None


@registered
class Unknown500(Fault):
    name = "unknown-500"

    def unknown(self, ask: Ask) -> Response | None:
        return Response("Internal Server Error", status_code=500, media_type="text/plain")


@registered
class Unknown200(Fault):
    name = "unknown-200"

    def unknown(self, ask: Ask) -> Response | None:
        empty = {"status": "waiting", "progress": {"message": "", "pagesCrawled": 0, "maxPages": 0}}
        return ask.write(200, empty | {"result": None, "error": None})


@registered
class LongId500(Fault):
    name = "long-id-500"

    def crash(self, job_id: str, outgoing: Callable[[int, Any], Response]) -> Response | None:
        if len(job_id) > 1024:
            return Response("upstream header too large", status_code=500, media_type="text/plain")
        return None


@registered
class Injection500(Fault):
    name = "injection-500"

    def crash(self, job_id: str, outgoing: Callable[[int, Any], Response]) -> Response | None:
        if any(ch in job_id for ch in "'\";$"):
            head = job_id[:20]
            message = f"syntax error at or near \"{head}\": SELECT * FROM jobs WHERE id = '{head}'"
            return outgoing(500, {"status": "error", "message": message})
        return None


# --- one read of a job ------------------------------------------------------------------------------------


@registered
class ZeroPages(Fault):
    name = "zero-pages"

    def job_read(self, read: JobRead) -> None:
        if read.actual_status == "completed" and read.job.id == ZERO_PAGES_JOB:
            read.pages, read.crawled, read.result = [], 0, []


@registered
class NonAscii(Fault):
    name = "non-ascii"

    def job_read(self, read: JobRead) -> None:
        read.message = f"{read.message} · en cours ✓"

    def page(self, item: Any, depth: int) -> Any:
        item["title"] = f"{item['title']} · Ñandú 北京 ✓"
        return item

    def message(self, status: int, message: str) -> str:
        return f"{message} — ¿qué pasó? ジョブ"


@registered
class StatusRegresses(Fault):
    name = "status-regresses"

    def job_read(self, read: JobRead) -> None:
        if read.status == "completed" and read.read_number % 3 == 2:
            read.status, read.result = "active", None


@registered
class ProgressDrops(Fault):
    name = "progress-drops"

    def job_read(self, read: JobRead) -> None:
        if read.status == "active" and read.read_number % 2 == 1 and read.crawled:
            read.crawled = max(0, read.crawled - 1)


@registered
class MaxPagesChanges(Fault):
    name = "max-pages-changes"

    def job_read(self, read: JobRead) -> None:
        if read.status == "active":
            read.max_pages += read.read_number


@registered
class ResultUnstable(Fault):
    name = "result-unstable"

    def job_read(self, read: JobRead) -> None:
        if read.status == "completed" and read.result and read.read_number % 2 == 1:
            read.result = list(reversed(read.result))[:-1] if len(read.result) > 1 else []


LATE_READ = 12  # the read of a job from which the `*-late` faults bend it (past the watch's few re-reads)


@registered
class ResultShrinksLate(Fault):
    """A finished crawl's result loses its last item from the twelfth read on: a watch that re-reads a finished
    job three times never sees it; one timeline of every read of the job, from every layer, does."""

    name = "result-shrinks-late"

    def job_read(self, read: JobRead) -> None:
        if read.status == "completed" and read.result and read.read_number >= LATE_READ:
            read.result = read.result[:-1]


@registered
class StatusOutsideEnum(Fault):
    name = "status-outside-enum"

    def job_read(self, read: JobRead) -> None:
        if read.status == "active":
            read.status = "running"


# --- result items -----------------------------------------------------------------------------------------


@registered
class SparseItems(Fault):
    name = "sparse-items"

    def page(self, item: Any, depth: int) -> Any:
        item.pop("title", None)
        item.pop("data", None)
        return item


# --- what a reply carries --------------------------------------------------------------------------------


@registered
class JobCarriesKey(Fault):
    name = "job-carries-key"

    def job_body(self, body: Any, read: JobRead) -> Any:
        key = next(key for key, account in ACCOUNTS.items() if account == read.job.account)
        body["owner"] = {"account": read.job.account, "apiKey": key}  # the owner's record, key and all
        return body


def _is_job(out: Outgoing) -> bool:
    return out.status == 200 and isinstance(out.body, dict) and "progress" in out.body


@registered
class CachePublic(Fault):
    name = "cache-public"

    def shape(self, out: Outgoing) -> None:
        if _is_job(out):
            out.headers["Cache-Control"] = "public, max-age=60"


@registered
class CachePrivate(Fault):
    name = "cache-private"

    def shape(self, out: Outgoing) -> None:
        if _is_job(out):
            out.headers["Cache-Control"] = "private, max-age=60"
            out.headers["ETag"] = '"v1"'


@registered
class CacheVaryKey(Fault):
    name = "cache-vary-key"

    def shape(self, out: Outgoing) -> None:
        if _is_job(out):
            out.headers["Cache-Control"] = "public, max-age=60"
            out.headers["Vary"] = "x-api-key, Accept-Encoding"


@registered
class CrlfEcho(Fault):
    name = "crlf-echo"

    def edge(self, scope: dict[str, Any], headers: dict[str, str]) -> Response | None:
        """The id echoed into a header as a server that writes raw bytes would: each CR LF in it starts a field."""
        path = scope.get("path", "")
        if "/crawl/" not in path or ("\r" not in path and "\n" not in path):
            return None
        first, *rest = re.split(r"\r?\n|\r", path.split("/crawl/", 1)[1])
        fields = {"X-Job-Id": _header_text(first)}
        for line in rest:
            name, colon, value = line.partition(":")
            if colon and re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name.strip()):
                fields[name.strip()] = _header_text(value.strip())
        body = json.dumps({"status": "error", "message": NOT_FOUND})
        return Response(body, status_code=404, headers=fields, media_type="application/json")


def _header_text(text: str) -> str:
    """What a field value can hold (no control octets; Latin-1)."""
    kept = "".join(char for char in text if char >= " " and char != "\x7f")
    return kept.encode("latin-1", "replace").decode("latin-1")


@registered
class Head404(Fault):
    name = "head-404"

    def answer_first(self, ask: Ask) -> Response | None:
        if ask.request.method == "HEAD" and ask.account() is not None:
            return ask.refuse(404, NOT_FOUND)  # HEAD says no such job where GET reads it
        return None


@registered
class ExtraFields(Fault):
    name = "extra-fields"

    def page(self, item: Any, depth: int) -> Any:
        return item | {
            "depth": depth,
            "parent_url": None if depth == 0 else "https://example.com/",
            "markdown": f"https://files.mock.invalid/{depth}.md?sig=abc",
        }

    def job_body(self, body: Any, read: JobRead) -> Any:
        body["progress"]["startedAt"] = "2025-01-01T10:00:00Z"
        body |= {"jobId": read.job.id, "createdAt": "2025-01-01T09:59:58Z"}
        if read.status == "completed":
            body |= {"total_pages": len(read.pages), "result_truncated": False}
        return body

    def error_body(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        code = {403: "FORBIDDEN", 404: "JOB_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "ERROR")
        return body | {"code": code}


@registered
class ResultUrlNumber(Fault):
    name = "result-url-number"

    def page(self, item: Any, depth: int) -> Any:
        item["url"] = 1000 + depth
        return item


@registered
class ResultDataString(Fault):
    name = "result-data-string"

    def page(self, item: Any, depth: int) -> Any:
        if "data" in item:
            item["data"] = f"# {item.get('title', '')}\n\nMarkdown body."
        return item


@registered
class ResultTitleNull(Fault):
    name = "result-title-null"

    def page(self, item: Any, depth: int) -> Any:
        item["title"] = None
        return item


@registered
class ResultItemString(Fault):
    name = "result-item-string"

    def page(self, item: Any, depth: int) -> Any:
        return item["url"]


# --- the 200 body -----------------------------------------------------------------------------------------


def _body_rewrite(name: str, status: str | None, rewrite: Callable[[dict[str, Any]], None]) -> None:
    """A fault that rewrites a rendered job's body, for jobs in `status` (None: every job)."""

    class Rewrite(Fault):
        def job_body(self, body: Any, read: JobRead) -> Any:
            if status in (None, read.actual_status):
                rewrite(body)
            return body

    Rewrite.name = name
    Rewrite.__qualname__ = Rewrite.__name__ = "".join(part.title() for part in name.split("-"))
    registered(Rewrite)


def _progress(body: dict[str, Any]) -> dict[str, Any]:
    progress: dict[str, Any] = body["progress"]
    return progress


_body_rewrite("status-uppercase", None, lambda b: b.update(status=b["status"].upper()))
_body_rewrite(
    "progress-not-object",
    None,
    lambda b: b.update(progress=f"{_progress(b)['pagesCrawled']}/{_progress(b)['maxPages']}"),
)
_body_rewrite(
    "pages-crawled-string", None, lambda b: _progress(b).update(pagesCrawled=str(_progress(b)["pagesCrawled"]))
)
_body_rewrite("negative-pages", "waiting", lambda b: _progress(b).update(pagesCrawled=-1))
_body_rewrite("pages-exceed-max", "completed", lambda b: _progress(b).update(pagesCrawled=_progress(b)["maxPages"] + 1))
_body_rewrite("max-pages-float", None, lambda b: _progress(b).update(maxPages=_progress(b)["maxPages"] + 0.5))
_body_rewrite(
    "result-object", "completed", lambda b: b.update(result={str(i): item for i, item in enumerate(b["result"] or [])})
)
_body_rewrite("error-number", "failed", lambda b: b.update(error=503))
_body_rewrite("error-object", "failed", lambda b: b.update(error={"code": "DNS", "message": b["error"]}))
_body_rewrite("completed-with-error", "completed", lambda b: b.update(error="Some pages timed out"))
_body_rewrite("completed-null-result", "completed", lambda b: b.update(result=None))
_body_rewrite("failed-without-error", "failed", lambda b: b.update(error=None))
_body_rewrite("failed-empty-error", "failed", lambda b: b.update(error=""))
_body_rewrite(
    "waiting-with-results",
    "waiting",
    lambda b: b.update(result=[{"url": "https://example.com/", "title": "Home", "status": "success", "data": {}}]),
)


@registered
class OmitNulls(Fault):
    name = "omit-nulls"

    def job_body(self, body: Any, read: JobRead) -> Any:
        body = {key: value for key, value in body.items() if value is not None}
        body.get("progress", {}).pop("message", None)
        return body


@registered
class BodyArray(Fault):
    name = "body-array"

    def job_body(self, body: Any, read: JobRead) -> Any:
        return [body]


# --- refusals ---------------------------------------------------------------------------------------------


@registered
class OtherMessages(Fault):
    name = "other-messages"

    def message(self, status: int, message: str) -> str:
        return {403: "Forbidden.", 404: "No such crawl."}.get(status, "Request rejected.")


@registered
class StackTrace404(Fault):
    name = "stack-trace-404"

    def message(self, status: int, message: str) -> str:
        return f"{message}\n{TRACEBACK}" if status == 404 else message


@registered
class Html404(Fault):
    name = "html-404"

    def error_page(self, status: int, message: str) -> Response | None:
        if status == 404:
            return HTMLResponse(f"<html><body><h1>404</h1><p>{message}</p></body></html>", status_code=404)
        return None


@registered
class ErrorStatusFail(Fault):
    name = "error-status-fail"

    def error_body(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        return body | {"status": "fail"}


@registered
class ErrorMissingMessage(Fault):
    name = "error-missing-message"

    def error_body(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        return {key: value for key, value in body.items() if key != "message"}


@registered
class ErrorEmptyMessage(Fault):
    name = "error-empty-message"

    def error_body(self, status: int, body: dict[str, Any]) -> dict[str, Any]:
        return body | {"message": ""} if "message" in body else body


# --- any JSON reply on its way out --------------------------------------------------------------------------


@registered
class LoneSurrogate(Fault):
    name = "lone-surrogate"

    def shape(self, out: Outgoing) -> None:
        progress = out.job_progress
        if progress is not None:
            out.body = {**out.body, "progress": {**progress, "message": f"{progress.get('message') or ''} \ud800"}}
        out.ascii_only = True  # a lone surrogate has no UTF-8 form: it travels as a \\u escape


@registered
class SurrogateStatus(Fault):
    name = "surrogate-status"

    def shape(self, out: Outgoing) -> None:
        if out.job_progress is not None:
            out.body = {**out.body, "status": "completed\udc00"}
        out.ascii_only = True


@registered
class Noisy(Fault):
    name = "noisy"

    def shape(self, out: Outgoing) -> None:
        # What differs between two reads of one deployment: key order, request ids.
        out.body = _shuffled(out.body)
        out.headers["X-Request-Id"] = str(uuid.uuid4())


@registered
class Pretty(Fault):
    name = "pretty"

    def shape(self, out: Outgoing) -> None:
        if isinstance(out.body, dict):
            out.body = dict(reversed(list(out.body.items())))
            out.indent = 2


@registered
class HugeInts(Fault):
    name = "huge-ints"

    def encoded(self, out: Outgoing) -> None:
        if out.job_progress is not None:
            # Written as digits: Python itself will not turn 5,000 digits into text (nor text into an int).
            out.text = re.sub(r'"maxPages":\d+', f'"maxPages":1{"0" * HUGE_DIGITS}', out.text)


@registered
class Charset(Fault):
    name = "charset"

    def encoded(self, out: Outgoing) -> None:
        out.media_type = "application/json; charset=utf-8"


@registered
class TextPlain(Fault):
    name = "text-plain"

    def encoded(self, out: Outgoing) -> None:
        if out.status == 200:
            out.media_type = "text/plain"


@registered
class InvalidJson(Fault):
    name = "invalid-json"

    def encoded(self, out: Outgoing) -> None:
        if out.status == 200:
            out.text = out.text[: max(1, len(out.text) // 2)]


# The noisy variant's own generator: the process-wide `random` is hypothesis' to watch (it flags a strategy whose
# draw changes it, and the mock answers from another thread while the suite draws).
_NOISE = random.Random()


def _shuffled(node: Any) -> Any:
    if isinstance(node, dict):
        items = [(key, _shuffled(value)) for key, value in node.items()]
        _NOISE.shuffle(items)
        return dict(items)
    if isinstance(node, list):
        return [_shuffled(item) for item in node]
    return node


def write(chain: Chain, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON reply as the reference writes it (compact UTF-8 JSON, application/json), bent by `chain`."""
    out = Outgoing(status, body, dict(headers or {}))
    for fault in chain:
        fault.shape(out)
    separators = None if out.indent else (",", ":")
    out.text = json.dumps(out.body, ensure_ascii=out.ascii_only, indent=out.indent, separators=separators)
    for fault in chain:
        fault.encoded(out)
    return Response(out.text.encode("utf-8"), status_code=status, headers=out.headers, media_type=out.media_type)


# --- who is let in: key channels, doors, ownership, refusals ---------------------------------------------------
# (The door faults each leave one way in unlocked; the variants route, take keys or refuse in ways the contract
# allows. The suite's door catalogue, `spidra_contract.clauses.doors`, cites where each way comes from.)

NOT_FOUND = "Crawl job not found"
NOT_AUTHORIZED = "Not authorized: missing or invalid API key"
OTHER_ACCOUNT = "This job belongs to another account"
# Client-IP headers a misconfigured proxy chain trusts (the `localhost-skips-auth` fault).
CLIENT_IP_HEADERS = ("x-forwarded-for", "x-real-ip", "x-client-ip", "true-client-ip", "x-originating-ip")
METHOD_OVERRIDES = ("x-http-method-override", "x-http-method", "x-method-override")
REWRITE_HEADERS = ("x-original-url", "x-rewrite-url")
# The `session-cookie` variant: a 200 sets a session cookie that later stands for the key (a client that keeps
# cookies would then read as that account without a key; the suite keeps none).
SESSION_COOKIE = "spidra_session"
# The `key-blind-cache` fault: a 200 is served again to anyone who asks for the same path within this long.
CACHE_SECONDS = 2.0
REWRITTEN = "spidra_rewritten"  # the scope key the original-url fault marks a rewritten request with


@registered
class QueryKey(Fault):
    name = "query-key"

    def channel(self, request: Request) -> tuple[str, str] | None:
        key = request.query_params.get("api_key")
        return None if key is None else (key, "query")


@registered
class QueryAnyAccount(QueryKey):
    name = "query-any-account"

    def crosses(self, ask: Ask, channel: str) -> bool:
        return channel == "query"


@registered
class ApikeyAnyAccount(Fault):
    name = "apikey-any-account"

    def channel(self, request: Request) -> tuple[str, str] | None:
        key = request.headers.get("apikey", request.query_params.get("apikey"))
        return None if key is None else (key, "apikey")

    def crosses(self, ask: Ask, channel: str) -> bool:
        return channel == "apikey"


@registered
class MultiChannel(Fault):
    """The key in every header and cookie a gateway may take it from (ownership still checked; never the query
    string, where keys end up in logs: `auth-required` judges that)."""

    name = "multi-channel"

    def channel(self, request: Request) -> tuple[str, str] | None:
        import base64
        import binascii

        authorization = request.headers.get("authorization", "")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() in ("token", "apikey") and token:
            return token.strip(), scheme.lower()
        if scheme.lower() == "basic" and token:
            try:
                user, _, password = base64.b64decode(token).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return None
            return user or password, "basic"
        if authorization and not token:
            return authorization, "authorization"
        for name in ("api-key", "apikey"):
            if name in request.headers:
                return request.headers[name], name
        for name in ("api_key", "token"):
            if name in request.cookies:
                return request.cookies[name], f"cookie {name}"
        return None


@registered
class SessionCookie(Fault):
    name = "session-cookie"

    def account_without_key(self, request: Request) -> str | None:
        sessions = {f"session-{account}": account for account in ACCOUNTS.values()}
        return sessions.get(request.cookies.get(SESSION_COOKIE, ""))

    def served(self, ask: Ask, response: Response, account: str, body: Any) -> None:
        response.set_cookie(SESSION_COOKIE, f"session-{account}", httponly=True, path="/")


@registered
class OptionsLeaksJob(Fault):
    name = "options-leaks-job"

    def answer_first(self, ask: Ask) -> Response | None:
        job = ask.find(ask.job_id) if ask.request.method == "OPTIONS" else None
        return None if job is None else ask.write(200, ask.render(job))  # to anyone, key or not


@registered
class OptionsPreflight(Fault):
    name = "options-preflight"

    def answer_first(self, ask: Ask) -> Response | None:
        if ask.request.method != "OPTIONS":
            return None
        headers = {"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Methods": "GET, HEAD"}
        return Response(status_code=204, headers=headers)  # to anyone, as a CORS preflight


# What edges refuse in a request-target with pages of their own, whatever the route (nginx answers an encoded NUL
# or other control octet with its 400 page; Apache httpd, with AllowEncodedSlashes Off, an encoded / or \ with
# its 404 page): bytes no client sends.
_EDGE_CONTROL = re.compile(r"%(?:[01][0-9A-Fa-f]|7[Ff])")
_EDGE_SEPARATOR = re.compile(r"%(?:2[Ff]|5[Cc])")
_NGINX_400 = (
    "<html>\r\n<head><title>400 Bad Request</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>"
    "\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
_HTTPD_404 = (
    '<!DOCTYPE HTML PUBLIC "-//IETF//DTD HTML 2.0//EN">\n<html><head>\n<title>404 Not Found</title>\n</head><body>\n'
    "<h1>Not Found</h1>\n<p>The requested URL was not found on this server.</p>\n</body></html>\n"
)


@registered
class EdgePages(Fault):
    name = "edge-pages"

    def edge(self, scope: dict[str, Any], headers: dict[str, str]) -> Response | None:
        target = scope.get("raw_path", b"").decode("latin-1")
        if _EDGE_CONTROL.search(target):
            return HTMLResponse(_NGINX_400, status_code=400, headers={"Server": "nginx/1.22.1"})
        if _EDGE_SEPARATOR.search(target):
            return HTMLResponse(_HTTPD_404, status_code=404, headers={"Server": "Apache/2.4.62 (Debian)"})
        return None


@registered
class Head405(Fault):
    name = "head-405"

    def answer_first(self, ask: Ask) -> Response | None:
        return ask.refuse(405, "Method HEAD not allowed", {"Allow": "GET"}) if ask.request.method == "HEAD" else None


@registered
class HeadBlind(Fault):
    name = "head-blind"

    def answer_first(self, ask: Ask) -> Response | None:
        if ask.request.method == "HEAD" and ask.account() is not None and ask.find(ask.job_id) is None:
            return Response(status_code=200, media_type="application/json")  # HEAD 200 where GET says 404
        return None


@registered
class KeyBlindCache(Fault):
    name = "key-blind-cache"

    def answer_first(self, ask: Ask) -> Response | None:
        import time

        cached = ask.cache.get(ask.request.url.path) if ask.request.method in ("GET", "HEAD") else None
        if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
            return ask.write(200, cached[1])
        return None

    def served(self, ask: Ask, response: Response, account: str, body: Any) -> None:
        import time

        ask.cache[ask.request.url.path] = (time.monotonic(), body)


@registered
class LenientRouter(Fault):
    name = "lenient-router"
    trailing_slash = True


def _odd_segments(job_id: str) -> bool:
    return ";" in job_id or any(part in (".", "..") for part in job_id.split(";")[0].split("/"))


@registered
class DotSegmentSkipsAuth(Fault):
    """A path with a dot segment or a path parameter (;) is normalised after the key check."""

    name = "dot-segment-skips-auth"

    def spell(self, job_id: str, ask: Ask) -> str | None:
        import posixpath

        if not _odd_segments(job_id):
            return None
        parts = [part.split(";", 1)[0] for part in job_id.split("/")]
        return posixpath.basename(posixpath.normpath("/" + "/".join(parts)))

    def opens(self, ask: Ask, trailing: bool) -> bool:
        return _odd_segments(ask.job_id)


@registered
class UpperIdSkipsOwnership(Fault):
    name = "upper-id-skips-ownership"

    def spell(self, job_id: str, ask: Ask) -> str | None:
        # a case-insensitive lookup on a second code path
        return job_id.lower() if job_id != job_id.lower() and ask.find(job_id) is None else None

    def crosses(self, ask: Ask, channel: str) -> bool:
        return ask.job_id != ask.job_id.lower()


@registered
class HeadSkipsAuth(Fault):
    name = "head-skips-auth"

    def opens(self, ask: Ask, trailing: bool) -> bool:
        return ask.request.method == "HEAD"


@registered
class SlashSkipsAuth(Fault):
    name = "slash-skips-auth"
    trailing_slash = True

    def opens(self, ask: Ask, trailing: bool) -> bool:
        return trailing


@registered
class MethodOverrideSkipsAuth(Fault):
    name = "method-override-skips-auth"

    def opens(self, ask: Ask, trailing: bool) -> bool:
        request = ask.request
        claimed = {request.headers.get(name, "").upper() for name in METHOD_OVERRIDES}
        claimed.add(request.query_params.get("_method", "").upper())
        return bool(claimed & {"HEAD", "OPTIONS"})


@registered
class LocalhostSkipsAuth(Fault):
    name = "localhost-skips-auth"

    def opens(self, ask: Ask, trailing: bool) -> bool:
        headers = ask.request.headers
        return any(headers.get(name, "").startswith("127.0.0.1") for name in CLIENT_IP_HEADERS) or (
            "for=127.0.0.1" in headers.get("forwarded", "")
        )


EDGE_BYPASSED = "spidra_edge_bypassed"  # the scope key the edge-slash-bypass fault marks a request with


@registered
class EdgeSlashBypass(Fault):
    """An edge checks the key for `location /api/crawl/` only; `/api//crawl/{id}` slips past it to an app that
    merges slashes and trusts the edge: a request that brings no key is taken for an internal call, as the
    owner's. A request that brings a key is still checked (a near miss is refused), so only a keyless caller
    who knocks on that spelling finds it."""

    name = "edge-slash-bypass"
    api_prefix = "/api"

    def route(self, scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        if not scope["path"].startswith(f"{self.api_prefix}//crawl/"):
            return None
        path = scope["path"].replace("//crawl/", "/crawl/", 1)
        return {**scope, "path": path, "raw_path": path.encode("latin-1"), EDGE_BYPASSED: True}

    def opens(self, ask: Ask, trailing: bool) -> bool:
        request = ask.request
        keyless = not any(request.headers.get(name) for name in ("x-api-key", "authorization"))
        return bool(request.scope.get(EDGE_BYPASSED)) and keyless


@registered
class TrustsEdge(Fault):
    """An app that trusts the edge in front of it to refuse keyless calls: a request that brings no key at all is
    taken for an internal call, as the job's owner's; slashes are merged. Alone, any keyless caller reads any
    job; behind an edge that checks keys for every spelling, nobody does (the suite's real-edge self-tests put
    `edges/nginx-key-check.conf` in front, which misses `//crawl/{id}`)."""

    name = "trusts-edge"
    api_prefix = "/api"

    def route(self, scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        path = scope["path"]
        if "//" not in path or not path.startswith(self.api_prefix):
            return None
        merged = re.sub(r"/{2,}", "/", path)
        return {**scope, "path": merged, "raw_path": merged.encode("latin-1")}

    def opens(self, ask: Ask, trailing: bool) -> bool:
        headers = ask.request.headers
        return not any(headers.get(name) for name in ("x-api-key", "authorization"))


def _rewritten(scope: dict[str, Any], headers: dict[str, str], mark: bool) -> dict[str, Any] | None:
    rewrite = next((headers[name] for name in REWRITE_HEADERS if name in headers), None)
    if not rewrite:
        return None
    path = rewrite.split("?", 1)[0]
    return {**scope, "path": path, "raw_path": path.encode("latin-1"), REWRITTEN: mark}


@registered
class HonoursRewrite(Fault):
    """X-Original-URL / X-Rewrite-URL rewrite the route, which runs its own key and owner checks."""

    name = "honours-rewrite"

    def route(self, scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        return _rewritten(scope, headers, mark=False)


@registered
class OriginalUrlSkipsAuth(Fault):
    """X-Original-URL / X-Rewrite-URL route a request for / to the job, and the key check is forgotten."""

    name = "original-url-skips-auth"

    def route(self, scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        return _rewritten(scope, headers, mark=True)

    def opens(self, ask: Ask, trailing: bool) -> bool:
        return bool(ask.request.scope.get(REWRITTEN))


@registered
class NormalizingRouter(Fault):
    """Slashes merged, dot segments resolved, path parameters dropped, `crawl` in any case, a `.json` suffix and
    a trailing slash dropped; on the raw path, as RFC 3986 6.2.2 normalises (an encoded slash inside a segment
    stays in it)."""

    name = "normalizing-router"
    api_prefix = "/api"

    def route(self, scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any] | None:
        from urllib.parse import unquote

        if not scope["path"].lower().startswith(self.api_prefix):
            return None
        raw = scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0]
        segments: list[str] = []
        for segment in (part.split(";", 1)[0] for part in raw.split("/") if part):
            dots = segment.replace("%2e", ".").replace("%2E", ".")
            if dots == "..":
                segments = segments[:-1]
            elif dots != ".":
                segments.append(segment)
        if len(segments) > 1 and segments[1].lower() == "crawl":
            segments[1] = "crawl"
        if segments and segments[-1].endswith(".json"):
            segments[-1] = segments[-1][: -len(".json")]
        raw = "/" + "/".join(segments)
        return {**scope, "path": unquote(raw), "raw_path": raw.encode("latin-1")}


@registered
class BearerSkipsOwnership(Fault):
    name = "bearer-skips-ownership"

    def crosses(self, ask: Ask, channel: str) -> bool:
        return channel == "bearer"


@registered
class CrossAccountRead(Fault):
    name = "cross-account-read"

    def crosses(self, ask: Ask, channel: str) -> bool:
        return True


@registered
class RefusalCarriesJob(Fault):
    """The refusal is right, but its body embeds the job's record (a debug field)."""

    name = "refusal-carries-job"

    def unauthenticated(self, ask: Ask) -> Response | None:
        job = ask.find(ask.job_id)
        return None if job is None else self._with(ask, 403, NOT_AUTHORIZED, job)

    def stranger(self, ask: Ask, job: Job) -> Response | None:
        return self._with(ask, 404, NOT_FOUND, job)

    @staticmethod
    def _with(ask: Ask, status: int, message: str, job: Job) -> Response:
        return ask.write(status, {"status": "error", "message": message, "debug": {"job": ask.render(job)}})


@registered
class Foreign403(Fault):
    name = "foreign-403"

    def stranger(self, ask: Ask, job: Job) -> Response | None:
        return ask.refuse(403, OTHER_ACCOUNT)


@registered
class ForbidUnowned(Fault):
    """403 to everything a key does not own: another account's jobs and ids that name no job."""

    name = "forbid-unowned"

    def stranger(self, ask: Ask, job: Job) -> Response | None:
        return ask.refuse(403, OTHER_ACCOUNT)

    def unknown(self, ask: Ask) -> Response | None:
        return ask.refuse(403, NOT_AUTHORIZED)


@registered
class PublicRoot(Fault):
    name = "public-root"

    def root(self) -> Any | None:
        return {"service": "spidra", "status": "ok", "docs": "https://docs.spidra.io"}


# --- pacing: how fast and how often an answer comes ---------------------------------------------------------

# `slow`: every third response waits SLOW_S (p95 moves by it: the history's latency step), every
# SLOW_TAIL_EVERY-th SLOW_TAIL_S (a latency tail past hypothesis' default deadline). `rate-limited`: every
# RATE_LIMITED_EVERY-th request gets 429. `slow-first`: the first answer takes SLOW_FIRST_S (a cold start).
# `burst-503`: more than BURST_LIMIT at once get 503.
SLOW_S = 0.015
SLOW_TAIL_EVERY = 100
SLOW_TAIL_S = 0.6  # three times hypothesis' default deadline
RATE_LIMITED_EVERY = 250
SLOW_FIRST_S = 3.0
BURST_LIMIT = 8


@registered
class Slow(Fault):
    name = "slow"

    async def pace(self, number: int, concurrent: int, refuse: Callable[..., Response]) -> Response | None:
        import asyncio

        if number % SLOW_TAIL_EVERY == 0:
            await asyncio.sleep(SLOW_TAIL_S)
        elif number % 3 == 0:
            await asyncio.sleep(SLOW_S)
        return None


@registered
class SlowFirst(Fault):
    name = "slow-first"

    async def pace(self, number: int, concurrent: int, refuse: Callable[..., Response]) -> Response | None:
        import asyncio

        if number == 1:
            await asyncio.sleep(SLOW_FIRST_S)
        return None


@registered
class Burst503(Fault):
    name = "burst-503"

    async def pace(self, number: int, concurrent: int, refuse: Callable[..., Response]) -> Response | None:
        import asyncio

        # Let concurrent requests overlap, as a real worker pool would, then shed the excess.
        await asyncio.sleep(0.01)
        return refuse(503, "Service busy") if concurrent > BURST_LIMIT else None


@registered
class RateLimited(Fault):
    name = "rate-limited"

    async def pace(self, number: int, concurrent: int, refuse: Callable[..., Response]) -> Response | None:
        if number % RATE_LIMITED_EVERY == 0:
            return refuse(429, "Too many requests", {"Retry-After": "1", "RateLimit-Remaining": "0"})
        return None
