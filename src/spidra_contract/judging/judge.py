"""Judging: the contract's clauses applied to replies, each verdict recorded in the ledger as typed judgements,
each violation read again to see whether it reproduces, and a test's failure raised as those judgements.

The one place that knows the contract, the ledger, the redactor, the seed and the baseline; the run's lifecycle
(mock, sessions, watch) is `run.Run`'s, and it hands this object how to re-read an exchange.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from spidra_contract import clauses
from spidra_contract.clauses import requests as request_classes
from spidra_contract.core.exchange import Reply
from spidra_contract.core.judgement import (
    ClauseResult,
    ClauseVerdict,
    Identity,
    Judgement,
    Kind,
    Reproduction,
    Verdict,
    Violation,
)
from spidra_contract.core.spec import Contract
from spidra_contract.http.client import SuiteRefusal
from spidra_contract.judging.baseline import Baseline
from spidra_contract.judging.ledger import Ledger

# A violating read is read this many more times (GET or HEAD only), for its first judgements per clause, unless
# the read itself took longer than this (a dripping or stalling target: reading it again would only spend the
# run's time on what is already known).
REREADS = 2
REREAD_SLOWER_THAN_MS = 500.0
# ... nor once the run's re-reads have taken this long in all.
REREAD_SECONDS = 10.0


class ContractViolation(AssertionError):
    """A test's failure: the judgements that broke clauses, as data. Its text is drawn by `render` when
    something (pytest, schemathesis) asks for it; nothing reads it back."""

    def __init__(self, judgements: Iterable[Judgement]) -> None:
        self.judgements = tuple(judgements)
        super().__init__(self.judgements)

    @property
    def violations(self) -> list[Violation]:
        return [violation for judgement in self.judgements for violation in judgement.violations]

    def __str__(self) -> str:
        # One line a violation, from the records; the evidence and the reproduction are drawn by the reporting
        # layer, which the plugin puts on the test's report.
        return "; ".join(f"{violation.clause}: {violation.message}" for violation in self.violations)


def contract_violations(exc: BaseException | None) -> list[ContractViolation]:
    """Our failures inside an exception: ours directly, or wrapped by schemathesis (a failure group of
    custom failures whose `exception` is ours) or by hypothesis (exception groups)."""
    if exc is None:
        return []
    if isinstance(exc, ContractViolation):
        return [exc]
    found: list[ContractViolation] = []
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found += contract_violations(inner)
    wrapped = getattr(exc, "exception", None)
    if isinstance(wrapped, BaseException) and wrapped is not exc:
        found += contract_violations(wrapped)
    return found


def judgements_in(exc: BaseException | None) -> list[Judgement]:
    return [judgement for failure in contract_violations(exc) for judgement in failure.judgements]


def classify(exc: BaseException, when: str) -> tuple[Kind, tuple[Judgement, ...]]:
    """What a test's failure is: a clause's violation (its judgements; known when every one of them is), an
    assertion of a check or of the test itself (in its call only), or the suite's own error."""
    judgements = tuple(judgements_in(exc))
    if judgements:
        known = all(judgement.kind is Kind.KNOWN for judgement in judgements)
        return (Kind.KNOWN if known else Kind.VIOLATION), judgements
    if isinstance(exc, AssertionError) and when == "call":
        return Kind.CHECK, ()
    return Kind.ERROR, ()


Rejudge = Callable[[Reply], dict[str, Verdict]]


