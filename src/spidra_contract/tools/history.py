"""Nightly regression as a history: every run given `--history DIR` adds its summary (and its report.html) there,
and `spidra-contract history DIR` draws one self-contained page of trends (verdicts, a per-clause heat map,
new, known and fixed violations, drift, latency by probe group, requests, 429s, wall time), each step marked at
the night it started, or a few lines for a CI log (`--last N`).

Plots are pygal's: static SVG written by a small, pure-Python library, inlined in the page with no script and no
stylesheet from anywhere (matplotlib would bring numpy and a raster toolchain for the same lines; plotly and
bokeh inline megabytes of JavaScript or load it from a CDN).
"""

from __future__ import annotations

import json
import math
import os
import re
import statistics
import uuid
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from spidra_contract.core.judgement import ClauseVerdict
from spidra_contract.core.model import Report
from spidra_contract.tools.diff import Aspect, Severity, compare_class

WINDOW = 90
LATENCY_JUMP = 2.0  # a probe group's p95 this many times its recent median ...
LATENCY_JUMP_MS = 10.0  # ... and this much above it, is a step
RECENT = 7
PAGE = "history.html"


@dataclass(frozen=True)
class Night:
    name: str
    report: Report
    page: str  # the night's own report.html beside its summary ("" when none was kept)

    @property
    def label(self) -> str:
        """When the night's run started, to the second (a night of several runs reads line by line)."""
        return self.report.started.replace("T", " ").removesuffix("Z")[:19] or self.name


class StepKind(StrEnum):
    CLAUSE = "clause"  # a clause that passed fails
    FIXED = "fixed"  # a clause that failed passes again
    LATENCY = "latency"  # a probe group's p95 jumped
    FINGERPRINT = "fingerprint"  # the behaviour changed


@dataclass(frozen=True)
class Step:
    """Something that changed at a night and stayed: a clause failing, a latency jump, a changed fingerprint."""

    night: int
    kind: StepKind
    what: str
    subject: str = ""  # the clause or the probe group it is about


@dataclass
class Analysis:
    nights: list[Night]
    steps: list[Step] = field(default_factory=list)
    clauses: list[str] = field(default_factory=list)
    new: list[int] = field(default_factory=list)
    known: list[int] = field(default_factory=list)
    fixed: list[int] = field(default_factory=list)
    latency: dict[str, list[float | None]] = field(default_factory=dict)  # probe group -> p95 per night

    def step_at(self, night: int, kind: StepKind) -> list[Step]:
        return [step for step in self.steps if step.night == night and step.kind is kind]


# --- keeping it ------------------------------------------------------------------------------------------


def record(directory: Path, summary: dict[str, Any], page: Path | None = None, window: int = WINDOW) -> Path:
    """Add a run's summary (and its page) to the history, atomically (written aside, then renamed, so two runs
    ending together each add their own whole file), then keep only the newest `window` runs."""
    import fcntl

    directory.mkdir(parents=True, exist_ok=True)
    started = re.sub(r"[^0-9T]", "", str(summary.get("started", ""))) or "0"
    name = f"{started}-{uuid.uuid4().hex[:8]}"
    target = directory / f"{name}.json"
    if page is not None and page.is_file():
        _atomic(directory / f"{name}.html", page.read_bytes())  # the page first: a summary never links nowhere
    _atomic(target, json.dumps(summary, ensure_ascii=False).encode("utf-8", "backslashreplace"))
    with (directory / ".lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one pruner at a time: the window holds whoever ends last
        kept = sorted(directory.glob("*.json"))
        for old in kept[: max(0, len(kept) - window)]:
            old.unlink(missing_ok=True)
            old.with_suffix(".html").unlink(missing_ok=True)
    return target


def _atomic(path: Path, data: bytes) -> None:
    aside = path.with_name(f".{path.name}.{uuid.uuid4().hex[:6]}.tmp")
    aside.write_bytes(data)
    os.replace(aside, path)


def load(directory: Path) -> list[Night]:
    """Every night of the history, oldest first (files that are not a summary are passed over)."""
    nights = []
    for path in sorted(directory.glob("*.json")):
        try:
            report = Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, ValueError, KeyError, TypeError):
            continue
        page = path.with_suffix(".html")
        nights.append(Night(path.stem, report, page.name if page.is_file() else ""))
    nights.sort(key=lambda night: (night.report.started, night.name))
    return nights


# --- reading it ------------------------------------------------------------------------------------------


def _group(test: str) -> str:
    """A probe class' group for the latency plot: its test's module (or the lifecycle watch), from pytest's
    node id."""
    return test.split("::", 1)[0].rsplit("/", 1)[-1].removesuffix(".py").removeprefix("test_")


def latency_by_group(report: Report, quantile: str = "p95") -> dict[str, float]:
    """A latency quantile per probe group: the slowest of its classes that were read at least 3 times."""
    groups: dict[str, float] = {}
    for stats in report.fingerprint.values():
        latency = stats.get("latency_ms", {})
        if latency.get("samples", 0) >= 3:
            group = _group(str(stats.get("test", "")))
            groups[group] = max(groups.get(group, 0.0), float(latency.get(quantile, 0.0)))
    return groups


