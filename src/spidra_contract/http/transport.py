"""HTTP/1.1 as a client must read it, under one wall clock per exchange.

requests' `timeout` bounds each socket read, not the exchange: a server that sends a byte before every read
expires (a dripped status line, endless `100 Continue` replies, a chunk-size line or a trailer section that
never ends) keeps urllib3 reading for ever. Here every exchange is read by this module's own loop over the
socket, the HTTP framing parsed by h11 (the sans-I/O parser under httpcore and httpx): before every read the
socket's timeout is set to what is left of the exchange's deadline, so no phase (connect, TLS handshake, send,
status line, headers, interim replies, chunk framing, body, trailers) outlives it.

What a target may send is capped: the status line and header block (h11's incomplete-event limit, which also
bounds a chunk-size line and the trailers), the number of headers, the number of interim replies, the body.
1xx replies are skipped and counted (RFC 9110 15.2: a client must be able to parse and ignore them); a 101
nobody asked for, or anything h11 cannot read, is a protocol error and the connection is closed, never reused.
"""

from __future__ import annotations

import contextlib
import ipaddress
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import certifi
import h11

CHUNK = 64 * 1024
# The status line and the whole header block (and, h11 applying the same limit, a chunk-size line or a trailer
# section): 64 KiB, four times what Node.js reads by default (16 KiB), http.client's limit for one line.
MAX_HEADER_BLOCK = 64 * 1024
# Headers a reply may carry: http.client's own limit (`http.client._MAXHEADERS`).
MAX_HEADERS = 100
# Interim (1xx) replies before the final one: a server has no reason to send more than a few.
MAX_INTERIM = 16
CONNECT_TIMEOUT = 10.0


class Stuck(Exception):
    """The exchange's deadline passed: `phase` says where it was stuck; `connected`, whether the target had
    accepted the connection by then."""

    def __init__(self, seconds: float, phase: str, connected: bool = True) -> None:
        super().__init__(f"no complete answer within {seconds:g} s (stuck {phase})")
        self.phase = phase
        self.connected = connected


class NoAnswer(Exception):
    """The target could not be reached (`connected` False), closed the connection before any byte of a reply,
    or sent interim replies only."""

    def __init__(self, message: str, connected: bool = True) -> None:
        super().__init__(message)
        self.connected = connected


class NotHTTP(Exception):
    """The target answered with bytes that are not an HTTP/1.1 reply a client can read (or beyond the caps)."""


class Aborted(Exception):
    """The run ended (or was interrupted) while the exchange was in flight: nothing to judge."""


class Unsendable(Exception):
    """The request itself cannot be written as HTTP/1.1 (a probe spelled beyond what the protocol allows)."""


@dataclass
class Received:
    """A final reply as it came off the wire: headers as sent (names in their case), the body still encoded."""

    status: int
    reason: str
    http_version: str
    headers: list[tuple[str, str]]
    content: bytes
    # What went wrong with the body itself (cut short, over the cap); the reply is still judged.
    problem: str = ""
    # The interim (1xx) replies skipped before it.
    interim: tuple[int, ...] = ()


@dataclass(eq=False)  # kept in a set while in flight: identity, not value
class _Connection:
    sock: socket.socket
    parser: h11.Connection = field(
        default_factory=lambda: h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BLOCK)
    )
    used: bool = False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.close()

    def abort(self) -> None:
        """End the connection under a read blocked in another thread (close alone does not wake it)."""
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)

    def dropped(self) -> bool:
        """An idle pooled connection the server has closed (or written to unasked) is not reused."""
        try:
            readable, _, _ = select.select([self.sock], [], [], 0)
        except (OSError, ValueError):
            return True
        return bool(readable)


