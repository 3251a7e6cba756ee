"""The embedded mock: a reference implementation of GET /crawl/{jobId}, with its faults and variants beside it.

The handlers follow `openapi.yaml` to the letter and call fixed hook points; each fault or variant of
`faults.py` is an object that bends the answer at one or more of them (a fault breaks one clause, a variant does
something unusual the contract still allows), chosen per app or per request. The transport faults below bend the
bytes of an answer (and `wire.py` writes what no ASGI server would): they are switches asked by name, per app.
"""

from __future__ import annotations

import asyncio
import collections
import json
import re
import threading
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spidra_contract.mock import catalogue
from spidra_contract.mock.faults import NOT_AUTHORIZED, NOT_FOUND, REGISTRY, Ask, Chain, JobRead, write
from spidra_contract.mock.jobs import ACCOUNTS, Clock, Job, JobStore, WallClock, add_corpus, seeded_store

API_PREFIX = "/api"
ALLOWED = "GET, HEAD"
ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]
# Where the app was made with `per_request=True`, a request may name faults of its own (comma-separated) in this
# header: one process serves the reference and any fault side by side.
SWITCH_HEADER = "x-mock-switch"
CHAIN_KEY = "spidra_mock_chain"


@dataclass
class MockState:
    """What the mock holds: jobs, switches, a clock and its speed, and a log of what it received."""

    switches: frozenset[str] = frozenset()
    time_scale: float = 1.0
    clock: Clock = field(default_factory=WallClock)
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
    switches: tuple[str, ...] | list[str] = (),
    time_scale: float = 1.0,
    corpus: int = 0,
    per_request: bool = False,
    clock: Clock | None = None,
) -> MockState:
    state = MockState(
        switches=frozenset(catalogue.validate(tuple(switches))),
        time_scale=time_scale,
        per_request=per_request,
        clock=clock or WallClock(),
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
    status, crawled, err, message = job.state(state.clock.now(job.id), state.time_scale)
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


def _presented_key(chain: Chain, request: Request) -> tuple[str | None, str]:
    """The key the request presents, and the channel it came by: x-api-key, as the spec says, or a Bearer token,
    as the official SDKs send it (and any channel a fault or variant reads)."""
    key = request.headers.get("x-api-key")
    if key is not None:
        return key, "x-api-key"
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return token.strip(), "bearer"
    other = chain.first(lambda fault: fault.channel(request))
    return (str(other[0]), str(other[1])) if other is not None else (None, "")


def authenticate(request: Request) -> str | None:
    """The account the request's key belongs to (None: no key, or one no account has)."""
    chain = _chain(request)
    key, channel = _presented_key(chain, request)
    forced = chain.first(lambda fault: fault.account(key))
    if forced is not None:
        return str(forced)
    if key is None:
        return chain.first(lambda fault: fault.account_without_key(request))  # type: ignore[no-any-return]
    for known, account in ACCOUNTS.items():
        if key == known or any(fault.accepts(key, known, channel) for fault in chain):
            return account
    return None


def _unknown(ask: Ask, chain: Chain) -> Response:
    """The answer to an id that names no job: 404 ErrorResponse."""
    answer = chain.first(lambda fault: fault.unknown(ask))
    return answer if answer is not None else error(chain, 404, NOT_FOUND)


def _lookup(state: MockState, chain: Chain, job_id: str) -> Job | None:
    job = state.store.get(job_id)
    if job is None:
        job = chain.first(lambda fault: fault.lookup(job_id, state.store.get))
    return job


async def crawl_status(request: Request) -> Response:
    """GET /crawl/{jobId} as the spec says: the key, the job, its owner, its body now; every fault and variant
    bends it at a hook point (`faults.Fault`)."""
    state: MockState = request.app.state.mock
    chain = _chain(request)
    job_id = request.path_params["job_id"]
    ask = Ask(
        request=request,
        job_id=job_id,
        find=partial(_lookup, state, chain),
        write=partial(_json, chain),
        refuse=partial(error, chain),
        render=lambda job: render_job(state, chain, job, state.reads[job.id]),
        account=partial(authenticate, request),
        cache=state.cache,
    )
    first = chain.first(lambda fault: fault.answer_first(ask))
    if first is not None:
        return first  # type: ignore[no-any-return]
    if request.method not in ("GET", "HEAD"):
        return error(chain, 405, f"Method {request.method} not allowed", {"Allow": ALLOWED})
    trailing = job_id.endswith("/") and any(fault.trailing_slash for fault in chain)
    if trailing:
        job_id = job_id[:-1]
    for fault in chain:
        job_id = fault.spell(job_id, ask) or job_id
    opened = any(fault.opens(ask, trailing) for fault in chain)
    if opened and (found := _lookup(state, chain, job_id)) is not None:
        account: str | None = found.account
    else:
        account = authenticate(request)
    if account is None:
        leaked = chain.first(lambda fault: fault.unauthenticated(ask))
        if leaked is not None:
            return leaked  # type: ignore[no-any-return]
        refused = 403
        for fault in chain:
            refused = fault.refusal_status(refused)
        return error(chain, refused, NOT_AUTHORIZED)
    crashed = chain.first(lambda fault: fault.crash(job_id, partial(_json, chain)))
    if crashed is not None:
        return crashed  # type: ignore[no-any-return]
    job = _lookup(state, chain, job_id)
    if job is None:
        return _unknown(ask, chain)
    _, channel = _presented_key(chain, request)
    if job.account != account and not any(fault.crosses(ask, channel) for fault in chain):
        answer = chain.first(lambda fault: fault.stranger(ask, job))
        return answer if answer is not None else error(chain, 404, NOT_FOUND)
    if job.account == account:
        state.store.touch(job, state.clock.now(job.id))
    with state.lock:
        read_number = state.reads[job.id]
        state.reads[job.id] += 1
    body = render_job(state, chain, job, read_number)
    response = _json(chain, 200, body)
    for fault in chain:
        fault.served(ask, response, account, body)
    return response


PAGES_LIMIT = 1000


async def crawl_pages(request: Request) -> Response:
    """GET /crawl/{jobId}/pages?offset&limit: not part of the contract; the official SDK's `crawl_pages` and
    `watch_crawl` read a crawl's pages here, as many as it has crawled so far."""
    state: MockState = request.app.state.mock
    chain = _chain(request)
    account = authenticate(request)
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
    _, crawled, _, _ = job.state(state.clock.now(job.id), state.time_scale)
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
    account = authenticate(request)
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
    """GET /api/: no such route in the reference (the `public-root` variant answers an index to anyone)."""
    chain = _chain(request)
    body = chain.first(lambda fault: fault.root())
    if body is None:
        return error(chain, 404, f"No route for {request.method} {request.url.path}")
    return _json(chain, 200, body)


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
        routed = chain.first(lambda fault: fault.route(scope, headers))
        scope = {**(routed or scope), CHAIN_KEY: chain}
        try:
            refused = [name for name in asked if name not in REGISTRY] if state.per_request else []
            if refused:
                message = f"{SWITCH_HEADER}: {', '.join(refused)} cannot be chosen per request (only per app)"
                await error(state.chain, 400, message)(scope, receive, send)
                return
            if scope["path"].startswith(f"{API_PREFIX}/crawl/") and state.switches & TRANSPORT_FAULTS:
                await transport_fault(state, chain, self.app, scope, receive, send, number, headers)
                return
            edged = chain.first(lambda fault: fault.edge(scope, headers))
            if edged is not None:
                await edged(scope, receive, send)
                return
            for fault in chain:
                paced = await fault.pace(number, concurrent, partial(error, chain))
                if paced is not None:
                    await paced(scope, receive, send)
                    return
            await self.app(scope, receive, send)
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
