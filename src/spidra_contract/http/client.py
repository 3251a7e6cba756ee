"""The one door every request to the target goes through.

Safe methods only (unless allowed), never off the target's origin, never a redirect followed; a deadline for
the whole exchange and a cap on the body (decompression included); the request budget, the rate limit and
the breaker shared by every thread and every xdist worker of the run; 429 + Retry-After honoured within
bounds; every exchange recorded (secrets redacted) for the cassette and the reports.

A request the suite does not send, or that the target does not answer, raises a `SuiteRefusal`: a pytest skip
(so hypothesis re-raises it at once instead of shrinking), counted by the run as "could not test".
"""

from __future__ import annotations

import dataclasses
import datetime
import http.cookiejar
import io
import itertools
import json
import os
import threading
import time
import unittest
import uuid
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
import requests.structures
from urllib3 import HTTPHeaderDict

from spidra_contract.core.exchange import Redactor, Reply, reply_from_response
from spidra_contract.core.judgement import Trip, Tripped
from spidra_contract.http.transport import Aborted, NoAnswer, NotHTTP, Received, Stuck, Transport, Unsendable

SAFE_METHODS = frozenset({"GET", "HEAD"})
# A violating read is asked again (never anything else); the last this many reads are remembered for it.
REREADABLE = SAFE_METHODS
REREAD_MEMORY = 256
ACCEPT_ENCODING = "gzip, deflate"
DEFAULT_MAX_BODY = 4 * 1024 * 1024
PROBLEM_EXCERPT_BYTES = 64 * 1024
# 429: a wait longer than this is not waited for (the run stops as incomplete, quoting the header) ...
MAX_RETRY_AFTER_SECONDS = 30.0
# ... nor more than this in total over the run, nor more than this many times for one request.
MAX_TOTAL_429_WAIT_SECONDS = 60.0
MAX_429_RETRIES = 3
# The target "stopped answering" after this many transport failures in a row (timeouts, resets).
MAX_CONSECUTIVE_FAILURES = 3


class SuiteRefusal(unittest.SkipTest):
    """The suite did not send a request, or the target did not answer it: the run is "could not test"
    (exit 6) or "incomplete" (exit 7), never "violations". The plugin makes the test that hit it a skip with the
    reason; it is a `unittest.SkipTest` so that hypothesis gives up on the test at once instead of shrinking."""

    def __init__(self, msg: str) -> None:
        super().__init__(msg)


class UnsafeRequestBlocked(SuiteRefusal):
    pass


class OffOrigin(SuiteRefusal):
    pass


class BudgetExhausted(SuiteRefusal):
    pass


class RateLimited(SuiteRefusal):
    pass


class RunDeadline(SuiteRefusal):
    pass


class TargetNotAnswering(SuiteRefusal):
    def __init__(self, msg: str, cause: str = "", connected: bool = True) -> None:
        super().__init__(msg)
        self.cause = cause or msg
        self.connected = connected  # the target took the connection (and then gave no final answer)


class NotSendable(SuiteRefusal):
    pass


class RunEnded(SuiteRefusal):
    pass


_TRIP_ERRORS: dict[Trip, type[SuiteRefusal]] = {
    Trip.NOT_ANSWERING: TargetNotAnswering,
    Trip.RATE_LIMITED: RateLimited,
    Trip.BUDGET: BudgetExhausted,
    Trip.DEADLINE: RunDeadline,
}


# --- limits for the whole run ----------------------------------------------------------------------------


