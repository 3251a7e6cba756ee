"""The clause functions, the spec reader and the redactor, on hand-made replies (no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spidra_contract.clauses import CLAUSES, EVERY_REPLY, evaluate
from spidra_contract.core.exchange import REDACTED, Redactor, Reply
from spidra_contract.core.judgement import ExchangeRecord, Judgement, Violation
from spidra_contract.core.spec import load_contract
from spidra_contract.http.client import retry_after_seconds
from spidra_contract.judging.judge import ContractViolation, judgements_in

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def contract():
    return load_contract(ROOT / "openapi.yaml")


def reply(body, status=200, content_type="application/json", method="GET") -> Reply:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Reply(
        method=method,
        url="http://api.test/api/crawl/abc",
        request_headers={"x-api-key": "$SPIDRA_API_KEY"},
        status=status,
        headers={"Content-Type": content_type},
        content=content,
    )


def broken(contract, r) -> set[str]:
    return {name for name, verdict in evaluate(r, contract).items() if verdict}


def test_the_spec_example_is_conformant_although_it_has_error_null(contract):
    assert broken(contract, reply(contract.example_200)) == set()


def test_the_nullable_defect_is_found_with_its_fix(contract):
    pointers = {d.pointer.rsplit("/", 1)[-1]: d.suggestion for d in contract.defects}
    assert set(pointers) == {"result", "error"}
    assert "['string', 'null']" in pointers["error"]


def test_the_document_given_to_schemathesis_spells_null_the_31_way(contract):
    schema = contract.response_schema(200)["properties"]
    assert schema["error"]["type"] == ["string", "null"]
    assert "nullable" not in json.dumps(contract.document)


@pytest.mark.parametrize(
    ("body", "clause"),
    [
        pytest.param({"status": "running"}, "status-enum", id="status-running"),
        pytest.param({"progress": {"pagesCrawled": -1, "maxPages": 3}}, "progress", id="negative-pages"),
        pytest.param({"progress": {"pagesCrawled": 4, "maxPages": 3}}, "progress", id="pages-over-max"),
        pytest.param({"progress": {"maxPages": "3"}}, "progress", id="max-pages-string"),
        pytest.param({"result": {"a": 1}}, "result-shape", id="result-object"),
        pytest.param({"result": [{"data": "markdown"}]}, "result-shape", id="data-string"),
        pytest.param({"error": 5}, "nullable-error", id="error-number"),
        pytest.param({"status": "completed", "result": None}, "status-semantics", id="completed-null-result"),
        pytest.param({"status": "failed", "error": " "}, "status-semantics", id="failed-blank-error"),
        pytest.param({"status": "waiting", "result": [{}]}, "status-semantics", id="waiting-with-items"),
    ],
)
def test_each_body_clause_catches_its_fault(contract, body, clause):
    assert broken(contract, reply(body)) == {clause}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"status": "active", "extra": {"x": 1}, "progress": {"pagesCrawled": 0}}, id="extra-fields"),
        pytest.param(
            {"status": "completed", "result": [], "progress": {"pagesCrawled": 0, "maxPages": 0}}, id="zero-pages"
        ),
        pytest.param({"status": "failed", "error": "DNS", "result": None}, id="failed"),
        pytest.param({"status": "completed", "result": [{"url": "u", "depth": 2}]}, id="sparse-item"),
    ],
)
def test_conformant_bodies_pass_every_clause(contract, body):
    assert broken(contract, reply(body)) == set()


def test_media_type_parameters_are_allowed_but_other_types_are_not(contract):
    assert broken(contract, reply({}, content_type="application/json; charset=utf-8")) == set()
    assert broken(contract, reply({}, content_type="text/json")) == {"json-body"}
    assert broken(contract, reply(b"{oops")) >= {"json-body"}


@pytest.mark.parametrize(
    ("body", "clause"),
    [
        pytest.param({"status": "fail", "message": "x"}, "error-response", id="status-fail"),
        pytest.param({"status": "error"}, "error-response", id="no-message"),
        pytest.param({"status": "error", "message": ""}, "error-response", id="empty-message"),
        pytest.param({"status": "error", "message": 'File "/app/x.py", line 3'}, "error-hygiene", id="trace"),
        pytest.param({"status": "error", "message": 'syntax error at or near "\'"'}, "error-hygiene", id="sql"),
    ],
)
def test_error_clauses_catch_their_faults(contract, body, clause):
    assert broken(contract, reply(body, status=404)) == {clause}


@pytest.mark.parametrize(
    "message",
    [
        "Crawl job not found",
        "Please select a job from the list",
        "Job https://example.com/home/app/x was not found",
        "Update your key settings in the dashboard",
        "ValidationFailed: jobId must be a UUID",
    ],
)
def test_ordinary_error_messages_are_not_taken_for_leaks(contract, message):
    assert broken(contract, reply({"status": "error", "message": message}, status=404)) == set()


@pytest.mark.parametrize(
    "message",
    [
        "KeyError: 'job'",
        "java.lang.NullPointerException at com.spidra.Jobs.get(Jobs.java:42)",
        "SELECT * FROM jobs WHERE id = '1'",
        "open /var/lib/spidra/jobs.db failed",
        "E11000 duplicate key error",
    ],
)
def test_leaks_in_error_messages_are_caught(contract, message):
    assert broken(contract, reply({"status": "error", "message": message}, status=404)) == {"error-hygiene"}


def test_an_undocumented_status_is_a_violation_only_for_get_and_head(contract):
    assert broken(contract, reply({"status": "error", "message": "x"}, status=401)) == {"documented-status"}
    assert CLAUSES["documented-status"].check(reply(b"", status=405, method="DELETE"), contract) is None


def test_pairwise_clauses_see_regressions(contract):
    completed = reply({"status": "completed", "result": [], "progress": {"pagesCrawled": 2, "maxPages": 5}})
    active = reply({"status": "active", "progress": {"pagesCrawled": 1, "maxPages": 6}})
    assert CLAUSES["lifecycle-forward"].check(completed, active, contract)
    assert CLAUSES["lifecycle-forward"].check(active, completed, contract) == []
    assert len(CLAUSES["progress-monotonic"].check(completed, active, contract)) == 2
    changed = reply({"status": "completed", "result": [{"url": "u"}]})
    assert CLAUSES["terminal-stable"].check(completed, changed, contract)


def test_every_clause_is_registered_with_its_layer_and_proven_by_a_fault():
    """The registry is the one place a clause's metadata lives: every clause says which replies it judges and
    which layer catches it (a marker the plugin registers), and a fault of the mock breaks it (a clause nobody has
    seen fail is not yet a clause). Adding one is its function, its fault and its test."""
    from spidra_contract.clauses import Applies, names
    from spidra_contract.cli import marker_expression
    from spidra_contract.mock.catalogue import FAULTS
    from spidra_contract.plugin.session import MARKERS

    assert set(CLAUSES) == {name for applies in Applies for name in names(applies)}
    assert set(EVERY_REPLY) < set(CLAUSES)
    for name, registered in CLAUSES.items():
        assert registered.layer in MARKERS, name
        assert any(fault.clause == name for fault in FAULTS), f"no fault of the mock proves {name}"
    for fault in FAULTS:
        assert not fault.clause or fault.clause in CLAUSES, fault.name
        assert all(part in MARKERS for part in marker_expression(fault).split(" or ") if part), fault.name


def test_redactor_hides_the_key_and_its_variants():
    redactor = Redactor()
    redactor.add("sk_live_abcdef123456", "$SPIDRA_API_KEY")
    assert redactor.headers({"x-api-key": "sk_live_abcdef123456"}) == {"x-api-key": "$SPIDRA_API_KEY"}
    for variant in ("SK_LIVE_ABCDEF123456", "sk_live_abcdef12345", "sk_live_abcdef1234567"):
        assert "abcdef" not in redactor.text(f"key {variant} rejected")
    assert "abcdef" not in redactor.url("http://x/api/crawl/1?api_key=sk_live_abcdef123456")


_KEY = "sk_live_abcdef123456"
_FRAGMENTS = [_KEY, _KEY[:-1], _KEY.upper(), _KEY[:6], "\u0131", "\u0130", "\u017f", "\u212a", "K", "s", "i", "-", " "]


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    pieces=st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=6)), max_size=12),
    short=st.booleans(),
    fold_slice=st.sampled_from([5, 19, 64 * 1024]),
)
def test_the_redactors_quick_no_secret_answer_never_changes_what_is_redacted(pieces, short, fold_slice):
    """`Redactor.text` skips its pattern when no needle is in the case-folded text (searched slice by slice):
    it must give exactly what the pattern alone gives, whatever the text (case-swapped keys, Unicode letters
    that case-insensitive matching takes for ASCII ones: dotless i, long s, the Kelvin sign) and wherever a
    key falls across a slice's edge."""
    from unittest import mock

    from spidra_contract.core import exchange

    with mock.patch.object(exchange, "_FOLD_SLICE", fold_slice):
        redactor = Redactor()
        redactor.add(_KEY, "$SPIDRA_API_KEY")
        if short:
            redactor.add("s3cr", "$SHORT")  # a short secret: only where it stands alone
        text = "".join(pieces).replace("i", "\u0131", 1)
        pattern = redactor._pattern
        assert pattern is not None
        assert redactor.text(text) == pattern.sub(REDACTED, text)
        assert redactor.text(_KEY.replace("i", "\u0131").replace("s", "\u017f")) == REDACTED