class Clock:
    """One exchange's deadline, read before every blocking call."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds

    def left(self, phase: str) -> float:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise Stuck(self.seconds, phase)
        return remaining


Origin = tuple[str, str, int]


class Transport:
    """Sends one request and reads its final reply within a deadline; keeps idle connections per origin."""

    def __init__(self, *, max_body: int, verify: bool = True) -> None:
        self.max_body = max_body
        self.verify = verify
        self._idle: dict[Origin, list[_Connection]] = {}
        self._active: set[_Connection] = set()
        self._closed = False
        self._lock = threading.Lock()
        self._tls: ssl.SSLContext | None = None

    def close(self) -> None:
        """Close every connection, the ones in flight too: a read blocked in another thread (the watch, the
        burst) ends at once, its exchange `Aborted`, so the run's end never waits for a stuck target."""
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
            active = list(self._active)
        for connections in idle.values():
            for connection in connections:
                connection.close()
        for connection in active:
            connection.abort()

    # --- connections ------------------------------------------------------------------------------------

    def _checkout(self, origin: Origin, clock: Clock) -> _Connection:
        with self._lock:
            pool = self._idle.get(origin, [])
            while pool:
                connection = pool.pop()
                if not connection.dropped():
                    return connection
                connection.close()
        return _Connection(self._connect(origin, clock))

    def _checkin(self, origin: Origin, connection: _Connection) -> None:
        parser = connection.parser
        if parser.our_state is h11.DONE and parser.their_state is h11.DONE:
            try:
                parser.start_next_cycle()
            except h11.ProtocolError:
                connection.close()
                return
            connection.used = True
            with self._lock:
                if not self._closed:
                    self._idle.setdefault(origin, []).append(connection)
                    return
            connection.close()
        else:
            connection.close()  # switched protocols, desynchronised, cut short or still sending: never reused

    def _connect(self, origin: Origin, clock: Clock) -> socket.socket:
        scheme, host, port = origin
        phase = f"connecting to {host}:{port}"
        try:
            addresses = _resolve(host, port, min(CONNECT_TIMEOUT, clock.left(phase)))
        except TimeoutError:
            raise Stuck(clock.seconds, f"resolving {host}", connected=False) from None
        except OSError as exc:
            raise NoAnswer(exc.strerror or str(exc), connected=False) from None
        last: OSError | None = None
        for family, kind, proto, _, address in addresses:
            sock = socket.socket(family, kind, proto)
            try:
                sock.settimeout(min(CONNECT_TIMEOUT, clock.left(phase)))
                sock.connect(address)
            except TimeoutError:
                sock.close()
                raise Stuck(clock.seconds, phase, connected=False) from None
            except OSError as exc:
                sock.close()
                last = exc
                continue
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if scheme == "https":
                return self._handshake(sock, host, clock)
            return sock
        raise NoAnswer((last.strerror or str(last)) if last else f"no address for {host}", connected=False)

    def _handshake(self, sock: socket.socket, host: str, clock: Clock) -> socket.socket:
        """TLS, the handshake driven by hand so a dripped handshake is bounded by the same clock."""
        if self._tls is None:
            # The CA bundle requests uses (certifi), so a target verifies here as it did through requests.
            self._tls = ssl.create_default_context(cafile=certifi.where())
            if not self.verify:
                self._tls.check_hostname = False
                self._tls.verify_mode = ssl.CERT_NONE
        sock.setblocking(False)
        tls = self._tls.wrap_socket(sock, server_hostname=host, do_handshake_on_connect=False)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                select.select([tls], [], [], clock.left("in the TLS handshake"))
            except ssl.SSLWantWriteError:
                select.select([], [tls], [], clock.left("in the TLS handshake"))
            except (ssl.SSLError, OSError) as exc:
                tls.close()
                raise NoAnswer(f"TLS handshake failed ({exc})", connected=False) from None
        tls.setblocking(True)
        return tls

    # --- one exchange -----------------------------------------------------------------------------------

    def exchange(
        self, method: str, url: str, headers: list[tuple[str, str]], seconds: float, body: bytes = b""
    ) -> Received:
        """Send `method url` (the request target exactly as written in `url`) and read the final reply."""
        clock = Clock(seconds)
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        origin = (scheme, (parts.hostname or "").lower(), parts.port or (443 if scheme == "https" else 80))
        target = url[url.index(parts.netloc) + len(parts.netloc) :] or "/"
        target = target.split("#", 1)[0]
        if not any(name.lower() == "host" for name, _ in headers):
            headers = [("Host", parts.netloc.rsplit("@", 1)[-1]), *headers]
        for attempt in (1, 2):
            if self._closed:
                raise Aborted("the run has ended")
            connection = self._checkout(origin, clock)
            with self._lock:
                self._active.add(connection)
            reused = connection.used
            try:
                received = self._exchange_on(connection, method, target, headers, body, clock)
            except (NoAnswer, NotHTTP, Stuck) as exc:
                connection.close()
                if self._closed:
                    raise Aborted("the run ended during the exchange") from None
                if isinstance(exc, NoAnswer) and reused and attempt == 1:
                    continue  # a pooled connection the server had closed: once more on a fresh one
                raise
            except BaseException:
                connection.close()
                raise
            finally:
                with self._lock:
                    self._active.discard(connection)
            self._checkin(origin, connection)
            return received
        raise AssertionError("unreachable")  # pragma: no cover

    def _exchange_on(
        self,
        connection: _Connection,
        method: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        clock: Clock,
    ) -> Received:
        parser = connection.parser
        try:
            data = parser.send(h11.Request(method=method, target=target, headers=headers)) or b""
            if body:
                data += parser.send(h11.Data(data=body)) or b""
            data += parser.send(h11.EndOfMessage()) or b""
        except h11.LocalProtocolError as exc:
            raise Unsendable(f"not sent: the request is not valid HTTP/1.1 ({exc})") from None
        try:
            connection.sock.settimeout(clock.left("sending the request"))
            connection.sock.sendall(data)
        except TimeoutError:
            raise Stuck(clock.seconds, "sending the request") from None
        except OSError as exc:
            raise NoAnswer(exc.strerror or type(exc).__name__) from None
        reader = _Reader(connection, clock)
        interim: list[int] = []
        while True:
            phase = "reading the status line and headers" + (
                f" (after {len(interim)} interim replies)" if interim else ""
            )
            event = reader.next(phase)
            if isinstance(event, h11.InformationalResponse):
                interim.append(event.status_code)
                if len(interim) > MAX_INTERIM:
                    # Interim replies only: the target has not answered (counted as a stall, as a drip is).
                    raise NoAnswer(f"more than {MAX_INTERIM} interim (1xx) replies and no final one")
                continue
            if isinstance(event, h11.Response):
                break
            if isinstance(event, h11.ConnectionClosed) and reader.seen == 0:
                raise NoAnswer("the connection closed before any reply")
            raise NotHTTP(f"the connection ended before a final reply{reader.began}")
        raw_headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in event.headers.raw_items()]
        if len(raw_headers) > MAX_HEADERS:
            raise NotHTTP(f"{len(raw_headers)} headers in one reply (a client reads at most {MAX_HEADERS})")
        received = Received(
            status=event.status_code,
            reason=event.reason.decode("latin-1", errors="replace"),
            http_version=event.http_version.decode("ascii", errors="replace"),
            headers=raw_headers,
            content=b"",
            interim=tuple(interim),
        )
        chunks: list[bytes] = []
        size = 0
        while True:
            try:
                event = reader.next(f"reading the body ({size} bytes so far)")
            except NotHTTP as exc:
                received.problem = f"the body's framing broke after {size} bytes: {exc}"
                break
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > self.max_body:
                    received.problem = (
                        f"the body is larger than the {self.max_body}-byte cap (over {size} bytes read, "
                        "reading stopped)"
                    )
                    break
                chunks.append(bytes(event.data))
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break
        received.content = b"".join(chunks)
        return received