class Gate:
    """The request budget, the pacing (rate limit and Retry-After holds), the breaker and the run deadline,
    for every thread of this process and, through a locked file, every xdist worker of the run."""

    def __init__(
        self,
        *,
        rate: float,
        max_requests: int,
        run_deadline: float = 0.0,
        path: Path | None = None,
    ) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.max_requests = max_requests
        self.run_deadline = run_deadline
        self.path = path
        self._lock = threading.Lock()
        self._memory: dict[str, Any] = self._fresh()

    @staticmethod
    def _fresh() -> dict[str, Any]:
        return {
            "sent": 0,
            "next": 0.0,
            "failures": 0,
            "waited_429": 0.0,
            "trip": "",
            "reason": "",
            "started": time.time(),
        }

    def share(self, path: Path) -> None:
        """Keep the state in `path` from now on (the xdist controller does this before workers start)."""
        with self._lock:
            path.write_text(json.dumps(self._memory), encoding="utf-8")
            self.path = path

    def attach(self, path: Path) -> None:
        """Use the state another process shares in `path` (an xdist worker joins its controller's)."""
        with self._lock:
            self.path = path

    def _update(self, change: Callable[[dict[str, Any]], Any]) -> Any:
        with self._lock:
            if self.path is None:
                return change(self._memory)
            import fcntl  # POSIX only, as the package declares: only a shared gate (xdist) takes the lock

            with self.path.open("r+", encoding="utf-8") as handle:
                fcntl.flock(handle, fcntl.LOCK_EX)
                state = json.loads(handle.read() or "{}") or self._fresh()
                result = change(state)
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(state))
                return result

    def state(self) -> dict[str, Any]:
        return dict(self._update(lambda state: dict(state)))

    def spare(self, reads: int) -> str | None:
        """Whether `reads` more requests may go to re-reading a violation: None if so (they are set aside now),
        else why not. Re-reads never take the budget's last tenth, more than a tenth of it in all, nor the run's
        last tenth of its deadline; an unlimited run (the mock's) always may."""

        def take(state: dict[str, Any]) -> str | None:
            if state["trip"]:
                return "the run has stopped sending"
            if self.max_requests:
                reserve = self.max_requests // 10
                spent = state.get("rereads", 0)
                if spent + reads > reserve or state["sent"] + reads > self.max_requests - reserve:
                    return f"kept the request budget ({self.max_requests}) for the run"
            if self.run_deadline and time.time() - state["started"] > self.run_deadline * 0.9:
                return f"kept the run's deadline ({self.run_deadline:g} s) for the run"
            state["rereads"] = state.get("rereads", 0) + reads
            return None

        refused = self._update(take)
        return None if refused is None else str(refused)

    def admit(self) -> tuple[float, float]:
        """Take one request from the budget: the seconds to wait before sending it, and the seconds the run has
        left after that (its deadline bounds the exchange too). Raises when the run has stopped (budget spent,
        deadline passed, breaker tripped)."""

        def take(state: dict[str, Any]) -> tuple[str, str, float, float]:
            if state["trip"]:
                return state["trip"], state["reason"], 0.0, 0.0
            if self.run_deadline and time.time() - state["started"] > self.run_deadline:
                state["trip"], state["reason"] = Trip.DEADLINE, f"the run's deadline ({self.run_deadline:g} s) passed"
                return state["trip"], state["reason"], 0.0, 0.0
            if self.max_requests and state["sent"] >= self.max_requests:
                state["trip"], state["reason"] = Trip.BUDGET, f"the run's request budget ({self.max_requests}) is spent"
                return state["trip"], state["reason"], 0.0, 0.0
            state["sent"] += 1
            now = time.monotonic()
            slot = max(now, state["next"])
            if self.interval:
                state["next"] = slot + self.interval
            left = self.run_deadline - (time.time() - state["started"]) - (slot - now) if self.run_deadline else 0.0
            return "", "", slot - now, left

        trip, reason, wait, left = self._update(take)
        if trip:
            raise _TRIP_ERRORS[Trip(trip)](reason)
        return float(wait), float(left) if self.run_deadline else float("inf")

    def hold(self, seconds: float) -> bool:
        """Nobody sends before `seconds` from now (a 429 asked us to back off). False, and the run stops as
        rate-limited, when the wait is beyond what the suite gives a target."""

        def apply(state: dict[str, Any]) -> bool:
            if seconds > MAX_RETRY_AFTER_SECONDS or state["waited_429"] + seconds > MAX_TOTAL_429_WAIT_SECONDS:
                return False
            state["waited_429"] += seconds
            state["next"] = max(state["next"], time.monotonic() + seconds)
            return True

        return bool(self._update(apply))

    def trip(self, kind: Trip, reason: str) -> None:
        def apply(state: dict[str, Any]) -> None:
            if not state["trip"]:
                state["trip"], state["reason"] = kind, reason

        self._update(apply)

    def outcome(self, ok: bool, reason: str = "") -> None:
        """Count a transport success (resets the breaker) or failure (trips it after a few in a row)."""

        def apply(state: dict[str, Any]) -> None:
            if ok:
                state["failures"] = 0
                return
            state["failures"] += 1
            if state["failures"] >= MAX_CONSECUTIVE_FAILURES and not state["trip"]:
                state["trip"] = Trip.NOT_ANSWERING
                state["reason"] = (
                    f"the target stopped answering: {state['failures']} requests in a row failed, last: {reason}"
                )

        self._update(apply)

    @property
    def tripped(self) -> Tripped | None:
        state = self.state()
        return Tripped(Trip(state["trip"]), state["reason"]) if state["trip"] else None


