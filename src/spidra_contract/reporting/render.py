"""The renderers: they draw the report model (`model.Report`) and the judgement records as text for people and
for CI, and decide nothing. report.html is drawn from a Jinja2 template (`templates/report.html.j2`)."""

from __future__ import annotations

import html as html_lib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from functools import cache
from typing import Any

from spidra_contract.clauses.doors import open_to_stranger
from spidra_contract.core.exchange import printable
from spidra_contract.core.judgement import ClauseResult, ClauseVerdict, ExchangeRecord, Judgement, Kind, Violation
from spidra_contract.core.model import Report
from spidra_contract.reporting.specpatch import SpecPatch

# --- one violation, one judgement ----------------------------------------------------------------------------


def violation_line(violation: Violation) -> str:
    """`[clause] message at /pointer (expected X, got Y)`."""
    where = f" at {violation.pointer}" if violation.pointer and violation.place.value == "body" else ""
    if violation.place.value == "header" and violation.pointer:
        where = f" in header {violation.pointer}"
    rule = f" (rule: {violation.rule})" if violation.rule else ""
    return f"[{violation.clause}] {violation.message}{where}{rule}"


def _exchange_lines(exchange: ExchangeRecord, earlier: ExchangeRecord | None) -> list[str]:
    lines = [
        f"  request:   {exchange.request}",
        f"  response:  {exchange.status} {exchange.content_type}",
        f"  body:      {exchange.excerpt}",
    ]
    if exchange.context:
        lines.append(f"  who:       {exchange.context}")
    if earlier is not None:
        lines.append(f"  earlier:   {earlier.status} {earlier.excerpt}")
    if exchange.location:
        lines.append(f"  location:  {exchange.location} (not followed)")
    if exchange.problem:
        lines.append(f"  problem:   {exchange.problem}")
    return lines


def failure_text(judgements: Iterable[Judgement]) -> str:
    """A test's failure as pytest shows it: per exchange, the clauses it broke, the evidence, whether it
    reproduces, and how to reproduce it."""
    blocks: dict[str, list[Judgement]] = {}
    for judgement in judgements:
        blocks.setdefault(judgement.exchange.id or judgement.exchange.request, []).append(judgement)
    parts = []
    for group in blocks.values():
        first = group[0]
        lines = [violation_line(v) for judgement in group for v in judgement.violations]
        lines += _exchange_lines(first.exchange, first.earlier)
        lines.append("  reproduces: " + "; ".join(f"{j.clause} {j.reproduction.label}" for j in group))
        lines += [f"  finding:   {identity.key}" for judgement in group for identity in judgement.identities]
        lines += [f"  reproduce: {first.exchange.curl}", f"  seed:      {first.seed}"]
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def brief(judgements: Iterable[Judgement]) -> str:
    """One line for a failed test: which clauses, how often, on which requests."""
    counts: dict[str, int] = {}
    requests: list[str] = []
    for judgement in judgements:
        counts[judgement.clause] = counts.get(judgement.clause, 0) + 1
        if judgement.exchange.request not in requests:
            requests.append(judgement.exchange.request)
    clauses = ", ".join(f"{clause} x{count}" if count > 1 else clause for clause, count in counts.items())
    shown = "; ".join(requests[:3]) + (f"; and {len(requests) - 3} more" if len(requests) > 3 else "")
    return f"{clauses} on {shown}" if shown else clauses


# --- the terminal --------------------------------------------------------------------------------------------


