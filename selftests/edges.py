"""Real reverse proxies and caches from Debian's packages (nginx, HAProxy, Caddy, Varnish) in front of a served mock:
each started from a config in `edges/` (placeholders filled in), as a plain process on a loopback port in a folder
of its own, and stopped by its PID (its process group). Never a system service."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

EDGES = Path(__file__).resolve().parent.parent / "edges"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Edge:
    """One edge process: `config` (a file of `edges/`), in front of 127.0.0.1:`upstream`."""

    config: str
    upstream: int
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def program(self) -> str:
        return {"nginx": "nginx", "haproxy": "haproxy", "caddy": "caddy", "varnish": "varnishd"}[
            self.config.split("-")[0]
        ]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def command(self, filled: Path) -> list[str]:
        kind = self.config.split("-")[0]
        if kind == "nginx":
            return ["nginx", "-p", str(self.workdir), "-c", str(filled)]
        if kind == "haproxy":
            return ["haproxy", "-db", "-f", str(filled)]
        if kind == "caddy":
            return ["caddy", "run", "--adapter", "caddyfile", "--config", str(filled)]
        return [
            "varnishd",
            "-F",
            "-a",
            f"127.0.0.1:{self.port}",
            "-f",
            str(filled),
            "-n",
            str(self.workdir / "varnish"),
            "-s",
            "malloc,16m",
            "-T",
            "none",
            "-j",
            "none",  # no jail: the process keeps the test's user, who owns the config and the work folder
        ]

    def start(self) -> Edge:
        if shutil.which(self.program) is None:
            pytest.skip(f"no {self.program} here (apt-get install {self.program.removesuffix('d')})")
        self.workdir.mkdir(parents=True, exist_ok=True)
        text = (EDGES / self.config).read_text(encoding="utf-8")
        for name, value in (("listen", self.port), ("upstream", self.upstream), ("workdir", self.workdir)):
            text = text.replace("{" + name + "}", str(value))
        filled = self.workdir / self.config
        filled.write_text(text, encoding="utf-8")
        env = {
            **os.environ,
            "HOME": str(self.workdir),
            "XDG_DATA_HOME": str(self.workdir),
            "XDG_CONFIG_HOME": str(self.workdir),
        }
        with (self.workdir / "edge.log").open("wb") as log:  # the child keeps its own descriptor
            self.process = subprocess.Popen(
                self.command(filled), stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.config} exited {self.process.returncode}: {self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{self.config} did not listen on {self.port}: {self.log()}")

    def log(self) -> str:
        path = self.workdir / "edge.log"
        return path.read_text(errors="replace")[-2000:] if path.is_file() else ""

    def stop(self) -> None:
        """SIGTERM to the edge's process group (Varnish's manager and child, nginx's master), then SIGKILL."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Edge:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
