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
pytest_plugins = ["pytester"]


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


def secret_forms(key: str) -> list[str]:
    """The key and the encodings a server may echo it in: none may appear in an artifact."""
    import base64

    raw = key.encode()
    return [key, base64.b64encode(raw).decode().rstrip("="), raw.hex()]


def assert_no_secret_in(directory: Path, *keys: str) -> None:
    for path in directory.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            for key in keys:
                for form in secret_forms(key):
                    assert form not in text, f"{form[:6]}... found in {path.name}"


def assert_reports_agree(directory: Path, exit_code: int, output: str | None = None) -> None:
    """Every report renders the same outcome: verdict and exit code (and the terminal, when its `output` is
    given)."""
    import json
    import xml.etree.ElementTree as ET

    summary = json.loads((directory / "summary.json").read_text(encoding="utf-8"))
    assert summary["exit_code"] == exit_code, summary["headline"]
    headline = summary["headline"]
    assert headline.startswith(f"{summary['verdict']} (exit {exit_code})")
    if output is not None:
        assert f"spidra-contract: {headline.split(':')[0]}" in output, output[-2000:]
    assert headline.split(":")[0] in (directory / "summary.md").read_text(encoding="utf-8")
    junit = ET.parse(directory / "junit.xml").getroot()
    properties = {p.get("name"): p.get("value") for p in junit.iter("property")}
    assert properties["exit_code"] == str(exit_code)
    assert properties["verdict"] == summary["verdict"]
    html_report = directory / "report.html"
    if html_report.is_file():
        import html

        assert html.escape(headline) in html_report.read_text(encoding="utf-8")