def terminal_lines(report: Report) -> list[str]:
    """One block per violated clause (count, first evidence, reproduction, seed), then what stood in the way,
    then, against a baseline, its story: the findings new, known and fixed, by identity."""
    known = [row.clause for row in report.clauses if row.verdict is ClauseVerdict.KNOWN]
    against = f" against baseline {report.baseline.path}" if report.baseline else ""
    lines = [
        f"spidra-contract{against}: {report.verdicts} verdicts over {len(report.clauses)} clauses, "
        f"{len(report.failing_clauses)} violated"
        + (f" and {len(known)} with known violations only ({', '.join(known)})" if known else "")
        + f"; {report.requests.get('sent', 0)} requests sent; tests: {report.tests.line}"
    ]
    for row in report.failing_clauses:
        lines.append(f"VIOLATED {row.clause} ({row.failed} of {row.judged} replies): {row.title}")
        if row.examples:
            example = row.examples[0]
            lines += [
                f"  {violation_line(example.violations[0])}",
                f"  request:   {example.exchange.request} -> {example.exchange.status}",
                f"  reproduces: {example.reproduction.label}",
                *(f"  finding:   {identity.key}" for identity in example.identities),
                f"  reproduce: {example.exchange.curl}",
                f"  seed:      {example.seed}",
            ]
            lines += _other_findings(row)
    if report.failing_clauses and report.reproduce_mock:
        lines.append(f"the same mock: {report.reproduce_mock}")
    for failure in report.other_failures:
        lines.append(f"FAILED {failure.test} ({failure.kind}): {failure.message}")
    for error in report.report_errors:
        lines.append(f"REPORT NOT WRITTEN {error}")
    if report.spec_defects:
        # One short line: the whole of each defect (where, why, the fix) is in every report.
        where = ", ".join(str(d["pointer"]).rsplit("/", 1)[-1] for d in report.spec_defects)
        lines.append(f"spec: {len(report.spec_defects)} defect(s) in {report.spec_name} ({where}): see summary.md")
    rate_limited = report.requests.get("rate_limited") or []
    if rate_limited:
        lines.append(f"the target answered 429 {len(rate_limited)} time(s); Retry-After honoured")
    if report.requests.get("stopped"):
        lines.append(f"requests stopped: {report.requests['stopped']}")
    lines += baseline_lines(report)
    lines.append(f"reports: {report.report_dir}")
    return lines


OTHER_FINDINGS_SHOWN = 8  # findings of a clause beyond its first a terminal lists, each with its curl line


def _other_findings(row: ClauseResult) -> list[str]:
    """The clause's other findings with evidence (another caller through the door, another field), one curl
    line each."""
    seen = set(row.examples[0].identities)
    lines: list[str] = []
    for example in row.examples[1:]:
        fresh = [identity for identity in example.identities if identity not in seen]
        seen.update(example.identities)
        if not fresh:
            continue
        if len(lines) == 2 * OTHER_FINDINGS_SHOWN:
            lines.append("  and more findings: report.html")
            break
        lines += [f"  also {fresh[0].key}", f"    reproduce: {example.exchange.curl}"]
    return lines


BASELINE_SHOWN = 10  # identities a terminal lists per group


def baseline_lines(report: Report) -> list[str]:
    """The baseline's story for a log: which baseline, then each group of findings by identity."""
    base = report.baseline
    if base is None:
        return []
    lines = [
        f"baseline {base.path}: {len(base.new)} new, {len(base.known)} known, "
        f"{len(base.fixed) + len(base.fixed_coarse)} fixed"
    ]
    if base.note:
        lines.append(f"  {base.note}")
    for label, found in (("NEW", base.new), ("known", base.known), ("fixed", base.fixed)):
        lines += [f"  {label}: {identity.key}" for identity in found[:BASELINE_SHOWN]]
        if len(found) > BASELINE_SHOWN:
            lines.append(f"  {label}: and {len(found) - BASELINE_SHOWN} more (summary.json)")
    lines += [f"  fixed: {key} (named by clause and field)" for key in base.fixed_coarse]
    return lines


# --- summary.md ----------------------------------------------------------------------------------------------


def md(text: Any) -> str:
    """Text from the API or the run, safe inside a Markdown table cell: no HTML, no cell breaks."""
    escaped = html_lib.escape(str(text), quote=False).replace("|", "\\|").replace("`", "'")
    return " ".join(escaped.split())


MD_ICON = {
    ClauseVerdict.PASS: "✅ pass",
    ClauseVerdict.FAIL: "❌ fail",
    ClauseVerdict.KNOWN: "⚠️ known",
    ClauseVerdict.NOT_JUDGED: "➖ not judged",
}


