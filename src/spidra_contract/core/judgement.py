"""The suite's judgements as typed records, from the clause that found a violation to the exit code.

Every layer passes these objects along, and every boundary (an xdist worker's hand-off, summary.json, a pytest
report crossing to the controller) carries them through one `to_dict`/`from_dict` pair written beside each other;
only a renderer (`render.py`, the templates) turns them into text. Nothing reads a message back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum

from spidra_contract.core.codec import Record


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
class Violation(Record):
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


Verdict = list[Violation] | None


def field_path(pointer: str) -> str:
    """/result/3/data -> /result/*/data: one entry per field, not per item."""
    return re.sub(r"/\d+(?=/|$)", "/*", pointer)


@dataclass(frozen=True)
class ExchangeRecord(Record):
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


@dataclass(frozen=True)
class Reproduction(Record):
    """What re-reading the request showed: of `reads` reads (the first included), `violating` broke the clause.
    `reads == 1` means it was not read again, and `note` says why."""

    reads: int = 1
    violating: int = 1
    note: str = ""
    derived = ("label",)

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


@dataclass(frozen=True)
class Judgement(Record):
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


@dataclass(frozen=True)
class TestFailure(Record):
    """A failed test: its kind, one line for people (already redacted), and the judgements behind it."""

    __test__ = False  # not a pytest test class

    test: str
    kind: Kind
    message: str
    judgements: tuple[Judgement, ...] = ()


@dataclass(frozen=True)
class ClauseResult(Record):
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
