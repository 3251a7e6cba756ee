"""The suite's judgements as typed records, from the clause that found a violation to the exit code.

Every layer passes these objects along, and every boundary (an xdist worker's hand-off, summary.json, a pytest
report crossing to the controller) carries them through one `to_dict`/`from_dict` pair written beside each other;
only a renderer (`render.py`, the templates) turns them into text. Nothing reads a message back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Place(StrEnum):
    """Where in an exchange a violation was seen."""

    STATUS = "status"  # the status code
    HEADER = "header"  # a response header (`Violation.pointer` is its name)
    BODY = "body"  # the body (`Violation.pointer` is a JSON pointer into it, "" for the whole body)
    MESSAGE = "message"  # the HTTP message itself: framing, encoding, size


class Kind(StrEnum):
    """How a failed test is classified."""

    VIOLATION = "violation"  # one of the contract's clauses, with its judgements
    CHECK = "check-failure"  # an assertion of schemathesis' built-in checks or of a test itself
    ERROR = "suite-error"  # the suite's own code broke
    KNOWN = "known"  # a failure whose violations are all in the baseline


class ClauseVerdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    KNOWN = "known"
    NOT_JUDGED = "not judged"


class RunVerdict(StrEnum):
    CONFORMANT = "conformant"
    VIOLATIONS = "violations"
    COULD_NOT_TEST = "could not test"
    INCOMPLETE = "incomplete"
    SUITE_ERROR = "suite error"
    INTERRUPTED = "interrupted"
    NO_TESTS = "no tests ran"
    USAGE_ERROR = "usage error"


@dataclass(frozen=True)
class Violation:
    """One way a reply broke one clause: a sentence for people, and the same facts as fields."""

    clause: str
    message: str
    pointer: str = ""  # a JSON pointer into the body, or a header's name (see `place`)
    place: Place = Place.BODY
    expected: str = ""
    observed: str = ""
    # The JSON Schema keyword path that decided it ("properties/result/items/properties/data/type"), when a schema
    # did: drift reads this, not the message.
    rule: str = ""

    @property
    def key(self) -> str:
        """What identifies this violation across runs (baselines): its clause and its field, items folded."""
        return f"{self.clause}:{field_path(self.pointer)}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "message": self.message,
            "pointer": self.pointer,
            "place": self.place.value,
            "expected": self.expected,
            "observed": self.observed,
            "rule": self.rule,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Violation:
        return cls(
            clause=data["clause"],
            message=data["message"],
            pointer=data.get("pointer", ""),
            place=Place(data.get("place", Place.BODY)),
            expected=data.get("expected", ""),
            observed=data.get("observed", ""),
            rule=data.get("rule", ""),
        )


Verdict = list[Violation] | None


def field_path(pointer: str) -> str:
    """/result/3/data -> /result/*/data: one entry per field, not per item."""
    return re.sub(r"/\d+(?=/|$)", "/*", pointer)


@dataclass(frozen=True)
class ExchangeRecord:
    """One exchange as evidence (already redacted): its id in the cassette, what was asked, what came back."""

    id: str
    request: str
    status: int
    content_type: str
    excerpt: str
    curl: str
    location: str = ""
    problem: str = ""
    context: str = ""  # who asked through which door, when a test says so

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "request": self.request,
            "status": self.status,
            "content_type": self.content_type,
            "excerpt": self.excerpt,
            "curl": self.curl,
            "location": self.location,
            "problem": self.problem,
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExchangeRecord:
        return cls(
            id=data.get("id", ""),
            request=data["request"],
            status=int(data["status"]),
            content_type=data.get("content_type", ""),
            excerpt=data.get("excerpt", ""),
            curl=data.get("curl", ""),
            location=data.get("location", ""),
            problem=data.get("problem", ""),
            context=data.get("context", ""),
        )


@dataclass(frozen=True)
class Reproduction:
    """What re-reading the request showed: of `reads` reads (the first included), `violating` broke the clause.
    `reads == 1` means it was not read again, and `note` says why."""

    reads: int = 1
    violating: int = 1
    note: str = ""

    @property
    def consistent(self) -> bool:
        return self.reads > 1 and self.violating == self.reads

    @property
    def intermittent(self) -> bool:
        return self.reads > 1 and self.violating < self.reads

    @property
    def label(self) -> str:
        if self.reads <= 1:
            return f"not re-read ({self.note})" if self.note else "not re-read"
        word = "consistent" if self.consistent else "intermittent"
        return f"{word} {self.violating}/{self.reads}"

    def to_dict(self) -> dict[str, Any]:
        return {"reads": self.reads, "violating": self.violating, "note": self.note, "label": self.label}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reproduction:
        return cls(reads=int(data.get("reads", 1)), violating=int(data.get("violating", 1)), note=data.get("note", ""))


@dataclass(frozen=True)
class Judgement:
    """One clause's verdict on one exchange that broke it: the violations, the exchange (and the earlier one a
    pairwise clause compared it with), the test, the seed, whether it is known, whether it reproduces."""

    clause: str
    test: str
    violations: tuple[Violation, ...]
    exchange: ExchangeRecord
    seed: str = ""
    earlier: ExchangeRecord | None = None
    kind: Kind = Kind.VIOLATION
    reproduction: Reproduction = field(default_factory=Reproduction)

    @property
    def keys(self) -> frozenset[str]:
        return frozenset(violation.key for violation in self.violations)

    def to_dict(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "test": self.test,
            "kind": self.kind.value,
            "violations": [violation.to_dict() for violation in self.violations],
            "exchange": self.exchange.to_dict(),
            "earlier": self.earlier.to_dict() if self.earlier else None,
            "seed": self.seed,
            "reproduction": self.reproduction.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Judgement:
        earlier = data.get("earlier")
        return cls(
            clause=data["clause"],
            test=data["test"],
            kind=Kind(data.get("kind", Kind.VIOLATION)),
            violations=tuple(Violation.from_dict(v) for v in data["violations"]),
            exchange=ExchangeRecord.from_dict(data["exchange"]),
            earlier=ExchangeRecord.from_dict(earlier) if earlier else None,
            seed=data.get("seed", ""),
            reproduction=Reproduction.from_dict(data.get("reproduction") or {}),
        )


@dataclass(frozen=True)
class TestFailure:
    """A failed test: its kind, one line for people (already redacted), and the judgements behind it."""

    __test__ = False  # not a pytest test class

    test: str
    kind: Kind
    message: str
    judgements: tuple[Judgement, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "test": self.test,
            "kind": self.kind.value,
            "message": self.message,
            "judgements": [judgement.to_dict() for judgement in self.judgements],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TestFailure:
        return cls(
            test=data["test"],
            kind=Kind(data["kind"]),
            message=data.get("message", ""),
            judgements=tuple(Judgement.from_dict(j) for j in data.get("judgements", [])),
        )


@dataclass(frozen=True)
class ClauseResult:
    """One clause over the whole run: its verdict, how many replies it judged, how many broke it, the first
    judgements (evidence) and the keys of every violation seen."""

    clause: str
    title: str
    reference: str
    verdict: ClauseVerdict
    judged: int
    failed: int
    examples: tuple[Judgement, ...]
    violation_keys: tuple[str, ...]

    @property
    def anchor(self) -> str:
        return f"clause-{self.clause}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "clause": self.clause,
            "title": self.title,
            "reference": self.reference,
            "verdict": self.verdict.value,
            "judged": self.judged,
            "failed": self.failed,
            "examples": [example.to_dict() for example in self.examples],
            "violation_keys": list(self.violation_keys),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ClauseResult:
        return cls(
            clause=data["clause"],
            title=data.get("title", ""),
            reference=data.get("reference", ""),
            verdict=ClauseVerdict(data["verdict"]),
            judged=int(data["judged"]),
            failed=int(data["failed"]),
            examples=tuple(Judgement.from_dict(e) for e in data.get("examples", [])),
            violation_keys=tuple(data.get("violation_keys", [])),
        )


class Trip(StrEnum):
    """Why the run stopped sending: the gate's breaker, its budget, its deadline, or a target's Retry-After."""

    NOT_ANSWERING = "not-answering"
    RATE_LIMITED = "rate-limited"
    BUDGET = "budget"
    DEADLINE = "deadline"


@dataclass(frozen=True)
class Tripped:
    """The run stopped sending: why (`trip`), and the sentence the reports give for it."""

    trip: Trip
    reason: str
