"""The mock's faults and variants as objects: each bends the reference answer at named points, and the reference
(`app.py`) calls every point whatever is on, so it reads as the spec says and each departure lives in one place.

The points, in the order a request meets them (pytest-httpserver composes its answers from hooks the same way):

- `accepts` / `account` / `refusal_status`: authentication (which key is taken for which account, what a
  refusal's status is);
- `lookup` / `unknown` / `crash`: finding the job, answering an id that names none, failing on an id;
- `job_read`: the facts of one read of a job (status, progress, result, error) before they become a body;
- `page`: one result item; `job_body`: the 200 body as a whole;
- `message` / `error_body` / `error_page`: a refusal's ErrorResponse;
- `shape` / `encoded`: any JSON reply on its way out, before and after it is written as text.

A fault is chosen per app instance (`make_state(switches)`), or per request (`X-Mock-Switch`, where the app was
made with `per_request=True`), so one process can serve the reference and any fault side by side. The faults of
the wire and the routing doors (`wire.py`, and the switches `app.py` still asks `state.on` for) bend bytes and
routes the ASGI app does not see: they are chosen per app instance only.
"""

from __future__ import annotations

import json
import random
import re
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

from starlette.responses import HTMLResponse, Response

from spidra_contract.mock.jobs import ZERO_PAGES_JOB, Job

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


class Fault:
    """A departure from the reference at one or more points; every hook leaves the answer as it is."""

    name: ClassVar[str] = ""

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

    def unknown(self, job_id: str, outgoing: Callable[[int, Any], Response]) -> Response | None:
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

    def unknown(self, job_id: str, outgoing: Callable[[int, Any], Response]) -> Response | None:
        return Response("Internal Server Error", status_code=500, media_type="text/plain")


@registered
class Unknown200(Fault):
    name = "unknown-200"

    def unknown(self, job_id: str, outgoing: Callable[[int, Any], Response]) -> Response | None:
        empty = {"status": "waiting", "progress": {"message": "", "pagesCrawled": 0, "maxPages": 0}}
        return outgoing(200, empty | {"result": None, "error": None})


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


def _shuffled(node: Any) -> Any:
    if isinstance(node, dict):
        items = [(key, _shuffled(value)) for key, value in node.items()]
        random.shuffle(items)
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