# summary.md goes into a pull-request comment and a CI step summary: what a reviewer needs shows (the verdict, each
# failing clause with its evidence, drift, the doors that opened, the baseline's story) and the rest is folded in
# <details> (GitHub renders it closed). Well under GitHub's 65,536-character limit for a comment body.
MD_SHOWN_ROWS = 12  # rows of a shown list before the rest is folded


def _details(summary: str, lines: list[str]) -> list[str]:
    return ["", f"<details><summary>{summary}</summary>", "", *lines, "", "</details>"]


def _open_doors(matrix: dict[str, Any]) -> list[str]:
    """One line per door that some caller other than the owner got through."""
    lines = []
    for door in matrix["rows"]:
        opened = [
            f"{md(caller)} ({status})" for caller, status in door["cells"].items() if open_to_stranger(caller, status)
        ]
        if opened:
            lines.append(f"- **{md(door['door'])}** ({md(door['axis'])}): open to {', '.join(opened)}")
    return lines


def markdown(report: Report) -> str:
    lines = [
        f"## Spidra crawl-status contract: {report.outcome.verdict} (exit {report.outcome.exit_code})",
        "",
        md(report.outcome.reason) + (" · a subset of the suite ran" if report.outcome.subset else ""),
        "",
        f"Target: {md(report.target.get('base_url'))} ({report.target.get('kind')}) · profile "
        f"{md(report.profile)} · seed {md(report.seed)} · {report.requests.get('sent', 0)} requests · "
        f"{report.duration_s} s · tests: {report.tests.line}",
    ]
    failing = [row for row in report.clauses if row.verdict is not ClauseVerdict.PASS and row.examples]
    if failing:
        lines += ["", "| clause | verdict | failed | evidence | reproduces |", "|---|---|---:|---|---|"]
        for row in failing:
            example = row.examples[0]
            evidence = md(
                f"{example.exchange.request} → {example.exchange.status}: {violation_line(example.violations[0])}"[:300]
            )
            lines.append(
                f"| `{row.clause}` | {MD_ICON[row.verdict]} | {row.failed} of {row.judged} | {evidence} | "
                f"{md(example.reproduction.label)} |"
            )
    table = ["| clause | verdict | judged | failed |", "|---|---|---:|---:|"]
    table += [
        f"| `{row.clause}` {md(row.title)} | {MD_ICON[row.verdict]} | {row.judged} | {row.failed} |"
        for row in report.clauses
    ]
    passing = sum(row.verdict is ClauseVerdict.PASS for row in report.clauses)
    lines += _details(f"Every clause ({passing} of {len(report.clauses)} pass)", table)
    if report.statuses_not_observed:
        lines += ["", f"Statuses never observed among known jobs: {', '.join(report.statuses_not_observed)}"]
    if report.baseline:
        base = report.baseline
        lines += ["", f"### Against baseline `{md(base.path)}`", ""]
        if base.note:
            lines += [f"⚠️ {md(base.note)}", ""]
        for label, found in (
            ("new (fail the run)", base.new),
            ("known", base.known),
            ("fixed since the baseline", base.fixed),
        ):
            shown = [f"  - `{md(identity.key)}`" for identity in found[:MD_SHOWN_ROWS]]
            if len(found) > MD_SHOWN_ROWS:
                shown.append(f"  - and {len(found) - MD_SHOWN_ROWS} more (summary.json)")
            lines += [f"- {label}: {len(found) or 'none'}", *shown]
        if base.fixed_coarse:
            lines.append(f"- fixed (named by clause and field): {md(', '.join(base.fixed_coarse))}")
    matrix = report.access_matrix
    if matrix:
        opened = _open_doors(matrix)
        if opened:
            lines += ["", "### Doors that opened (a 2xx for a caller who may not read the job)", ""]
            lines += opened[:MD_SHOWN_ROWS]
            if len(opened) > MD_SHOWN_ROWS:
                lines += _details(f"{len(opened) - MD_SHOWN_ROWS} more open doors", opened[MD_SHOWN_ROWS:])
        grid = [
            "| axis | door | reaches | " + " | ".join(md(caller) for caller in matrix["callers"]) + " |",
            "|---|---|---|" + "---:|" * len(matrix["callers"]),
        ]
        for door in matrix["rows"]:
            cells = [
                f"**{status} open**" if open_to_stranger(caller, status) else str(status)
                for caller, status in door["cells"].items()
            ]
            reached = {True: "yes", False: "no"}.get(door.get("reached"), "-")
            grid.append(f"| {md(door['axis'])} | {md(door['door'])} | {reached} | " + " | ".join(cells) + " |")
        lines += _details(
            f"Access matrix: the status each caller got at each of {len(matrix['rows'])} doors ({len(opened)} open)",
            grid,
        )
    if report.drift or report.spec_defects:
        drift = [f"| {md(e.kind)} | {md(e.what)} | {e.count} | {md(e.suggestion)} |" for e in report.drift]
        drift += [
            f"| spec defect | {md(d['pointer'])} nullable in 3.1 | - | {md(d['suggestion'])} |"
            for d in report.spec_defects
        ]
        head = ["| kind | what | seen | suggested change to openapi.yaml |", "|---|---|---:|---|"]
        lines += ["", "### Drift: what the API does that the spec does not say", "", *head, *drift[:MD_SHOWN_ROWS]]
        if len(drift) > MD_SHOWN_ROWS:
            lines += _details(f"{len(drift) - MD_SHOWN_ROWS} more drift items", [*head, *drift[MD_SHOWN_ROWS:]])
    if report.findings or report.notes:
        notes = [f"- **{md(f.kind)}**: {md(f.message)}" for f in report.findings]
        notes += [f"- {md(note)}" for note in report.notes]
        lines += ["", "### Findings and notes", "", *notes[:MD_SHOWN_ROWS]]
        if len(notes) > MD_SHOWN_ROWS:
            lines += _details(f"{len(notes) - MD_SHOWN_ROWS} more", notes[MD_SHOWN_ROWS:])
    if report.lifecycle:
        jobs = [
            f"- {md(job)}: {md(entry['statuses'])}{'' if entry['finished'] else ' (not finished in the budget)'}"
            for job, entry in report.lifecycle.items()
        ]
        lines += _details(f"Jobs over time ({len(jobs)} watched)", jobs)
    if report.failures:
        failed = [f"- {md(f.test)} ({f.kind}): {md(f.message)}" for f in report.failures[:50]]
        beyond = len(report.failures) - len(failed)
        lines += _details(
            f"Failed tests ({len(report.failures)})",
            failed + ([f"- and {beyond} more: report.html"] if beyond else []),
        )
    return "\n".join(lines) + "\n"


