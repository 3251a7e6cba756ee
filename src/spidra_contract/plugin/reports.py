"""What a run leaves behind, all drawn from one report model (`model.Report`, built here once the run ends):
summary.json (the model itself), summary.md, report.html, junit.xml (one case per clause), cassette.har and the
terminal's lines; junit-tests.xml (pytest's junitxml) has one case per test."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from spidra_contract import __version__
from spidra_contract.clauses.doors import AXES, CALLERS, EMPTY_KEY, FRONT, NEAR_MISS
from spidra_contract.core import outcome as outcomes
from spidra_contract.core.exchange import Redactor, encodable
from spidra_contract.core.model import Drift, Finding, Report, TestResult
from spidra_contract.core.outcome import Evidence
from spidra_contract.plugin.run import Run
from spidra_contract.reporting import render, specpatch


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def build_report(run: Run, evidence: Evidence, results: tuple[TestResult, ...] = ()) -> Report:
    """The report model: the one outcome, decided from the evidence and the clause table, and what the run saw."""
    clauses = run.judging.clause_results()
    outcome = outcomes.build(evidence, clauses)
    settings = run.settings
    ledger = run.ledger
    with ledger.lock:
        observed = dict(ledger.observed_statuses)
        drift = tuple(Drift.from_dict({"key": key, **entry}) for key, entry in ledger.drift.items())
        findings = tuple(Finding.from_dict(finding) for finding in ledger.findings)
        notes, timelines = tuple(ledger.notes), dict(ledger.timelines)
        access = access_matrix(ledger.access, ledger.door_axes, ledger.door_reach)
        prints = {probe: stats.summary() for probe, stats in sorted(ledger.fingerprints.items())}
    gate = run.gate.state()
    return Report(
        outcome=outcome,
        tests=outcomes.test_counts(evidence),
        clauses=clauses,
        failures=tuple(evidence.failures),
        test_results=results,
        report_errors=tuple(evidence.report_errors),
        target={
            "kind": "embedded mock" if settings.is_mock else "live",
            "base_url": run.redactor.text(run.base_url) if settings.is_mock else settings.shown_base_url,
            "mock_switches": list(settings.mock_switches),
        },
        profile=settings.profile.name,
        seed=run.seed,
        versions={
            "suite": __version__,
            "schemathesis": _version("schemathesis"),
            "hypothesis": _version("hypothesis"),
            "pytest": pytest.__version__,
            "python": platform.python_version(),
        },
        started=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started)),
        duration_s=round(time.time() - run.started, 2),
        requests={
            "sent": gate["sent"],
            "rereads": gate.get("rereads", 0),
            "by_method": run.traffic.by_method,
            "by_layer": run.traffic.by_layer,
            "rate_limited": run.traffic.rate_limited,
            "blocked": run.traffic.blocked,
            "network_errors": run.traffic.network_errors,
            "probe_retries": run.traffic.probe_retries,
            "interim_replies_skipped": run.traffic.interim,
            "refused": run.traffic.refused,
            "stopped": gate["reason"] or None,
            "budget": settings.max_requests,
            "rate_limit_per_s": settings.rate_limit,
            "timeout_s": settings.timeout,
            "max_body_bytes": settings.max_body,
        },
        known_jobs=len(run.job_ids),
        ok_replies=ledger.ok_replies,
        observed_statuses=observed,
        statuses_not_observed=tuple(s for s in run.contract.status_enum if s not in observed),
        drift=drift,
        spec_defects=tuple(d.as_dict() for d in run.contract.defects),
        findings=findings,
        notes=notes,
        lifecycle=timelines,
        access_matrix=access,
        reproduce_mock=mock_reproduction(run) or None,
        baseline=run.baseline.compare(ledger.identities) if run.baseline else None,
        spec_name=settings.spec.name,
        report_dir=str(settings.report_dir),
        fingerprint=prints,
    )


def access_matrix(
    access: dict[str, dict[str, int | str]], axes: dict[str, str], reach: dict[str, bool] | None = None
) -> dict[str, Any] | None:
    """Rows: the doors grouped by the axis they vary (front door first, then each axis in the catalogue's order,
    then combinations), each group in the order the suite knocked; columns: the callers that knocked anywhere;
    cells: the status each got ("-" not asked); `reached`: whether the door reached something for the job's
    owner (then every caller asked it), null where the owner did not ask. A 2xx anywhere but the owner's column
    is an open door."""
    reach = reach or {}
    if not access:
        return None
    order: list[str] = [FRONT, *AXES]
    asked = {caller for cells in access.values() for caller in cells}
    callers = [caller for caller in (*CALLERS, EMPTY_KEY, *NEAR_MISS) if caller in asked]
    callers += sorted(asked - set(callers))

    def rank(item: tuple[int, str]) -> tuple[int, int]:
        index, door = item
        axis = str(axes.get(door, FRONT))
        return (order.index(axis) if axis in order else len(order), index)

    rows = [
        {
            "door": door,
            "axis": axes.get(door, FRONT),
            "reached": reach.get(door),
            "cells": {c: access[door].get(c, "-") for c in callers},
        }
        for _, door in sorted(enumerate(access), key=rank)
    ]
    return {"callers": callers, "rows": rows}


def cassette(run: Run) -> dict[str, Any]:
    ledger = run.ledger.to_dict()
    return {
        "log": {
            "version": "1.2",
            "creator": {"name": "spidra-contract", "version": __version__},
            "comment": f"{ledger['exchanges_dropped']} further exchanges not kept",
            "entries": ledger["exchanges"],
        }
    }


def _write(path: Path, text: str, run: Run) -> None:
    # Last line of defence: nothing that looks like a key leaves the process. Text a server sent may hold what
    # UTF-8 cannot encode (a lone surrogate from a JSON escape): written as a backslash escape, never a crash
    # (inside a JSON string that escape is the JSON escape itself).
    path.write_text(run.redactor.text(text), encoding="utf-8", errors="backslashreplace")


def write_all(run: Run, evidence: Evidence, results: tuple[TestResult, ...] = ()) -> Report:
    """Build the report model once and write every report from it. A report that cannot be written (a full disk,
    a body no renderer survives) is named in every other report and makes the run a suite error: the model is
    built once more with that evidence and the reports written again."""
    directory = run.settings.report_dir
    directory.mkdir(parents=True, exist_ok=True)
    failed: set[str] = set()
    while True:
        report = build_report(run, evidence, results)
        summary = encodable(report.to_dict())
        made = _spec_patch(run, report)
        patch = made if isinstance(made, specpatch.SpecPatch) else None
        markdown = render.markdown(report) + (render.patch_markdown(patch) if patch is not None else "")
        writers: dict[str, Callable[[], str]] = {
            "summary.json": partial(json.dumps, summary, indent=2, ensure_ascii=False),
            "summary.md": partial(str, markdown),
            "report.html": partial(render.html, report, patch),
            "junit.xml": partial(render.junit, report),
            "cassette.har": lambda: json.dumps(cassette(run), ensure_ascii=False),
            specpatch.SUGGESTED_NAME: partial(_patch_text, made, True),
            specpatch.PATCH_NAME: partial(_patch_text, made, False),
        }
        new = []
        for name, draw in writers.items():
            try:
                _write(directory / name, draw(), run)
            except Exception as exc:  # any renderer or disk failure: named, never a crash of the run
                if name not in failed:
                    failed.add(name)
                    new.append(run.redactor.text(f"{name}: {type(exc).__name__}: {exc}"[:300]))
        if not new:
            break  # at most one pass more than there are reports
        evidence.report_errors.extend(new)
    step_summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if step_summary:
        with open(step_summary, "a", encoding="utf-8", errors="backslashreplace") as handle:
            handle.write(run.redactor.text(markdown))
    return report


def _spec_patch(run: Run, report: Report) -> specpatch.SpecPatch | Exception:
    """The spec patch of this run, or what stopped it (named as the two files it would have written)."""
    try:
        return specpatch.suggest(run.settings.spec.read_text(encoding="utf-8"), run.settings.spec.name, report)
    except Exception as exc:
        return exc


def _patch_text(made: specpatch.SpecPatch | Exception, suggested: bool) -> str:
    if isinstance(made, Exception):
        raise made
    return made.suggested if suggested else made.diff


def mock_reproduction(run: Run) -> str:
    """On a run against the embedded mock, the command that serves the same mock on the same port, so the
    curl lines work after the run (its jobs are seeded the same every time)."""
    if not run.settings.is_mock or run.target is None:
        return ""
    port = urlsplit(run.target.base_url).port
    switches = "".join(f" --switch {name}" for name in run.settings.mock_switches)
    return (
        f"spidra-contract serve-mock --port {port} --time-scale {run.time_scale:g}{switches} "
        "(then export SPIDRA_API_KEY=<the api key it prints> and run the curl lines)"
    )


def terminal_lines(run: Run, report: Report) -> list[str]:
    return [str(encodable(run.redactor.text(line))) for line in render.terminal_lines(report)]


USAGE_REPORTS = ("summary.json", "summary.md", "junit.xml")


def write_usage_error(directory: Path, reason: str, redactor: Redactor, target: dict[str, Any]) -> None:
    """The reports a run that never started writes (a bad option, a spec that does not parse, a baseline that
    cannot be read): exit 4 and why, so a CI job that uploads the report folder uploads the reason. Nothing is
    written when the folder itself is the problem."""
    from spidra_contract.core.judgement import RunVerdict
    from spidra_contract.core.outcome import Outcome, TestCounts

    outcome = Outcome(RunVerdict.USAGE_ERROR, outcomes.EXIT_USAGE, reason)
    report = Report(outcome=outcome, tests=TestCounts(), clauses=(), target=target)
    drawn = {
        "summary.json": json.dumps(encodable(report.to_dict()), indent=2, ensure_ascii=False),
        "summary.md": render.markdown(report),
        "junit.xml": render.junit(report),
    }
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in drawn.items():
        (directory / name).write_text(redactor.text(text), encoding="utf-8", errors="backslashreplace")
