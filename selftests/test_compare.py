"""The candidate against production: every behavioural difference classified (breaking, non-breaking, noise),
offline on two summaries (`diff`) and live on two served mocks (`compare`)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spidra_contract.core.judgement import ClauseResult, ClauseVerdict, RunVerdict
from spidra_contract.core.model import Report
from spidra_contract.core.outcome import Outcome, TestCounts
from spidra_contract.mock.app import make_state
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY
from spidra_contract.mock.server import MockServer
from spidra_contract.tools.diff import Severity, compare_class, diff

DOOR = "tests/test_doors.py::t | GET | door /crawl/./{id} (dot segment) (axis path), caller: "


def stats(
    reads=4, statuses=None, fields=None, values=None, headers=None, latency=(5.0, 8.0), media=None, stranger=False
):
    return {
        "test": "tests/test_x.py::t",
        "stranger": stranger,
        "reads": reads,
        "statuses": statuses or {"200": reads},
        "media_types": media or {"application/json": reads},
        "fields": fields if fields is not None else {"/": {"object": reads}, "/status": {"string": reads}},
        "values": values or {},
        "headers": headers or {},
        "latency_ms": {"samples": reads * 3, "p50": latency[0], "p95": latency[1]},
    }


@pytest.mark.parametrize(
    ("probe", "production", "candidate", "expected"),
    [
        pytest.param("p", stats(), stats(), [], id="identical"),
        pytest.param(
            "p",
            stats(statuses={"404": 4}),
            stats(statuses={"500": 4}),
            [("breaking", "status changed")],
            id="status-changed",
        ),
        pytest.param(
            DOOR + "no key",
            stats(statuses={"403": 4}, stranger=True),
            stats(statuses={"200": 4}, stranger=True),
            [("breaking", "a door opened")],
            id="door-opened",
        ),
        pytest.param(
            DOOR + "no key",
            stats(statuses={"200": 4}, stranger=True),
            stats(statuses={"403": 4}, stranger=True),
            [("non-breaking", "a door closed")],
            id="door-closed",
        ),
        pytest.param(
            DOOR + "owner",
            stats(statuses={"200": 4}),
            stats(statuses={"403": 4}),
            [("breaking", "status changed")],
            id="the-owner-locked-out",
        ),
        pytest.param(
            "p",
            stats(statuses={"200": 2, "404": 2}),
            stats(statuses={"200": 4}),
            [("noise", "statuses vary")],
            id="statuses-vary-within-a-side",
        ),
        pytest.param(
            "p",
            stats(fields={"/": {"object": 4}, "/title": {"string": 4}}),
            stats(fields={"/": {"object": 4}}),
            [("breaking", "field /title removed")],
            id="field-removed",
        ),
        pytest.param(
            "p",
            stats(fields={"/": {"object": 4}, "/error": {"null": 2}}),
            stats(fields={"/": {"object": 4}}),
            [("noise", "field /error removed")],
            id="optional-field-absent",
        ),
        pytest.param(
            "p",
            stats(fields={"/": {"object": 4}}),
            stats(fields={"/": {"object": 4}, "/depth": {"integer": 4}}),
            [("non-breaking", "field /depth added")],
            id="field-added",
        ),
        pytest.param(
            "p",
            stats(fields={"/data": {"object": 4}}),
            stats(fields={"/data": {"string": 4}}),
            [("breaking", "type of /data changed")],
            id="type-changed",
        ),
        pytest.param(
            "p",
            stats(values={"/result/*/status": {"success": 4}}),
            stats(values={"/result/*/status": {"ok": 4}}),
            [("breaking", "no longer seen"), ("non-breaking", "new value")],
            id="enum-value-renamed",
        ),
        pytest.param(
            "p",
            stats(headers={"cache-control": {"no-store": 4}}),
            stats(),
            [("breaking", "header cache-control removed")],
            id="header-removed",
        ),
        pytest.param(
            "p",
            stats(latency=(5.0, 9.0)),
            stats(latency=(90.0, 200.0)),
            [("breaking", "slower")],
            id="everything-slower",
        ),
        pytest.param("p", stats(latency=(5.0, 9.0)), stats(latency=(6.0, 300.0)), [], id="one-slow-read-is-noise"),
    ],
)
def test_each_kind_of_difference_is_classified(probe, production, candidate, expected):
    found = [(d.severity.value, d.what) for d in compare_class(probe, production, candidate)]
    assert len(found) == len(expected), found
    for (severity, what), (want_severity, want_what) in zip(found, expected, strict=True):
        assert severity == want_severity
        assert want_what in what


def report(*rows: ClauseResult, fingerprint=None) -> Report:
    return Report(Outcome(RunVerdict.CONFORMANT, 0, "r"), TestCounts(), rows, fingerprint=fingerprint or {})


def row(verdict: ClauseVerdict, keys=()) -> ClauseResult:
    return ClauseResult("door-locked", "t", "r", verdict, 5, 1 if verdict is ClauseVerdict.FAIL else 0, (), keys)


def test_a_clause_that_passed_and_fails_now_is_breaking_and_the_reverse_is_not():
    assert [d.severity for d in diff(report(row(ClauseVerdict.PASS)), report(row(ClauseVerdict.FAIL)))] == [
        Severity.BREAKING
    ]
    assert [d.severity for d in diff(report(row(ClauseVerdict.FAIL)), report(row(ClauseVerdict.PASS)))] == [
        Severity.NON_BREAKING
    ]
    more = diff(report(row(ClauseVerdict.FAIL, ("a",))), report(row(ClauseVerdict.FAIL, ("a", "b", "c"))))
    assert [(d.severity, "new finding" in d.what, d.subject) for d in more] == [
        (Severity.BREAKING, True, "b"),
        (Severity.BREAKING, True, "c"),
    ]


def test_six_removed_fields_in_eight_probe_classes_are_six_differences():
    """The comparison counts differences, not probe classes: six fields gone from the job body, seen in each of
    the eight probe classes that read it, are six breaking differences touching eight classes (issue 29)."""
    from spidra_contract.tools.compare import compare_reports

    gone = [f"/result/*/f{n}" for n in range(6)]
    full = {"/": {"object": 4}, **{path: {"string": 4} for path in gone}}
    production = report(fingerprint={f"p{n}": stats(fields=full) for n in range(8)})
    candidate = report(fingerprint={f"p{n}": stats(fields={"/": {"object": 4}}) for n in range(8)})
    comparison = compare_reports(production, candidate)
    assert len(comparison.breaking) == 48
    assert comparison.counts()["breaking"] == 6
    assert comparison.classes()["breaking"] == 8
    assert comparison.headline.startswith("NOT safe to release: 6 breaking in 8 probe class(es), 0 non-breaking")
    assert [count for _, count in comparison.grouped(Severity.BREAKING)] == [8] * 6


def test_a_probe_only_one_side_asked_is_noise():
    found = diff(report(fingerprint={"p": stats()}), report(fingerprint={}))
    assert [(d.severity, d.what) for d in found] == [(Severity.NOISE, "asked on the production only")]


KEYS = {"SPIDRA_API_KEY": ALPHA_KEY, "SPIDRA_OTHER_API_KEY": BETA_KEY, "PATH": "/usr/bin:/bin"}


def compare_command(production: str, candidate: str, report_dir, *extra: str) -> list[str]:
    """`spidra-contract compare` of two targets by URL (the same accounts, the reference mock's job ids)."""
    ids = [f"--job-id={job_id}" for job_id in make_state(()).job_ids("alpha")]
    return [
        sys.executable,
        "-m",
        "spidra_contract.cli",
        "compare",
        "--base-url",
        production,
        "--candidate-url",
        candidate,
        "--same-accounts",
        f"--report-dir={report_dir}",
        *ids,
        *extra,
    ]


# One layer each fault shows in, and the doors: fast, yet a full comparison of those classes.
LAYERS = ("--", "-m", "job_body or unknown or doors", "--rate-limit", "0")


@pytest.mark.parametrize(
    ("candidate", "exit_code", "says"),
    [
        pytest.param((), 0, "0 breaking, 0 non-breaking, 0 noise", id="identical"),
        pytest.param(("noisy",), 0, "0 breaking, 0 non-breaking", id="noisy-key-order-and-request-ids"),
        # (an added field and a changed status are classified in test_each_kind_of_difference_is_classified)
        pytest.param(("sparse-items",), 1, "field /result/*/title removed", id="removed-field"),
        pytest.param(("apikey-any-account",), 1, "a door opened", id="opened-door"),
    ],
)
def test_compare_runs_both_sides_and_names_each_difference(candidate, exit_code, says, tmp_path):
    production = MockServer(make_state((), time_scale=2.5)).start()
    other = MockServer(make_state(candidate, time_scale=2.5)).start()
    try:
        result = subprocess.run(
            compare_command(production.base_url, other.base_url, tmp_path, *LAYERS),
            capture_output=True,
            text=True,
            timeout=300,
            env=KEYS,
            check=False,
        )
    finally:
        production.stop()
        other.stop()
    assert result.returncode == exit_code, result.stdout[-3000:] + result.stderr[-2000:]
    assert says in result.stdout
    for name in (
        "comparison.html",
        "comparison.md",
        "comparison.json",
        "production/summary.json",
        "candidate/summary.json",
    ):
        assert (tmp_path / name).is_file(), name
    text = "".join(path.read_text(errors="replace") for path in tmp_path.rglob("*") if path.is_file())
    assert ALPHA_KEY not in text
    assert BETA_KEY not in text
    saved = json.loads((tmp_path / "comparison.json").read_text())
    assert bool(saved["counts"]["breaking"]) == bool(exit_code)


def test_compare_without_the_candidates_key_is_a_usage_error_naming_the_side(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "spidra_contract.cli",
            "compare",
            "--base-url",
            "http://127.0.0.1:9/api",
            "--candidate-url",
            "http://127.0.0.1:9/api",
            f"--report-dir={tmp_path}",
        ],
        capture_output=True,
        text=True,
        env={"SPIDRA_API_KEY": ALPHA_KEY, "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert result.returncode == 4
    assert "the candidate side needs --candidate-api-key" in result.stderr


def test_a_side_that_cannot_be_reached_ends_the_comparison_with_its_exit_code_naming_the_side(tmp_path):
    production = MockServer(make_state((), time_scale=2.5)).start()
    try:
        result = subprocess.run(
            compare_command(
                production.base_url, "http://127.0.0.1:9/api", tmp_path, "--", "-m", "unknown", "--rate-limit", "0"
            ),
            capture_output=True,
            text=True,
            timeout=120,
            env={"SPIDRA_API_KEY": ALPHA_KEY, "PATH": "/usr/bin:/bin"},
            check=False,
        )
    finally:
        production.stop()
    assert result.returncode == 6, result.stdout + result.stderr
    assert "the candidate run ended with exit 6: could not test" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_signal_to_compare_stops_both_sides_each_writing_its_reports(tmp_path):
    """SIGTERM to `compare` (a CI timeout) reaches both runs; each stops and says so in its reports; exit 2."""
    import json
    import signal
    import time

    production_state, candidate_state = make_state(("slow",), time_scale=2.5), make_state(("slow",), time_scale=2.5)
    production, candidate = MockServer(production_state).start(), MockServer(candidate_state).start()
    try:
        process = subprocess.Popen(
            compare_command(production.base_url, candidate.base_url, tmp_path, "--", "--rate-limit=0", "--watch=60"),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=KEYS,
        )
        deadline = time.monotonic() + 60
        while min(production_state.requests_seen, candidate_state.requests_seen) < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        sent = time.monotonic()
        output, _ = process.communicate(timeout=60)
    finally:
        production.stop()
        candidate.stop()
    assert process.returncode == 2, output[-3000:]
    assert time.monotonic() - sent < 30
    for side in ("production", "candidate"):
        summary = json.loads((tmp_path / side / "summary.json").read_text(encoding="utf-8"))
        assert summary["verdict"] == "interrupted", (side, summary["headline"])
