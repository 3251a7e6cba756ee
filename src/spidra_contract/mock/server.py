"""Serve the mock over real HTTP with uvicorn: in a thread of this process, or as a foreground command."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

import uvicorn

from spidra_contract.mock.app import API_PREFIX, MockState, create_app
from spidra_contract.mock.wire import WireServer, uses_wire


class MockServer:
    """The mock on a loopback socket (port 0 picks a free one); use as a context manager."""

    def __init__(self, state: MockState, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state
        self.host = host
        self._sock = bind(host, port)
        self.port: int = self._sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(state),
            log_level="critical",  # a fault that breaks a response on purpose is not news
            access_log=False,
            lifespan="off",
            http="httptools",  # C parser; the event loop is uvloop where installed (uvicorn's "auto")
            timeout_keep_alive=30,
            backlog=4096,
        )
        self._server = uvicorn.Server(config)
        # A wire switch needs bytes uvicorn would never write: the mock's own HTTP/1.1 server serves the app then.
        self._wire = WireServer(config.app, state, self._sock) if uses_wire(state) else None
        run = self._wire.run if self._wire is not None else lambda: self._server.run(sockets=[self._sock])
        self._thread = threading.Thread(target=run, name="spidra-mock", daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}{API_PREFIX}"

    def start(self) -> MockServer:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not (self._wire.started.is_set() if self._wire is not None else self._server.started):
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the embedded mock did not start")
            time.sleep(0.01)
        return self

    def stop(self, wait: bool = True) -> None:
        """Stop serving; without `wait`, uvicorn's shutdown (about 0.2 s of ticks) runs on in its thread while
        the caller goes on, and a later `stop()` waits for it (it must end before the interpreter does)."""
        self._server.should_exit = True
        if self._wire is not None:
            self._wire.stop()
        if wait:
            self._thread.join(timeout=5)
            self._sock.close()

    def __enter__(self) -> MockServer:
        return self.start()

    def __exit__(self, *exc: object | TracebackType) -> None:
        self.stop()


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (OSError when the port is taken). TCP_NODELAY, inherited by every connection:
    without it a keep-alive reply waits for the client's delayed ACK (40 ms a request)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve_forever(state: MockState, sock: socket.socket) -> None:
    """Serve on `sock` in the foreground until interrupted."""
    if uses_wire(state):
        WireServer(create_app(state), state, sock).run()
        return
    config = uvicorn.Config(create_app(state), log_level="warning", lifespan="off")
    uvicorn.Server(config).run(sockets=[sock])