def _resolve(host: str, port: int, timeout: float) -> list[Any]:
    """getaddrinfo within `timeout`. An address is read at once; a name is looked up in a daemon thread the
    deadline can walk away from (getaddrinfo has no timeout of its own, and a stuck lookup must not keep the
    process from ending)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    found: list[Any] = []
    failed: list[OSError] = []
    done = threading.Event()

    def lookup() -> None:
        try:
            found.extend(socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM))
        except OSError as exc:
            failed.append(exc)
        finally:
            done.set()

    threading.Thread(target=lookup, name="spidra-resolve", daemon=True).start()
    if not done.wait(timeout):
        raise TimeoutError
    if failed:
        raise failed[0]
    return found


class _Reader:
    """h11 events off one connection, every socket read bounded by what is left of the clock."""

    def __init__(self, connection: _Connection, clock: Clock) -> None:
        self.connection = connection
        self.clock = clock
        self.seen = 0
        self.first = b""  # the reply's first bytes, the evidence when it is not HTTP

    @property
    def began(self) -> str:
        return f"; the reply began {self.first[:120]!r}" if self.first else ""

    def next(self, phase: str) -> h11.Event:
        parser = self.connection.parser
        while True:
            try:
                event = parser.next_event()
            except h11.RemoteProtocolError as exc:
                if self.seen == 0:
                    raise NoAnswer("the connection closed before any reply") from None
                if exc.error_status_hint == 431:
                    raise NotHTTP(
                        f"a status line, header block, chunk-size line or trailer section over {MAX_HEADER_BLOCK} "
                        f"bytes{self.began}"
                    ) from None
                raise NotHTTP(f"{exc}{self.began}") from None
            if event is h11.NEED_DATA:
                sock = self.connection.sock
                try:
                    sock.settimeout(self.clock.left(phase))
                    data = sock.recv(CHUNK)
                except TimeoutError:
                    raise Stuck(self.clock.seconds, phase) from None
                except OSError as exc:
                    if self.seen == 0:
                        raise NoAnswer(exc.strerror or type(exc).__name__) from None
                    raise NotHTTP(f"the connection failed mid-reply ({exc.strerror or type(exc).__name__})") from None
                if len(self.first) < 120:
                    self.first += data[: 120 - len(self.first)]
                self.seen += len(data)
                parser.receive_data(data)
                continue
            if event is h11.PAUSED:
                raise NotHTTP(f"the reply went on past its end{self.began}")
            assert isinstance(event, h11.Event)
            return event
