"""Table-driven unit tests of the suite's logic, no server and no subprocess: the verdict (`decide`), failure
classification, judging with re-reads, the gate's limits, the ledger's merge, option resolution and the report
model's round trip."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from spidra_contract.core import outcome as outcomes
from spidra_contract.core.exchange import Reply
from spidra_contract.core.judgement import (
    ClauseResult,
    ClauseVerdict,
    ExchangeRecord,
    Judgement,
    Kind,
    RunVerdict,
    TestFailure,
    Trip,
    Tripped,
    Violation,
)
from spidra_contract.core.outcome import Evidence
from spidra_contract.core.spec import load_contract
from spidra_contract.http.client import BudgetExhausted, Gate, RateLimited
from spidra_contract.judging.judge import ContractViolation, Judge, classify
from spidra_contract.judging.ledger import EXAMPLES_PER_CLAUSE, Ledger

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def contract():
    return load_contract(ROOT / "openapi.yaml")


def row(clause: str, verdict: ClauseVerdict) -> ClauseResult:
    judged = 0 if verdict is ClauseVerdict.NOT_JUDGED else 3
    failed = 1 if verdict in (ClauseVerdict.FAIL, ClauseVerdict.KNOWN) else 0
    return ClauseResult(clause, clause, "", verdict, judged, failed, (), ())


PASSING = (row("status-enum", ClauseVerdict.PASS), row("progress", ClauseVerdict.PASS))
FAILING = (row("status-enum", ClauseVerdict.FAIL), row("progress", ClauseVerdict.PASS))
KNOWN = (row("status-enum", ClauseVerdict.KNOWN), row("progress", ClauseVerdict.PASS))
CHECK = TestFailure("t::check", Kind.CHECK, "schemathesis check")
ERROR = TestFailure("t::error", Kind.ERROR, "KeyError")
GREEN = {"ran": 10, "ok_replies": 3}


@pytest.mark.parametrize(
    ("evidence", "clauses", "verdict", "code"),
    [
        pytest.param(GREEN, PASSING, RunVerdict.CONFORMANT, 0, id="green"),
        pytest.param(GREEN, KNOWN, RunVerdict.CONFORMANT, 0, id="known-only"),
        pytest.param(GREEN, FAILING, RunVerdict.VIOLATIONS, 1, id="a-clause-fails"),
        pytest.param(GREEN | {"failures": [CHECK]}, PASSING, RunVerdict.VIOLATIONS, 1, id="a-check-fails"),
        pytest.param(GREEN | {"pytest_status": 2}, FAILING, RunVerdict.INTERRUPTED, 2, id="interrupt-wins"),
        pytest.param(GREEN | {"pytest_status": 4}, PASSING, RunVerdict.USAGE_ERROR, 4, id="pytest-usage-error"),
        pytest.param(GREEN | {"unreachable": "cannot reach"}, PASSING, RunVerdict.COULD_NOT_TEST, 6, id="unreachable"),
        pytest.param(GREEN | {"failures": [ERROR]}, PASSING, RunVerdict.SUITE_ERROR, 3, id="suite-error"),
        pytest.param(GREEN | {"failures": [ERROR]}, FAILING, RunVerdict.VIOLATIONS, 1, id="violations-over-errors"),
        pytest.param(GREEN | {"report_errors": ["x: full"]}, PASSING, RunVerdict.SUITE_ERROR, 3, id="report-unwritten"),
        pytest.param(
            GREEN | {"trip": Tripped(Trip.BUDGET, "spent")}, PASSING, RunVerdict.INCOMPLETE, 7, id="budget-spent"
        ),
        pytest.param(
            GREEN | {"trip": Tripped(Trip.NOT_ANSWERING, "x")}, PASSING, RunVerdict.COULD_NOT_TEST, 6, id="stopped"
        ),
        pytest.param(GREEN | {"network_errors": ["GET x"]}, PASSING, RunVerdict.INCOMPLETE, 7, id="network-error"),
        pytest.param(GREEN | {"refused": ["429"]}, PASSING, RunVerdict.INCOMPLETE, 7, id="refused"),
        pytest.param({"ran": 0}, PASSING, RunVerdict.NO_TESTS, 5, id="nothing-ran"),
        pytest.param({"ran": 5, "ok_replies": 0}, PASSING, RunVerdict.INCOMPLETE, 7, id="no-job-body-read"),
        pytest.param(
            {"ran": 5, "ok_replies": 0, "subset": True, "needs_jobs": False},
            PASSING,
            RunVerdict.CONFORMANT,
            0,
            id="a-subset-that-reads-no-job",
        ),
    ],
)
def test_decide_gives_each_situation_its_verdict_and_exit_code(evidence, clauses, verdict, code):
    assert outcomes.decide(Evidence(**evidence), clauses)[:2] == (verdict, code)


EXCHANGE = ExchangeRecord("x-1", "GET /crawl/a", 200, "application/json", "{}", "curl x")


def judgement(kind: Kind = Kind.VIOLATION) -> Judgement:
    return Judgement("status-enum", "t", (Violation("status-enum", "bad", "/status"),), EXCHANGE, kind=kind)


@pytest.mark.parametrize(
    ("exc", "when", "kind"),
    [
        pytest.param(ContractViolation([judgement()]), "call", Kind.VIOLATION, id="violation"),
        pytest.param(ContractViolation([judgement(Kind.KNOWN)]), "call", Kind.KNOWN, id="known"),
        pytest.param(
            ContractViolation([judgement(Kind.KNOWN), judgement()]), "call", Kind.VIOLATION, id="partly-known"
        ),
        pytest.param(ExceptionGroup("g", [ContractViolation([judgement()])]), "call", Kind.VIOLATION, id="grouped"),
        pytest.param(AssertionError("x"), "call", Kind.CHECK, id="assertion"),
        pytest.param(AssertionError("x"), "setup", Kind.ERROR, id="assertion-in-setup"),
        pytest.param(KeyError("x"), "call", Kind.ERROR, id="crash"),
    ],
)
def test_a_failure_is_classified_by_what_was_raised(exc, when, kind):
    assert classify(exc, when)[0] is kind


def reply(status_value: str, method: str = "GET") -> Reply:
    body = {"status": status_value, "progress": None, "result": None, "error": None}
    return Reply(
        method,
        "http://api.test/api/crawl/a",
        {},
        200,
        {"Content-Type": "application/json"},
        json.dumps(body).encode(),
        exchange_id="x-1",
    )


class Rereads:
    """A target that answers the re-reads with the statuses given, in turn."""

    def __init__(self, *statuses: str) -> None:
        self.statuses = list(statuses)
        self.asked = 0

    def __call__(self, original: Reply) -> Reply | None:
        self.asked += 1
        return reply(self.statuses.pop(0)) if self.statuses else None


@pytest.mark.parametrize(
    ("rereads", "spare", "method", "label"),
    [
        pytest.param(("bogus", "bogus"), None, "GET", "consistent 3/3", id="consistent"),
        pytest.param(("waiting", "waiting"), None, "GET", "intermittent 1/3", id="intermittent"),
        pytest.param(("bogus", "waiting"), None, "GET", "intermittent 2/3", id="flaky"),
        pytest.param(
            ("bogus", "bogus"),
            "kept the request budget (10) for the run",
            "GET",
            "not re-read (kept the request budget (10) for the run)",
            id="no-budget-to-spare",
        ),
    ],
)
def test_a_violation_says_whether_it_reproduces_when_read_again(contract, rereads, spare, method, label):
    source = Rereads(*rereads)
    judge = Judge(contract, Ledger(), seed="1", reread=source, spare=lambda reads: spare)
    found = judge.judge("t", reply("bogus", method), ("status-enum",))
    assert [j.reproduction.label for j in found] == [label]
    assert source.asked == (2 if label[0] in "ci" else 0)


def test_only_reads_are_sent_again(contract):
    source = Rereads("bogus", "bogus")
    judge = Judge(contract, Ledger(), seed="1", reread=source)
    post = Reply("POST", "http://api.test/api/crawl/a", {}, 500, {}, b"", exchange_id="x-2")
    found = judge.judge("t", post, ("hostile-id",))
    assert [j.reproduction.label for j in found] == ["not re-read (POST is not sent again: only reads are)"]
    assert source.asked == 0


def test_a_slow_read_is_not_read_again(contract):
    import dataclasses

    source = Rereads("bogus", "bogus")
    judge = Judge(contract, Ledger(), seed="1", reread=source)
    slow = dataclasses.replace(reply("bogus"), elapsed_ms=4200.0)
    assert (
        judge.judge("t", slow, ("status-enum",))[0].reproduction.label
        == "not re-read (the read took 4.2 s; not spent again)"
    )
    assert source.asked == 0


def test_re_reads_stop_once_they_have_taken_their_time(contract):
    source = Rereads("bogus", "bogus")
    judge = Judge(contract, Ledger(), seed="1", reread=source, _reread_ms=10_001.0)
    label = judge.judge("t", reply("bogus"), ("status-enum",))[0].reproduction.label
    assert label == "not re-read (the run's re-reads have taken their 10 s)"
    assert source.asked == 0


def test_only_the_judgements_kept_as_evidence_are_read_again(contract):
    source = Rereads(*["bogus"] * 100)
    judge = Judge(contract, Ledger(), seed="1", reread=source)
    labels = [judge.judge("t", reply("bogus"), ("status-enum",))[0].reproduction.label for _ in range(8)]
    assert labels[:EXAMPLES_PER_CLAUSE] == ["consistent 3/3"] * EXAMPLES_PER_CLAUSE
    assert labels[EXAMPLES_PER_CLAUSE:] == ["not re-read (beyond the evidence kept for this clause)"] * 3
    assert source.asked == 2 * EXAMPLES_PER_CLAUSE
    tally = judge.ledger.tallies["status-enum"]
    assert (tally.judged, tally.failed, len(tally.examples)) == (8, 8, EXAMPLES_PER_CLAUSE)


def test_the_gate_spares_rereads_only_from_the_budgets_last_tenth_and_stops_at_the_budget():
    gate = Gate(rate=0, max_requests=20)
    assert gate.spare(2) is None  # 2 of the 2 the budget's tenth allows
    assert gate.spare(1) == "kept the request budget (20) for the run"
    for _ in range(20):
        gate.admit()
    with pytest.raises(BudgetExhausted):
        gate.admit()
    assert Gate(rate=0, max_requests=0).spare(1000) is None  # an unlimited run (the mock) always may


def test_the_gate_stops_waiting_for_a_retry_after_beyond_its_bound():
    gate = Gate(rate=0, max_requests=0)
    assert gate.hold(0.01)
    assert not gate.hold(10_000)
    gate.trip(Trip.RATE_LIMITED, "too long")
    assert gate.tripped == Tripped(Trip.RATE_LIMITED, "too long")
    with pytest.raises(RateLimited):
        gate.admit()


def test_merged_ledgers_count_every_workers_verdicts_and_keep_at_most_five_examples(contract):
    workers = []
    for _ in range(3):
        ledger = Ledger()
        Judge(contract, ledger, seed="1").judge("t", reply("waiting"), ("status-enum",))
        for _ in range(4):
            Judge(contract, ledger, seed="1").judge("t", reply("bogus"), ("status-enum",))
        workers.append(json.loads(json.dumps(ledger.to_dict())))
    merged = Ledger()
    for data in workers:
        merged.merge(data)
    tally = merged.tallies["status-enum"]
    assert (tally.judged, tally.failed) == (15, 12)
    assert len(tally.examples) == EXAMPLES_PER_CLAUSE
    assert all(isinstance(example, Judgement) for example in tally.examples)
    assert merged.drift["status-value:bogus"]["count"] == 12
    assert {(i.clause, i.pointer) for i in merged.identities} == {("status-enum", "/status")}


def options(cli: dict[str, object] | None = None, ini: dict[str, object] | None = None):
    from spidra_contract.core.settings import resolve
    from spidra_contract.mock.catalogue import CATALOGUE

    cli, ini = cli or {}, ini or {}
    return resolve(lambda dest: cli.get(dest), lambda name: ini.get(name, ""), ROOT, known_switches=CATALOGUE)


@pytest.mark.parametrize(
    ("cli", "ini", "env", "expected"),
    [
        pytest.param({}, {}, {}, ("ci", 15.0), id="defaults"),
        pytest.param({}, {"spidra_profile": "nightly"}, {}, ("nightly", 15.0), id="ini"),
        pytest.param({}, {"spidra_profile": "nightly"}, {"SPIDRA_PROFILE": "dev"}, ("dev", 15.0), id="env-over-ini"),
        pytest.param(
            {"spidra_profile": "ci", "spidra_timeout": "3"},
            {},
            {"SPIDRA_PROFILE": "dev"},
            ("ci", 3.0),
            id="option-over-env",
        ),
    ],
)
def test_each_option_comes_from_the_command_line_then_the_environment_then_the_ini(
    monkeypatch, cli, ini, env, expected
):
    for name in ("SPIDRA_PROFILE", "SPIDRA_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    settings = options(cli, ini)
    assert (settings.profile.name, settings.timeout) == expected


@pytest.mark.parametrize(
    ("cli", "env", "says"),
    [
        pytest.param({"spidra_profile": "fast"}, {}, "--profile must be one of", id="bad-option"),
        pytest.param({}, {"SPIDRA_PROFILE": "fast"}, "SPIDRA_PROFILE must be one of", id="bad-variable"),
        pytest.param({"spidra_base_url": "ftp://x"}, {}, "must be an http(s) URL", id="bad-url"),
        pytest.param({"spidra_base_url": "https://x"}, {}, "needs --api-key", id="no-key"),
        pytest.param({"spidra_timeout": "0"}, {}, "must be positive", id="zero-timeout"),
    ],
)
def test_a_bad_option_is_one_line_naming_where_it_came_from(monkeypatch, cli, env, says):
    from spidra_contract.core.settings import OptionError

    for name in ("SPIDRA_PROFILE", "SPIDRA_API_KEY", "SPIDRA_BASE_URL", "SPIDRA_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(OptionError) as error:
        options(cli)
    assert says in str(error.value)
    assert "\n" not in str(error.value)


def test_the_report_model_reads_back_what_it_wrote(tmp_path):
    from spidra_contract.core.model import Drift, DriftKind, Finding, Report, TestResult
    from spidra_contract.core.outcome import Outcome, TestCounts

    report = Report(
        outcome=Outcome(RunVerdict.VIOLATIONS, 1, "1 of 2 judged clauses violated (status-enum)"),
        tests=TestCounts(10, 9, (("failed", 1), ("passed", 8), ("skipped", 1))),
        clauses=(
            ClauseResult("status-enum", "t", "r", ClauseVerdict.FAIL, 3, 1, (judgement(),), ("status-enum:/status",)),
        ),
        failures=(TestFailure("t", Kind.VIOLATION, "status-enum on GET /crawl/a", (judgement(),)),),
        test_results=(TestResult("t", "failed", 0.1, "status-enum on GET /crawl/a"),),
        drift=(Drift("status-value:x", DriftKind.ENUM_VALUE, "status 'x'", 2, "add 'x'"),),
        findings=(Finding("id enumeration", "403 and 404 differ"),),
        target={"kind": "live", "base_url": "https://api.test", "mock_switches": []},
        profile="dev",
        seed="7",
        notes=("a note",),
        report_dir="/tmp/reports",
        spec_name="spec.yaml",
        reproduce_mock="spidra-contract serve-mock",
    )
    assert Report.from_dict(json.loads(json.dumps(report.to_dict()))) == report
    assert report.tests.line == "1 failed, 8 passed, 1 skipped"
