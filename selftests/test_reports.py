"""What a run leaves behind: every artifact, the compliance matrix, no secrets anywhere, the baseline flow."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from selftests.conftest import ARTIFACTS, assert_reports_agree, live_args, run_suite
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY

QUICK = ("tests/test_job_status.py", "tests/test_error_responses.py", "tests/test_cross_account.py")
# The same layers by marker, for a run in this process.
QUICK_LAYERS = ("-m", "job_body or auth or unknown or cross_account")


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    """One run against a mock that breaks three clauses (a door among them), with a GitHub step summary file."""
    report_dir = tmp_path_factory.mktemp("broken")
    step_summary = report_dir.parent / "step-summary.md"
    result = run_suite(
        "--mock-switch",
        "result-data-string",
        "--mock-switch",
        "error-empty-message",
        "--mock-switch",
        "head-skips-auth",
        report_dir=report_dir,
        env={"GITHUB_STEP_SUMMARY": str(step_summary)},
    )
    return result, step_summary


def test_broken_run_writes_every_artifact(broken_run):
    result, _ = broken_run
    assert result.exit_code == 1, result.output
    for name in ARTIFACTS:
        assert result.artifact(name).stat().st_size > 0, name


def test_summary_json_names_each_failing_clause_with_evidence(broken_run):
    result, _ = broken_run
    summary = json.loads(result.artifact("summary.json").read_text())
    assert summary["verdict"] == "violations"
    assert summary["exit_code"] == 1
    failing = {row["clause"]: row for row in summary["clauses"] if row["verdict"] == "fail"}
    assert set(failing) == {"result-shape", "error-response", "door-locked"}
    example = failing["result-shape"]["examples"][0]
    exchange = example["exchange"]
    assert exchange["request"].startswith("GET ")
    assert exchange["status"] == 200
    assert exchange["curl"].startswith("curl ")
    assert "$SPIDRA_API_KEY" in exchange["curl"]
    assert example["violations"][0]["pointer"].endswith("/data")
    assert example["violations"][0]["rule"].endswith("/type")
    assert example["reproduction"]["label"] == "consistent 3/3"
    # The exchange is the cassette's, by id.
    har = json.loads(result.artifact("cassette.har").read_text())
    assert exchange["id"] in {entry["_id"] for entry in har["log"]["entries"]}
    for key in (
        "target",
        "profile",
        "seed",
        "versions",
        "duration_s",
        "requests",
        "observed_statuses",
        "statuses_not_observed",
        "drift",
        "spec_defects",
    ):
        assert key in summary, key
    assert summary["versions"]["schemathesis"].startswith("4.")
    assert summary["requests"]["sent"] > 0
    assert any("/result/*/data" in entry["what"] for entry in summary["drift"])
    assert len(summary["spec_defects"]) == 2


def test_markdown_matrix_lists_clauses_and_goes_to_the_step_summary(broken_run):
    result, step_summary = broken_run
    markdown = result.artifact("summary.md").read_text()
    assert "| `result-shape`" in markdown
    assert "❌ fail" in markdown
    assert "✅ pass" in markdown
    assert "Drift" in markdown
    assert step_summary.read_text() == markdown


def test_summary_md_fits_a_pull_request_comment_with_the_rest_folded(broken_run):
    """summary.md shows the verdict, every failing clause with its evidence, drift and the doors that opened;
    every clause's row and the access matrix are folded (<details>, closed on GitHub); it stays under GitHub's
    65,536-character limit for a comment body and its shown part reads on one screen (issue 30)."""
    import re

    result, _ = broken_run
    summary = json.loads(result.artifact("summary.json").read_text())
    markdown = result.artifact("summary.md").read_text()
    assert len(markdown) < 65_536
    shown = re.sub(r"<details>.*?</details>", "", markdown, flags=re.S)
    assert len(shown.splitlines()) <= 60, shown
    assert summary["headline"].split(":")[0] in shown
    for row in summary["clauses"]:
        if row["verdict"] == "fail":
            assert f"| `{row['clause']}` | ❌ fail | {row['failed']} of {row['judged']} |" in shown
    assert "| `status-enum`" not in shown, "a passing clause's row is folded"
    assert "### Doors that opened" in shown
    assert "**HEAD** (method): open to" in shown
    assert "### Drift" in shown
    folded = "".join(re.findall(r"<details>.*?</details>", markdown, flags=re.S))
    assert "| axis | door |" in folded, "the whole access matrix, folded"
    assert "| `status-enum`" in folded


def test_junit_has_one_case_per_clause_and_one_per_test_and_the_html_shows_the_matrix(broken_run):
    result, _ = broken_run
    clauses = ET.parse(result.artifact("junit.xml")).getroot().findall(".//testcase")
    assert {case.get("name") for case in clauses} >= {"status-enum", "result-shape", "error-response"}
    failed = {case.get("name") for case in clauses if case.find("failure") is not None}
    assert failed == {"result-shape", "error-response", "door-locked"}, "one case per violated clause, nothing else"
    assert ET.parse(result.artifact("junit.xml")).getroot().get("failures") == "3"
    assert "curl" in next(case for case in clauses if case.get("name") == "result-shape").find("failure").text
    tests = ET.parse(result.artifact("junit-tests.xml")).getroot().findall(".//testcase")
    assert len(tests) > 20
    assert any(case.find("failure") is not None for case in tests)
    page = result.artifact("report.html").read_text()
    assert "Compliance matrix" in page
    assert 'href="#clause-result-shape"' in page
    assert 'id="clause-result-shape"' in page


def test_cassette_is_a_har_of_the_exchanges(broken_run):
    result, _ = broken_run
    har = json.loads(result.artifact("cassette.har").read_text())
    entries = har["log"]["entries"]
    assert har["log"]["version"] == "1.2"
    assert entries
    assert all(
        entry["request"]["method"] in {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"}
        for entry in entries
    )
    assert {entry["response"]["status"] for entry in entries} >= {200, 403, 404}


@pytest.mark.parametrize("served_mock", [("result-data-string", "auth-401")], indirect=True)
def test_no_key_value_appears_in_any_artifact_or_output(served_mock, tmp_path):
    server, state = served_mock
    step_summary = tmp_path / "step.md"
    result = run_suite(
        *live_args(server, state),
        report_dir=tmp_path / "reports",
        tests=QUICK,
        env={"GITHUB_STEP_SUMMARY": str(step_summary)},
    )
    assert result.exit_code == 1, result.output
    secrets = [ALPHA_KEY, BETA_KEY, ALPHA_KEY[:-1], ALPHA_KEY.swapcase(), BETA_KEY[:-1]]
    texts = {"terminal output": result.output, "step summary": step_summary.read_text()}
    texts |= {path.name: path.read_text(errors="replace") for path in result.report_dir.iterdir()}
    for where, text in texts.items():
        for secret in secrets:
            assert secret.lower() not in text.lower(), f"a key value leaked into {where}"
    assert "$SPIDRA_API_KEY" in result.artifact("summary.json").read_text()


def test_baseline_reports_known_fails_new_and_lists_fixed(tmp_path, suite_in_process):
    first = suite_in_process("--mock-switch", "result-data-string", *QUICK_LAYERS, report_dir=tmp_path / "first")
    assert first.exit_code == 1
    baseline = first.artifact("summary.json")

    same = suite_in_process(
        "--mock-switch",
        "result-data-string",
        "--baseline",
        str(baseline),
        *QUICK_LAYERS,
        report_dir=tmp_path / "same",
    )
    assert same.exit_code == 0, same.output
    assert_reports_agree(tmp_path / "same", 0, same.output)
    accepted = next(row for row in json.loads(baseline.read_text())["clauses"] if row["clause"] == "result-shape")
    assert accepted["identities"]
    assert json.loads(same.artifact("summary.json").read_text())["baseline"]["known"] == accepted["identities"]

    worse = suite_in_process(
        "--mock-switch",
        "result-data-string",
        "--mock-switch",
        "error-empty-message",
        "--baseline",
        str(baseline),
        *QUICK_LAYERS,
        report_dir=tmp_path / "worse",
    )
    assert worse.exit_code == 1, worse.output
    assert_reports_agree(tmp_path / "worse", 1, worse.output)
    new = json.loads(worse.artifact("summary.json").read_text())["baseline"]["new"]
    assert {(finding["clause"], finding["pointer"]) for finding in new} == {("error-response", "/message")}

    fixed = suite_in_process(f"--baseline={baseline}", *QUICK_LAYERS, report_dir=tmp_path / "fixed")
    assert fixed.exit_code == 0, fixed.output
    assert json.loads(fixed.artifact("summary.json").read_text())["baseline"]["fixed"] == accepted["identities"]


def test_a_file_that_is_not_a_summary_is_a_bad_baseline(tmp_path, suite_in_process):
    bogus = tmp_path / "bogus.json"
    bogus.write_text("[1, 2]")
    result = suite_in_process(f"--baseline={bogus}", report_dir=tmp_path / "r")
    assert result.exit_code == 4
    assert "is not a summary.json" in result.output


def test_the_cassette_replays_offline_with_the_same_verdict(broken_run):
    from click.testing import CliRunner

    from spidra_contract.cli import main

    result, _ = broken_run
    replay = CliRunner().invoke(main, ["replay", str(result.artifact("cassette.har"))])
    assert replay.exit_code == 1, replay.output
    assert "[result-shape]" in replay.output
    assert "[error-response]" in replay.output
    assert "[door-locked]" in replay.output, "a door is judged again against the owner's recorded read"
    # Every finding of the run, by the identity the run gave it, and no other.
    summary = json.loads(result.artifact("summary.json").read_text())
    run = {i["key"] for row in summary["clauses"] for i in row["identities"]}
    replayed = {line.split("finding: ", 1)[1] for line in replay.output.splitlines() if "finding: " in line}
    assert replayed == run


def test_replay_only_takes_a_request_line_exactly_as_a_report_prints_it(broken_run):
    """The door's evidence as the terminal prints it (`request:   HEAD http://... -> 200`), pasted whole."""
    from click.testing import CliRunner

    from spidra_contract.cli import main

    result, _ = broken_run
    printed = next(line for line in result.output.splitlines() if line.startswith("  request:   HEAD "))
    replay = CliRunner().invoke(main, ["replay", str(result.artifact("cassette.har")), "--only", printed])
    assert replay.exit_code == 1, replay.output
    assert "[door-locked]" in replay.output
    assert all(line.startswith(("HEAD ", " ", "replayed")) for line in replay.output.splitlines()), replay.output
    known = CliRunner().invoke(
        main,
        [
            "replay",
            str(result.artifact("cassette.har")),
            "--only",
            printed,
            f"--baseline={result.artifact('summary.json')}",
        ],
    )
    assert known.exit_code == 0, known.output
    assert "(known)" in known.output


