"""The `spidra-contract` command: the catalogue listing, switch validation, and the served mock's banner."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests
from click.testing import CliRunner

from spidra_contract.cli import main
from spidra_contract.mock.catalogue import FAULTS, VARIANTS
from spidra_contract.mock.jobs import ALPHA_KEY


def test_the_catalogue_lists_at_least_30_faults_and_10_variants_each_naming_its_clause():
    result = CliRunner().invoke(main, ["faults", "--list"])
    assert result.exit_code == 0, result.output
    assert len(FAULTS) >= 30
    assert len(VARIANTS) >= 10
    for fault in FAULTS:
        assert f"fault -> {fault.clause or f'exit {fault.expected_exit}'}" in result.output


def test_an_unknown_switch_is_a_usage_error():
    result = CliRunner().invoke(main, ["faults", "--only", "no-such-fault"])
    assert result.exit_code == 2
    assert "unknown mock switch" in result.output


def test_serve_mock_prints_its_keys_and_job_ids_and_answers(tmp_path):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spidra_contract.cli",
            "serve-mock",
            "--port",
            str(port),
            "--corpus",
            "3",
            "--ids-file",
            str(tmp_path / "ids.txt"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        banner = [process.stdout.readline() for _ in range(6)]
        job_ids = next(line for line in banner if line.startswith("job ids:")).split(":", 1)[1].strip().split(",")
        assert any(ALPHA_KEY in line for line in banner)
        # The line that works where the package is installed (a bare `pytest` needs a clone).
        assert any(line.startswith("run the suite:  spidra-contract run --base-url http://") for line in banner)
        for _ in range(100):
            try:
                reply = requests.get(
                    f"http://127.0.0.1:{port}/api/crawl/{job_ids[2]}", headers={"x-api-key": ALPHA_KEY}, timeout=2
                )
                break
            except requests.ConnectionError:
                time.sleep(0.1)
        assert reply.status_code == 200
        assert len((tmp_path / "ids.txt").read_text().split()) == 3
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


def test_serve_mock_on_a_busy_port_is_one_line_and_no_banner():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = CliRunner().invoke(main, ["serve-mock", "--port", str(port)])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [f"Error: cannot serve on 127.0.0.1:{port}: Address already in use"]


def _finding(clause, pointer, probe="tests/test_job_status.py::t | GET | a known job | status completed"):
    from spidra_contract.core.judgement import Identity, Place

    return Identity(clause, probe, Place.BODY, pointer, "type")


def _summary(path, findings, *, subset=False, exit_code=1):
    import json

    rows = {}
    for identity in findings:
        rows.setdefault(identity.clause, []).append(identity)
    clauses = [
        {"clause": clause, "violation_keys": [i.key for i in found], "identities": [i.to_dict() for i in found]}
        for clause, found in rows.items()
    ] or [{"clause": "result-shape", "violation_keys": [], "identities": []}]
    path.write_text(json.dumps({"clauses": clauses, "subset": subset, "exit_code": exit_code, "headline": "h"}))
    return path


def test_baseline_update_accepts_a_runs_findings_and_prune_drops_the_ones_gone(tmp_path):
    from spidra_contract.judging.baseline import Baseline

    data, progress, message = (
        _finding("result-shape", "/result/*/data"),
        _finding("progress", "/progress"),
        _finding("error-response", "/message"),
    )
    baseline = tmp_path / "baselines" / "live.json"
    first = _summary(tmp_path / "first.json", [data, progress])
    result = CliRunner().invoke(main, ["baseline", "update", "--from", str(first), str(baseline)])
    assert result.exit_code == 0, result.output
    assert Baseline.load(baseline).identities == {data, progress}
    assert f"+ {data.key}" in result.output

    later = _summary(tmp_path / "later.json", [data, message])
    assert CliRunner().invoke(main, ["baseline", "update", "--from", str(later), str(baseline)]).exit_code == 0
    assert len(Baseline.load(baseline).identities) == 3

    partial = _summary(tmp_path / "partial.json", [], subset=True)
    refused = CliRunner().invoke(main, ["baseline", "prune", "--from", str(partial), str(baseline)])
    assert refused.exit_code == 1
    assert "not a complete run" in refused.output
    assert len(Baseline.load(baseline).identities) == 3

    result = CliRunner().invoke(main, ["baseline", "prune", "--from", str(later), str(baseline)])
    assert result.exit_code == 0, result.output
    assert f"- {progress.key}" in result.output
    assert Baseline.load(baseline).identities == {data, message}


def test_a_known_finding_never_hides_a_new_one_of_the_same_clause():
    """Known by identity: another door, another caller, another field or another rule of a known clause is new."""
    from dataclasses import replace

    from spidra_contract.judging.baseline import Baseline

    head = _finding("door-locked", "", "tests/test_doors.py::t[HEAD] | HEAD | door HEAD (axis method), caller: no key")
    baseline = Baseline(Path("b.json"), frozenset({head}))
    assert baseline.covers({head})
    for other in (
        replace(head, probe=head.probe.replace("HEAD (axis method)", "/crawl/{id}/ (trailing slash) (axis path)")),
        replace(head, probe=head.probe.replace("no key", "other account (after owner)")),
        replace(head, pointer="/error"),
        replace(head, rule="refusal-carries-job"),
    ):
        assert not baseline.covers({other}), other.key
        assert not baseline.covers({head, other})
        story = baseline.compare({head, other})
        assert (story.new, story.known, story.fixed) == ((other,), (head,), ())


def test_a_baseline_of_the_earlier_format_still_loads_says_what_it_hides_and_update_rewrites_it(tmp_path):
    """A baseline written before identities (`violation_keys`: clause and field) is read: it accepts the findings
    of its clauses at its fields, whatever the probe, and says so in one line; `baseline update` rewrites it by
    identity, replacing each key with the run's findings it stood for."""
    import json

    from spidra_contract.judging.baseline import Baseline

    old = tmp_path / "old.json"
    old.write_text(json.dumps({"kind": "spidra-contract baseline", "violation_keys": ["door-locked:"], "from": "x"}))
    loaded = Baseline.load(old)
    door = _finding("door-locked", "", "tests/test_doors.py::t[HEAD] | HEAD | door HEAD (axis method), caller: no key")
    assert loaded.covers({door})
    assert "by clause and field only (door-locked:)" in loaded.note
    assert "baseline update" in loaded.note
    summary = _summary(tmp_path / "run.json", [door, _finding("result-shape", "/result/*/data")])
    result = CliRunner().invoke(main, ["baseline", "update", "--from", str(summary), str(old)])
    assert result.exit_code == 0, result.output
    rewritten = json.loads(old.read_text())
    assert rewritten["format"] == 2
    assert "violation_keys" not in rewritten, "the coarse key is replaced by the finding it stood for"
    assert Baseline.load(old).identities == {door, _finding("result-shape", "/result/*/data")}
    assert Baseline.load(old).note == ""