# --- junit.xml -----------------------------------------------------------------------------------------------


def junit(report: Report) -> str:
    """JUnit XML with one test case per clause for this target, for CI test views (the tests themselves are in
    junit-tests.xml). Its failures are the violated clauses; the verdict is a property, not a case."""
    target = "embedded mock" if report.target.get("kind") == "embedded mock" else str(report.target.get("base_url"))
    rows = report.clauses
    stopped = report.outcome.exit_code not in (0, 1)
    suite = ET.Element(
        "testsuite",
        name="spidra-crawl-status-contract",
        tests=str(len(rows) + stopped),
        failures=str(len(report.failing_clauses)),
        errors=str(int(stopped)),
        skipped=str(sum(row.verdict in (ClauseVerdict.NOT_JUDGED, ClauseVerdict.KNOWN) for row in rows)),
        time=str(report.duration_s),
    )
    properties = ET.SubElement(suite, "properties")
    for name, value in (
        ("verdict", report.outcome.verdict.value),
        ("exit_code", str(report.outcome.exit_code)),
        ("reason", report.outcome.reason),
        ("headline", report.outcome.headline),
        ("tests", report.tests.line),
    ):
        ET.SubElement(properties, "property", name=name, value=value)
    if stopped:
        # The run did not judge what it meant to (unreachable, incomplete, the suite's own error): one case in
        # error, so a CI view that reads only this file does not show green.
        case = ET.SubElement(suite, "testcase", classname=f"contract[{target}]", name="run")
        ET.SubElement(case, "error", message=report.outcome.headline[:500]).text = report.outcome.headline
    for row in rows:
        case = ET.SubElement(suite, "testcase", classname=f"contract[{target}]", name=row.clause)
        ET.SubElement(case, "system-out").text = f"{row.title} ({row.reference}); judged {row.judged} replies"
        if row.verdict is ClauseVerdict.FAIL:
            first = violation_line(row.examples[0].violations[0]) if row.examples else row.title
            failure = ET.SubElement(case, "failure", message=first[:500])
            failure.text = "\n\n".join(failure_text([example]) for example in row.examples)
        elif row.verdict is ClauseVerdict.KNOWN:
            ET.SubElement(case, "skipped", message="known violation (in the baseline)")
        elif row.verdict is ClauseVerdict.NOT_JUDGED:
            ET.SubElement(case, "skipped", message="no reply this clause applies to was seen")
    for element in suite.iter():
        # Violation messages quote what the server sent; XML 1.0 cannot hold control characters.
        element.text = printable(element.text) if element.text else element.text
        for name, value in element.attrib.items():
            element.set(name, printable(value))
    ET.indent(suite)
    return str(ET.tostring(suite, encoding="unicode", xml_declaration=True))