def test_retry_after_accepts_seconds_and_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) == 1.0
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0


def test_judgements_travel_on_the_exception_even_when_schemathesis_wraps_them():
    from schemathesis.core.failures import CustomFailure, FailureGroup

    exchange = ExchangeRecord("x-1", "GET /crawl/abc", 200, "application/json", "{}", "curl x")
    found = [
        Judgement(
            "result-shape", "t", (Violation("result-shape", "'x' is not of type 'object'", "/result/3/data"),), exchange
        ),
        Judgement("status-enum", "t", (Violation("status-enum", "bad"),), exchange),
    ]
    ours = ContractViolation(found)
    wrapped = FailureGroup([CustomFailure(operation="GET", title="t", message="m", exception=ours)])
    assert judgements_in(wrapped) == found
    assert {(i.clause, i.pointer) for j in judgements_in(ours) for i in j.identities} == {
        ("result-shape", "/result/*/data"),
        ("status-enum", ""),
    }
    assert judgements_in(AssertionError("plain")) == []


@pytest.mark.parametrize(
    "sent",
    [
        pytest.param("sk_live_abcdef123456", id="the-key"),
        pytest.param("sk_live_abcdef12345", id="truncated"),
        pytest.param("sk_live_abcdef1234560", id="extended"),
        pytest.param("SK_LIVE_ABCDEF123456", id="case-changed"),
        pytest.param("Bearer sk_live_abcdef123456", id="bearer"),
    ],
)
def test_reproduction_line_rebuilds_the_exact_key_variant_from_the_environment(sent):
    import subprocess

    from spidra_contract.core.exchange import reply_from_parts

    key = "sk_live_abcdef123456"
    redactor = Redactor()
    redactor.add(key, "$SPIDRA_API_KEY")
    recorded = reply_from_parts(
        method="GET",
        url="http://api.test/api/crawl/a%24b?x=$HOME",
        request_headers={"x-api-key": sent},
        status=403,
        headers={},
        content=b"",
        elapsed_ms=0,
        redactor=redactor,
    )
    line = recorded.curl()
    assert key.lower()[:-1] not in line.lower()
    # Run the line with printf instead of curl: the shell must hand curl exactly what the suite sent.
    shown = subprocess.run(
        ["bash", "-c", "printf '%s\\n' " + line.removeprefix("curl ")],
        capture_output=True,
        text=True,
        env={"SPIDRA_API_KEY": key, "PATH": "/usr/bin:/bin"},
        check=True,
    ).stdout
    assert f"x-api-key: {sent}" in shown.splitlines()
    assert "http://api.test/api/crawl/a%24b?x=%24HOME" in shown or "x=$HOME" in shown