def test_replay_only_takes_the_request_line_as_the_readme_writes_it_and_says_when_nothing_matches(broken_run):
    """`--only "GET .../crawl/<id>"`: '...' stands for the base URL (and any text); no match is an error."""
    from click.testing import CliRunner

    from spidra_contract.cli import main

    result, _ = broken_run
    cassette = str(result.artifact("cassette.har"))
    summary = json.loads(result.artifact("summary.json").read_text())
    shape = next(row for row in summary["clauses"] if row["clause"] == "result-shape")
    job_id = shape["examples"][0]["exchange"]["request"].rsplit("/", 1)[-1]
    one = CliRunner().invoke(main, ["replay", cassette, "--only", f"GET .../crawl/{job_id}"])
    assert one.exit_code == 1, one.output
    assert "[result-shape]" in one.output
    assert "replayed 0 exchanges" not in one.output
    none = CliRunner().invoke(main, ["replay", cassette, "--only", "GET .../crawl/no-such-job-anywhere"])
    assert none.exit_code == 2, none.output
    assert "no exchange" in none.output


def test_the_terminal_gives_one_evidence_block_per_violated_clause_and_one_line_per_failed_test(broken_run):
    result, _ = broken_run
    summary = json.loads(result.artifact("summary.json").read_text())
    violated = sorted(row["clause"] for row in summary["clauses"] if row["verdict"] == "fail")
    assert violated == ["door-locked", "error-response", "result-shape"]
    lines = result.output.splitlines()
    assert sorted(line.split()[1] for line in lines if line.startswith("VIOLATED ")) == violated
    # The evidence (a curl line) once per clause, not once per failed test; no hypothesis or schemathesis dump.
    assert sum(line.startswith("  reproduce: curl") for line in lines) == len(violated)
    # Each other finding of a clause (another caller through the open door) with its own curl line, once.
    others = [line for line in lines if line.startswith("  also ")]
    assert len(others) == len(set(others))
    assert sum(line.startswith("    reproduce: curl") for line in lines) == len(others)
    door = next(row for row in summary["clauses"] if row["clause"] == "door-locked")
    assert len(others) >= len(door["identities"]) - 1 >= 3, "every caller through HEAD is a finding of its own"
    assert "Exception Group Traceback" not in result.output
    assert "Falsifying example" not in result.output
    # One line in the FAILURES section per failed test (the short summary repeats it on a wide terminal).
    start = next(n for n, line in enumerate(lines) if line.startswith("=") and " FAILURES " in line)
    end = next(n for n, line in enumerate(lines) if n > start and line.startswith("="))
    briefs = [line for line in lines[start:end] if line.endswith("(evidence, reproduction: its clause block below)")]
    assert len(briefs) == len(summary["failures"]) > len(violated)
    # junit-tests.xml keeps each test's full evidence.
    junit_tests = result.artifact("junit-tests.xml").read_text()
    assert junit_tests.count("reproduce: curl") >= len(summary["failures"])


