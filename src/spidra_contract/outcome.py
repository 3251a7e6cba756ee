"""The run's one outcome: computed once, when the run ends, from what the tests, the ledger and the traffic
saw; every report (terminal, junit.xml, junit-tests.xml, report.html, summary.json, summary.md, the step
summary) renders this object and decides nothing itself."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_INTERRUPTED = 2
EXIT_SUITE_ERROR = 3
EXIT_USAGE = 4
EXIT_NO_TESTS = 5
EXIT_UNREACHABLE = 6
EXIT_INCOMPLETE = 7

CONFORMANT = "conformant"
VIOLATIONS = "violations"
COULD_NOT_TEST = "could not test"
INCOMPLETE = "incomplete"
SUITE_ERROR = "suite error"
INTERRUPTED = "interrupted"
NO_TESTS = "no tests ran"
USAGE_ERROR = "usage error"

# How a failed test is classified (on the worker that ran it, carried in the report's user properties).
KIND_VIOLATION = "violation"  # one of our clauses, with its Violations
KIND_CHECK = "check-failure"  # an assertion of schemathesis' built-in checks or of a test itself
KIND_ERROR = "suite-error"  # the suite's own code broke
KIND_KNOWN = "known"  # a failure whose violations are all in the baseline


@dataclass(frozen=True)
class ClauseResult:
    clause: str
    title: str
    reference: str
    verdict: str  # pass | fail | known | not judged
    judged: int
    failed: int
    examples: list[dict[str, Any]]
    violation_keys: list[str]


@dataclass(frozen=True)
class TestFailure:
    test: str
    kind: str
    message: str


@dataclass
class Evidence:
    """Everything `decide` reads: plain data gathered over the run."""

    pytest_status: int = 0
    collected: int = 0
    ran: int = 0
    passed: int = 0
    skipped: int = 0
    xfailed: int = 0
    failures: list[TestFailure] = field(default_factory=list)
    subset: bool = False
    # Tests that read known jobs were selected: a run without any 200 then judged nothing they asked for.
    needs_jobs: bool = True
    unreachable: str = ""
    trip: tuple[str, str] | None = None
    network_errors: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    ok_replies: int = 0
    new_keys: list[str] = field(default_factory=list)
    # Reports that could not be written (named in every report that could).
    report_errors: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Outcome:
    verdict: str
    exit_code: int
    reason: str
    clauses: tuple[ClauseResult, ...]
    tests: dict[str, int]
    failures: tuple[TestFailure, ...]
    subset: bool
    report_errors: tuple[str, ...] = ()

    @property
    def failing_clauses(self) -> list[ClauseResult]:
        return [row for row in self.clauses if row.verdict == "fail"]

    @property
    def judged_clauses(self) -> int:
        return sum(row.verdict != "not judged" for row in self.clauses)

    @property
    def headline(self) -> str:
        """One line every report opens with."""
        scope = " (a subset of the suite ran)" if self.subset else ""
        return f"{self.verdict} (exit {self.exit_code}): {self.reason}{scope}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "exit_code": self.exit_code,
            "reason": self.reason,
            "headline": self.headline,
            "subset": self.subset,
            "tests": self.tests,
            "failures": [asdict(f) for f in self.failures],
            "report_errors": list(self.report_errors),
        }


def decide(evidence: Evidence, clauses: tuple[ClauseResult, ...]) -> tuple[str, int, str]:
    """The verdict, the exit code and the one-line reason. Violations win over everything but an interrupt;
    then the suite's own errors; then "could not test" and "incomplete"; green only when something was
    judged and nothing stood in the way."""
    e = evidence
    failing = [row.clause for row in clauses if row.verdict == "fail"]
    checks = [f for f in e.failures if f.kind == KIND_CHECK]
    errors = [f for f in e.failures if f.kind == KIND_ERROR]
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
            parts.append(
                f"{len(failing)} of {sum(r.verdict != 'not judged' for r in clauses)} judged clauses violated "
                f"({', '.join(failing)})"
            )
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
    if e.trip and e.trip[0] == "not-answering":
        return COULD_NOT_TEST, EXIT_UNREACHABLE, e.trip[1]
    if e.trip:
        return INCOMPLETE, EXIT_INCOMPLETE, f"the run was cut short: {e.trip[1]}"
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
    known = [row.clause for row in clauses if row.verdict == "known"]
    judged = sum(row.verdict != "not judged" for row in clauses)
    if known:
        return CONFORMANT, EXIT_OK, f"no new violation; known in the baseline: {', '.join(known)}"
    return CONFORMANT, EXIT_OK, f"all {judged} judged clauses pass"


def build(evidence: Evidence, clauses: tuple[ClauseResult, ...]) -> Outcome:
    verdict, code, reason = decide(evidence, clauses)
    e = evidence
    return Outcome(
        verdict=verdict,
        exit_code=code,
        reason=reason,
        clauses=clauses,
        tests={
            "collected": e.collected,
            "ran": e.ran,
            "passed": e.passed,
            "failed": len([f for f in e.failures if f.kind != KIND_KNOWN]),
            "known": e.xfailed,
            "skipped": e.skipped,
        },
        failures=tuple(e.failures),
        subset=e.subset,
        report_errors=tuple(e.report_errors),
    )
