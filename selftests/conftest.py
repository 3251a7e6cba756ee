"""Helpers for running the contract suite as a user would: a subprocess, a served mock, a report folder."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from spidra_contract.mock.app import MockState, make_state
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY
from spidra_contract.mock.server import MockServer

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class SuiteResult:
    exit_code: int
    output: str
    report_dir: Path

    def artifact(self, name: str) -> Path:
        return self.report_dir / name


def run_suite(
    *args: str,
    report_dir: Path,
    env: dict[str, str] | None = None,
    timeout: float = 600,
    tests: tuple[str, ...] = (),
) -> SuiteResult:
    """`pytest` in the project root, as a user types it (without this process' SPIDRA_* variables)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SPIDRA_") and k != "GITHUB_STEP_SUMMARY"}
    clean.update(env or {})
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--report-dir",
            str(report_dir),
            *args,
            *tests,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=clean,
        timeout=timeout,
        check=False,
    )
    return SuiteResult(completed.returncode, completed.stdout + completed.stderr, report_dir)


def live_args(server: MockServer, state: MockState, *, other: bool = True) -> list[str]:
    args = ["--base-url", server.base_url, "--api-key", ALPHA_KEY, "--rate-limit", "0"]
    if other:
        args += ["--other-api-key", BETA_KEY]
    for job_id in state.job_ids("alpha"):
        args += ["--job-id", job_id]
    return args


@pytest.fixture
def served_mock(request: pytest.FixtureRequest):
    """The mock served over HTTP on a free port; parametrize indirectly with a tuple of switches."""
    switches = getattr(request, "param", ())
    state = make_state(switches, time_scale=2.5)
    with MockServer(state) as server:
        yield server, state
