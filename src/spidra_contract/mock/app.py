"""The embedded mock: a reference implementation of GET /crawl/{jobId}, with fault and variant switches.

Reference mode follows `openapi.yaml` to the letter. Each switch in `catalogue.py` bends one behaviour:
a fault breaks one clause, a variant does something unusual that the contract still allows.
"""

from __future__ import annotations

import asyncio
import collections
import json
import posixpath
import re
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spidra_contract.mock import catalogue
from spidra_contract.mock.faults import REGISTRY, Chain, JobRead, write
from spidra_contract.mock.jobs import ACCOUNTS, Job, JobStore, add_corpus, seeded_store

API_PREFIX = "/api"
ALLOWED = "GET, HEAD"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
BURST_LIMIT = 8
NOT_FOUND = "Crawl job not found"
NOT_AUTHORIZED = "Not authorized: missing or invalid API key"
# Where the app was made with `per_request=True`, a request may name faults of its own (comma-separated) in this
# header: one process serves the reference and any fault side by side.
SWITCH_HEADER = "x-mock-switch"
CHAIN_KEY = "spidra_mock_chain"


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
    per_request: bool = False  # a request may add faults of its own (SWITCH_HEADER)

    def on(self, name: str) -> bool:
        """A switch the reference still asks for by name (routing doors, transport); every other fault is an
        object in `chain`, which bends the reference at its hook points."""
        return name in self.switches

    @property
    def chain(self) -> Chain:
        return Chain.of(self.switches)

    @property
    def keys(self) -> dict[str, str]:
        return {account: key for key, account in ACCOUNTS.items()}

    def job_ids(self, account: str = "alpha") -> list[str]:
        return self.store.ids_of(account)


def make_state(
    switches: tuple[str, ...] | list[str] = (), time_scale: float = 1.0, corpus: int = 0, per_request: bool = False
) -> MockState:
    state = MockState(
        switches=frozenset(catalogue.validate(tuple(switches))), time_scale=time_scale, per_request=per_request
    )
    if corpus:
        add_corpus(state.store, corpus)
    return state


# --- rendering ---------------------------------------------------------------------------------------------


def _chain(request: Request) -> Chain:
    """The faults bending this answer: the app's, and the request's own where the app takes them."""
    chain = request.scope.get(CHAIN_KEY)
    return chain if isinstance(chain, Chain) else request.app.state.mock.chain