def test_a_mock_runs_reproduction_brings_the_same_mock_back_so_the_curl_line_works(broken_run, tmp_path):
    import shlex
    import subprocess
    import sys
    import time

    import requests

    result, _ = broken_run
    summary = json.loads(result.artifact("summary.json").read_text())
    command = summary["reproduce_mock"]
    assert f"the same mock: {command}" in result.output
    served = shlex.split(command.split(" (then")[0])
    assert served[:2] == ["spidra-contract", "serve-mock"]
    assert "--switch" in served
    assert "result-data-string" in served
    example = next(row for row in summary["clauses"] if row["clause"] == "result-shape")["examples"][0]["exchange"]
    url = example["request"].split(" ", 1)[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "spidra_contract.cli", *served[1:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                reply = requests.get(url, headers={"x-api-key": ALPHA_KEY}, timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        else:
            pytest.fail(f"the mock did not come back (exit {process.poll()})")
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert reply.status_code == example["status"]
    assert reply.json()["result"][0]["data"].startswith("# ")  # the same fault, the same evidence


@pytest.mark.parametrize("width", [400, 1280])
def test_report_html_renders_in_a_real_browser_with_the_verdict_banner_on_top(broken_run, tmp_path, width):
    """Headless Chromium (Debian's `chromium`) opens report.html: its DOM has the verdict banner first, and the
    top of the screenshot is the banner's failing colour, in a phone's width and a desktop's."""
    import subprocess

    from selftests.browser import FLAGS, chromium, screenshot
    from selftests.conftest import banner_of

    result, _ = broken_run
    page = result.artifact("report.html")
    dom = subprocess.run(
        [chromium(), *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    ).stdout
    summary = json.loads(result.artifact("summary.json").read_text())
    assert banner_of(dom) == summary["headline"], "the page Chromium built opens with the verdict"
    width_seen, height, pixels = read_png(screenshot(page, width, 400, tmp_path).read_bytes())
    assert height == 400
    assert width_seen >= width
    top = [pixels[y][x] for y in range(0, 200) for x in range(0, width, 4)]
    failing = sum(pixel[:3] == (0xFF, 0xEB, 0xE9) for pixel in top) / len(top)
    assert failing > 0.15, f"the banner's colour covers {failing:.0%} of the page's top"


@pytest.mark.parametrize("width", [400, 1280])
def test_report_html_reads_at_a_phones_width_and_a_desktops(broken_run, tmp_path, width):
    """Laid out by Chromium at 400 px and 1280 px: nothing scrolls sideways (banner, compliance matrix, access
    matrix, evidence, tests), and no number, header, verdict or word breaks across lines (issue 30)."""
    from selftests.browser import layout

    result, _ = broken_run
    page = result.artifact("report.html")
    assert 'id="access-matrix"' in page.read_text(), "the run opened a door: the access matrix is on the page"
    found = layout(page, width, tmp_path)
    assert found.width == width
    assert not found.problems, found.problems[:20]


@pytest.mark.parametrize("width", [400, 1280])
def test_comparison_html_reads_at_a_phones_width_and_a_desktops(broken_run, tmp_path, width):
    """A comparison with many differences (every field's type changed in every probe class), laid out by
    Chromium at 400 px and 1280 px: no sideways scroll, no word broken across lines."""
    from selftests.browser import layout
    from spidra_contract.core.model import Report
    from spidra_contract.tools import compare

    result, _ = broken_run
    candidate = json.loads(result.artifact("summary.json").read_text())
    production = json.loads(json.dumps(candidate))
    for stats in production["fingerprint"].values():
        stats["fields"] = {pointer: {"boolean": sum(kinds.values())} for pointer, kinds in stats["fields"].items()}
    comparison = compare.compare_reports(Report.from_dict(production), Report.from_dict(candidate))
    assert len(comparison.breaking) > 20
    page = tmp_path / "comparison.html"
    page.write_text(compare.html(comparison), encoding="utf-8")
    found = layout(page, width, tmp_path)
    assert not found.problems, found.problems[:20]


def read_png(data: bytes) -> tuple[int, int, list[list[tuple[int, ...]]]]:
    """The pixels of an 8-bit RGB or RGBA PNG (what Chromium writes), rows of tuples: enough to look at one."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    position, chunks, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind, body = data[position + 4 : position + 8], data[position + 8 : position + 8 + length]
        position += 12 + length
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            chunks += body
    width, height, depth, color = struct.unpack(">IIBB", header[:10])
    assert depth == 8
    assert color in (2, 6)
    channels = 3 if color == 2 else 4
    raw, stride = zlib.decompress(chunks), width * channels
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            corner = previous[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                guess = left + up - corner
                pa, pb, pc = abs(guess - left), abs(guess - up), abs(guess - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append([tuple(line[x : x + channels]) for x in range(0, stride, channels)])
        previous = line
    return width, height, rows