def test_an_excerpt_of_a_binary_body_shows_control_characters_as_escapes():
    excerpt = reply(b"\x00\x1f\x7fok\n").excerpt
    assert excerpt == "\\x00\\x1f\\x7fok\n"


def test_clause_junit_stays_well_formed_when_a_violation_quotes_control_characters():
    import xml.etree.ElementTree as ET

    from spidra_contract.core.judgement import ClauseResult, ClauseVerdict
    from spidra_contract.core.model import Report
    from spidra_contract.core.outcome import Outcome, RunVerdict, TestCounts
    from spidra_contract.reporting.render import junit

    exchange = ExchangeRecord("x-1", "GET /x", 200, "application/json", "\x01\x02", "curl x")
    example = Judgement("json-body", "t", (Violation("json-body", "bad \x00 byte"),), exchange)
    row = ClauseResult("json-body", "t", "r", ClauseVerdict.FAIL, 1, 1, (example,), ("json-body:",))
    report = Report(
        Outcome(RunVerdict.VIOLATIONS, 1, "bad \x00"), TestCounts(), (row,), target={"kind": "embedded mock"}
    )
    root = ET.fromstring(junit(report).encode())
    failure = root.find("testcase[@name='json-body']/failure")
    assert failure is not None
    assert "\\x00" in failure.get("message", "")


