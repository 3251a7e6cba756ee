"""Pre-release verification as a comparison: the suite against production and against the candidate at once
(each side within its own budget and rate limit, read-only on both), then every behavioural difference
(`diff.py`) in one comparison report beside each side's own reports."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from spidra_contract.core.model import Report
from spidra_contract.tools.diff import Difference, Severity, breaking, diff
from spidra_contract.tools.runner import Supervised, suite_args

SIDES = ("production", "candidate")
REPORT_MD = "comparison.md"
REPORT_HTML = "comparison.html"
REPORT_JSON = "comparison.json"


@dataclass(frozen=True)
class Side:
    """One deployment: where it is, its keys (passed to its run through the environment, never on a command
    line), its own job ids."""

    name: str
    base_url: str
    api_key: str = field(repr=False)
    other_api_key: str | None = field(default=None, repr=False)
    job_ids: tuple[str, ...] = ()

    def run(self, report_dir: Path, extra: tuple[str, ...], supervised: Supervised) -> int:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SPIDRA_")}
        env.pop("GITHUB_STEP_SUMMARY", None)  # the comparison writes its own
        env["SPIDRA_API_KEY"] = self.api_key
        if self.other_api_key:
            env["SPIDRA_OTHER_API_KEY"] = self.other_api_key
        args = [f"--base-url={self.base_url}", f"--report-dir={report_dir}", "-q", "-p", "no:randomly"]
        args += [f"--job-id={job_id}" for job_id in self.job_ids]
        log = report_dir.parent / f"{self.name}.log"
        report_dir.mkdir(parents=True, exist_ok=True)
        with log.open("w", encoding="utf-8") as handle:
            return supervised.call(
                [sys.executable, "-m", "pytest", *suite_args(), *args, *extra],
                stdout=handle,
                stderr=subprocess.STDOUT,
                env=env,
            )


@dataclass(frozen=True)
class Comparison:
    production: Report
    candidate: Report
    differences: tuple[Difference, ...]

    @property
    def breaking(self) -> list[Difference]:
        return breaking(list(self.differences))

    def grouped(self, severity: Severity) -> list[tuple[Difference, int]]:
        """The distinct differences of one class, each once (its first probe class) with how many probe classes
        it touched."""
        groups: dict[tuple[str, str, str, str], list[Difference]] = {}
        for d in self.differences:
            if d.severity is severity:
                groups.setdefault(d.distinct, []).append(d)
        return [(found[0], len({d.probe for d in found})) for found in groups.values()]

    def counts(self) -> dict[str, int]:
        """Distinct differences of each class (one difference in many probe classes counts once)."""
        return {severity.value: len(self.grouped(severity)) for severity in Severity}

    def classes(self) -> dict[str, int]:
        """The probe classes each class of difference touched."""
        return {
            severity.value: len({d.probe for d in self.differences if d.severity is severity}) for severity in Severity
        }

    @property
    def headline(self) -> str:
        counts, classes = self.counts(), self.classes()
        verdict = "NOT safe to release" if self.breaking else "no breaking difference"
        touched = f" in {classes['breaking']} probe class(es)" if counts["breaking"] else ""
        return (
            f"{verdict}: {counts['breaking']} breaking{touched}, {counts['non-breaking']} non-breaking, "
            f"{counts['noise']} noise (production {self.production.outcome.verdict}, candidate "
            f"{self.candidate.outcome.verdict})"
        )

    def to_dict(self) -> dict[str, object]:
        return {
            "headline": self.headline,
            "counts": self.counts(),
            "classes": self.classes(),
            "production": self.production.outcome.to_dict(),
            "candidate": self.candidate.outcome.to_dict(),
            "differences": [d.to_dict() for d in self.differences],
        }


def load(summary: Path) -> Report:
    return Report.from_dict(json.loads(summary.read_text(encoding="utf-8")))


def compare_reports(production: Report, candidate: Report) -> Comparison:
    return Comparison(production, candidate, tuple(diff(production, candidate)))


def markdown(comparison: Comparison, limit: int = 200) -> str:
    from spidra_contract.reporting.render import md

    lines = [f"## Candidate against production: {md(comparison.headline)}", ""]
    shown = comparison.grouped(Severity.BREAKING) + comparison.grouped(Severity.NON_BREAKING)
    if not shown:
        lines.append("No behavioural difference beyond noise.")
    else:
        lines += ["| class | probe | difference | production | candidate |", "|---|---|---|---|---|"]
        for d, count in shown[:limit]:
            more = f" (and {count - 1} more probe classes)" if count > 1 else ""
            lines.append(
                f"| {'❌ ' if d.severity is Severity.BREAKING else ''}{d.severity.value} | {md(d.probe)}{more} | "
                f"{md(d.what)} | {md(d.production)} | {md(d.candidate)} |"
            )
        if len(shown) > limit:
            lines.append(f"\n... and {len(shown) - limit} more (comparison.json)")
    noise = comparison.counts()["noise"]
    if noise:
        lines += ["", f"{noise} difference(s) also vary between reads of one side (noise): in comparison.json."]
    return "\n".join(lines) + "\n"


def html(comparison: Comparison) -> str:
    from spidra_contract.reporting.render import environment

    template = environment().get_template("comparison.html.j2")
    return str(template.render(comparison=comparison, Severity=Severity))


def write(directory: Path, comparison: Comparison) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / REPORT_JSON).write_text(json.dumps(comparison.to_dict(), indent=2, ensure_ascii=False), "utf-8")
    (directory / REPORT_MD).write_text(markdown(comparison), encoding="utf-8", errors="backslashreplace")
    (directory / REPORT_HTML).write_text(html(comparison), encoding="utf-8", errors="backslashreplace")


def run_both(
    sides: tuple[Side, Side], directory: Path, extra: tuple[str, ...], supervised: Supervised
) -> dict[str, int]:
    """Both sides at once (each its own process, budget and rate limit, under one supervisor: a signal stops
    both, and each writes its reports); their exit codes by name."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = list(pool.map(lambda side: side.run(directory / side.name, extra, supervised), sides))
    return {side.name: code for side, code in zip(sides, codes, strict=True)}