def _json(chain: Chain, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return write(chain, status, body, headers)


def error(chain: Chain, status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """An ErrorResponse {status: "error", message}, as the spec says, bent by the faults on."""
    for fault in chain:
        message = fault.message(status, message)
    page = chain.first(lambda fault: fault.error_page(status, message))
    if page is not None:
        return page  # type: ignore[no-any-return]
    body: dict[str, Any] = {"status": "error", "message": message}
    for fault in chain:
        body = fault.error_body(status, body)
    return _json(chain, status, body, headers)


def render_job(state: MockState, chain: Chain, job: Job, read_number: int) -> Any:
    """The 200 body for `job` as of now: the spec's shape, bent by the faults on."""
    status, crawled, err, message = job.state(time.monotonic(), state.time_scale)
    read = JobRead(job, read_number, status, status, crawled, err, message, job.max_pages, list(job.pages))
    read.result = (
        [_page(chain, page, depth) for depth, page in enumerate(read.pages)] if status == "completed" else None
    )
    for fault in chain:
        fault.job_read(read)
    body: Any = {
        "status": read.status,
        "progress": {"message": read.message, "pagesCrawled": read.crawled, "maxPages": read.max_pages},
        "result": read.result,
        "error": read.error,
    }
    for fault in chain:
        body = fault.job_body(body, read)
    return body


def _page(chain: Chain, page: dict[str, Any], depth: int) -> Any:
    item: Any = dict(page)
    for fault in chain:
        item = fault.page(item, depth)
    return item


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
    """The account the request's key belongs to (None: no key, or one no account has)."""
    chain = _chain(request)
    key, channel = _presented_key(state, request)
    forced = chain.first(lambda fault: fault.account(key))
    if forced is not None:
        return str(forced)
    if key is None:
        if state.on("session-cookie"):
            return SESSIONS.get(request.cookies.get(SESSION_COOKIE, ""))
        return None
    for known, account in ACCOUNTS.items():
        if key == known or any(fault.accepts(key, known, channel) for fault in chain):
            return account
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


def _refusal_with_job(state: MockState, chain: Chain, status: int, message: str, job: Job) -> Response:
    """The `refusal-carries-job` fault: the refusal is right, but its body embeds the record (a debug field)."""
    record = render_job(state, chain, job, state.reads[job.id])
    return _json(chain, status, {"status": "error", "message": message, "debug": {"job": record}})


def _unknown(chain: Chain, job_id: str) -> Response:
    """The answer to an id that names no job: 404 ErrorResponse."""
    answer = chain.first(lambda fault: fault.unknown(job_id, partial(_json, chain)))
    return answer if answer is not None else error(chain, 404, NOT_FOUND)


def _lookup(state: MockState, chain: Chain, job_id: str) -> Job | None:
    job = state.store.get(job_id)
    if job is None:
        job = chain.first(lambda fault: fault.lookup(job_id, state.store.get))
    return job


async def crawl_status(request: Request) -> Response:
    state: MockState = request.app.state.mock
    chain = _chain(request)
    job_id = request.path_params["job_id"]
    if request.method == "OPTIONS" and state.on("options-leaks-job"):
        job = _lookup(state, chain, job_id)
        if job is not None:  # to anyone, key or not
            return _json(chain, 200, render_job(state, chain, job, state.reads[job.id]))
    if request.method == "OPTIONS" and state.on("options-preflight"):
        headers = {"Allow": "GET, HEAD, OPTIONS", "Access-Control-Allow-Methods": "GET, HEAD"}
        return Response(status_code=204, headers=headers)  # to anyone, as a CORS preflight
    if request.method not in ("GET", "HEAD"):
        return error(chain, 405, f"Method {request.method} not allowed", {"Allow": ALLOWED})
    if request.method == "HEAD" and state.on("head-405"):
        return error(chain, 405, "Method HEAD not allowed", {"Allow": "GET"})
    head_blind = request.method == "HEAD" and state.on("head-blind")
    if head_blind and authenticate(state, request) is not None and _lookup(state, chain, job_id) is None:
        return Response(status_code=200, media_type="application/json")  # HEAD 200 where GET says 404
    cached = state.cache.get(request.url.path) if state.on("key-blind-cache") else None
    if cached is not None and time.monotonic() - cached[0] < CACHE_SECONDS:
        return _json(chain, 200, cached[1])
    trailing_slash = job_id.endswith("/") and (state.on("lenient-router") or state.on("slash-skips-auth"))
    if trailing_slash:
        job_id = job_id[:-1]
    if state.on("dot-segment-skips-auth") and _odd_segments(job_id):
        job_id = _normalised_id(job_id)
    if state.on("upper-id-skips-ownership") and job_id != job_id.lower() and state.store.get(job_id) is None:
        job_id = job_id.lower()  # a case-insensitive lookup on a second code path
    if _skips_auth(state, request, trailing_slash) and (found := _lookup(state, chain, job_id)) is not None:
        account: str | None = found.account
    else:
        account = authenticate(state, request)
    if account is None:
        if state.on("refusal-carries-job") and (leaked := _lookup(state, chain, job_id)) is not None:
            return _refusal_with_job(state, chain, 403, NOT_AUTHORIZED, leaked)
        refused = 403
        for fault in chain:
            refused = fault.refusal_status(refused)
        return error(chain, refused, NOT_AUTHORIZED)
    crashed = chain.first(lambda fault: fault.crash(job_id, partial(_json, chain)))
    if crashed is not None:
        return crashed  # type: ignore[no-any-return]
    job = _lookup(state, chain, job_id)
    if job is None:
        if state.on("forbid-unowned"):
            return error(chain, 403, NOT_AUTHORIZED)
        return _unknown(chain, job_id)
    if job.account != account and not state.on("cross-account-read") and not _skips_ownership(state, request):
        if state.on("refusal-carries-job"):
            return _refusal_with_job(state, chain, 404, NOT_FOUND, job)
        if state.on("foreign-403") or state.on("forbid-unowned"):
            return error(chain, 403, "This job belongs to another account")
        return error(chain, 404, NOT_FOUND)
    if job.account == account:
        state.store.touch(job)
    with state.lock:
        read_number = state.reads[job.id]
        state.reads[job.id] += 1
    body = render_job(state, chain, job, read_number)
    if state.on("key-blind-cache"):
        state.cache[request.url.path] = (time.monotonic(), body)
    response = _json(chain, 200, body)
    if state.on("session-cookie"):
        response.set_cookie(SESSION_COOKIE, f"session-{account}", httponly=True, path="/")
    return response


PAGES_LIMIT = 1000


async def crawl_pages(request: Request) -> Response:
    """GET /crawl/{jobId}/pages?offset&limit: not part of the contract; the official SDK's `crawl_pages` and
    `watch_crawl` read a crawl's pages here, as many as it has crawled so far."""
    state: MockState = request.app.state.mock
    chain = _chain(request)
    account = authenticate(state, request)
    if account is None:
        return error(chain, 403, NOT_AUTHORIZED)
    job = state.store.get(request.path_params["job_id"])
    if job is None or job.account != account:
        return error(chain, 404, NOT_FOUND)
    try:
        offset = max(0, int(request.query_params.get("offset") or 0))
        limit = min(PAGES_LIMIT, max(1, int(request.query_params.get("limit") or PAGES_LIMIT)))
    except ValueError:
        return error(chain, 400, "offset and limit must be integers")
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
        chain,
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
    chain = _chain(request)
    account = authenticate(state, request)
    if account is None:
        return error(chain, 403, NOT_AUTHORIZED)
    try:
        payload = await request.json()
    except ValueError:
        payload = {}
    url = str(payload.get("baseUrl") or payload.get("url") or "https://example.com/")
    job = state.store.create(account, url, int(payload.get("maxPages") or 5))
    return _json(chain, 200, {"status": "queued", "jobId": job.id, "message": "Crawl job queued"})


async def api_root(request: Request) -> Response:
    """GET /api/: the `public-root` variant's index, open to anyone (many APIs answer their root so); else none."""
    state: MockState = request.app.state.mock
    chain = _chain(request)
    if not state.on("public-root"):
        return error(chain, 404, f"No route for {request.method} {request.url.path}")
    return _json(chain, 200, {"service": "spidra", "status": "ok", "docs": "https://docs.spidra.io"})


async def stats(request: Request) -> Response:
    """GET /_mock/stats: what the mock received (for benchmarks and tools; not part of the contract)."""
    state: MockState = request.app.state.mock
    chain = _chain(request)
    methods = collections.Counter(entry["method"] for entry in state.received)
    return _json(chain, 200, {"requests": state.requests_seen, "methods": dict(methods)})


async def not_found(request: Request, exc: Exception) -> Response:
    chain = _chain(request)
    code = exc.status_code if isinstance(exc, HTTPException) else 500
    if code == 405:
        return error(chain, 405, f"Method {request.method} not allowed", {"Allow": "POST"})
    return error(chain, code, f"No route for {request.method} {request.url.path}")


# The `slow` variant: every response waits SLOW_S, every SLOW_TAIL_EVERY-th SLOW_TAIL_S (a latency tail well past
# hypothesis' default deadline). The `rate-limited` variant: every RATE_LIMITED_EVERY-th request gets 429.
SLOW_S = 0.015
SLOW_TAIL_EVERY = 100
SLOW_TAIL_S = 0.6  # three times hypothesis' default deadline
RATE_LIMITED_EVERY = 120
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
        chain = state.chain
        asked = [name.strip() for name in headers.get(SWITCH_HEADER, "").split(",") if name.strip()]
        if asked and state.per_request:
            chain += Chain.of(asked)
        scope = {**_routed(state, scope, headers), CHAIN_KEY: chain}
        try:
            refused = [name for name in asked if name not in REGISTRY] if state.per_request else []
            if refused:
                message = f"{SWITCH_HEADER}: {', '.join(refused)} cannot be chosen per request (only per app)"
                await error(state.chain, 400, message)(scope, receive, send)
                return
            if scope["path"].startswith(f"{API_PREFIX}/crawl/") and state.switches & TRANSPORT_FAULTS:
                await transport_fault(state, chain, self.app, scope, receive, send, number, headers)
                return
            if state.on("slow"):
                await asyncio.sleep(SLOW_TAIL_S if number % SLOW_TAIL_EVERY == 0 else SLOW_S)
            if state.on("slow-first") and number == 1:
                await asyncio.sleep(SLOW_FIRST_S)
            if state.on("burst-503"):
                # Let concurrent requests overlap, as a real worker pool would, then shed the excess.
                await asyncio.sleep(0.01)
            if state.on("burst-503") and concurrent > BURST_LIMIT:
                response: Response = error(chain, 503, "Service busy")
            elif state.on("rate-limited") and number % RATE_LIMITED_EVERY == 0:
                response = error(chain, 429, "Too many requests", {"Retry-After": "1", "RateLimit-Remaining": "0"})
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
    state: MockState,
    chain: Chain,
    app: Any,
    scope: Any,
    receive: Any,
    send: Any,
    number: int,
    headers: dict[str, str],
) -> None:
    if state.on("redirect-other-origin") and not headers.get("host", "").startswith("localhost"):
        port = scope["server"][1] if scope.get("server") else 80
        location = f"http://localhost:{port}{scope['path']}"
        await _start(send, 307, [("location", location), ("content-length", "0")])
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        return
    if state.on("far-retry-after") and number > FIRST_REQUESTS:
        await error(chain, 429, "Too many requests", {"Retry-After": "3600"})(scope, receive, send)
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
