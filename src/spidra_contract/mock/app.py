"""The embedded mock: a reference implementation of GET /crawl/{jobId}, with fault and variant switches.

Reference mode follows `openapi.yaml` to the letter. Each switch in `catalogue.py` bends one behaviour:
a fault breaks one clause, a variant does something unusual that the contract still allows.
"""

from __future__ import annotations

import asyncio
import collections
import json
import posixpath
import random
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from spidra_contract.mock import catalogue
from spidra_contract.mock.jobs import ACCOUNTS, ZERO_PAGES_JOB, Job, JobStore, add_corpus, seeded_store

API_PREFIX = "/api"
ALLOWED = "GET, HEAD"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
BURST_LIMIT = 8
NOT_FOUND = "Crawl job not found"
NOT_AUTHORIZED = "Not authorized: missing or invalid API key"
TRACEBACK = (
    'Traceback (most recent call last):\n  File "/srv/spidra/api/jobs.py", line 88, in get_job\n'
    "    row = db.fetch_one(query)\nKeyError: 'job'"
)


@dataclass
class MockState:
    """What the mock holds: jobs, switches, a clock speed, and a log of what it received."""

    switches: frozenset[str] = frozenset()
    time_scale: float = 1.0
    store: JobStore = field(default_factory=seeded_store)
    received: collections.deque[dict[str, Any]] = field(default_factory=lambda: collections.deque(maxlen=50_000))
    reads: collections.Counter[str] = field(default_factory=collections.Counter)
    cache: dict[str, tuple[float, Any]] = field(default_factory=dict)
    requests_seen: int = 0
    inflight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on(self, name: str) -> bool:
        return name in self.switches

    @property
    def keys(self) -> dict[str, str]:
        return {account: key for key, account in ACCOUNTS.items()}

    def job_ids(self, account: str = "alpha") -> list[str]:
        return self.store.ids_of(account)


def make_state(switches: tuple[str, ...] | list[str] = (), time_scale: float = 1.0, corpus: int = 0) -> MockState:
    state = MockState(switches=frozenset(catalogue.validate(tuple(switches))), time_scale=time_scale)
    if corpus:
        add_corpus(state.store, corpus)
    return state


# --- rendering -----------------------------------------------------------------------------------------


HUGE_DIGITS = 5000