def analyse(nights: list[Night]) -> Analysis:
    analysis = Analysis(nights)
    names: list[str] = []
    for night in nights:
        names += [row.clause for row in night.report.clauses if row.clause not in names]
    analysis.clauses = names
    previous_keys: set[str] = set()
    groups = sorted({group for night in nights for group in latency_by_group(night.report)})
    jumped: set[str] = set()  # groups whose latency jumped the night before (one step, not one a night)
    analysis.latency = {group: [] for group in groups}
    for index, night in enumerate(nights):
        report = night.report
        # Findings by identity (a night written before identities: by its coarse keys, clause and field).
        keys = {key for row in report.clauses for key in row.finding_keys}
        analysis.new.append(len(keys - previous_keys))
        analysis.known.append(len(keys & previous_keys))
        analysis.fixed.append(len(previous_keys - keys))
        previous_keys = keys
        latency = latency_by_group(report)
        for group in groups:
            analysis.latency[group].append(latency.get(group))
        if index == 0:
            continue
        before = nights[index - 1].report
        was = {row.clause: row.verdict for row in before.clauses}
        for row in report.clauses:
            if row.verdict is ClauseVerdict.FAIL and was.get(row.clause) is not ClauseVerdict.FAIL:
                analysis.steps.append(Step(index, StepKind.CLAUSE, f"{row.clause} fails", row.clause))
            elif was.get(row.clause) is ClauseVerdict.FAIL and row.verdict is ClauseVerdict.PASS:
                analysis.steps.append(Step(index, StepKind.FIXED, f"{row.clause} passes again", row.clause))
        for group in groups:
            series = analysis.latency[group]
            recent = [value for value in series[max(0, index - RECENT) : index] if value is not None]
            now = series[index]
            if recent and now is not None:
                usual = statistics.median(recent)
                if now > LATENCY_JUMP * usual and now - usual > LATENCY_JUMP_MS:
                    if group not in jumped:
                        what = f"{group}: p95 {usual:.0f} ms -> {now:.0f} ms"
                        analysis.steps.append(Step(index, StepKind.LATENCY, what, group))
                    jumped.add(group)
                else:
                    jumped.discard(group)
        changed = [
            difference
            for probe in sorted(set(before.fingerprint) & set(report.fingerprint))
            for difference in compare_class(probe, before.fingerprint[probe], report.fingerprint[probe])
            if difference.severity is Severity.BREAKING and difference.aspect is not Aspect.LATENCY
        ]
        if changed:
            first = changed[0]
            distinct = len({difference.distinct for difference in changed})
            what = f"{distinct} breaking difference(s), first: {first.what} ({first.probe})"
            analysis.steps.append(Step(index, StepKind.FINGERPRINT, what))
    return analysis


def terminal_lines(nights: list[Night], last: int) -> list[str]:
    """A few lines for a CI log: the last nights' verdicts, and what changed over them, since when."""
    if not nights:
        return ["spidra-contract history: no runs recorded yet"]
    analysis = analyse(nights)
    start = max(0, len(nights) - last)
    lines = [f"spidra-contract history: {len(nights)} run(s), the last {len(nights) - start}:"]
    for index in range(start, len(nights)):
        outcome = nights[index].report.outcome
        lines.append(f"  {nights[index].label}  {outcome.verdict} (exit {outcome.exit_code})")
    shown = [step for step in analysis.steps if step.night >= start]
    for step in shown:
        lines.append(f"  since {nights[step.night].label}: {step.what}")
    failing = [row.clause for row in nights[-1].report.failing_clauses]
    for clause in failing:
        since = _failing_since(nights, clause)
        lines.append(f"  {clause} has failed since {nights[since].label} ({len(nights) - since} run(s))")
    if not shown and not failing:
        lines.append("  nothing changed")
    return lines


def _failing_since(nights: list[Night], clause: str) -> int:
    index = len(nights) - 1
    while index > 0 and any(
        row.clause == clause and row.verdict is ClauseVerdict.FAIL for row in nights[index - 1].report.clauses
    ):
        index -= 1
    return index


# --- the page --------------------------------------------------------------------------------------------


def _style() -> Any:
    _pygal()
    from pygal.style import Style

    return Style(
        background="white",
        plot_background="white",
        foreground="#1f2328",
        foreground_strong="#1f2328",
        foreground_subtle="#57606a",
        colors=("#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#57606a", "#0a3069"),
        font_family="system-ui, sans-serif",
    )


def _pygal() -> Any:
    """pygal, without the import hook it adds for its map plugins (a finder with no `find_spec`, which makes every
    later import of the process warn): the suite draws no maps, and a process that draws a history goes on."""
    import sys

    import pygal

    sys.meta_path[:] = [finder for finder in sys.meta_path if type(finder).__name__ != "PluginImportFixer"]
    return pygal


