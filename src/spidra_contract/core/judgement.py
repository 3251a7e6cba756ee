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
        """The earlier, coarse name of a violation (clause and field, items folded): what baselines written
        before `Identity` hold. A finding is named by its `Identity`."""
        return f"{self.clause}:{field_path(self.pointer)}"

    def identity(self, probe: str) -> Identity:
        """This violation as a finding of the probe class `probe` (see `Identity`)."""
        return Identity(self.clause, probe, self.place, field_path(self.pointer), self.rule)


Verdict = list[Violation] | None


@dataclass(frozen=True, order=True)
class Identity(Record):
    """What makes a finding the same one from the exchange to the baseline, the comparison and the history, on
    any run and any target: the clause; the probe class (the test, the method, the door's axis and member and the
    caller, the request's input class, such as a known job's status: `judging.fingerprint.probe_class`, with no
    ids, ports, times or request ids); where in the reply (the status, a header, a JSON pointer with array
    indexes folded, the message itself); and the rule that decided it (a schema's keyword path, or the clause's
    own rule)."""

    clause: str
    probe: str
    place: Place = Place.BODY
    pointer: str = ""
    rule: str = ""
    derived = ("key",)

    @property
    def where(self) -> str:
        if self.place is Place.BODY:
            return f"body {self.pointer or '/'}"
        if self.place is Place.HEADER:
            return f"header {self.pointer.lower()}"
        return self.place.value

    @property
    def key(self) -> str:
        """One line for people: `clause @ probe class @ where @ rule`."""
        return " @ ".join(part for part in (self.clause, self.probe, self.where, self.rule) if part)

    @property
    def coarse(self) -> str:
        """The earlier name of the same finding (`Violation.key`), which a baseline of that format holds."""
        return f"{self.clause}:{self.pointer}"


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
    probe: str = ""  # the probe class of the exchange (see `Identity`)
    derived = ("identities",)

    @property
    def identities(self) -> tuple[Identity, ...]:
        return tuple(dict.fromkeys(violation.identity(self.probe) for violation in self.violations))


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
    judgements (evidence) and the identity of every finding (`violation_keys`: their keys; in a summary written
    before identities, the coarse keys `clause:/field`)."""

    clause: str
    title: str
    reference: str
    verdict: ClauseVerdict
    judged: int
    failed: int
    examples: tuple[Judgement, ...]
    violation_keys: tuple[str, ...]
    identities: tuple[Identity, ...] = ()

    @property
    def anchor(self) -> str:
        return f"clause-{self.clause}"

    @property
    def finding_keys(self) -> frozenset[str]:
        """The clause's findings by identity (read from a summary written before identities: its coarse keys)."""
        return frozenset(identity.key for identity in self.identities) or frozenset(self.violation_keys)


@dataclass(frozen=True)
class BaselineStory(Record):
    """A run against its baseline, by identity: the findings that are new (they fail the run), known, and fixed
    since (in the baseline, not seen); `fixed_coarse`, the keys of an earlier-format baseline no finding matched;
    `note`, the line such a baseline gets."""

    path: str
    new: tuple[Identity, ...] = ()
    known: tuple[Identity, ...] = ()
    fixed: tuple[Identity, ...] = ()
    fixed_coarse: tuple[str, ...] = ()
    note: str = ""

    @classmethod
    def read(cls, data: dict[str, object] | None) -> BaselineStory | None:
        """From a summary.json; one written before identities listed keys (strings): they read as coarse."""
        if not data:
            return None
        lists = [data.get(name) for name in ("new", "known", "fixed")]
        if any(isinstance(item, str) for items in lists if isinstance(items, list) for item in items):
            fixed = data.get("fixed")
            return cls(
                path=str(data.get("path", "")),
                fixed_coarse=tuple(map(str, fixed)) if isinstance(fixed, list) else (),
                note="written before findings had identities: only the fixed keys are kept",
            )
        return cls.from_dict(data)


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
