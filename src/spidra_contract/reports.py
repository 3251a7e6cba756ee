"""What a run leaves behind: summary.json, summary.md (compliance matrix), cassette.har, terminal lines.
junit.xml has one case per clause; junit-tests.xml (pytest's junitxml) and report.html (pytest-html) one per test."""

from __future__ import annotations

import html
import json
import os
import platform
import time
from collections.abc import Callable
from dataclasses import asdict
from functools import partial
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from spidra_contract import __version__
from spidra_contract import outcome as outcomes
from spidra_contract.clauses import CLAUSES
from spidra_contract.doors import AXES, CALLERS, EMPTY_KEY, FRONT, NEAR_MISS, open_to_stranger
from spidra_contract.exchange import encodable, printable
from spidra_contract.outcome import ClauseResult, Evidence, Outcome
from spidra_contract.run import Run

SUMMARY_SCHEMA_VERSION = 1


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def _verdict(tally: dict[str, Any] | None, known: frozenset[str]) -> str:
    if tally is None or tally["judged"] == 0:
        return "not judged"
    if tally["failed"] == 0:
        return "pass"
    return "known" if tally["keys"] and set(tally["keys"]) <= known else "fail"


def clause_results(run: Run) -> tuple[ClauseResult, ...]:
    """One result per clause: its verdict, how many replies it judged, failures and their first examples."""
    tallies = run.ledger.to_dict()["tallies"]
    known = run.baseline.keys if run.baseline else frozenset()
    rows = []
    for name, spec in CLAUSES.items():
        tally = tallies.get(name)
        rows.append(
            ClauseResult(
                clause=name,
                title=spec.title,
                reference=spec.reference,
                verdict=_verdict(tally, known),
                judged=tally["judged"] if tally else 0,
                failed=tally["failed"] if tally else 0,
                examples=tally["examples"] if tally else [],
                violation_keys=tally["keys"] if tally else [],
            )
        )
    return tuple(rows)


def summary_of(run: Run, outcome: Outcome) -> dict[str, Any]:
    """summary.json: the outcome and what the run saw; every other report is drawn from this (its texts made
    encodable once, so no renderer meets what a server sent that UTF-8 cannot write)."""
    return encodable(_summary_of(run, outcome))  # type: ignore[no-any-return]


