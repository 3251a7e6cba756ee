"""Nightly regression as a history: runs recorded with --history, thirty nights drawn on one page with each
regression marked at the night it started, the terminal's summary, and the page in a real browser."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from selftests.conftest import run_suite
from spidra_contract.tools import history

# Three real runs stand for thirty nights (the suite's own runs, switches on and off as the nights go).
LAYERS = ("-m", "job_body or unknown")
SCHEDULE = [("reference", ())] * 10 + [("slow", ("slow",))] * 10 + [("broken", ("slow", "error-empty-message"))] * 10


@pytest.fixture(scope="module")
def nights(tmp_path_factory) -> Path:
    """A history of 30 nights: 1-10 the reference mock, 11-20 every answer 15 ms slower (a latency step), 21-30
    also an empty ErrorResponse message (a clause starts failing)."""
    base = tmp_path_factory.mktemp("runs")
    runs = {}
    for name, switches in dict(SCHEDULE).items():
        options = [f"--mock-switch={switch}" for switch in switches]
        result = run_suite(*options, *LAYERS, report_dir=base / name)
        assert result.exit_code in (0, 1), result.output[-2000:]
        runs[name] = json.loads(result.artifact("summary.json").read_text())
    folder = base / "history"
    for night, (name, _) in enumerate(SCHEDULE, start=1):
        summary = dict(runs[name], started=f"2026-11-{night:02d}T02:00:00Z")
        history.record(folder, summary, base / name / "report.html")
    return folder


def test_thirty_nights_mark_each_regression_at_the_night_it_started(nights):
    loaded = history.load(nights)
    assert len(loaded) == 30
    steps = history.analyse(loaded).steps
    started = {(step.night + 1, step.kind) for step in steps}
    assert (21, "clause") in started
    assert any(step.night + 1 == 21 and "error-response fails" in step.what for step in steps)
    assert any(night == 11 for night, kind in started if kind == "latency"), steps
    # Nothing is marked where nothing changed.
    assert {night for night, _ in started} <= {11, 21}


def test_the_terminal_summary_says_what_changed_and_since_when(nights):
    from click.testing import CliRunner

    from spidra_contract.cli import main

    result = CliRunner().invoke(main, ["history", str(nights), "--last", "15"])
    assert result.exit_code == 0, result.output
    assert "error-response has failed since 2026-11-21 02:00 (10 run(s))" in result.output
    assert "since 2026-11-21 02:00: error-response fails" in result.output
    assert len(result.output.splitlines()) < 40


def test_the_history_page_draws_its_plots_in_a_real_browser(nights, tmp_path):
    from click.testing import CliRunner

    from selftests.test_reports import CHROMIUM_FLAGS
    from spidra_contract.cli import main

    result = CliRunner().invoke(main, ["history", str(nights)])
    assert result.exit_code == 0, result.output
    import sys

    assert all(hasattr(finder, "find_spec") for finder in sys.meta_path), "drawing leaves the import system as it was"
    page = nights / history.PAGE
    text = page.read_text()
    assert "<script" not in text
    assert not re.search(r'(?:src|href)="(?:https?:)?//|url\((?:https?:)?//|@import', text), "nothing loaded"
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("no Chromium here (apt-get install chromium)")
    run = subprocess.run(
        [
            browser,
            *CHROMIUM_FLAGS,
            f"--user-data-dir={tmp_path}",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    dom = run.stdout
    assert dom.count("<svg") >= 3, "the plots are drawn"
    assert dom.count('class="dot') + dom.count('class="line') > 30, "with data"
    # The heat map, as the browser built it: error-response's row marks night 21, and only it.
    row = re.search(r'<th class="clause">error-response</th>(.*?)</tr>', dom, re.S)
    assert row is not None
    cells = re.findall(r'<td class="([^"]*)"', row.group(1))
    assert len(cells) == 30
    assert [night for night, classes in enumerate(cells, start=1) if "step" in classes.split()] == [21]
    assert [night for night, classes in enumerate(cells, start=1) if "fail" in classes.split()] == list(range(21, 31))
    # The latency step is a series of its own on the p95 plot, one dot.
    assert "step: latency jump" in dom
    assert "CONSOLE" not in run.stderr, run.stderr[-2000:]
    for night in history.load(nights):
        assert night.page
        assert (nights / night.page).is_file()


def test_runs_ending_together_each_add_a_whole_summary_and_the_window_keeps_the_newest(tmp_path):
    summary = {
        "started": "2026-11-01T00:00:00Z",
        "clauses": [],
        "verdict": "conformant",
        "exit_code": 0,
        "reason": "r",
        "pad": "x" * 200_000,
    }

    def add(night: int) -> Path:
        return history.record(tmp_path, dict(summary, started=f"2026-11-{night:02d}T00:00:00Z"), window=5)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, range(1, 21)))
    kept = sorted(tmp_path.glob("*.json"))
    assert len(kept) == 5
    assert [json.loads(path.read_text())["started"][:10] for path in kept] == [
        f"2026-11-{night:02d}" for night in range(16, 21)
    ]
    assert not list(tmp_path.glob(".*.tmp"))


def test_a_run_with_history_adds_its_summary_and_its_report_there(tmp_path):
    result = run_suite(f"--history={tmp_path / 'nights'}", *LAYERS, report_dir=tmp_path / "reports")
    assert result.exit_code == 0, result.output[-2000:]
    recorded = list((tmp_path / "nights").glob("*.json"))
    assert len(recorded) == 1
    assert (
        json.loads(recorded[0].read_text())["headline"]
        == json.loads(result.artifact("summary.json").read_text())["headline"]
    )
    assert recorded[0].with_suffix(".html").is_file()
