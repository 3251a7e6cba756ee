"""No target can hurt or trick the suite: redirects, shared limits, honest exit codes before any request,
honest subsets."""

from __future__ import annotations

import json

import pytest

from selftests.conftest import assert_no_secret_in, assert_reports_agree, live_args, run_suite
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY

QUICK = ("tests/test_job_status.py", "tests/test_error_responses.py")


@pytest.mark.parametrize("served_mock", [("redirect-other-origin",)], indirect=True)
def test_a_redirect_to_another_origin_is_judged_and_never_followed(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), report_dir=tmp_path, tests=QUICK)
    assert result.exit_code == 1, result.output
    assert "redirecting to 'http://localhost:" in result.output
    hosts = {entry["host"].split(":")[0] for entry in state.received}
    assert hosts == {"127.0.0.1"}, f"a request reached another origin: {hosts}"
    summary = json.loads(result.artifact("summary.json").read_text())
    assert "documented-status" in [row["clause"] for row in summary["clauses"] if row["verdict"] == "fail"]


@pytest.mark.parametrize("served_mock", [("key-echo",)], indirect=True)
def test_a_key_echoed_plainly_or_encoded_reaches_no_artifact_nor_the_terminal(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), report_dir=tmp_path, tests=(*QUICK, "tests/test_lifecycle.py"))
    assert result.exit_code == 1, result.output
    assert_no_secret_in(tmp_path, ALPHA_KEY, BETA_KEY)
    assert ALPHA_KEY not in result.output
    assert BETA_KEY not in result.output


def test_limits_hold_for_all_xdist_workers_together(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), "--max-requests", "60", "-n", "2", report_dir=tmp_path)
    assert len(state.received) <= 60, f"{len(state.received)} requests for a budget of 60 over 2 workers"
    assert result.exit_code == 7, result.output
    assert_reports_agree(tmp_path, 7)


@pytest.mark.parametrize(
    ("below", "message"),
    [pytest.param("", "is a file, not a folder", id="a-file"), pytest.param("reports", "Not a directory", id="below")],
)
def test_a_report_folder_that_is_a_file_exits_4_before_any_request(served_mock, tmp_path, below, message):
    server, state = served_mock
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    result = run_suite(*live_args(server, state), report_dir=blocker / below if below else blocker)
    assert result.exit_code == 4, result.output
    assert message in result.output
    assert "File exists" not in result.output
    assert len(state.received) == 0


def test_a_binary_job_ids_file_exits_4(tmp_path):
    ids = tmp_path / "ids.bin"
    ids.write_bytes(b"\x00\x01\xff" * 100)
    result = run_suite(f"--job-ids-file={ids}", report_dir=tmp_path / "r")
    assert result.exit_code == 4, result.output
    assert "binary" in result.output


def test_unreachable_target_writes_reports_that_say_so(tmp_path):
    result = run_suite(
        "--base-url", "http://user:hunter2pass@127.0.0.1:9/api", "--api-key", "k" * 20, report_dir=tmp_path
    )
    assert result.exit_code == 6, result.output
    assert_reports_agree(tmp_path, 6)
    assert "hunter2pass" not in result.output
    assert_no_secret_in(tmp_path, "hunter2pass")


def test_collect_only_writes_no_reports_and_exits_as_pytest_does(tmp_path):
    result = run_suite("--co", report_dir=tmp_path / "r")
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "r").exists()


def test_a_subset_judges_what_ran_and_says_so(tmp_path):
    result = run_suite("-k", "error_responses", report_dir=tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.artifact("summary.json").read_text())
    assert summary["subset"] is True
    assert_reports_agree(tmp_path, 0)


def test_markers_select_a_layer(tmp_path):
    result = run_suite("-m", "auth", report_dir=tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.artifact("summary.json").read_text())
    assert summary["subset"] is True
    assert 0 < summary["tests"]["ran"] <= 10


def test_a_run_in_process_gives_back_the_heap_and_leaves_no_mock_thread(pytester, tmp_path):
    """The suite freezes start-up's heap for the collector and winds its mock down while reports are written;
    a process that runs it with `pytest.main` gets the collector back as it was and no thread left running."""
    import gc
    import threading

    from selftests.conftest import ROOT

    before = gc.get_freeze_count()
    result = pytester.runpytest_inprocess(
        "-c",
        str(ROOT / "pytest.ini"),
        "--rootdir",
        str(ROOT),
        "-p",
        "no:cacheprovider",
        "-p",
        "no:xdist",
        "-m",
        "auth",
        f"--report-dir={tmp_path}",
        str(ROOT / "tests"),
    )
    assert result.ret == 0, result.outlines[-5:]
    assert json.loads((tmp_path / "summary.json").read_text())["requests"]["sent"] > 0
    assert gc.get_freeze_count() == before
    assert [t.name for t in threading.enumerate() if t.name.startswith("spidra-")] == []