def _summary_of(run: Run, outcome: Outcome) -> dict[str, Any]:
    settings = run.settings
    ledger = run.ledger.to_dict()
    observed = ledger["observed_statuses"]
    enum = list(run.contract.status_enum)
    gate = run.gate.state()
    return {
        "schema_version": SUMMARY_SCHEMA_VERSION,
        **outcome.as_dict(),
        "target": {
            "kind": "embedded mock" if settings.is_mock else "live",
            "base_url": run.redactor.text(run.base_url) if settings.is_mock else settings.shown_base_url,
            "mock_switches": list(settings.mock_switches),
        },
        "profile": settings.profile.name,
        "seed": run.seed,
        "versions": {
            "suite": __version__,
            "schemathesis": _version("schemathesis"),
            "hypothesis": _version("hypothesis"),
            "pytest": pytest.__version__,
            "python": platform.python_version(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.started)),
        "duration_s": round(time.time() - run.started, 2),
        "requests": {
            "sent": gate["sent"],
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
        "known_jobs": len(run.job_ids),
        "ok_replies": ledger["ok_replies"],
        "observed_statuses": observed,
        "statuses_not_observed": [s for s in enum if s not in observed],
        "clauses": [asdict(row) for row in outcome.clauses],
        "drift": list(ledger["drift"].values()),
        "spec_defects": [d.as_dict() for d in run.contract.defects],
        "findings": ledger["findings"],
        "notes": ledger["notes"],
        "lifecycle": ledger["timelines"],
        "access_matrix": access_matrix(ledger["access"], ledger["door_axes"]),
        "reproduce_mock": mock_reproduction(run) or None,
        "baseline": run.baseline.compare(run.ledger.violation_keys) if run.baseline else None,
    }


def access_matrix(access: dict[str, dict[str, int | str]], axes: dict[str, str]) -> dict[str, Any] | None:
    """Rows: the doors grouped by the axis they vary (front door first, then each axis in the catalogue's order,
    then combinations), each group in the order the suite knocked; columns: the callers that knocked anywhere;
    cells: the status each got ("-" not asked). A 2xx anywhere but the owner's column is an open door."""
    if not access:
        return None
    order = [FRONT, *AXES]
    asked = {caller for cells in access.values() for caller in cells}
    callers = [caller for caller in (*CALLERS, EMPTY_KEY, *NEAR_MISS) if caller in asked]
    callers += sorted(asked - set(callers))

    def rank(item: tuple[int, str]) -> tuple[int, int]:
        index, door = item
        axis = axes.get(door, FRONT)
        return (order.index(axis) if axis in order else len(order), index)

    rows = [
        {"door": door, "axis": axes.get(door, FRONT), "cells": {c: access[door].get(c, "-") for c in callers}}
        for _, door in sorted(enumerate(access), key=rank)
    ]
    return {"callers": callers, "rows": rows}


def md(text: Any) -> str:
    """Text from the API or the run, safe inside a Markdown table cell: no HTML, no cell breaks."""
    escaped = html.escape(str(text), quote=False).replace("|", "\\|").replace("`", "'")
    return " ".join(escaped.split())


def matrix_markdown(summary: dict[str, Any]) -> str:
    icon = {"pass": "✅ pass", "fail": "❌ fail", "known": "⚠️ known", "not judged": "➖ not judged"}
    lines = [
        f"## Spidra crawl-status contract: {summary['verdict']} (exit {summary['exit_code']})",
        "",
        md(summary["reason"]) + (" · a subset of the suite ran" if summary["subset"] else ""),
        "",
        f"Target: {md(summary['target']['base_url'])} ({summary['target']['kind']}) · profile "
        f"{md(summary['profile'])} · seed {md(summary['seed'])} · {summary['requests']['sent']} requests · "
        f"{summary['duration_s']} s",
        "",
        "| clause | verdict | judged | evidence |",
        "|---|---|---:|---|",
    ]
    for row in summary["clauses"]:
        evidence = ""
        if row["examples"]:
            example = row["examples"][0]
            evidence = md(f"{example['request']} → {example['status']}: {example['violations'][0]}"[:300])
        lines.append(
            f"| `{row['clause']}` {md(row['title'])} | {icon[row['verdict']]} | {row['judged']} | {evidence} |"
        )
    if summary["statuses_not_observed"]:
        lines += [
            "",
            f"Statuses never observed among known jobs: {', '.join(summary['statuses_not_observed'])}",
        ]
    if summary["drift"] or summary["spec_defects"]:
        lines += [
            "",
            "### Drift: what the API does that the spec does not say",
            "",
            "| kind | what | seen | suggested change to openapi.yaml |",
            "|---|---|---:|---|",
        ]
        for entry in summary["drift"]:
            lines.append(
                f"| {md(entry['kind'])} | {md(entry['what'])} | {entry['count']} | {md(entry['suggestion'])} |"
            )
        for defect in summary["spec_defects"]:
            lines.append(f"| spec defect | {md(defect['pointer'])} nullable in 3.1 | - | {md(defect['suggestion'])} |")
    if summary["baseline"]:
        base = summary["baseline"]
        lines += [
            "",
            f"### Against baseline `{base['path']}`",
            "",
            f"- new (fail the run): {md(', '.join(base['new']) or 'none')}",
            f"- known: {md(', '.join(base['known']) or 'none')}",
            f"- fixed since the baseline: {md(', '.join(base['fixed']) or 'none')}",
        ]
    matrix = summary["access_matrix"]
    if matrix:
        lines += [
            "",
            "### Access matrix: the status each caller got at each door (a 2xx outside the owner's column is open)",
            "",
            "| axis | door | " + " | ".join(md(caller) for caller in matrix["callers"]) + " |",
            "|---|---|" + "---:|" * len(matrix["callers"]),
        ]
        for row in matrix["rows"]:
            cells = [
                f"**{status} open**" if open_to_stranger(caller, status) else str(status)
                for caller, status in row["cells"].items()
            ]
            lines.append(f"| {md(row['axis'])} | {md(row['door'])} | " + " | ".join(cells) + " |")
    if summary["lifecycle"]:
        lines += ["", "### Jobs over time", ""]
        lines += [
            f"- {md(job)}: {md(entry['statuses'])}{'' if entry['finished'] else ' (not finished in the budget)'}"
            for job, entry in summary["lifecycle"].items()
        ]
    if summary["findings"]:
        lines += ["", "### Findings", ""]
        lines += [f"- **{md(f['kind'])}**: {md(f['message'])}" for f in summary["findings"]]
    if summary["notes"]:
        lines += ["", "### Notes", ""]
        lines += [f"- {md(note)}" for note in summary["notes"]]
    if summary["failures"]:
        lines += ["", "### Failed tests", ""]
        lines += [f"- {md(f['test'])} ({f['kind']}): {md(f['message'])}" for f in summary["failures"][:20]]
    return "\n".join(lines) + "\n"


_VERDICT_STYLE = {
    "pass": ("#1a7f37", "#dafbe1", "pass"),
    "fail": ("#cf222e", "#ffebe9", "FAIL"),
    "known": ("#9a6700", "#fff8c5", "known"),
    "not judged": ("#57606a", "#f6f8fa", "not judged"),
}


def matrix_html(summary: dict[str, Any]) -> str:
    """The compliance matrix, drift and findings as an HTML block for the top of report.html."""
    esc = html.escape
    color, background = {0: ("#1a7f37", "#dafbe1"), 1: ("#cf222e", "#ffebe9")}.get(
        summary["exit_code"], ("#9a6700", "#fff8c5")
    )
    verdict = summary["headline"]
    head = (
        f"<div style='margin-top:1em;padding:12px 16px;border-radius:6px;border:1px solid {color};"
        f"background:{background};color:{color};font-size:1.4em;font-weight:bold'>"
        f"Contract compliance: {esc(verdict)}</div>"
        f"<p>Target <code>{esc(str(summary['target']['base_url']))}</code> ({esc(summary['target']['kind'])})"
        f" &middot; profile <code>{esc(summary['profile'])}</code> &middot; seed <code>{esc(str(summary['seed']))}"
        f"</code> &middot; {summary['requests']['sent']} requests &middot; statuses observed: "
        f"{esc(', '.join(f'{k} x{v}' for k, v in summary['observed_statuses'].items()) or 'none')}</p>"
    )
    rows = []
    for row in summary["clauses"]:
        color, background, label = _VERDICT_STYLE[row["verdict"]]
        evidence = ""
        for example in row["examples"][:2]:
            evidence += (
                f"<div><code>{esc(example['request'])}</code> &rarr; {example['status']}<br>"
                f"{esc(example['violations'][0])}<br><code style='font-size:85%'>{esc(example['curl'])}</code></div>"
            )
        rows.append(
            f"<tr><td><b>{esc(row['clause'])}</b><br><span style='color:#57606a'>{esc(row['title'])}</span></td>"
            f"<td style='background:{background};color:{color};font-weight:bold;text-align:center'>{label}</td>"
            f"<td style='text-align:right'>{row['judged']}</td><td style='text-align:right'>{row['failed']}</td>"
            f"<td>{evidence}</td></tr>"
        )
    table = (
        "<table style='border-collapse:collapse;width:100%' border='1' cellpadding='6'>"
        "<tr style='background:#f6f8fa'><th>clause</th><th>verdict</th><th>judged</th><th>failed</th>"
        "<th>evidence (request, violation, reproduction)</th></tr>" + "".join(rows) + "</table>"
    )
    drift = ""
    entries = [(e["kind"], e["what"], str(e["count"]), e["suggestion"]) for e in summary["drift"]]
    entries += [("spec defect", d["pointer"], "-", d["suggestion"]) for d in summary["spec_defects"]]
    if entries:
        drift = (
            "<h3>Drift: what the API does that the spec does not say</h3>"
            "<table style='border-collapse:collapse;width:100%' border='1' cellpadding='6'>"
            "<tr style='background:#f6f8fa'><th>kind</th><th>what</th><th>seen</th><th>suggested change</th></tr>"
            + "".join(
                f"<tr><td>{esc(a)}</td><td><code>{esc(b)}</code></td><td>{c}</td><td>{esc(d)}</td></tr>"
                for a, b, c, d in entries
            )
            + "</table>"
        )
    access = ""
    matrix = summary["access_matrix"]
    if matrix:
        header = "".join(f"<th>{esc(caller)}</th>" for caller in matrix["callers"])
        body = ""
        for row in matrix["rows"]:
            cells = ""
            for caller, status in row["cells"].items():
                style = "background:#ffebe9;color:#cf222e;font-weight:bold" if open_to_stranger(caller, status) else ""
                cells += f"<td style='text-align:center;{style}'>{esc(str(status))}</td>"
            body += f"<tr><td>{esc(row['axis'])}</td><td><code>{esc(row['door'])}</code></td>{cells}</tr>"
        access = (
            "<h3>Access matrix: the status each caller got at each door</h3>"
            "<table style='border-collapse:collapse;width:100%' border='1' cellpadding='6'>"
            f"<tr style='background:#f6f8fa'><th>axis</th><th>door</th>{header}</tr>{body}</table>"
        )
    notes = "".join(f"<li><b>{esc(f['kind'])}</b>: {esc(f['message'])}</li>" for f in summary["findings"])
    notes += "".join(f"<li>{esc(note)}</li>" for note in summary["notes"])
    if notes:
        notes = f"<h3>Findings and notes</h3><ul>{notes}</ul>"
    return head + table + access + drift + notes


def clause_junit(summary: dict[str, Any]) -> str:
    """JUnit XML with one test case per clause for this target, for CI test views (the tests themselves are
    in junit-tests.xml)."""
    import xml.etree.ElementTree as ET

    target = "embedded mock" if summary["target"]["kind"] == "embedded mock" else str(summary["target"]["base_url"])
    rows = summary["clauses"]
    suite = ET.Element(
        "testsuite",
        name="spidra-crawl-status-contract",
        tests=str(len(rows) + 1),
        failures=str(sum(row["verdict"] == "fail" for row in rows) + (summary["exit_code"] != 0)),
        skipped=str(sum(row["verdict"] in ("not judged", "known") for row in rows)),
        time=str(summary["duration_s"]),
    )
    properties = ET.SubElement(suite, "properties")
    for name in ("verdict", "exit_code", "reason"):
        ET.SubElement(properties, "property", name=name, value=str(summary[name]))
    verdict_case = ET.SubElement(suite, "testcase", classname=f"contract[{target}]", name="verdict")
    ET.SubElement(verdict_case, "system-out").text = summary["headline"]
    if summary["exit_code"] != 0:
        ET.SubElement(verdict_case, "failure", message=summary["headline"][:500]).text = summary["headline"]
    for row in rows:
        case = ET.SubElement(suite, "testcase", classname=f"contract[{target}]", name=row["clause"])
        ET.SubElement(case, "system-out").text = f"{row['title']} ({row['reference']}); judged {row['judged']} replies"
        if row["verdict"] == "fail":
            failure = ET.SubElement(case, "failure", message=row["examples"][0]["violations"][0][:500])
            failure.text = "\n\n".join(
                "\n".join(
                    [
                        *example["violations"],
                        f"request: {example['request']}",
                        f"status: {example['status']}",
                        f"body: {example['excerpt']}",
                        f"reproduce: {example['curl']}",
                    ]
                )
                for example in row["examples"]
            )
        elif row["verdict"] == "known":
            ET.SubElement(case, "skipped", message="known violation (in the baseline)")
        elif row["verdict"] == "not judged":
            ET.SubElement(case, "skipped", message="no reply this clause applies to was seen")
    for element in suite.iter():
        # Violation messages quote what the server sent; XML 1.0 cannot hold control characters.
        element.text = printable(element.text) if element.text else element.text
        for name, value in element.attrib.items():
            element.set(name, printable(value))
    ET.indent(suite)
    return str(ET.tostring(suite, encoding="unicode", xml_declaration=True))


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


def write_all(run: Run, evidence: Evidence, clauses: tuple[ClauseResult, ...]) -> tuple[Outcome, dict[str, Any]]:
    """Write the suite's reports from the run's one outcome. A report that cannot be written (a full disk, a
    body no renderer survives) is named in every other report and makes the run a suite error: the outcome is
    decided once more with that evidence and the reports written again."""
    directory = run.settings.report_dir
    directory.mkdir(parents=True, exist_ok=True)
    failed: set[str] = set()
    while True:
        outcome = outcomes.build(evidence, clauses)
        summary = summary_of(run, outcome)
        markdown = matrix_markdown(summary)
        writers: dict[str, Callable[[], str]] = {
            "summary.json": partial(json.dumps, summary, indent=2, ensure_ascii=False),
            "summary.md": partial(str, markdown),
            "junit.xml": partial(clause_junit, summary),
            "cassette.har": lambda: json.dumps(cassette(run), ensure_ascii=False),
        }
        new = []
        for name, render in writers.items():
            try:
                _write(directory / name, render(), run)
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
    return outcome, summary


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


def terminal_lines(run: Run, outcome: Outcome) -> list[str]:
    """One block per violated clause (count, first evidence, reproduction, seed), then what stood in the way."""
    lines = [
        f"spidra-contract: {sum(r.judged for r in outcome.clauses)} verdicts over {len(outcome.clauses)} clauses, "
        f"{len(outcome.failing_clauses)} violated; {run.gate.state()['sent']} requests sent"
    ]
    for row in outcome.failing_clauses:
        lines.append(f"VIOLATED {row.clause} ({row.failed} of {row.judged} replies): {row.title}")
        if row.examples:
            example = row.examples[0]
            lines += [
                f"  {example['violations'][0]}",
                f"  request:   {example['request']} -> {example['status']}",
                f"  reproduce: {example['curl']}",
                f"  seed:      {example['seed']}",
            ]
    if outcome.failing_clauses and mock_reproduction(run):
        lines.append(f"the same mock: {mock_reproduction(run)}")
    for failure in outcome.failures:
        if failure.kind not in ("violation", "known"):
            lines.append(f"FAILED {failure.test} ({failure.kind}): {failure.message}")
    for error in outcome.report_errors:
        lines.append(f"REPORT NOT WRITTEN {error}")
    if run.contract.defects:
        # One short line: the whole of each defect (where, why, the fix) is in every report.
        where = ", ".join(d.pointer.rsplit("/", 1)[-1] for d in run.contract.defects)
        lines.append(
            f"spec: {len(run.contract.defects)} defect(s) in {run.settings.spec.name} ({where}): see summary.md"
        )
    if run.traffic.rate_limited:
        lines.append(f"the target answered 429 {len(run.traffic.rate_limited)} time(s); Retry-After honoured")
    stopped = run.gate.tripped
    if stopped:
        lines.append(f"requests stopped: {stopped[1]}")
    lines.append(f"reports: {run.settings.report_dir}")
    return [str(encodable(run.redactor.text(line))) for line in lines]