def _json(state: MockState, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    progress = body.get("progress") if isinstance(body, dict) else None
    if status == 200 and isinstance(progress, dict) and state.on("lone-surrogate"):
        body = {**body, "progress": {**progress, "message": f"{progress.get('message') or ''} \ud800"}}
    if status == 200 and isinstance(progress, dict) and state.on("surrogate-status"):
        body = {**body, "status": "completed\udc00"}
    if state.on("noisy"):
        # What differs between two reads of one deployment: key order, request ids.
        body = _shuffled(body)
        headers = {**(headers or {}), "X-Request-Id": str(uuid.uuid4())}
    if state.on("pretty") and isinstance(body, dict):
        body = dict(reversed(list(body.items())))
        text = json.dumps(body, indent=2, ensure_ascii=False)
    else:
        surrogates = state.on("lone-surrogate") or state.on("surrogate-status")
        text = json.dumps(body, ensure_ascii=surrogates, separators=(",", ":"))
    if status == 200 and isinstance(progress, dict) and state.on("huge-ints"):
        # Written as digits: Python itself will not turn 5,000 digits into text (nor text into an int).
        text = re.sub(r'"maxPages":\d+', f'"maxPages":1{"0" * HUGE_DIGITS}', text)
    media_type = "application/json"
    if state.on("charset"):
        media_type = "application/json; charset=utf-8"
    if status == 200 and state.on("text-plain"):
        media_type = "text/plain"
    if status == 200 and state.on("invalid-json"):
        text = text[: max(1, len(text) // 2)]
    return Response(text.encode("utf-8"), status_code=status, headers=headers, media_type=media_type)


def _shuffled(node: Any) -> Any:
    if isinstance(node, dict):
        items = [(key, _shuffled(value)) for key, value in node.items()]
        random.shuffle(items)
        return dict(items)
    if isinstance(node, list):
        return [_shuffled(item) for item in node]
    return node


def error(state: MockState, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An ErrorResponse, bent by whichever error-contract switches are on."""
    if state.on("other-messages"):
        message = {403: "Forbidden.", 404: "No such crawl."}.get(status, "Request rejected.")
    if state.on("non-ascii"):
        message = f"{message} — ¿qué pasó? ジョブ"
    if status == 404 and state.on("stack-trace-404"):
        message = f"{message}\n{TRACEBACK}"
    if status == 404 and state.on("html-404"):
        return HTMLResponse(f"<html><body><h1>404</h1><p>{message}</p></body></html>", status_code=404)
    body: dict[str, Any] = {
        "status": "fail" if state.on("error-status-fail") else "error",
        "message": message,
    }
    if state.on("error-missing-message"):
        del body["message"]
    elif state.on("error-empty-message"):
        body["message"] = ""
    if state.on("extra-fields"):
        body["code"] = {403: "FORBIDDEN", 404: "JOB_NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(status, "ERROR")
    return _json(state, status, body, headers)


def _page(state: MockState, page: dict[str, Any], depth: int) -> Any:
    item = dict(page)
    if state.on("non-ascii"):
        item["title"] = f"{item['title']} · Ñandú 北京 ✓"
    if state.on("sparse-items"):
        item.pop("title", None)
        item.pop("data", None)
    if state.on("extra-fields"):
        item |= {
            "depth": depth,
            "parent_url": None if depth == 0 else "https://example.com/",
            "markdown": f"https://files.mock.invalid/{depth}.md?sig=abc",
        }
    if state.on("result-url-number"):
        item["url"] = 1000 + depth
    if state.on("result-data-string") and "data" in item:
        item["data"] = f"# {item.get('title', '')}\n\nMarkdown body."
    if state.on("result-title-null"):
        item["title"] = None
    if state.on("result-item-string"):
        return item["url"]
    return item


# Body switches that rewrite a rendered job: name -> (status it applies to or None for all, rewrite).
BODY_SWITCHES: dict[str, tuple[str | None, Callable[[dict[str, Any]], None]]] = {
    "status-uppercase": (None, lambda b: b.update(status=b["status"].upper())),
    "progress-not-object": (
        None,
        lambda b: b.update(progress=f"{b['progress']['pagesCrawled']}/{b['progress']['maxPages']}"),
    ),
    "pages-crawled-string": (
        None,
        lambda b: b["progress"].update(pagesCrawled=str(b["progress"]["pagesCrawled"])),
    ),
    "negative-pages": ("waiting", lambda b: b["progress"].update(pagesCrawled=-1)),
    "pages-exceed-max": (
        "completed",
        lambda b: b["progress"].update(pagesCrawled=b["progress"]["maxPages"] + 1),
    ),
    "max-pages-float": (None, lambda b: b["progress"].update(maxPages=b["progress"]["maxPages"] + 0.5)),
    "result-object": (
        "completed",
        lambda b: b.update(result={str(i): item for i, item in enumerate(b["result"] or [])}),
    ),
    "error-number": ("failed", lambda b: b.update(error=503)),
    "error-object": ("failed", lambda b: b.update(error={"code": "DNS", "message": b["error"]})),
    "completed-with-error": ("completed", lambda b: b.update(error="Some pages timed out")),
    "completed-null-result": ("completed", lambda b: b.update(result=None)),
    "failed-without-error": ("failed", lambda b: b.update(error=None)),
    "failed-empty-error": ("failed", lambda b: b.update(error="")),
    "waiting-with-results": (
        "waiting",
        lambda b: b.update(result=[{"url": "https://example.com/", "title": "Home", "status": "success", "data": {}}]),
    ),
}


def render_job(state: MockState, job: Job, read_number: int) -> Any:
    """The 200 body for `job` as of now: the spec's shape, then the switches that are on."""
    status, crawled, err, message = job.state(time.monotonic(), state.time_scale)
    actual_status = status
    max_pages = job.max_pages
    pages = job.pages
    if state.on("zero-pages") and status == "completed" and job.id == ZERO_PAGES_JOB:
        pages, crawled = [], 0
    if state.on("non-ascii"):
        message = f"{message} · en cours ✓"
    result = [_page(state, page, depth) for depth, page in enumerate(pages)] if status == "completed" else None
    # Lifecycle switches work on the sequence of reads of one job.
    if state.on("status-regresses") and status == "completed" and read_number % 3 == 2:
        status, result = "active", None
    if state.on("progress-drops") and status == "active" and read_number % 2 == 1:
        crawled = max(0, crawled - 1) if crawled else crawled
    if state.on("max-pages-changes") and status == "active":
        max_pages += read_number
    if state.on("result-unstable") and status == "completed" and result and read_number % 2 == 1:
        result = list(reversed(result))[:-1] if len(result) > 1 else []
    if state.on("status-outside-enum") and status == "active":
        status = "running"
    body: dict[str, Any] = {
        "status": status,
        "progress": {"message": message, "pagesCrawled": crawled, "maxPages": max_pages},
        "result": result,
        "error": err,
    }
    for name, (applies_to, rewrite) in BODY_SWITCHES.items():
        if state.on(name) and applies_to in (None, actual_status):
            rewrite(body)
    if state.on("extra-fields"):
        body["progress"]["startedAt"] = "2025-01-01T10:00:00Z"
        body |= {"jobId": job.id, "createdAt": "2025-01-01T09:59:58Z"}
        if status == "completed":
            body |= {"total_pages": len(pages), "result_truncated": False}
    if state.on("omit-nulls"):
        body = {key: value for key, value in body.items() if value is not None}
        body.get("progress", {}).pop("message", None)
    if state.on("body-array"):
        return [body]
    return body


# --- request handling ----------------------------------------------------------------------------------


def _presented_key(state: MockState, request: Request) -> tuple[str | None, str]:
    """The key the request presents, and the channel it came by."""
    key = request.headers.get("x-api-key")
    if key is not None:
        return key, "x-api-key"
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return token.strip(), "bearer"
    if state.on("query-key") or state.on("query-any-account"):
        key = request.query_params.get("api_key")
        if key is not None:
            return key, "query"
    if state.on("apikey-any-account"):
        key = request.headers.get("apikey", request.query_params.get("apikey"))
        if key is not None:
            return key, "apikey"
    if state.on("multi-channel"):
        return _any_channel(request)
    return None, ""


def _any_channel(request: Request) -> tuple[str | None, str]:
    """The `multi-channel` variant: the key in every header and cookie a gateway may take it from (ownership
    still checked; never the query string, where keys end up in logs: `auth-required` judges that)."""
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
            return None, ""
        return user or password, "basic"
    if authorization and not token:
        return authorization, "authorization"
    for name in ("api-key", "apikey"):
        if name in request.headers:
            return request.headers[name], name
    for name in ("api_key", "token"):
        if name in request.cookies:
            return request.cookies[name], f"cookie {name}"
    return None, ""


def authenticate(state: MockState, request: Request) -> str | None:
    """The account the request speaks for, or None."""
    if state.on("no-auth"):
        return "alpha"
    key, channel = _presented_key(state, request)
    if key is None:
        if state.on("session-cookie"):
            return SESSIONS.get(request.cookies.get(SESSION_COOKIE, ""))
        return None
    if key == "" and state.on("empty-key-accepted"):
        return "alpha"
    for known, account in ACCOUNTS.items():
        if key == known:
            return account
        if state.on("key-case-insensitive") and key.lower() == known.lower():
            return account
        if state.on("key-prefix") and key and (known.startswith(key) or key.startswith(known)):
            return account
        near = len(key) >= len(known) - 1 > 0 and key[: len(known) - 1] == known[:-1]
        if state.on("bearer-near-miss") and channel == "bearer" and near:
            return account  # compares all but the last character
    return None


def _skips_ownership(state: MockState, request: Request) -> bool:
    """Door faults: a channel (or an id spelling) that checks the key is valid but not whose job it is."""
    _, channel = _presented_key(state, request)
    job_id = request.path_params.get("job_id", "")
    return (
        (channel == "bearer" and state.on("bearer-skips-ownership"))
        or (channel == "query" and state.on("query-any-account"))
        or (channel == "apikey" and state.on("apikey-any-account"))
        or (state.on("upper-id-skips-ownership") and job_id != job_id.lower())
    )


# Client-IP headers a misconfigured proxy chain trusts (the `localhost-skips-auth` fault).
CLIENT_IP_HEADERS = ("x-forwarded-for", "x-real-ip", "x-client-ip", "true-client-ip", "x-originating-ip")
METHOD_OVERRIDES = ("x-http-method-override", "x-http-method", "x-method-override")


def _skips_auth(state: MockState, request: Request, trailing_slash: bool) -> bool:
    """Door faults: a method, a claimed method, a path spelling or a routing header let past the key check."""
    claimed = {request.headers.get(name, "").upper() for name in METHOD_OVERRIDES}
    claimed.add(request.query_params.get("_method", "").upper())
    local = any(request.headers.get(name, "").startswith("127.0.0.1") for name in CLIENT_IP_HEADERS) or (
        "for=127.0.0.1" in request.headers.get("forwarded", "")
    )
    return (
        (request.method == "HEAD" and state.on("head-skips-auth"))
        or (trailing_slash and state.on("slash-skips-auth"))
        or (state.on("method-override-skips-auth") and bool(claimed & {"HEAD", "OPTIONS"}))
        or (state.on("localhost-skips-auth") and local)
        or (state.on("original-url-skips-auth") and bool(request.scope.get("spidra_rewritten")))
        or (state.on("dot-segment-skips-auth") and _odd_segments(request.path_params.get("job_id", "")))
    )


def _odd_segments(job_id: str) -> bool:
    return ";" in job_id or any(part in (".", "..") for part in job_id.split(";")[0].split("/"))


def _normalised_id(job_id: str) -> str:
    """What a router that resolves dot segments and drops path parameters makes of the id part of a path."""
    parts = [part.split(";", 1)[0] for part in job_id.split("/")]
    return posixpath.basename(posixpath.normpath("/" + "/".join(parts)))


# The `session-cookie` variant: a 200 sets a session cookie that later stands for the key (a client that keeps
# cookies would then read as that account without a key; the suite keeps none).
SESSION_COOKIE = "spidra_session"
SESSIONS = {f"session-{account}": account for account in ACCOUNTS.values()}
# The `key-blind-cache` fault: a 200 is served again to anyone who asks for the same path within this long.
CACHE_SECONDS = 2.0


def _refusal_with_job(state: MockState, status: int, message: str, job: Job) -> Response:
    """The `refusal-carries-job` fault: the refusal is right, but its body embeds the record (a debug field)."""
    record = render_job(state, job, state.reads[job.id])
    return _json(state, status, {"status": "error", "message": message, "debug": {"job": record}})


def _unknown(state: MockState, job_id: str) -> Response:
    if state.on("unknown-500"):
        return Response("Internal Server Error", status_code=500, media_type="text/plain")
    if state.on("unknown-200"):
        return _json(
            state,
            200,
            {
                "status": "waiting",
                "progress": {"message": "", "pagesCrawled": 0, "maxPages": 0},
                "result": None,
                "error": None,
            },
        )
    return error(state, 404, NOT_FOUND)


def _lookup(state: MockState, job_id: str) -> Job | None:
    job = state.store.get(job_id)
    if job is None and state.on("traversal-reads-job") and ("/" in job_id or "\\" in job_id):
        job = state.store.get(posixpath.basename(posixpath.normpath(job_id.replace("\\", "/"))))
    return job


async def crawl_status(request: Request) -> Response:
    state: MockState = request.app.state.mock
    job_id = request.path_params["job_id"]
    if request.method == "OPTIONS" and state.on("options-leaks-job"):
        job = _lookup(state, job_id)
        if job is not None:
            return _json(state, 200, render_job(state, job, state.reads[job.id]))  # to anyone, key or not
    if request.method == "OPTIONS" and state.on("options-preflight"):
        headers = {"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Methods": "GET, HEAD"}
        return Response(status_code=204, headers=headers)  # to anyone, as a CORS preflight
    if request.method not in ("GET", "HEAD"):
        return error(state, 405, f"Method {request.method} not allowed", {"Allow": ALLOWED})
    if request.method == "HEAD" and state.on("head-405"):
        return error(state, 405, "Method HEAD not allowed", {"Allow": "GET"})
    head_blind = request.method == "HEAD" and state.on("head-blind")
    if head_blind and authenticate(state, request) is not None and _lookup(state, job_id) is None:
        return Response(status_code=200, media_type="application/json")  # HEAD 200 where GET says 404
    cached = state.cache.get(request.url.path) if state.on("key-blind-cache") else None
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return _json(state, 200, cached[1])
    trailing_slash = job_id.endswith("/") and (state.on("lenient-router") or state.on("slash-skips-auth"))
    if trailing_slash:
        job_id = job_id[:-1]
    if state.on("dot-segment-skips-auth") and _odd_segments(job_id):
        job_id = _normalised_id(job_id)
    if state.on("upper-id-skips-ownership") and job_id != job_id.lower() and state.store.get(job_id) is None:
        job_id = job_id.lower()  # a case-insensitive lookup on a second code path
    if _skips_auth(state, request, trailing_slash) and (found := _lookup(state, job_id)) is not None:
        account: str | None = found.account
    else:
        account = authenticate(state, request)
    if account is None:
        if state.on("refusal-carries-job") and (leaked := _lookup(state, job_id)) is not None:
            return _refusal_with_job(state, 403, NOT_AUTHORIZED, leaked)
        return error(state, 401 if state.on("auth-401") else 403, NOT_AUTHORIZED)
    if state.on("long-id-500") and len(job_id) > 1024:
        return Response("upstream header too large", status_code=500, media_type="text/plain")
    if state.on("injection-500") and any(ch in job_id for ch in "'\";$"):
        return _json(
            state,
            500,
            {
                "status": "error",
                "message": f"syntax error at or near \"{job_id[:20]}\": SELECT * FROM jobs WHERE id = '{job_id[:20]}'",
            },
        )
    job = _lookup(state, job_id)
    if job is None:
        if state.on("forbid-unowned"):
            return error(state, 403, NOT_AUTHORIZED)
        return _unknown(state, job_id)
    if job.account != account and not state.on("cross-account-read") and not _skips_ownership(state, request):
        if state.on("refusal-carries-job"):
            return _refusal_with_job(state, 404, NOT_FOUND, job)
        if state.on("foreign-403") or state.on("forbid-unowned"):
            return error(state, 403, "This job belongs to another account")
        return error(state, 404, NOT_FOUND)
    if job.account == account:
        state.store.touch(job)
    with state.lock:
        read_number = state.reads[job.id]
        state.reads[job.id] += 1
    body = render_job(state, job, read_number)
    if state.on("key-blind-cache"):
        state.cache[request.url.path] = (time.monotonic(), body)
    response = _json(state, 200, body)
    if state.on("session-cookie"):
        response.set_cookie(SESSION_COOKIE, f"session-{account}", httponly=True, path="/")
    return response


PAGES_LIMIT = 1000


async def crawl_pages(request: Request) -> Response:
    """GET /crawl/{jobId}/pages?offset&limit: not part of the contract; the official SDK's `crawl_pages` and
    `watch_crawl` read a crawl's pages here, as many as it has crawled so far."""
    state: MockState = request.app.state.mock
    account = authenticate(state, request)
    if account is None:
        return error(state, 403, NOT_AUTHORIZED)
    job = state.store.get(request.path_params["job_id"])
    if job is None or job.account != account:
        return error(state, 404, NOT_FOUND)
    try:
        offset = max(0, int(request.query_params.get("offset") or 0))
        limit = min(PAGES_LIMIT, max(1, int(request.query_params.get("limit") or PAGES_LIMIT)))
    except ValueError:
        return error(state, 400, "offset and limit must be integers")
    _, crawled, _, _ = job.state(time.monotonic(), state.time_scale)
    rows = [
        {
            "id": f"{job.id}-page-{index}",
            "url": page["url"],
            "title": page.get("title"),
            "status": page.get("status", "success"),
            "data": page.get("data"),
            "error_message": None,
            "created_at": "2025-01-01T10:00:00Z",
        }
        for index, page in enumerate(job.pages[:crawled])
    ]
    chunk = rows[offset : offset + limit]
    return _json(
        state,
        200,
        {
            "pages": chunk,
            "total": len(rows),
            "offset": offset,
            "limit": limit,
            "hasMore": offset + len(chunk) < len(rows),
        },
    )


async def submit_crawl(request: Request) -> Response:
    """POST /crawl: not part of the contract; lets real clients (the official SDK) start a job."""
    state: MockState = request.app.state.mock
    account = authenticate(state, request)
    if account is None:
        return error(state, 403, NOT_AUTHORIZED)
    try:
        payload = await request.json()
    except ValueError:
        payload = {}
    url = str(payload.get("baseUrl") or payload.get("url") or "https://example.com/")
    job = state.store.create(account, url, int(payload.get("maxPages") or 5))
    return _json(state, 200, {"status": "queued", "jobId": job.id, "message": "Crawl job queued"})


async def api_root(request: Request) -> Response:
    """GET /api/: the `public-root` variant's index, open to anyone (many APIs answer their root so); else none."""
    state: MockState = request.app.state.mock
    if not state.on("public-root"):
        return error(state, 404, f"No route for {request.method} {request.url.path}")
    return _json(state, 200, {"service": "spidra", "status": "ok", "docs": "https://docs.spidra.io"})


async def stats(request: Request) -> Response:
    """GET /_mock/stats: what the mock received (for benchmarks and tools; not part of the contract)."""
    state: MockState = request.app.state.mock
    methods = collections.Counter(entry["method"] for entry in state.received)
    return _json(state, 200, {"requests": state.requests_seen, "methods": dict(methods)})


async def not_found(request: Request, exc: Exception) -> Response:
    state: MockState = request.app.state.mock
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    if code == 405:
        return error(state, 405, f"Method {request.method} not allowed", {"Allow": "POST"})
    return error(state, code, f"No route for {request.method} {request.url.path}")


# The `slow` variant: every response waits SLOW_S, every SLOW_TAIL_EVERY-th SLOW_TAIL_S (a latency tail well past
# hypothesis' default deadline). The `rate-limited` variant: every RATE_LIMITED_EVERY-th request gets 429.
SLOW_S = 0.015
SLOW_TAIL_EVERY = 100
SLOW_TAIL_S = 1.5
RATE_LIMITED_EVERY = 60
# The `slow-first` variant: the first answer takes this long (a cold start).
SLOW_FIRST_S = 3.0


REWRITE_HEADERS = ("x-original-url", "x-rewrite-url")


def _routed(state: MockState, scope: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    """The scope the app routes: rewritten by `X-Original-URL` / `X-Rewrite-URL` (the `honours-rewrite` variant
    and the `original-url-skips-auth` fault, which then forgets the key check), or normalised by the
    `normalizing-router` variant (slashes merged, dot segments resolved, path parameters dropped, `crawl` in
    any case, a `.json` suffix and a trailing slash dropped)."""
    rewrite = next((headers[name] for name in REWRITE_HEADERS if name in headers), None)
    if rewrite and (state.on("honours-rewrite") or state.on("original-url-skips-auth")):
        path = rewrite.split("?", 1)[0]
        return {
            **scope,
            "path": path,
            "raw_path": path.encode("latin-1"),
            "spidra_rewritten": state.on("original-url-skips-auth"),
        }
    if state.on("normalizing-router") and scope["path"].lower().startswith(API_PREFIX):
        # On the raw path, as RFC 3986 6.2.2 normalises: an encoded slash inside a segment stays in it.
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
    return scope


class Instrument:
    """Logs every request, counts concurrency, and applies the whole-response switches (slow, 429, 503)."""

    def __init__(self, app: Any, state: MockState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = self.state
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        with state.lock:
            state.requests_seen += 1
            number = state.requests_seen
            state.inflight += 1
            concurrent = state.inflight
            state.received.append(
                {
                    "method": scope["method"],
                    "path": scope["path"],
                    "raw_path": scope.get("raw_path", b"").decode("latin-1"),
                    "query": scope.get("query_string", b"").decode("latin-1"),
                    "has_key": "x-api-key" in headers or "authorization" in headers,
                    "host": headers.get("host", ""),
                    "at": time.monotonic(),
                }
            )
        scope = _routed(state, scope, headers)
        try:
            if scope["path"].startswith(f"{API_PREFIX}/crawl/") and state.switches & TRANSPORT_FAULTS:
                await transport_fault(state, self.app, scope, receive, send, number, headers)
                return
            if state.on("slow"):
                await asyncio.sleep(SLOW_TAIL_S if number % SLOW_TAIL_EVERY == 0 else SLOW_S)
            if state.on("slow-first") and number == 1:
                await asyncio.sleep(SLOW_FIRST_S)
            if state.on("burst-503"):
                # Let concurrent requests overlap, as a real worker pool would, then shed the excess.
                await asyncio.sleep(0.01)
            if state.on("burst-503") and concurrent > BURST_LIMIT:
                response: Response = error(state, 503, "Service busy")
            elif state.on("rate-limited") and number % RATE_LIMITED_EVERY == 0:
                response = error(state, 429, "Too many requests", {"Retry-After": "1", "RateLimit-Remaining": "0"})
            else:
                await self.app(scope, receive, send)
                return
            await response(scope, receive, send)
        finally:
            with state.lock:
                state.inflight -= 1


# --- transport faults: a target that tries to hurt or trick its client ------------------------------------

TRANSPORT_FAULTS = frozenset(
    {
        "redirect-other-origin",
        "endless-body",
        "huge-body",
        "inflation-bomb",
        "bad-gzip",
        "truncated-body",
        "deep-json",
        "nan-json",
        "key-echo",
        "drip-body",
        "stall-after-first",
        "far-retry-after",
    }
)
FIRST_REQUESTS = 20
HUGE_BYTES = 300 * 1024 * 1024
ENDLESS_LIMIT = 1024 * 1024 * 1024
_BOMB: list[bytes] = []


def inflation_bomb() -> bytes:
    """About 1 MB of gzip that inflates to 1 GiB of zeros (made once per process)."""
    if not _BOMB:
        import zlib

        compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = bytes(1024 * 1024)
        _BOMB.append(b"".join(compressor.compress(block) for _ in range(1024)) + compressor.flush())
    return _BOMB[0]


class _Disconnect:
    """Watches `receive` for the client going away, so an endless answer stops when nobody reads it."""

    def __init__(self, receive: Any) -> None:
        self.event = asyncio.Event()
        self._task = asyncio.ensure_future(self._watch(receive))

    async def _watch(self, receive: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                self.event.set()
                return

    async def wait(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self.event.wait(), seconds)
        except TimeoutError:
            return False
        return True

    def close(self) -> None:
        self._task.cancel()


async def _start(send: Any, status: int, headers: list[tuple[str, str]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        }
    )


async def _stream(send: Any, gone: _Disconnect, chunks: Any, pause: float = 0.0) -> None:
    for chunk in chunks:
        if gone.event.is_set():
            return
        await send({"type": "http.response.body", "body": chunk, "more_body": True})
        if await gone.wait(pause):
            return
    await send({"type": "http.response.body", "body": b"", "more_body": False})


async def buffered(app: Any, scope: Any, receive: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Run the app and keep its whole answer, to bend it before it leaves."""
    started: dict[str, Any] = {}
    body = bytearray()

    async def keep(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            started.update(message)
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, keep)
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in started.get("headers", [])]
    return int(started.get("status", 500)), headers, bytes(body)


def _echo_key(content: bytes, key: str) -> bytes:
    """The presented key as the status value and, plainly and encoded, in error messages."""
    import base64

    try:
        body = json.loads(content)
    except ValueError:
        return content
    if isinstance(body, dict):
        if "progress" in body:
            body["status"] = key
        elif "message" in body:
            encoded = base64.b64encode(key.encode()).decode()
            body["message"] = f"{body['message']} (key {key}; b64 {encoded}; hex {key.encode().hex()})"
    return json.dumps(body).encode("utf-8")


async def transport_fault(
    state: MockState, app: Any, scope: Any, receive: Any, send: Any, number: int, headers: dict[str, str]
) -> None:
    if state.on("redirect-other-origin") and not headers.get("host", "").startswith("localhost"):
        port = scope["server"][1] if scope.get("server") else 80
        location = f"http://localhost:{port}{scope['path']}"
        await _start(send, 307, [("location", location), ("content-length", "0")])
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if state.on("far-retry-after") and number > FIRST_REQUESTS:
        await error(state, 429, "Too many requests", {"Retry-After": "3600"})(scope, receive, send)
        return
    gone = _Disconnect(receive)
    try:
        if state.on("stall-after-first") and number > FIRST_REQUESTS:
            await gone.wait(3600)
            return
        status, head, content = await buffered(app, scope, receive)
        plain = [(k, v) for k, v in head if k.lower() not in ("content-length", "content-encoding")]
        if status == 200 and state.on("endless-body"):
            await _start(send, 200, plain)
            await _stream(send, gone, (b" " * 65536 for _ in range(ENDLESS_LIMIT // 65536)))
        elif status == 200 and state.on("huge-body"):
            await _start(send, 200, [*plain, ("content-length", str(HUGE_BYTES))])
            await _stream(send, gone, (b" " * 65536 for _ in range(HUGE_BYTES // 65536)))
        elif status == 200 and state.on("inflation-bomb"):
            bomb = inflation_bomb()
            await _start(send, 200, [*plain, ("content-encoding", "gzip"), ("content-length", str(len(bomb)))])
            await _stream(send, gone, (bomb[i : i + 65536] for i in range(0, len(bomb), 65536)))
        elif status == 200 and state.on("drip-body"):
            await _start(send, 200, [*plain, ("content-length", str(len(content)))])
            await _stream(send, gone, (content[i : i + 1] for i in range(len(content))), pause=2.0)
        elif status == 200 and state.on("truncated-body"):
            await _start(send, 200, [*plain, ("content-length", str(len(content) + 100))])
            await send({"type": "http.response.body", "body": content, "more_body": True})
            # Returning now leaves the answer unfinished: the server closes the connection mid-body.
        else:
            if status == 200 and state.on("deep-json"):
                content = b"[" * 10_000 + b"]" * 10_000
            if status == 200 and state.on("nan-json"):
                content = re.sub(rb'"pagesCrawled":\s*-?\d+', b'"pagesCrawled":NaN', content)
            if state.on("key-echo"):
                key = headers.get("x-api-key") or headers.get("authorization", "").partition(" ")[2]
                if key:
                    content = _echo_key(content, key)
            extra = [("content-encoding", "gzip")] if status == 200 and state.on("bad-gzip") else []
            await _start(send, status, [*plain, *extra, ("content-length", str(len(content)))])
            await send({"type": "http.response.body", "body": content, "more_body": False})
    finally:
        gone.close()


def create_app(state: MockState | None = None) -> Any:
    """The ASGI app; `app.state.mock` is the `MockState` it serves."""
    state = state or make_state()
    middleware = [Middleware(GZipMiddleware, minimum_size=0)] if state.on("gzip") else []
    app = Starlette(
        routes=[
            Route(f"{API_PREFIX}/crawl/{{job_id}}/pages", crawl_pages, methods=["GET"]),
            Route(f"{API_PREFIX}/crawl/{{job_id:path}}", crawl_status, methods=ALL_METHODS),
            Route(f"{API_PREFIX}/crawl", submit_crawl, methods=["POST"]),
            Route("/_mock/stats", stats, methods=["GET"]),
            Route(f"{API_PREFIX}/", api_root, methods=["GET", "HEAD"]),
        ],
        middleware=middleware,
        exception_handlers={404: not_found, 405: not_found},
    )
    app.state.mock = state
    return Instrument(app, state)