def integer_ticks(top: float, most: int = 6) -> list[int]:
    """Axis labels for a count: whole numbers from 0 to `top` or just past it, at most `most` steps of 1, 2 or 5
    times a power of ten (a count never reads 0.1)."""
    top = max(1, math.ceil(top))
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if math.ceil(top / step) <= most:
                return list(range(0, math.ceil(top / step) * step + 1, step))
        magnitude *= 10


# Two drawings of every plot: one for a wide window, one for a phone's (shown by the page's media query); pygal's
# SVG scales, but its text would be unreadable at a third of its size.
SIZES = {"wide": {"width": 1100, "height": 320}, "narrow": {"width": 400, "height": 360}}


def _chart(
    kind: str,
    title: str,
    labels: list[str],
    series: dict[str, list[float | None]],
    *,
    counts: bool = False,
    stacked: bool = False,
    **options: Any,
) -> dict[str, str]:
    """The plot drawn at each of `SIZES`; `counts`: the values are counts, the axis whole numbers (`stacked`: the
    series pile up, the axis reaches their sum)."""
    pygal = _pygal()
    if counts:
        top = max((value or 0 for values in series.values() for value in values), default=1)
        if stacked:
            top = max((sum(values[i] or 0 for values in series.values()) for i in range(len(labels))), default=1)
        options = {"y_labels": integer_ticks(top), "value_formatter": lambda value: f"{value:.0f}", **options}
    drawings = {}
    for size, box in SIZES.items():
        narrow = size == "narrow"
        chart = getattr(pygal, kind)(
            style=_style(),
            width=box["width"],
            height=box["height"],
            js=[],  # no script from anywhere: the page is self-contained and static
            disable_xml_declaration=True,
            show_minor_x_labels=len(labels) <= (10 if narrow else 31),
            x_labels_major_every=5 if narrow and len(labels) > 10 else None,
            x_label_rotation=0 if narrow or len(labels) <= 12 else 45,
            truncate_label=-1,
            truncate_legend=-1,
            legend_at_bottom=True,
            legend_at_bottom_columns=2 if narrow else None,
            print_values=False,
            allow_interruptions=True,
            **options,
        )
        chart.title = title
        chart.x_labels = labels
        for name, values in series.items():
            chart.add(name, values)
        # pygal puts its tooltip configuration in a <script> even with no script to run it: the page has none.
        drawings[size] = re.sub(r"<script\b.*?</script>", "", str(chart.render(is_unicode=True)), flags=re.S)
    return drawings


def page(nights: list[Night]) -> str:
    from spidra_contract.reporting.render import environment

    analysis = analyse(nights)
    labels = [f"{index + 1}" for index in range(len(nights))]
    charts = []
    if nights:
        charts.append(
            _chart(
                "StackedBar",
                "Violations per night: new, known (seen the night before), fixed",
                labels,
                {"new": list(analysis.new), "known": list(analysis.known), "fixed": list(analysis.fixed)},
                counts=True,
                stacked=True,
            )
        )
        marks: dict[str, list[float | None]] = {}
        for group, values in analysis.latency.items():
            marks[group] = values
        jumps: list[float | None] = [None] * len(nights)
        for step in analysis.steps:
            if step.kind is StepKind.LATENCY:
                jumps[step.night] = analysis.latency[step.subject][step.night]
        if any(value is not None for value in jumps):
            marks["step: latency jump"] = jumps
        charts.append(_chart("Line", "Latency p95 by probe group (ms)", labels, marks, dots_size=2))
        groups = sorted(analysis.latency)
        p50 = [latency_by_group(night.report, "p50") for night in nights]
        charts.append(
            _chart(
                "Line",
                "Latency p50 by probe group (ms)",
                labels,
                {group: [values.get(group) for values in p50] for group in groups},
                dots_size=2,
            )
        )
        # One unit an axis: requests, then the counts of what went wrong around them, then seconds.
        charts.append(
            _chart(
                "Bar",
                "Requests sent per night",
                labels,
                {"requests": [n.report.requests.get("sent", 0) for n in nights]},
                counts=True,
            )
        )
        charts.append(
            _chart(
                "Line",
                "429 answers and drift items per night",
                labels,
                {
                    "429 answers": [len(n.report.requests.get("rate_limited") or []) for n in nights],
                    "drift items": [len(n.report.drift) for n in nights],
                },
                counts=True,
                dots_size=3,
            )
        )
        charts.append(
            _chart("Line", "Wall time per night (s)", labels, {"seconds": [n.report.duration_s for n in nights]})
        )
    cells = {
        (index, row.clause): row.verdict.value for index, night in enumerate(nights) for row in night.report.clauses
    }
    template = environment().get_template("history.html.j2")
    return str(template.render(nights=nights, analysis=analysis, charts=charts, cells=cells, StepKind=StepKind))
