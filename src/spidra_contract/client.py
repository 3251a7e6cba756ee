"""The one door every request to the target goes through: safe methods only, bounded, rate-limited,
429-aware, recorded (with secrets redacted) for the cassette and the reports."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any

import requests
import requests.adapters

from spidra_contract.exchange import Redactor, Reply, reply_from_response

SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_RETRY_AFTER_SECONDS = 60.0
MAX_429_RETRIES = 3
POOL_SIZE = 64


class SuiteRefusal(Exception):
    """The suite declined to send a request (a test that hits this is skipped with the reason)."""


class UnsafeRequestBlocked(SuiteRefusal):
    pass


class BudgetExhausted(SuiteRefusal):
    pass


class RateLimited(SuiteRefusal):
    pass


class Limiter:
    """At most `rate` requests a second across all threads (0 means unlimited)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0
        self._lock = threading.Lock()

    def wait(self) -> None:
        if not self.interval:
            return
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.interval
        if slot > now:
            time.sleep(slot - now)

    def hold(self, seconds: float) -> None:
        """Nobody sends before `seconds` from now (a server asked us to back off)."""
        with self._lock:
            self._next = max(self._next, time.monotonic() + seconds)


@dataclass
class Traffic:
    """Counters and the event log of one run's traffic."""

    sent: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    rate_limited: list[dict[str, Any]] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    network_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)


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


class GuardedSession(requests.Session):
    """A `requests.Session` that refuses unsafe methods (unless allowed), enforces the request budget and the
    rate limit, honours 429 + Retry-After a bounded number of times, and records every exchange."""

    def __init__(
        self,
        *,
        redactor: Redactor,
        limiter: Limiter,
        max_requests: int,
        timeout: float,
        allow_unsafe: bool,
        on_exchange: Callable[[Reply], None] | None = None,
        traffic: Traffic | None = None,
    ) -> None:
        super().__init__()
        self.redactor = redactor
        self.limiter = limiter
        self.max_requests = max_requests
        self.timeout = timeout
        self.allow_unsafe = allow_unsafe
        self.on_exchange = on_exchange
        self.traffic = traffic or Traffic()
        self.headers["User-Agent"] = "spidra-contract"
        # Room for every concurrent poller, sweeper and burst thread, so connections are reused, not dropped.
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=POOL_SIZE)
        self.mount("http://", adapter)
        self.mount("https://", adapter)

    def _admit(self, method: str) -> None:
        traffic = self.traffic
        if method not in SAFE_METHODS and not self.allow_unsafe:
            with traffic.lock:
                traffic.blocked.append(method)
            raise UnsafeRequestBlocked(f"{method} is not sent to this target (unsafe methods need --allow-unsafe)")
        with traffic.lock:
            if self.max_requests and traffic.sent >= self.max_requests:
                message = f"the run's request budget ({self.max_requests}) is spent"
                traffic.refused.append(message)
                raise BudgetExhausted(message)
            traffic.sent += 1
            traffic.by_method[method] = traffic.by_method.get(method, 0) + 1

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        method = (request.method or "GET").upper()
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.timeout
        for attempt in range(MAX_429_RETRIES + 1):
            self._admit(method)
            self.limiter.wait()
            started = time.perf_counter()
            try:
                response = super().send(request, **kwargs)
                _ = response.content  # read now, so the recorder and the checks see the whole body
            except (requests.ConnectionError, requests.Timeout) as exc:
                with self.traffic.lock:
                    self.traffic.network_errors.append(
                        f"{method} {self.redactor.url(request.url or '')}: {type(exc).__name__}"
                    )
                raise
            elapsed_ms = (time.perf_counter() - started) * 1000
            reply = self.to_reply(response, elapsed_ms)
            response.spidra_reply = reply  # type: ignore[attr-defined]
            if self.on_exchange is not None:
                self.on_exchange(reply)
            if response.status_code != 429:
                return response
            wait = min(retry_after_seconds(response.headers.get("Retry-After")), MAX_RETRY_AFTER_SECONDS)
            with self.traffic.lock:
                self.traffic.rate_limited.append(
                    {
                        "request": reply.request_line,
                        "retry_after": response.headers.get("Retry-After"),
                        "ratelimit_headers": {
                            k: v
                            for k, v in response.headers.items()
                            if k.lower().startswith(("ratelimit", "x-ratelimit"))
                        },
                        "waited_s": round(wait, 2),
                        "attempt": attempt + 1,
                    }
                )
            self.limiter.hold(wait)
        message = f"still 429 after {MAX_429_RETRIES} waits as Retry-After asked: {reply.request_line}"
        with self.traffic.lock:
            self.traffic.refused.append(message)
        raise RateLimited(message)

    def to_reply(self, response: requests.Response, elapsed_ms: float) -> Reply:
        return reply_from_response(response, self.redactor, elapsed_ms)


def reply_of(response: requests.Response) -> Reply:
    """The redacted `Reply` the guarded session attached to a response it sent."""
    return response.spidra_reply  # type: ignore[attr-defined, no-any-return]