@dataclass
class Judge:
    contract: Contract
    ledger: Ledger
    seed: str
    baseline: Baseline | None = None
    # How to ask a reply's request again (the run's guarded session), and whether the run can spare the reads.
    reread: Callable[[Reply], Reply | None] | None = None
    spare: Callable[[int], str | None] | None = None
    # The probe class of a test's exchange (the run's: `fingerprint.probe_class` with the known job ids), which
    # names its findings (`Identity`).
    probe_of: Callable[[str, Reply], str] | None = None
    _reread_ms: float = 0.0  # what re-reading has cost the run so far (this process)

    def is_known(self, identities: Iterable[Identity]) -> bool:
        """Every finding named is already in the baseline: the one place that decides "known"."""
        return self.baseline is not None and self.baseline.covers(set(identities))

    def probe(self, test: str, reply: Reply) -> str:
        return self.probe_of(test, reply) if self.probe_of is not None else test

    # --- judging ----------------------------------------------------------------------------------------

    def judge(self, test: str, reply: Reply, names: tuple[str, ...] = clauses.EVERY_REPLY) -> list[Judgement]:
        """Apply the named single-reply clauses to `reply`; record the verdicts; the judgements (one a clause
        broken, none if it passed)."""
        verdicts = clauses.evaluate(reply, self.contract, names)
        if reply.status == 200 and isinstance(reply.body, dict) and "status" in reply.body:
            self.ledger.observe_status(reply.body["status"])
        self._another_layer(reply)

        def rejudge(again: Reply) -> dict[str, Verdict]:
            return clauses.evaluate(again, self.contract, names)

        return self._conclude(test, reply, verdicts, rejudge)

    def _another_layer(self, reply: Reply) -> None:
        """A request no client sends, refused in a form that is not the API's (no ErrorResponse): another layer
        (an edge, a proxy, a framework's router) answered. Allowed (`clauses.requests`), and reported once per
        form, with its evidence, so nobody reads it as the API's answer."""
        if reply.method != "GET" or not request_classes.no_client_refusal(reply):
            return
        if self.contract.is_error_response(reply.body):
            return
        server = reply.header("server")
        form = f"{reply.status} {reply.media_type or 'no media type'}" + (f", Server: {server}" if server else "")
        self.ledger.finding(
            "answered by another layer",
            f"a request no client sends ({request_classes.classify(reply).why}) was refused with {form}, not an "
            "ErrorResponse: another layer than the API answered it (allowed for such bytes; every id a client "
            "could hold still gets the API's ErrorResponse)",
            {"reply": reply.as_evidence()},
            once=f"another layer: {form}",
        )

    def judge_pair(self, test: str, before: Reply, after: Reply, names: tuple[str, ...]) -> list[Judgement]:
        """The clauses that compare two reads (`before`, then `after`); a re-read reads `after` again."""

        def rejudge(again: Reply) -> dict[str, Verdict]:
            return {name: clauses.CLAUSES[name].check(before, again, self.contract) for name in names}

        return self._conclude(test, after, rejudge(after), rejudge, before)

    def expect(self, test: str, reply: Reply, names: tuple[str, ...] = clauses.EVERY_REPLY) -> None:
        __tracebackhide__ = True
        self.fail_on(self.judge(test, reply, names))

    def expect_pair(self, test: str, before: Reply, after: Reply, names: tuple[str, ...]) -> None:
        __tracebackhide__ = True
        self.fail_on(self.judge_pair(test, before, after, names))

    @staticmethod
    def fail_on(judgements: list[Judgement]) -> None:
        """Raise the test's failure when any clause was broken."""
        __tracebackhide__ = True
        if judgements:
            raise ContractViolation(judgements)

    def _conclude(
        self,
        test: str,
        reply: Reply,
        verdicts: dict[str, Verdict],
        rejudge: Rejudge,
        before: Reply | None = None,
    ) -> list[Judgement]:
        broken = {name: verdict for name, verdict in verdicts.items() if verdict}
        probe = self.probe(test, reply)
        named = {name: [violation.identity(probe) for violation in verdict or ()] for name, verdict in broken.items()}
        reproduction = self._reproduce(reply, named, rejudge) if broken else {}
        exchange, earlier = reply.record(), before.record() if before is not None else None
        judgements = []
        for name, verdict in broken.items():
            found = tuple(verdict or ())
            judgements.append(
                Judgement(
                    clause=name,
                    test=test,
                    violations=found,
                    exchange=exchange,
                    seed=self.seed,
                    earlier=earlier,
                    kind=Kind.KNOWN if self.is_known(v.identity(probe) for v in found) else Kind.VIOLATION,
                    reproduction=reproduction[name],
                    probe=probe,
                )
            )
        self.ledger.record(reply, verdicts, judgements, probe, test=test, before=before)
        return judgements

    def _reproduce(self, reply: Reply, named: dict[str, list[Identity]], rejudge: Rejudge) -> dict[str, Reproduction]:
        """Read the request again (up to `REREADS` times) and judge each answer by the clauses it broke (`named`:
        each with the findings it names): how many of the reads broke each. Only for judgements kept as
        evidence, only reads, only what the run can spare."""
        names = tuple(named)

        def unread(note: str) -> dict[str, Reproduction]:
            return {name: Reproduction(note=note) for name in names}

        if not any(self.ledger.wants_example(name, found) for name, found in named.items()):
            return unread("beyond the evidence kept for this clause")
        if reply.method not in ("GET", "HEAD"):
            return unread(f"{reply.method} is not sent again: only reads are")
        if self.reread is None:
            return unread("no session to read it again with")
        if reply.elapsed_ms > REREAD_SLOWER_THAN_MS:
            return unread(f"the read took {reply.elapsed_ms / 1000:.1f} s; not spent again")
        if self._reread_ms > REREAD_SECONDS * 1000:
            return unread(f"the run's re-reads have taken their {REREAD_SECONDS:g} s")
        refused = self.spare(REREADS) if self.spare is not None else None
        if refused:
            return unread(refused)
        reads, violating, note = 1, dict.fromkeys(names, 1), ""
        for _ in range(REREADS):
            try:
                again = self.reread(reply)
            except SuiteRefusal as exc:
                note = f"read again {reads - 1} time(s), then: {exc}"
                break
            if again is None:
                note = "the request is no longer remembered"
                break
            reads += 1
            self._reread_ms += again.elapsed_ms
            verdicts = rejudge(again)
            for name in names:
                violating[name] += bool(verdicts.get(name))
        return {name: Reproduction(reads=reads, violating=violating[name], note=note) for name in names}

    # --- the run's clause table -------------------------------------------------------------------------

    def clause_results(self) -> tuple[ClauseResult, ...]:
        """One result per clause: its verdict, how many replies it judged, failures and their first judgements."""
        rows = []
        with self.ledger.lock:
            tallies = dict(self.ledger.tallies)
        for name, spec in clauses.CLAUSES.items():
            tally = tallies.get(name)
            if tally is None or tally.judged == 0:
                verdict = ClauseVerdict.NOT_JUDGED
            elif tally.failed == 0:
                verdict = ClauseVerdict.PASS
            else:
                verdict = ClauseVerdict.KNOWN if self.is_known(tally.identities) else ClauseVerdict.FAIL
            rows.append(
                ClauseResult(
                    clause=name,
                    title=spec.title,
                    reference=spec.reference,
                    verdict=verdict,
                    judged=tally.judged if tally else 0,
                    failed=tally.failed if tally else 0,
                    examples=tuple(tally.examples) if tally else (),
                    violation_keys=tuple(identity.key for identity in sorted(tally.identities)) if tally else (),
                    identities=tuple(sorted(tally.identities)) if tally else (),
                )
            )
        return tuple(rows)