# --- report.html ---------------------------------------------------------------------------------------------


@cache
def environment() -> Any:
    import jinja2

    from spidra_contract.core.settings import cache_dir

    folder = cache_dir() / "templates"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        compiled: Any = jinja2.FileSystemBytecodeCache(str(folder))  # compiled once, not every run
    except OSError:
        compiled = None
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("spidra_contract.reporting", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        bytecode_cache=compiled,
    )
    env.filters["ticks"] = ticks
    return env


# What a page draws as code in running text: `backticked` words (the clauses' titles and suggestions write field
# names so, for markdown) and URLs (a test's message names the request it judged).
_CODE_SPANS = re.compile(r"`([^`]+)`|(https?://[^\s<>\"]+)")


def ticks(text: Any) -> Any:
    """Text drawn for a page with its code spans as code: escaped first, so nothing of the text becomes markup
    but the code spans (which may break anywhere: a URL is no word)."""
    from markupsafe import Markup, escape

    return Markup(_CODE_SPANS.sub(lambda found: f"<code>{found.group(1) or found.group(2)}</code>", str(escape(text))))


def patch_markdown(patch: SpecPatch) -> str:
    """summary.md's part on the spec patch: what it changes, what it refuses, the diff itself (folded)."""
    lines = ["", "### Spec patch: the spec describing what was observed", ""]
    if patch.empty:
        lines.append(f"Nothing to describe: {md(patch.spec_name)} already says what was observed.")
    else:
        lines.append(
            f"`openapi.patch` ({len(patch.changes)} change(s); `git apply openapi.patch` or `patch -p1 < "
            f"openapi.patch` beside {md(patch.spec_name)}) and `openapi.suggested.yaml`:"
        )
        lines += [""] + [f"- {md(change.what)} (`{md(change.where)}`)" for change in patch.changes[:30]]
    if patch.refused:
        lines += ["", "Not written, each would hide a violation:", ""]
        lines += [f"- {md(item.what)}: {md(item.why)}" for item in patch.refused]
    if not patch.empty:
        fence = "````" if "```" in patch.diff else "```"
        lines += [
            "",
            "<details><summary>openapi.patch</summary>",
            "",
            f"{fence}diff",
            patch.diff.rstrip("\n"),
            fence,
            "",
            "</details>",
        ]
    return "\n".join(lines) + "\n"


def html(report: Report, patch: SpecPatch | None = None) -> str:
    """report.html: the verdict banner, then the compliance matrix (each clause linking to its evidence), then
    the evidence, the access matrix, drift (and the spec patch), the jobs over time, findings and every test."""
    template = environment().get_template("report.html.j2")
    return str(
        template.render(
            report=report,
            patch=patch,
            ClauseVerdict=ClauseVerdict,
            Kind=Kind,
            violation_line=violation_line,
            failure_text=failure_text,
            open_to_stranger=open_to_stranger,
            printable=printable,
        )
    )
