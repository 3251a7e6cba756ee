"""Options, exit codes, one-line errors; a live target is only read; the served mock gets the same verdict."""

from __future__ import annotations

import json
import time

import pytest

from selftests.conftest import ROOT, assert_reports_agree, live_args, run_suite
from spidra_contract.mock.jobs import ALPHA_KEY

FAST = (
    "tests/test_error_responses.py::test_unauthorized_request_for_a_known_job_gets_403_error_response",
    "tests/test_job_status.py",
)


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        pytest.param(["--profile", "bogus"], {}, "--profile must be one of ci, dev, nightly", id="unknown-profile"),
        pytest.param([], {"SPIDRA_PROFILE": "cii"}, "SPIDRA_PROFILE must be one of", id="unknown-profile-from-env"),
        pytest.param(["--mock-switch", "no-such-fault"], {}, "unknown mock switch", id="unknown-switch"),
        pytest.param(["--base-url", "http://127.0.0.1:9/api"], {}, "needs --api-key", id="live-without-key"),
        pytest.param(["--base-url", "ftp://example.com"], {"SPIDRA_API_KEY": "k"}, "http(s) URL", id="bad-url"),
        pytest.param([], {"SPIDRA_MAX_REQUESTS": "lots"}, "must be a number", id="bad-number-from-env"),
        pytest.param(["--spec", "no/such/openapi.yaml"], {}, "cannot read spec", id="missing-spec"),
    ],
)
def test_bad_option_exits_4_with_one_clear_line(args, env, message, tmp_path):
    started = time.monotonic()
    result = run_suite(*args, report_dir=tmp_path, env=env)
    assert result.exit_code == 4, result.output
    assert message in result.output
    error_lines = [line for line in result.output.splitlines() if line.startswith("ERROR:")]
    assert len(error_lines) == 1, result.output
    assert time.monotonic() - started < 15
    # Only the reports that say why: the run never started.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["junit.xml", "summary.json", "summary.md"]
    assert json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))["exit_code"] == 4


def test_malformed_spec_exits_4(tmp_path):
    spec = tmp_path / "broken.yaml"
    spec.write_text("openapi: 3.1.0\npaths: {}\n")
    result = run_suite(f"--spec={spec}", report_dir=tmp_path / "r")
    assert result.exit_code == 4, result.output
    assert "no GET /crawl/{jobId} operation" in result.output


def test_unreachable_target_exits_6_quickly_naming_the_url(tmp_path):
    started = time.monotonic()
    result = run_suite("--base-url", "http://127.0.0.1:9/api", "--api-key", "k", report_dir=tmp_path)
    assert result.exit_code == 6, result.output
    assert "cannot reach http://127.0.0.1:9/api" in result.output
    assert time.monotonic() - started < 15


def test_live_target_without_job_ids_is_incomplete_not_green(served_mock, tmp_path):
    server, _ = served_mock
    result = run_suite(
        "--base-url",
        server.base_url,
        "--api-key",
        ALPHA_KEY,
        "--rate-limit=0",
        report_dir=tmp_path,
        tests=("tests/test_error_responses.py", "tests/test_job_status.py"),
    )
    assert result.exit_code == 7, result.output
    assert "no 200 response reached" in result.output
    assert_reports_agree(tmp_path, 7, result.output)


def test_served_mock_gets_the_same_verdict_and_only_get_or_head(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), report_dir=tmp_path)
    assert result.exit_code == 0, result.output
    methods = {entry["method"] for entry in state.received}
    assert methods <= {"GET", "HEAD"}, f"unsafe methods sent to a --base-url target: {methods}"


@pytest.mark.parametrize("served_mock", [("status-outside-enum",)], indirect=True)
def test_served_mock_with_a_fault_fails_with_exit_1(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), report_dir=tmp_path, tests=FAST)
    assert result.exit_code == 1, result.output
    assert "[status-enum]" in result.output
    assert "reproduce: curl" in result.output


def test_request_budget_is_never_exceeded(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), "--max-requests", "40", report_dir=tmp_path)
    assert len(state.received) <= 40
    assert "request budget (40) is spent" in result.output
    assert result.exit_code == 7, "a run cut short by its budget is incomplete, neither green nor violations"


