"""Helpers for running the contract suite as a user would: a subprocess, a served mock, a report folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from spidra_contract import runner
from spidra_contract.mock.app import MockState, make_state
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY
from spidra_contract.mock.server import MockServer
from spidra_contract.runner import SuiteResult

ROOT = Path(__file__).resolve().parent.parent


def run_suite(
    *args: str, report_dir: Path, env: dict[str, str] | None = None, tests: tuple[str, ...] = ()
) -> SuiteResult:
    """The suite as a user runs it, limited to `tests` (paths or node ids) when given."""
    return runner.run_suite(*args, *tests, report_dir=report_dir, env=env, cwd=ROOT)


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
