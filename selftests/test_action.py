"""The GitHub Action: its files validate against GitHub's published schemas, and its script runs the suite
end to end against the served mock (first night records the baseline, the next compares with it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from selftests.conftest import ROOT, assert_no_secret_in
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.github-actions", ["action.yml"]),
        ("vendor.github-workflows", sorted(str(p) for p in (ROOT / ".github" / "workflows").glob("*.yml"))),
    ],
    ids=["action", "workflows"],
)
def test_the_action_and_the_workflows_validate_against_githubs_schemas(schema, files):
    assert files
    result = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", schema, *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def action(
    workdir: Path, server, state, **inputs: str | None
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    """run.sh as the Action runs it (an input given as None is not set at all, as when run by hand)."""
    outputs = workdir / "github-output"
    outputs.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIDRA_", "ACTION_", "GITHUB_"))}
    env |= {
        "PATH": f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        "SPIDRA_API_KEY": ALPHA_KEY,
        "SPIDRA_OTHER_API_KEY": BETA_KEY,
        "GITHUB_OUTPUT": str(outputs),
        "ACTION_BASE_URL": server.base_url,
        "ACTION_JOB_IDS": " ".join(state.job_ids("alpha")),
        "ACTION_EXTRA_ARGS": "--rate-limit 0 -q",
    }
    env |= {f"ACTION_{name.upper()}": value for name, value in inputs.items() if value is not None}
    for name in [f"ACTION_{name.upper()}" for name, value in inputs.items() if value is None]:
        env.pop(name, None)
    result = subprocess.run(
        ["bash", str(ROOT / "action" / "run.sh")],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    written = dict(line.split("=", 1) for line in outputs.read_text().splitlines() if "=" in line)
    return result, written


@pytest.mark.parametrize("served_mock", [("result-data-string",)], indirect=True)
def test_the_actions_script_records_a_baseline_on_the_first_night_and_compares_with_it_after(served_mock, tmp_path):
    server, state = served_mock
    # The layer that reads job bodies only (a live run of the whole suite watches its jobs in real time).
    layer = '--rate-limit 0 -q -m "job_body"'
    first, outputs = action(
        tmp_path,
        server,
        state,
        baseline="baselines/live.json",
        job_ids_file="job-ids.txt",
        report_dir="first",
        extra_args=layer,
    )
    assert first.returncode == 1, first.stdout[-3000:] + first.stderr[-2000:]
    assert "no baseline at baselines/live.json yet: this run records one there" in first.stdout
    assert "no job ids file at job-ids.txt: the corpus sweep is skipped" in first.stdout
    assert outputs == {"exit-code": "1", "verdict": "violations"}
    recorded = json.loads((tmp_path / "baselines" / "live.json").read_text())
    assert recorded["format"] == 2
    assert {(f["clause"], f["pointer"]) for f in recorded["findings"]} == {("result-shape", "/result/*/data")}

    second, outputs = action(
        tmp_path, server, state, baseline="baselines/live.json", report_dir="second", extra_args=layer
    )
    assert second.returncode == 0, second.stdout[-3000:] + second.stderr[-2000:]
    assert outputs == {"exit-code": "0", "verdict": "conformant"}
    summary = json.loads((tmp_path / "second" / "summary.json").read_text())
    known = summary["baseline"]["known"]
    assert known == recorded["findings"], "known by identity"
    assert summary["baseline"]["new"] == []
    for folder in ("first", "second"):
        assert_no_secret_in(tmp_path / folder, ALPHA_KEY, BETA_KEY)
    assert ALPHA_KEY not in first.stdout + first.stderr + second.stdout + second.stderr


def test_the_actions_script_runs_by_hand_without_inputs_and_keeps_quoted_extra_args_whole(served_mock, tmp_path):
    """Only a base URL: no ids, no profile, no ids file (unset, as a user running it by hand has them); the
    extra arguments split as a shell splits them, so `-m "auth or unknown"` selects two layers."""
    server, state = served_mock
    result, outputs = action(
        tmp_path, server, state, job_ids=None, extra_args='--rate-limit 0 -q -m "auth or unknown"', report_dir="out"
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert outputs == {"exit-code": "0", "verdict": "conformant"}
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["subset"] is True
    assert summary["tests"]["ran"] > 9  # auth alone has 9 tests; unknown adds its own


def test_the_action_with_a_candidate_url_compares_it_with_production(served_mock, tmp_path):
    """candidate-url: production (base-url) and the candidate side by side (here the same served mock)."""
    server, state = served_mock
    result, outputs = action(
        tmp_path,
        server,
        state,
        candidate_url=server.base_url,
        extra_args='--same-accounts --rate-limit 0 -q -m "job_body"',
        report_dir="out",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert outputs["exit-code"] == "0"
    assert outputs["verdict"].startswith("no breaking difference")
    assert (tmp_path / "out" / "comparison.html").is_file()