def test_run_resolves_every_path_against_the_users_folder(tmp_path, monkeypatch):
    """The packaged suite runs in its own folder: report folder, ids file, baseline and spec, as options or
    SPIDRA_* variables, are made absolute against the folder the user ran `spidra-contract run` in."""
    from spidra_contract.tools.runner import with_paths_from

    for name in ("SPIDRA_REPORT_DIR", "SPIDRA_JOB_IDS_FILE", "SPIDRA_BASELINE", "SPIDRA_SPEC"):
        monkeypatch.delenv(name, raising=False)
    assert with_paths_from(["-q"], tmp_path) == (["-q", f"--report-dir={tmp_path / 'reports'}"], {})
    assert with_paths_from(["--report-dir=out"], tmp_path)[0] == [f"--report-dir={tmp_path / 'out'}"]
    assert with_paths_from(["--spidra-report-dir", "out"], tmp_path)[0] == [f"--spidra-report-dir={tmp_path / 'out'}"]
    assert with_paths_from(["--report-dir=/abs"], tmp_path)[0] == ["--report-dir=/abs"]
    args, _ = with_paths_from(
        ["--job-ids-file", "ids.txt", "--baseline=b.json", "--spec", "s.yaml", "-k", "x"], tmp_path
    )
    assert args == [
        f"--job-ids-file={tmp_path / 'ids.txt'}",
        f"--baseline={tmp_path / 'b.json'}",
        f"--spec={tmp_path / 's.yaml'}",
        "-k",
        "x",
        f"--report-dir={tmp_path / 'reports'}",
    ]
    assert with_paths_from(["--html", "r.html", "--junitxml=j.xml"], tmp_path)[0][:2] == [
        f"--html={tmp_path / 'r.html'}",
        f"--junitxml={tmp_path / 'j.xml'}",
    ]
    monkeypatch.setenv("SPIDRA_REPORT_DIR", "env-out")
    monkeypatch.setenv("SPIDRA_JOB_IDS_FILE", "ids.txt")
    assert with_paths_from([], tmp_path) == (
        [],
        {"SPIDRA_REPORT_DIR": str(tmp_path / "env-out"), "SPIDRA_JOB_IDS_FILE": str(tmp_path / "ids.txt")},
    )


def test_run_help_opens_with_the_suites_own_options_and_says_how_to_reach_pytests():
    from click.testing import CliRunner

    from spidra_contract.cli import main
    from spidra_contract.core.settings import OPTIONS

    shown = CliRunner().invoke(main, ["run", "--help"])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.splitlines()
    assert len(lines) < 120
    assert lines[0].startswith("Usage: spidra-contract run")
    for option in OPTIONS:
        assert any(line.strip().startswith(option.flag + " ") or line.strip() == option.flag for line in lines)
    assert "--pytest-help" in shown.output
