"""The `spidra-contract` command: the catalogue listing, switch validation, and the served mock's banner."""

from __future__ import annotations

import subprocess
import sys
import time

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


def _summary(path, keys, *, subset=False, exit_code=1):
    import json

    row = {"clause": "result-shape", "violation_keys": keys}
    path.write_text(json.dumps({"clauses": [row], "subset": subset, "exit_code": exit_code, "headline": "h"}))
    return path


def test_baseline_update_accepts_a_runs_violations_and_prune_drops_the_ones_gone(tmp_path):
    from spidra_contract.judging.baseline import Baseline

    baseline = tmp_path / "baselines" / "live.json"
    first = _summary(tmp_path / "first.json", ["result-shape:/result/*/data", "progress:/progress"])
    result = CliRunner().invoke(main, ["baseline", "update", "--from", str(first), str(baseline)])
    assert result.exit_code == 0, result.output
    assert Baseline.load(baseline).keys == {"result-shape:/result/*/data", "progress:/progress"}

    later = _summary(tmp_path / "later.json", ["result-shape:/result/*/data", "error-response:/message"])
    assert CliRunner().invoke(main, ["baseline", "update", "--from", str(later), str(baseline)]).exit_code == 0
    assert len(Baseline.load(baseline).keys) == 3

    partial = _summary(tmp_path / "partial.json", [], subset=True)
    refused = CliRunner().invoke(main, ["baseline", "prune", "--from", str(partial), str(baseline)])
    assert refused.exit_code == 1
    assert "not a complete run" in refused.output
    assert len(Baseline.load(baseline).keys) == 3

    result = CliRunner().invoke(main, ["baseline", "prune", "--from", str(later), str(baseline)])
    assert result.exit_code == 0, result.output
    assert "- progress:/progress" in result.output
    assert Baseline.load(baseline).keys == {"result-shape:/result/*/data", "error-response:/message"}


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