def test_an_empty_body_has_nothing_to_decode_whatever_its_content_encoding():
    from spidra_contract.http.client import Body, decode_body

    assert decode_body(Body(b""), "gzip", 1024) == Body(b"")
    assert decode_body(Body(b"not gzip"), "gzip", 1024).problem


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("Authorization", "Basic " + __import__("base64").b64encode(b"sk_live_0123456789abcdef:").decode()),
        ("Cookie", "api_key=sk_live_0123456789abcdef"),
        ("Authorization", "Bearer sk_live_0123456789abcdef"),
    ],
    ids=["basic", "cookie", "bearer"],
)
def test_a_reproduction_line_rebuilds_every_auth_channel_from_the_environment(name, value):
    import shlex
    import subprocess

    key = "sk_live_0123456789abcdef"
    redactor = Redactor()
    redactor.add(key, "$SPIDRA_API_KEY")
    shown = redactor.headers({name: value})[name]
    assert key not in shown
    import dataclasses

    line = dataclasses.replace(reply(b"{}", status=403), request_headers={name: shown})
    curl = line.curl()
    assert key not in curl
    header_word = shlex.split(curl)[shlex.split(curl).index("-H") + 1]
    quoted = curl.split(" -H ", 1)[1].rsplit(" ", 1)[0]
    rebuilt = subprocess.run(
        ["bash", "-c", f"printf %s {quoted}"],
        env={"SPIDRA_API_KEY": key, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert rebuilt == f"{name}: {value}", (header_word, rebuilt)


def test_the_suite_judges_through_clauses_never_a_bare_assert():
    """pytest.ini runs the suite with --assert=plain (rewriting every installed plugin's asserts costs about
    half a second a run): a bare assert in tests/ would fail with no evidence, so there is none."""
    import ast

    sources = [*sorted((ROOT / "tests").glob("*.py")), ROOT / "conftest.py"]
    found = [
        f"{path.name}:{node.lineno}"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Assert)
    ]
    assert not found, found
    assert "--assert=plain" in (ROOT / "pytest.ini").read_text()


@pytest.mark.parametrize(
    ("status", "body", "locked"),
    [
        pytest.param(204, b"", True, id="preflight-204"),
        pytest.param(200, {"status": "error", "message": "nope"}, True, id="error-body-200"),
        pytest.param(405, {"status": "completed"}, True, id="refused"),
        pytest.param(200, {"status": "completed", "result": []}, False, id="the-job"),
    ],
)
def test_a_strangers_options_may_be_a_preflight_but_never_the_job(contract, status, body, locked):
    owner = reply({"status": "completed", "result": None})
    verdict = CLAUSES["door-locked"].check(owner, reply(body, status=status, method="OPTIONS"), contract)
    assert (not verdict) is locked, verdict


def _job_reply(body: dict[str, object]) -> Reply:
    from spidra_contract.core.exchange import reply_from_parts

    return reply_from_parts(
        method="GET",
        url="http://api.test/api/crawl/j",
        request_headers={},
        status=200,
        headers={"content-type": "application/json"},
        content=json.dumps(body).encode(),
        elapsed_ms=0,
        redactor=Redactor(),
    )


def _job_time():
    """The embedded mock's job clock as the watch sees it: a pause moves the job on instead of sleeping."""
    from spidra_contract.judging.lifecycle import JobTime
    from spidra_contract.mock.jobs import SteppedClock

    clock = SteppedClock()
    return clock, JobTime(clock)


def test_the_watch_backs_off_from_a_job_that_reads_the_same_and_keeps_pace_with_one_that_moves():
    """Over a budget of 64 intervals a stuck job is read a handful of times (pauses doubling up to MAX_BACKOFF
    intervals), a job whose progress moves on every read at every interval. In job time: no sleeping."""
    from spidra_contract.judging import lifecycle

    def watched(read):
        return lifecycle.watch("j", read, interval=1.0, budget=64.0, stable_reads=0, pace=_job_time()[1])

    stuck = watched(lambda _: _job_reply({"status": "waiting"}))
    pages = iter(range(10_000))
    moving = watched(lambda _: _job_reply({"status": "active", "progress": {"pagesCrawled": next(pages)}}))
    # Pauses of 1, 2, 4, then 8 intervals: reads at 0, 1, 3, 7, then every 8 to 63, and a last one at the
    # budget's end (64); the moving job at every interval from 0 to 64.
    assert len(stuck.reads) == 4 + (63 - 7) // lifecycle.MAX_BACKOFF + 1, stuck.story
    assert len(moving.reads) == 65, moving.story


@pytest.mark.parametrize("budget", [63.5, 64.0, 64.9, 70.2])
def test_the_watch_reads_at_the_end_of_its_budget_whatever_its_back_off_and_re_reads_a_job_that_finished(budget):
    """A job stuck in `waiting` that completes just before the budget ends (after the watch has backed off to 8
    intervals a read) is read at the budget's end, seen completed, and read `stable_reads` times more."""
    from spidra_contract.judging import lifecycle

    clock, pace = _job_time()
    finishes_at = budget - 0.25

    def read(job_id: str) -> Reply:
        return _job_reply({"status": "completed" if clock.now(job_id) >= finishes_at else "waiting"})

    timeline = lifecycle.watch("j", read, interval=1.0, budget=budget, stable_reads=3, pace=pace)
    assert timeline.finished, timeline.story
    assert timeline.story.endswith("completed x4"), timeline.story
    assert clock.now("j") <= budget + 3 * 1.0


def test_on_job_time_the_watch_reads_the_same_story_whatever_the_machine_and_the_other_readers_do():
    """The embedded mock's jobs move only when the watch waits, each on its own clock: a read that takes long,
    jobs watched side by side, and other readers of the same job in between change nothing the watch reads
    (issue 30: the default ci run makes the same requests every time). The watch is over when `start` returns."""
    import time

    from spidra_contract.judging.lifecycle import JobTime, Watch
    from spidra_contract.mock.app import make_state
    from spidra_contract.mock.jobs import SteppedClock

    def stories(slow: float, meddle: bool) -> dict[str, str]:
        state = make_state(time_scale=10.0, clock=SteppedClock())
        owner = state.store.ids_of("alpha")
        reads: list[str] = []

        def read(job_id: str) -> Reply:
            reads.append(job_id)
            job = state.store.get(job_id)
            assert job is not None
            state.store.touch(job, state.clock.now(job_id))
            status, crawled, _, _ = job.state(state.clock.now(job_id), state.time_scale)
            if meddle:  # another layer reads some other job at the same moment: no job moves for it
                other = state.store.get(owner[-1])
                assert other is not None
                other.state(state.clock.now(other.id), state.time_scale)
            time.sleep(slow)
            return _job_reply({"status": status, "progress": {"pagesCrawled": crawled}})

        watch = Watch(tuple(owner), read, interval=0.05, budget=1.0, stable_reads=3, pace=JobTime(state.clock))
        watch.start()
        made = len(reads)
        time.sleep(0.05)
        assert len(reads) == made  # nothing left running once start() returned
        timelines = watch.result()
        assert sum(len(timeline.reads) for timeline in timelines.values()) == made
        return {job: timeline.story for job, timeline in timelines.items()}

    first = stories(0.0, meddle=False)
    assert any("-> completed" in story for story in first.values()), first  # a job was seen moving to its end
    assert stories(0.003, meddle=True) == first


@pytest.mark.parametrize(
    ("field", "clauses"),
    [
        pytest.param('"pagesCrawled":-{n}', ("progress",), id="negative-pages"),
        pytest.param('"pagesCrawled":{n}', ("progress",), id="pages-past-max"),
        pytest.param('"error":{n}', ("nullable-error", "status-semantics"), id="error-an-integer"),
        pytest.param('"result":{n}', ("result-shape", "status-semantics"), id="result-an-integer"),
    ],
)
def test_a_violation_by_an_integer_of_a_million_digits_is_judged_by_value_and_shown_by_its_length(field, clauses):
    """JSON sets no limit on an integer's length; Python will not write one of more than a few thousand digits.
    A clause judges it by value and its violation describes it (`<an integer of about N digits>`), never a crash."""
    from spidra_contract.core.exchange import Redactor, reply_from_parts
    from spidra_contract.core.spec import load_contract

    status = "failed" if "error" in field else "completed"
    values = {"pagesCrawled": 1, "maxPages": 5, "result": "[]" if status == "completed" else "null", "error": "null"}
    key = field.split('"')[1]
    huge = field.format(n="9" * 1_000_000)
    progress = ",".join(huge if name == key else f'"{name}":{values[name]}' for name in ("pagesCrawled", "maxPages"))
    rest = ",".join(huge if name == key else f'"{name}":{values[name]}' for name in ("result", "error"))
    body = f'{{"status":"{status}","progress":{{"message":"m",{progress}}},{rest}}}'
    reply = reply_from_parts(
        method="GET",
        url="http://api.test/api/crawl/1",
        request_headers={},
        status=200,
        headers={"Content-Type": "application/json"},
        content=body.encode(),
        elapsed_ms=1,
        redactor=Redactor(),
    )
    contract = load_contract(ROOT / "openapi.yaml")
    for name in clauses:
        verdict = CLAUSES[name].check(reply, contract)
        assert verdict, name
        assert "integer of about 1000001 digits" in verdict[0].message, verdict[0].message[:200]
        assert len(verdict[0].message) < 300