@pytest.mark.parametrize("served_mock", [("rate-limited",)], indirect=True)
def test_429_is_honoured_and_reported(served_mock, tmp_path, monkeypatch):
    import json

    import spidra_contract.mock.faults as faults

    monkeypatch.setattr(faults, "RATE_LIMITED_EVERY", 120)  # the mock runs in this process: a 429 within this run

    server, state = served_mock
    result = run_suite(
        *live_args(server, state),
        "--burst",
        report_dir=tmp_path,
        # Enough requests for the 429 the mock sends every 120th here.
        tests=(
            "tests/test_error_responses.py",
            "tests/test_job_status.py",
            "tests/test_hostile_input.py",
            "tests/test_cross_account.py",
            "tests/test_burst.py",
        ),
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.artifact("summary.json").read_text())
    assert summary["requests"]["sent"] > 120, summary["requests"]
    assert summary["requests"]["rate_limited"], "429 not reported"
    assert any(entry["kind"] == "undocumented status code" and "429" in entry["what"] for entry in summary["drift"])


def test_rate_limit_spaces_requests(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(
        "--base-url",
        server.base_url,
        "--api-key",
        ALPHA_KEY,
        "--rate-limit",
        "20",
        "--job-id",
        state.job_ids()[0],
        report_dir=tmp_path,
        tests=FAST,
    )
    assert result.exit_code == 0, result.output
    # Measured where the requests arrive, so start-up time cannot make an unpaced run look paced.
    arrivals = [entry["at"] for entry in state.received]
    assert len(arrivals) >= 5
    assert arrivals[-1] - arrivals[0] >= (len(arrivals) - 1) / 20 * 0.95


def test_target_that_stops_answering_mid_run_is_could_not_test_not_violations(tmp_path):
    import subprocess
    import sys

    from spidra_contract.mock.app import make_state
    from spidra_contract.mock.server import MockServer

    state = make_state(("slow",), time_scale=2.5)
    server = MockServer(state).start()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--report-dir={tmp_path}",
            *live_args(server, state),
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    # Let the probe and the first reads through, then take the target away.
    deadline = time.monotonic() + 60
    while len(state.received) < 5 and time.monotonic() < deadline:
        time.sleep(0.05)
    server.stop()
    output, _ = process.communicate(timeout=300)
    assert process.returncode == 6, output
    assert "stopped answering" in output
    assert_reports_agree(tmp_path, 6, output)


def test_a_test_path_that_does_not_exist_is_exit_4_in_every_report_as_in_the_process(tmp_path):
    result = run_suite(report_dir=tmp_path, tests=("tests/nope.py",))
    assert result.exit_code == 4, result.output
    assert "file or directory not found" in result.output
    assert_reports_agree(tmp_path, 4, result.output)


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(("--profile", "nope"), "--profile must be one of ci, dev, nightly, got 'nope'", id="bad-profile"),
        pytest.param(("--spec={bad}",), "is not valid YAML at line 5, column 1: expected ','", id="malformed-spec"),
        pytest.param(
            ("--base-url", "https://api.test/api"), "--base-url needs --api-key (or SPIDRA_API_KEY)", id="no-key"
        ),
    ],
)
def test_a_run_refused_before_it_starts_still_writes_the_reports_that_say_why(args, says, tmp_path):
    """A CI job that uploads the report folder uploads the reason: summary.json, summary.md and junit.xml say
    usage error, exit 4, and the one line the terminal gave (a spec's with the parser's line and column)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: 3.1.0\npaths:\n  /crawl/{jobId}:\n    get: [unclosed\n", encoding="utf-8")
    result = run_suite(*(arg.format(bad=bad) for arg in args), report_dir=tmp_path / "reports")
    assert result.exit_code == 4, result.output[-2000:]
    assert says in result.output
    assert sorted(p.name for p in (tmp_path / "reports").iterdir()) == ["junit.xml", "summary.json", "summary.md"]
    summary = json.loads((tmp_path / "reports" / "summary.json").read_text(encoding="utf-8"))
    assert summary["headline"] == f"usage error (exit 4): {summary['reason']}"
    assert says in summary["reason"]
    assert says.split(" (")[0] in (tmp_path / "reports" / "summary.md").read_text(encoding="utf-8")
    assert 'name="exit_code" value="4"' in (tmp_path / "reports" / "junit.xml").read_text(encoding="utf-8")
