"""Nightly regression as a history: runs recorded with --history, thirty nights drawn on one page with each
regression marked at the night it started, the terminal's summary, and the page in a real browser."""

from __future__ import annotations

import itertools
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
    """A history of 30 nights: 1-10 the reference mock, 11-20 every third answer 15 ms slower (a latency step), 21-30
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
    assert "error-response has failed since 2026-11-21 02:00:00 (10 run(s))" in result.output
    assert "since 2026-11-21 02:00:00: error-response fails" in result.output
    assert len(result.output.splitlines()) < 40


def test_runs_of_the_same_minute_read_apart_to_the_second(tmp_path):
    """Several runs a night (a retry, a second target) within one minute: each line says its own time."""
    from click.testing import CliRunner

    from spidra_contract.cli import main

    summary = {"clauses": [], "verdict": "conformant", "exit_code": 0, "reason": "r"}
    for second in (5, 17, 42):
        history.record(tmp_path, dict(summary, started=f"2026-11-30T02:00:{second:02d}Z"))
    result = CliRunner().invoke(main, ["history", str(tmp_path), "--last", "3"])
    assert result.exit_code == 0, result.output
    lines = [line.split("  conformant")[0].strip() for line in result.output.splitlines()[1:4]]
    assert lines == ["2026-11-30 02:00:05", "2026-11-30 02:00:17", "2026-11-30 02:00:42"]


@pytest.mark.parametrize("top", [0, 1, 3, 7, 13, 48, 491, 5000])
def test_a_count_axis_reads_whole_numbers_in_a_few_round_steps(top):
    ticks = history.integer_ticks(top)
    assert all(isinstance(tick, int) for tick in ticks)
    assert ticks[0] == 0
    assert ticks[-1] >= top
    assert len(ticks) <= 7
    step = ticks[1] - ticks[0]
    assert {b - a for a, b in itertools.pairwise(ticks)} == {step}
    assert str(step).strip("0") in ("1", "2", "5")


def test_the_history_page_draws_its_plots_in_a_real_browser(nights, tmp_path):
    from click.testing import CliRunner

    from selftests.browser import FLAGS as CHROMIUM_FLAGS
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
    cells = re.findall(r'<div class="cell ([^"]*)"[^>]*data-night="(\d+)" data-clause="error-response"', dom)
    assert len(cells) == 30
    assert [int(night) for classes, night in cells if "step" in classes.split()] == [21]
    assert [int(night) for classes, night in cells if "fail" in classes.split()] == list(range(21, 31))
    # Counts are drawn on whole-number axes: no tick of the violations' plot reads a fraction.
    violations = text.split("Violations per night")[1].split("</svg>")[0]
    y_axis = violations.split('class="axis y')[1].split('class="axis x"')[0]
    ticks = re.findall(r"<text[^>]*>([^<]*)</text>", y_axis)
    assert ticks
    assert all(re.fullmatch(r"\d+", tick) for tick in ticks), ticks
    # The latency step is a series of its own on the p95 plot, one dot.
    assert "step: latency jump" in dom
    assert "CONSOLE" not in run.stderr, run.stderr[-2000:]
    for night in history.load(nights):
        assert night.page
        assert (nights / night.page).is_file()


@pytest.mark.parametrize("width", [400, 1280])
def test_the_history_page_reads_at_a_phones_width_and_a_desktops(nights, tmp_path, width):
    """Thirty nights laid out by Chromium at 400 px and 1280 px: the verdict strip and the heat map fit the
    window (at 400 px the heat map turns: nights down, clauses across), plots are drawn for the width, and no
    number or word breaks across lines (issue 30)."""
    from click.testing import CliRunner

    from selftests.browser import layout
    from spidra_contract.cli import main

    folder = tmp_path / "nights"
    shutil.copytree(nights, folder)
    assert CliRunner().invoke(main, ["history", str(folder)]).exit_code == 0
    found = layout(folder / history.PAGE, width, tmp_path, wide="#verdict, #heat-map, figure, svg, table")
    assert not found.problems, found.problems[:20]


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
