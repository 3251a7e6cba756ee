"""The mock's own wire, for the faults no ASGI server can send.

uvicorn writes well-formed HTTP whatever the app asks; a hostile target does not. When a wire switch is on,
the mock is served by this small HTTP/1.1 server instead: it reads each request, asks the same ASGI app for
its answer, then writes that answer's bytes bent by the switch (a dripped head, interim replies, broken chunk
framing, a protocol switch, bytes that are not HTTP). The tricks come from what clients are known to trip on:
requests' per-read timeout (FIELD-NOTES: "a server that sends a byte before each read expires ... keeps an
exchange alive for ever"), RFC 9110 15.2 (1xx replies, which a client must skip), RFC 9112 7.1 (chunk-size
lines and trailer sections, unbounded in the grammar), RFC 9110 7.8 (101 Switching Protocols), and
http.client's own caps (`_MAXLINE` 65536, `_MAXHEADERS` 100), which 97 headers of 60 KB pass.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from typing import Any

from spidra_contract.mock.app import API_PREFIX, FIRST_REQUESTS, MockState, buffered

WIRE_SWITCHES = frozenset(
    {
        "drip-head",
        "drip-head-later",
        "continue-flood",
        "endless-chunk-size",
        "endless-trailers",
        "header-flood",
        "switch-protocols",
        "not-http",
        "early-hints",
    }
)
DRIP_SECONDS = 1.0
FLOOD_SECONDS = 0.2
MAX_REQUEST_HEAD = 64 * 1024


def uses_wire(state: MockState) -> bool:
    return bool(state.switches & WIRE_SWITCHES)


class WireServer:
    """The mock's app behind a hand-written HTTP/1.1 server, on a listening socket, in a thread of its own."""

    def __init__(self, app: Any, state: MockState, sock: socket.socket) -> None:
        self.app = app
        self.state = state
        self.sock = sock
        self.started = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        server = await asyncio.start_server(self._serve, sock=self.sock)
        self.started.set()
        async with server:
            await self._stop.wait()
            server.close()
            for task in asyncio.all_tasks() - {asyncio.current_task()}:
                task.cancel()

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self._loop.call_soon_threadsafe(self._stop.set)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while await self._one(reader, writer):
                pass
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def _one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
        """Answer one request; False when the connection is done."""
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError:
            return False
        if len(head) > MAX_REQUEST_HEAD:
            return False
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = [*lines[0].split(" ", 2), "", ""][:3]
        headers = [tuple(part.strip() for part in line.split(":", 1)) for line in lines[1:] if ":" in line]
        length = next((int(v) for k, v in headers if k.lower() == "content-length" and v.isdigit()), 0)
        body = await reader.readexactly(length) if length else b""
        status, answer_headers, content = await self._ask_app(method, target, headers, body)
        await self._answer(writer, method, target, status, answer_headers, content)
        return not self._closes_after(target)

    async def _ask_app(
        self, method: str, target: str, headers: list[tuple[str, ...]], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        from urllib.parse import unquote

        path, _, query = target.partition("?")
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": unquote(path),
            "raw_path": path.encode("latin-1"),
            "query_string": query.encode("latin-1"),
            "root_path": "",
            "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            "server": self.sock.getsockname()[:2],
            "client": ("127.0.0.1", 0),
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        return await buffered(self.app, scope, receive)

    def _bent(self, target: str) -> bool:
        """Only the crawl endpoint's answers are bent (the mock's stats stay readable)."""
        return target.startswith(f"{API_PREFIX}/crawl/")

    def _closes_after(self, target: str) -> bool:
        return self._bent(target) and bool(self.state.switches & {"switch-protocols", "not-http"})

    async def _answer(
        self,
        writer: asyncio.StreamWriter,
        method: str,
        target: str,
        status: int,
        headers: list[tuple[str, str]],
        content: bytes,
    ) -> None:
        state = self.state
        plain = [(k, v) for k, v in headers if k.lower() not in ("content-length", "transfer-encoding")]
        head = _head(status, [*plain, ("content-length", str(len(content)))])
        body = b"" if method == "HEAD" else content
        if not self._bent(target):
            writer.write(head + body)
            await writer.drain()
            return
        if state.on("early-hints"):
            writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n\r\n")
            await writer.drain()
            await asyncio.sleep(0.005)
        if state.on("continue-flood"):
            while True:
                writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
                await writer.drain()
                await asyncio.sleep(FLOOD_SECONDS)
        if state.on("not-http"):
            writer.write(b"SSH-2.0-OpenSSH_9.6\r\n\x00\x01\x02 this is not HTTP \xff\xfe\r\n\r\n")
            await writer.drain()
            return
        if state.on("switch-protocols"):
            writer.write(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            writer.write(b"\x81\x05hello\x81\x7e\x00\x10" + b"frames, not HTTP")
            await writer.drain()
            await asyncio.sleep(2)
            return
        if state.on("header-flood"):
            flood = [(f"x-flood-{index}", "a" * 60_000) for index in range(97)]
            writer.write(_head(status, [*plain, *flood, ("content-length", str(len(content)))]) + body)
            await writer.drain()
            return
        if status == 200 and method == "GET" and state.on("endless-chunk-size"):
            writer.write(_head(status, [*plain, ("transfer-encoding", "chunked")]))
            while True:
                writer.write(b"1" * 4096)  # a chunk-size line of ever more digits, never its CRLF
                await writer.drain()
                await asyncio.sleep(0.01)
        if status == 200 and method == "GET" and state.on("endless-trailers"):
            writer.write(_head(status, [*plain, ("transfer-encoding", "chunked")]))
            writer.write(f"{len(content):x}\r\n".encode() + content + b"\r\n0\r\n")
            index = 0
            while True:
                writer.write(f"x-trailer-{index}: {'t' * 1000}\r\n".encode())  # a trailer section, never ended
                index += 1
                await writer.drain()
                await asyncio.sleep(0.001)  # fast: what ends the exchange is the client's cap, not the pace
        dripping = state.on("drip-head") or (state.on("drip-head-later") and state.requests_seen > FIRST_REQUESTS)
        if dripping:
            for byte in head:
                writer.write(bytes([byte]))
                await writer.drain()
                await asyncio.sleep(DRIP_SECONDS)
            writer.write(body)
            await writer.drain()
            return
        writer.write(head + body)
        await writer.drain()


def _head(status: int, headers: list[tuple[str, str]]) -> bytes:
    from http import HTTPStatus

    try:
        reason = HTTPStatus(status).phrase
    except ValueError:
        reason = "Unknown"
    lines = [f"HTTP/1.1 {status} {reason}", *(f"{name}: {value}" for name, value in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
