"""The run's one outcome: computed once, when the run ends, from what the tests, the ledger and the traffic
saw; every report (terminal, junit.xml, junit-tests.xml, report.html, summary.json, summary.md, the step
summary) renders this object and decides nothing itself."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from spidra_contract.core.codec import Record
from spidra_contract.core.judgement import ClauseResult, ClauseVerdict, Kind, RunVerdict, TestFailure, Trip, Tripped

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_INTERRUPTED = 2
EXIT_SUITE_ERROR = 3
EXIT_USAGE = 4
EXIT_NO_TESTS = 5
EXIT_UNREACHABLE = 6
EXIT_INCOMPLETE = 7

CONFORMANT = RunVerdict.CONFORMANT
VIOLATIONS = RunVerdict.VIOLATIONS
COULD_NOT_TEST = RunVerdict.COULD_NOT_TEST
INCOMPLETE = RunVerdict.INCOMPLETE
SUITE_ERROR = RunVerdict.SUITE_ERROR
INTERRUPTED = RunVerdict.INTERRUPTED
NO_TESTS = RunVerdict.NO_TESTS
USAGE_ERROR = RunVerdict.USAGE_ERROR

# pytest's own words for a test report's outcome (`pytest_report_teststatus`), in the order its terminal line
# lists them; the run's counts are kept in these words, so every report says what the terminal says.
CATEGORIES = ("failed", "passed", "skipped", "deselected", "xfailed", "xpassed", "warnings", "error")


@dataclass(frozen=True)
class TestCounts:
    """How many tests were collected and ran, and how many reports fell in each of pytest's categories."""

    __test__ = False

    collected: int = 0
    ran: int = 0
    categories: tuple[tuple[str, int], ...] = ()

    def count(self, category: str) -> int:
        return dict(self.categories).get(category, 0)

    @property
    def line(self) -> str:
        """As pytest's terminal summary line writes them: "2 failed, 30 passed, 1 skipped"."""
        counted = dict(self.categories)
        order = [name for name in CATEGORIES if counted.get(name)] + [c for c in counted if c not in CATEGORIES]
        words = {"error": "errors"}
        parts = [f"{counted[name]} {words.get(name, name) if counted[name] != 1 else name}" for name in order]
        return ", ".join(parts) or "no tests ran"

    def to_dict(self) -> dict[str, Any]:
        return {"collected": self.collected, "ran": self.ran, **dict(self.categories), "line": self.line}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestCounts:
        categories = tuple((k, int(v)) for k, v in data.items() if k not in ("collected", "ran", "line"))
        return cls(collected=int(data.get("collected", 0)), ran=int(data.get("ran", 0)), categories=categories)


@dataclass
class Evidence:
    """Everything `decide` reads: plain data gathered over the run."""

    pytest_status: int = 0
    collected: int = 0
    ran: int = 0
    categories: Counter[str] = field(default_factory=Counter)
    failures: list[TestFailure] = field(default_factory=list)
    subset: bool = False
    # Tests that read known jobs were selected: a run without any 200 then judged nothing they asked for.
    needs_jobs: bool = True
    unreachable: str = ""
    trip: Tripped | None = None
    network_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    ok_replies: int = 0
    new_keys: list[str] = field(default_factory=list)
    # Reports that could not be written (named in every report that could).
    report_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome(Record):
    """The run's verdict, its exit code (the process's own) and the one-line reason."""

    verdict: RunVerdict
    exit_code: int
    reason: str
    subset: bool = False
    derived = ("headline",)

    @property
    def headline(self) -> str:
        """One line every report opens with."""
        scope = " (a subset of the suite ran)" if self.subset else ""
        return f"{self.verdict} (exit {self.exit_code}): {self.reason}{scope}"


def decide(evidence: Evidence, clauses: tuple[ClauseResult, ...]) -> tuple[RunVerdict, int, str]:
    """The verdict, the exit code and the one-line reason. Violations win over everything but an interrupt;
    then the suite's own errors; then "could not test" and "incomplete"; green only when something was
    judged and nothing stood in the way."""
    e = evidence
    failing = [row.clause for row in clauses if row.verdict is ClauseVerdict.FAIL]
    judged = sum(row.verdict is not ClauseVerdict.NOT_JUDGED for row in clauses)
    checks = [f for f in e.failures if f.kind is Kind.CHECK]
    errors = [f for f in e.failures if f.kind is Kind.ERROR]
    if e.pytest_status == EXIT_INTERRUPTED:
        return INTERRUPTED, EXIT_INTERRUPTED, "the run was interrupted; what ran is reported"
    if e.pytest_status == EXIT_USAGE:
        # pytest itself refused the command line (a test path that does not exist, say): the process exits 4,
        # and so does every report.
        return USAGE_ERROR, EXIT_USAGE, "pytest refused the command line (see its error above); nothing was judged"
    if e.unreachable:
        return COULD_NOT_TEST, EXIT_UNREACHABLE, e.unreachable
    if failing or checks:
        parts = []
        if failing:
            parts.append(f"{len(failing)} of {judged} judged clauses violated ({', '.join(failing)})")
        if checks:
            parts.append(f"{len(checks)} test(s) failed other checks (first: {checks[0].test})")
        return VIOLATIONS, EXIT_VIOLATIONS, "; ".join(parts)
    if e.report_errors:
        return (
            SUITE_ERROR,
            EXIT_SUITE_ERROR,
            f"{len(e.report_errors)} report(s) could not be written, first: {e.report_errors[0]}",
        )
    if errors:
        return (
            SUITE_ERROR,
            EXIT_SUITE_ERROR,
            f"the suite itself failed in {len(errors)} test(s), first: {errors[0].test}: {errors[0].message}",
        )
    if e.trip and e.trip.trip is Trip.NOT_ANSWERING:
        return COULD_NOT_TEST, EXIT_UNREACHABLE, e.trip.reason
    if e.trip:
        return INCOMPLETE, EXIT_INCOMPLETE, f"the run was cut short: {e.trip.reason}"
    if e.network_errors:
        return (
            INCOMPLETE,
            EXIT_INCOMPLETE,
            (f"{len(e.network_errors)} request(s) got no complete answer, first: {e.network_errors[0]}"),
        )
    if e.refused:
        return INCOMPLETE, EXIT_INCOMPLETE, f"{len(e.refused)} request(s) not sent, first: {e.refused[0]}"
    if e.pytest_status == EXIT_NO_TESTS or e.ran == 0:
        return NO_TESTS, EXIT_NO_TESTS, "no test ran"
    if e.ok_replies == 0 and (not e.subset or e.needs_jobs):
        return (
            INCOMPLETE,
            EXIT_INCOMPLETE,
            (
                "no 200 response reached: status, progress, result and error were never judged "
                "(pass --job-id with ids of this key's account)"
            ),
        )
    known = [row.clause for row in clauses if row.verdict is ClauseVerdict.KNOWN]
    if known:
        return CONFORMANT, EXIT_OK, f"no new violation; known in the baseline: {', '.join(known)}"
    return CONFORMANT, EXIT_OK, f"all {judged} judged clauses pass"


def build(evidence: Evidence, clauses: tuple[ClauseResult, ...]) -> Outcome:
    verdict, code, reason = decide(evidence, clauses)
    return Outcome(verdict=verdict, exit_code=code, reason=reason, subset=evidence.subset)


def test_counts(evidence: Evidence) -> TestCounts:
    return TestCounts(collected=evidence.collected, ran=evidence.ran, categories=tuple(evidence.categories.items()))