@dataclass
class Traffic:
    """Counters and the event log of one process' traffic (merged across xdist workers at the end)."""

    sent: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    rate_limited: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    network_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    # Reachability probes that got no answer and were asked again (not the tests' requests: nothing went unjudged).
    probe_retries: list[str] = field(default_factory=list)
    # Interim (1xx) replies skipped before final ones, by status.
    interim: dict[str, int] = field(default_factory=dict)
    # Requests per layer of the suite (the marker of the test that sent them; "lifecycle" for the background
    # watch, "start" for the probe), so a run shows where its requests go.
    by_layer: dict[str, int] = field(default_factory=dict)
    layer: str = "start"
    # The test sending requests (its node id): the probe class of the behavioural fingerprint starts from it.
    probe: str = "start"
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def in_layer(self, layer: str, probe: str = "") -> None:
        """Count this thread's requests under `layer`, whatever test runs meanwhile (the background watch)."""
        self._local.layer = layer
        self._local.probe = probe or layer

    @property
    def current_layer(self) -> str:
        return getattr(self._local, "layer", None) or self.layer

    @property
    def current_probe(self) -> str:
        return getattr(self._local, "probe", None) or self.probe

    def count(self, method: str) -> None:
        layer = self.current_layer
        with self.lock:
            self.sent += 1
            self.by_method[method] = self.by_method.get(method, 0) + 1
            self.by_layer[layer] = self.by_layer.get(layer, 0) + 1

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "sent": self.sent,
                "by_method": dict(self.by_method),
                "by_layer": dict(self.by_layer),
                "rate_limited": list(self.rate_limited),
                "blocked": list(self.blocked),
                "network_errors": list(self.network_errors),
                "refused": list(self.refused),
                "probe_retries": list(self.probe_retries),
                "interim": dict(self.interim),
            }

    def merge(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.sent += data.get("sent", 0)
            for method, count in data.get("by_method", {}).items():
                self.by_method[method] = self.by_method.get(method, 0) + count
            for layer, count in data.get("by_layer", {}).items():
                self.by_layer[layer] = self.by_layer.get(layer, 0) + count
            for status, count in data.get("interim", {}).items():
                self.interim[status] = self.interim.get(status, 0) + count
            for name in ("rate_limited", "blocked", "network_errors", "refused", "probe_retries"):
                getattr(self, name).extend(data.get(name, []))

    def skipped_interim(self, statuses: tuple[int, ...]) -> None:
        with self.lock:
            for status in statuses:
                self.interim[str(status)] = self.interim.get(str(status), 0) + 1

    def log(self, name: str, entry: Any) -> None:
        with self.lock:
            getattr(self, name).append(entry)


def retry_after_seconds(value: str | None) -> float:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date); 1 when absent or odd."""
    if not value:
        return 1.0
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return 1.0


# --- bounded bodies --------------------------------------------------------------------------------------


@dataclass
class Body:
    content: bytes
    problem: str = ""


def decode_body(body: Body, content_encoding: str, cap: int) -> Body:
    """The body decoded by its Content-Encoding (gzip, deflate), never inflated past the cap."""
    codings = [c.strip().lower() for c in content_encoding.split(",") if c.strip()]
    content = body.content
    if not content:
        return body  # nothing to decode: a HEAD, 204 or 304 carries no body whatever its headers say
    for coding in reversed(codings):
        if coding == "identity":
            continue
        if coding in ("gzip", "x-gzip"):
            modes = [16 + zlib.MAX_WBITS]
        elif coding == "deflate":
            modes = [zlib.MAX_WBITS, -zlib.MAX_WBITS]
        else:
            return Body(
                content, body.problem or f"Content-Encoding {coding!r} was not asked for (only {ACCEPT_ENCODING})"
            )
        for index, wbits in enumerate(modes):
            decoder = zlib.decompressobj(wbits)
            try:
                decoded = decoder.decompress(content, cap + 1)
            except zlib.error as exc:
                if index + 1 < len(modes):
                    continue
                return Body(b"", body.problem or f"the {coding} body does not decode ({exc})")
            if len(decoded) > cap or decoder.unconsumed_tail:
                return Body(
                    decoded[:cap],
                    f"the {coding} body inflates past the {cap}-byte cap ({len(content)} bytes on the wire)",
                )
            if not decoder.eof and not body.problem:
                return Body(decoded, f"the {coding} body ends before its compressed stream does")
            content = decoded
            break
    return Body(content, body.problem)


def origin_of(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80)


# --- the session -----------------------------------------------------------------------------------------


class GuardedSession(requests.Session):
    """A `requests.Session` every request of the run goes through (see the module's docstring). requests
    prepares each request (schemathesis builds them so); this session's `send` hands it to the suite's own
    `Transport` instead of urllib3, so one wall clock bounds the whole exchange."""

    def __init__(
        self,
        *,
        redactor: Redactor,
        gate: Gate,
        origin: str,
        timeout: float,
        allow_unsafe: bool,
        max_body: int = DEFAULT_MAX_BODY,
        on_exchange: Callable[[Reply], None] | None = None,
        traffic: Traffic | None = None,
    ) -> None:
        super().__init__()
        self.redactor = redactor
        self.gate = gate
        self.origin = origin_of(origin)
        self.timeout = timeout
        self.allow_unsafe = allow_unsafe
        self.max_body = max_body
        self.on_exchange = on_exchange
        self.traffic = traffic or Traffic()
        self.transport = Transport(max_body=max_body)
        # What each recent read sent, by exchange id, so a violating read can be asked again exactly as it was
        # (`reread`); kept in memory only, never written anywhere (it holds the keys).
        self._asked: OrderedDict[str, tuple[str, str, list[tuple[str, str]]]] = OrderedDict()
        self._ids = itertools.count(1)
        self._asked_lock = threading.Lock()
        self._prefix = uuid.uuid4().hex[:6]
        self.trust_env = False  # no proxy or .netrc from the environment decides where a key goes
        # No cookie a server sets is ever sent back: a session cookie from the owner's read would let a later
        # "no key" request in, and the suite would call a locked door open.
        self.cookies.set_policy(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
        self.headers["User-Agent"] = "spidra-contract"
        self.headers["Accept-Encoding"] = ACCEPT_ENCODING

    def close(self) -> None:
        self.transport.close()
        super().close()

    def _refuse(self, error: type[SuiteRefusal], message: str, log: str = "refused") -> SuiteRefusal:
        self.traffic.log(log, message)
        return error(message)

    def _admit(self, method: str, url: str) -> float:
        """Admit one request (or refuse it); the seconds the run has left once it may go."""
        if method not in SAFE_METHODS and not self.allow_unsafe:
            raise self._refuse(
                UnsafeRequestBlocked,
                f"{method} is not sent to this target (unsafe methods need --allow-unsafe)",
                "blocked",
            )
        if origin_of(url) != self.origin:
            raise self._refuse(
                OffOrigin,
                f"{method} {self.redactor.url(url)} is off the target's origin: not sent",
                "blocked",
            )
        try:
            wait, left = self.gate.admit()
        except SuiteRefusal as exc:
            self.traffic.log("refused", str(exc))
            raise
        self.traffic.count(method)
        if wait > 0:
            time.sleep(wait)
        return left

    def send_raw(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | list[tuple[str, str]],
        context: str = "",
        stranger: bool = False,
    ) -> requests.Response:
        """Send `url` exactly as written, with `headers` exactly as listed (a name may repeat). requests
        normalises every URL it prepares (it decodes `%2e` to `.` and urllib3 then drops `../` segments), so a
        probe such as `/crawl/%2e%2e/{id}` would never reach the server as meant. Same guards, limits and
        records as every other request."""
        listed = list(headers.items()) if isinstance(headers, dict) else list(headers)
        parts = urlsplit(url)
        prepared = self.prepare_request(
            requests.Request(method, urlunsplit((parts.scheme, parts.netloc, "/", "", "")), headers=dict(listed))
        )
        prepared.url = url
        named = {name.lower() for name, _ in listed}
        defaults = [(name, value) for name, value in prepared.headers.items() if name.lower() not in named]
        prepared.spidra_raw_headers = [*defaults, *listed]  # type: ignore[attr-defined]
        prepared.spidra_context = context  # type: ignore[attr-defined]  # who asked, through which door
        prepared.spidra_stranger = stranger  # type: ignore[attr-defined]
        return self.send(prepared)

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        method = (request.method or "GET").upper()
        url = request.url or ""
        timeout = self.timeout
        asked = kwargs.get("timeout")
        if isinstance(asked, tuple):
            asked = max((part for part in asked if isinstance(part, (int, float))), default=None)
        if isinstance(asked, (int, float)) and asked > 0:
            timeout = min(timeout, float(asked))
        body = request.body.encode("utf-8") if isinstance(request.body, str) else (request.body or b"")
        headers = getattr(request, "spidra_raw_headers", None) or [
            (name, value) for name, value in request.headers.items() if value is not None
        ]
        for attempt in range(MAX_429_RETRIES + 1):
            left = self._admit(method, url)
            seconds = min(timeout, left)
            started = time.monotonic()
            try:
                received = self.transport.exchange(method, url, headers, seconds, body)
            except Unsendable as exc:
                raise self._refuse(NotSendable, f"{method} {self.redactor.url(url)}: {exc}") from None
            except Aborted as exc:
                raise RunEnded(f"{method} {self.redactor.url(url)}: {exc}") from None
            except NotHTTP as exc:
                received = Received(
                    0, "", "", [], b"", f"the target answered with something that is not HTTP a client can read: {exc}"
                )
            except (Stuck, NoAnswer) as exc:
                line = f"{method} {self.redactor.url(url)}: {self.redactor.text(str(exc))}"
                # The reachability probe's failures are its own to weigh (asked again, or "unreachable").
                self.traffic.log("probe_retries" if self.traffic.current_layer == "start" else "network_errors", line)
                if isinstance(exc, Stuck) and seconds < timeout:
                    reason = f"the run's deadline ({self.gate.run_deadline:g} s) passed during {line}"
                    self.gate.trip(Trip.DEADLINE, reason)
                    raise self._refuse(RunDeadline, reason) from None
                self.gate.outcome(False, line)
                raise TargetNotAnswering(
                    f"no answer to {line}", cause=self.redactor.text(str(exc)), connected=exc.connected
                ) from None
            self.gate.outcome(True)
            if received.interim:
                self.traffic.skipped_interim(received.interim)
            exchange_id = f"{self._prefix}-{next(self._ids)}"
            if method in REREADABLE:
                with self._asked_lock:
                    self._asked[exchange_id] = (method, url, list(headers))
                    while len(self._asked) > REREAD_MEMORY:
                        self._asked.popitem(last=False)
            response = self._response(request, received, time.monotonic() - started, exchange_id)
            reply = reply_of(response)
            if self.on_exchange is not None:
                self.on_exchange(reply)
            if response.status_code != 429:
                return response
            header = response.headers.get("Retry-After")
            wait = retry_after_seconds(header)
            self.traffic.log(
                "rate_limited",
                {
                    "request": reply.request_line,
                    "retry_after": header,
                    "ratelimit_headers": {
                        k: v for k, v in reply.headers.items() if k.lower().startswith(("ratelimit", "x-ratelimit"))
                    },
                    "waited_s": round(wait, 2),
                    "attempt": attempt + 1,
                },
            )
            if not self.gate.hold(wait):
                reason = (
                    f"the target answered 429 with Retry-After {header!r} ({wait:.0f} s): beyond what the suite "
                    f"waits (at most {MAX_RETRY_AFTER_SECONDS:g} s at once, {MAX_TOTAL_429_WAIT_SECONDS:g} s a run)"
                )
                self.gate.trip(Trip.RATE_LIMITED, reason)
                raise self._refuse(RateLimited, reason)
        reason = f"still 429 after {MAX_429_RETRIES} waits as Retry-After asked: {method} {self.redactor.url(url)}"
        raise self._refuse(RateLimited, reason)

    def reread(self, reply: Reply) -> Reply | None:
        """Send the request behind `reply` again, exactly as it went (a read only: GET or HEAD); None when it
        cannot be (not a read, or too long ago to be remembered). Refusals (budget, rate limit) propagate."""
        with self._asked_lock:
            asked = self._asked.get(reply.exchange_id)
        if asked is None:
            return None
        method, url, headers = asked
        again = reply_of(self.send_raw(method, url, headers, context=reply.context, stranger=reply.stranger))
        return dataclasses.replace(again, rewritten=reply.rewritten)

    def _response(
        self, request: requests.PreparedRequest, received: Received, seconds: float, exchange_id: str
    ) -> requests.Response:
        """The `requests.Response` every caller (schemathesis included) reads: the body decoded within the cap
        (a broken body is judged on its first bytes; nobody keeps megabytes of it), its redacted `Reply`
        attached."""
        headers = HTTPHeaderDict()
        for name, value in received.headers:
            headers.add(name, value)
        body = decode_body(Body(received.content, received.problem), headers.get("Content-Encoding", ""), self.max_body)
        if body.problem:
            body = Body(body.content[:PROBLEM_EXCERPT_BYTES], body.problem)
        response = requests.Response()
        response.status_code = received.status
        response.reason = received.reason
        response.headers = requests.structures.CaseInsensitiveDict(headers)
        response.raw = WireBody(body.content, headers, received.http_version)
        response.url = request.url or ""
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        response.elapsed = datetime.timedelta(seconds=seconds)
        reply = reply_from_response(
            response, self.redactor, seconds * 1000, problem=body.problem, exchange_id=exchange_id
        )
        context, stranger = getattr(request, "spidra_context", ""), getattr(request, "spidra_stranger", False)
        if context or stranger:
            reply = dataclasses.replace(reply, context=context, stranger=stranger)
        response.spidra_reply = reply  # type: ignore[attr-defined]
        request.spidra_reply = reply  # type: ignore[attr-defined]  # what schemathesis' checks see
        return response


class WireBody(io.BytesIO):
    """`Response.raw`: the decoded body, with the headers and HTTP version schemathesis reads off urllib3's
    response (`raw.headers.getlist`, `raw.version`); no `stream`, so requests reads it as a plain file."""

    def __init__(self, content: bytes, headers: HTTPHeaderDict, http_version: str) -> None:
        super().__init__(content)
        self.headers = headers
        self.version = 10 if http_version == "1.0" else 11


def reply_of(response: requests.Response) -> Reply:
    """The redacted `Reply` the guarded session attached to a response it sent."""
    return response.spidra_reply  # type: ignore[attr-defined, no-any-return]


def shared_gate_path(directory: str | os.PathLike[str]) -> Path:
    return Path(directory) / "spidra-gate.json"
