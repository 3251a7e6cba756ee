"""Helpers for running the contract suite as a user would: a subprocess, a served mock, a report folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from spidra_contract.mock.app import MockState, make_state
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY
from spidra_contract.mock.server import MockServer
from spidra_contract.tools import runner
from spidra_contract.tools.runner import SuiteResult

ROOT = Path(__file__).resolve().parent.parent
# What every run leaves in its report folder.
ARTIFACTS = (
    "junit.xml",
    "junit-tests.xml",
    "report.html",
    "summary.json",
    "summary.md",
    "cassette.har",
    "openapi.suggested.yaml",
    "openapi.patch",
)
pytest_plugins = ["pytester"]


@pytest.fixture(scope="session")
def suite_modules_loaded(tmp_path_factory: pytest.TempPathFactory) -> None:
    """One run of the suite in this process before any pytester exists. Pytester gives back every module a run
    imported; schemathesis and hypothesis import theirs lazily, and a module imported again beside the copy that
    other modules still hold breaks them (two `SearchStrategy` classes). What this run imports stays loaded; only
    the suite's own test modules are given back, so each run collects them anew."""
    import contextlib
    import io
    import sys

    report_dir = tmp_path_factory.mktemp("warm-up")
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = pytest.main([*runner.suite_args(), "-q", f"--report-dir={report_dir}"])
    assert code == 0, output.getvalue()[-3000:]
    suite = runner.SUITE.resolve()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None) or ""
        if path and (Path(path).resolve().is_relative_to(suite) or Path(path).resolve().parent == ROOT / "tests"):
            del sys.modules[name]


@pytest.fixture
def suite_in_process(suite_modules_loaded: None, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """The packaged suite run by pytest in this process (pytester), as `runner.run_suite` runs it in a subprocess:
    the same arguments, none of this process' SPIDRA_* variables; seconds less a run than a new interpreter."""
    import os

    for name in [name for name in os.environ if name.startswith("SPIDRA_") or name == "GITHUB_STEP_SUMMARY"]:
        monkeypatch.delenv(name)

    def run(*args: str, report_dir: Path) -> SuiteResult:
        result = pytester.runpytest_inprocess(*runner.suite_args(), "-q", f"--report-dir={report_dir}", *args)
        return SuiteResult(int(result.ret), "\n".join(result.outlines + result.errlines), report_dir)

    return run


def run_suite(
    *args: str, report_dir: Path, env: dict[str, str] | None = None, tests: tuple[str, ...] = ()
) -> SuiteResult:
    """The suite as a user runs it, limited to `tests` (paths or node ids) when given."""
    return runner.run_suite(*args, *tests, report_dir=report_dir, env=env, cwd=ROOT)


def live_args(server: MockServer, state: MockState, *, other: bool = True, watch: float = 2.0) -> list[str]:
    """The options that test a served mock as a live API. The lifecycle watch polls a job that has not finished
    for `watch` seconds (two of the mock's jobs never do: the profile's 10 s would be most of every such run)."""
    args = ["--base-url", server.base_url, "--api-key", ALPHA_KEY, "--rate-limit", "0", f"--watch={watch:g}"]
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
    assert properties["headline"] == headline
    page = (directory / "report.html").read_text(encoding="utf-8")
    assert banner_of(page) == headline, "report.html opens with the verdict banner"
    assert f"tests: {summary['tests']['line']}" in page
    if output is not None:
        # The counts every report gives are pytest's own: its terminal line says the same.
        assert f"tests: {summary['tests']['line']}" in output
        pytest_line = f"{summary['tests']['line']} in "
        ends = [line.strip("= ") for line in output.splitlines()]
        assert any(line.startswith(pytest_line) for line in ends) or summary["tests"]["line"] == "no tests ran"


def banner_of(page: str) -> str:
    """The text of report.html's first element in its body after the title: the verdict banner (its headline)."""
    import html
    import re

    body = page.split("<body>", 1)[1]
    first = re.search(r"<div class=\"banner [a-z]+\" id=\"verdict\"[^>]*>(.*?)<small>", body, re.S)
    assert first is not None, "no verdict banner"
    assert body.index(first.group(0)) < body.index("<table"), "the banner comes before any table"
    return " ".join(html.unescape(first.group(1)).split())
