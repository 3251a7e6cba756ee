"""The report model: everything a run's reports show, built once when the run ends (`build`), as typed records.

summary.json is this model's `to_dict()`; every renderer (terminal, summary.md, report.html, junit.xml, the step
summary) draws it and decides nothing; a later reader (a comparison of two runs, the nightly history, a spec
patch) loads a summary.json back with `Report.from_dict`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from spidra_contract.core.codec import Record
from spidra_contract.core.judgement import BaselineStory, ClauseResult, ClauseVerdict, Kind, TestFailure
from spidra_contract.core.outcome import Outcome, TestCounts

SCHEMA_VERSION = 2


class DriftKind(StrEnum):
    """What kind of difference from the spec a drift entry is (its value is the title the reports show)."""

    STATUS_CODE = "undocumented status code"
    ENUM_VALUE = "status value outside the enum"
    FIELD_TYPE = "field type differs from the spec"
    UNDESCRIBED_FIELD = "field the spec does not describe"


@dataclass(frozen=True)
class Drift(Record):
    """What the API does that the spec does not say, with one example and the change that would say it."""

    key: str
    kind: DriftKind
    what: str
    count: int
    suggestion: str
    example: dict[str, Any] = field(default_factory=dict)
    # The same facts as fields, for a spec patch: `status`, `method`, `headers` (an undocumented status code);
    # `value` (a status value outside the enum); `status`, `path`, `type` (a type or field the spec misses).
    detail: dict[str, Any] = field(default_factory=dict)
    fallbacks = (("key", "what"),)  # a summary written before drift had keys


@dataclass(frozen=True)
class Finding(Record):
    """Something worth a person's attention that breaks no clause (a 403 that tells ids apart, say)."""

    kind: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TestResult(Record):
    """One test as pytest categorised it (its word: passed, failed, error, skipped, xfailed...), for the page."""

    __test__ = False

    test: str
    outcome: str
    duration_s: float = 0.0
    message: str = ""


@dataclass(frozen=True)
class Report:
    outcome: Outcome
    tests: TestCounts
    clauses: tuple[ClauseResult, ...]
    failures: tuple[TestFailure, ...] = ()
    test_results: tuple[TestResult, ...] = ()
    report_errors: tuple[str, ...] = ()
    target: dict[str, Any] = field(default_factory=dict)  # kind, base_url, mock_switches
    profile: str = ""
    seed: str = ""
    versions: dict[str, str] = field(default_factory=dict)
    started: str = ""
    duration_s: float = 0.0
    requests: dict[str, Any] = field(default_factory=dict)
    known_jobs: int = 0
    ok_replies: int = 0
    observed_statuses: dict[str, int] = field(default_factory=dict)
    statuses_not_observed: tuple[str, ...] = ()
    drift: tuple[Drift, ...] = ()
    spec_defects: tuple[dict[str, Any], ...] = ()
    findings: tuple[Finding, ...] = ()
    notes: tuple[str, ...] = ()
    lifecycle: dict[str, dict[str, Any]] = field(default_factory=dict)
    access_matrix: dict[str, Any] | None = None
    reproduce_mock: str | None = None
    baseline: BaselineStory | None = None
    spec_name: str = "openapi.yaml"
    report_dir: str = ""
    # The behavioural fingerprint: per probe class, what came back (`fingerprint.ClassStats.summary`); `diff.py`
    # compares two.
    fingerprint: dict[str, dict[str, Any]] = field(default_factory=dict)

    # --- what renderers ask -----------------------------------------------------------------------------

    @property
    def failing_clauses(self) -> list[ClauseResult]:
        return [row for row in self.clauses if row.verdict is ClauseVerdict.FAIL]

    @property
    def judged_clauses(self) -> int:
        return sum(row.verdict is not ClauseVerdict.NOT_JUDGED for row in self.clauses)

    @property
    def verdicts(self) -> int:
        return sum(row.judged for row in self.clauses)

    @property
    def other_failures(self) -> list[TestFailure]:
        """Failed tests that are not a clause's violation (another check's failure, the suite's own error)."""
        return [f for f in self.failures if f.kind not in (Kind.VIOLATION, Kind.KNOWN)]

    @property
    def intermittent(self) -> list[ClauseResult]:
        return [row for row in self.failing_clauses if any(j.reproduction.intermittent for j in row.examples)]

    # --- the one serialisation --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            **self.outcome.to_dict(),
            "tests": self.tests.to_dict(),
            "failures": [failure.to_dict() for failure in self.failures],
            "test_results": [result.to_dict() for result in self.test_results],
            "report_errors": list(self.report_errors),
            "target": self.target,
            "profile": self.profile,
            "seed": self.seed,
            "versions": self.versions,
            "started": self.started,
            "duration_s": self.duration_s,
            "requests": self.requests,
            "known_jobs": self.known_jobs,
            "ok_replies": self.ok_replies,
            "observed_statuses": self.observed_statuses,
            "statuses_not_observed": list(self.statuses_not_observed),
            "clauses": [row.to_dict() for row in self.clauses],
            "drift": [entry.to_dict() for entry in self.drift],
            "spec_defects": list(self.spec_defects),
            "findings": [finding.to_dict() for finding in self.findings],
            "notes": list(self.notes),
            "lifecycle": self.lifecycle,
            "access_matrix": self.access_matrix,
            "reproduce_mock": self.reproduce_mock,
            "baseline": self.baseline.to_dict() if self.baseline is not None else None,
            "spec_name": self.spec_name,
            "report_dir": self.report_dir,
            "fingerprint": self.fingerprint,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Report:
        return cls(
            outcome=Outcome.from_dict(data),
            tests=TestCounts.from_dict(data.get("tests") or {}),
            clauses=tuple(ClauseResult.from_dict(row) for row in data["clauses"]),
            failures=tuple(TestFailure.from_dict(f) for f in data.get("failures", [])),
            test_results=tuple(TestResult.from_dict(t) for t in data.get("test_results", [])),
            report_errors=tuple(data.get("report_errors", [])),
            target=data.get("target") or {},
            profile=data.get("profile", ""),
            seed=str(data.get("seed", "")),
            versions=data.get("versions") or {},
            started=data.get("started", ""),
            duration_s=float(data.get("duration_s", 0.0)),
            requests=data.get("requests") or {},
            known_jobs=int(data.get("known_jobs", 0)),
            ok_replies=int(data.get("ok_replies", 0)),
            observed_statuses=data.get("observed_statuses") or {},
            statuses_not_observed=tuple(data.get("statuses_not_observed", [])),
            drift=tuple(Drift.from_dict(d) for d in data.get("drift", [])),
            spec_defects=tuple(data.get("spec_defects", [])),
            findings=tuple(Finding.from_dict(f) for f in data.get("findings", [])),
            notes=tuple(data.get("notes", [])),
            lifecycle=data.get("lifecycle") or {},
            access_matrix=data.get("access_matrix"),
            reproduce_mock=data.get("reproduce_mock"),
            baseline=BaselineStory.read(data.get("baseline")),
            spec_name=data.get("spec_name", "openapi.yaml"),
            report_dir=data.get("report_dir", ""),
            fingerprint=data.get("fingerprint") or {},
        )
