"""Fixtures of the contract suite, named for what they give."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spidra_contract import clauses as clause_defs
from spidra_contract.clauses.doors import Door
from spidra_contract.core.exchange import Reply
from spidra_contract.core.settings import Settings
from spidra_contract.core.spec import Contract
from spidra_contract.http.client import GuardedSession, reply_of
from spidra_contract.judging.judge import Judge
from spidra_contract.judging.ledger import Ledger
from spidra_contract.plugin.run import RUN_KEY, Run, Target


@pytest.fixture(scope="session")
def run(request: pytest.FixtureRequest) -> Run:
    """The run: its target, session, traffic and lifecycle watch (the plugin made it at configure time)."""
    return request.config.stash[RUN_KEY]


@pytest.fixture(scope="session")
def judging(run: Run) -> Judge:
    """Judging: `judging.judge(test, reply, names)` -> judgements; `judging.fail_on(judgements)` fails the test."""
    return run.judging


@pytest.fixture(scope="session")
def ledger(run: Run) -> Ledger:
    """What the run learns beyond verdicts: findings, notes, the access matrix, the jobs' timelines."""
    return run.ledger


@pytest.fixture(scope="session")
def options(run: Run) -> Settings:
    """The run's resolved options (profile, limits, --burst, --allow-unsafe, --job-ids-file)."""
    return run.settings


@pytest.fixture(scope="session")
def target(run: Run) -> Target:
    """The API under test (the embedded mock unless --base-url was given)."""
    assert run.target is not None, "the target is started at session start"
    return run.target


@pytest.fixture(scope="session")
def contract(run: Run) -> Contract:
    """The OpenAPI contract, nullable intent honoured."""
    return run.contract


@pytest.fixture(scope="session")
def known_jobs(run: Run) -> tuple[str, ...]:
    """Job ids of the key's account (from --job-id, or the mock's own)."""
    return run.job_ids


@pytest.fixture(scope="session")
def report_dir(run: Run) -> Path:
    """Where this run writes its reports."""
    return run.settings.report_dir


@pytest.fixture(scope="session")
def api(run: Run) -> GuardedSession:
    """The guarded HTTP session: safe methods only against a live API, budgeted, rate-limited, recorded."""
    return run.session()


class Fetch:
    """Send one request through the guarded session and hand back its redacted `Reply`."""

    def __init__(self, api: GuardedSession, target: Target) -> None:
        self.api = api
        self.target = target

    def __call__(
        self,
        job_id: str,
        *,
        key: str | None = None,
        headers: dict[str, str] | None = None,
        method: str = "GET",
        encode: bool = True,
        params: dict[str, str] | None = None,
    ) -> Reply:
        sent = dict(self.target.auth(key)) if headers is None else headers
        # A request not sent or not answered raises SuiteRefusal: the test is skipped, the run incomplete.
        if not encode and params is None:
            # As written: requests would turn `%2e%2e` into `..` and urllib3 drop the `../`.
            response = self.api.send_raw(method, self.target.url(job_id, encode=False), headers=sent)
        else:
            response = self.api.request(method, self.target.url(job_id, encode=encode), headers=sent, params=params)
        return reply_of(response)


@pytest.fixture(scope="session")
def fetch(api: GuardedSession, target: Target) -> Fetch:
    """`fetch(job_id, key=..., headers=...)` -> Reply, through the guarded session."""
    return Fetch(api, target)


class Knock:
    """Knock on one door of a job as one caller: the request sent as written, the reply named for both."""

    def __init__(self, api: GuardedSession, target: Target) -> None:
        self.api = api
        self.target = target

    def __call__(self, door: Door, job_id: str, caller: str, key: str | None, *, elsewhere: bool = False) -> Reply:
        """`elsewhere`: the door leads somewhere other than the job (`doors.leads_elsewhere`)."""
        method, url, headers = door.request(self.target.base_url, job_id, key, self.target.key_header)
        context = f"door {door.name} (axis {door.axis}), caller: {caller}"
        stranger = key != self.target.api_key
        reply = reply_of(self.api.send_raw(method, url, headers, context=context, stranger=stranger))
        return dataclasses.replace(reply, rewritten=bool(door.routing.via) or elsewhere)


@pytest.fixture(scope="session")
def knock(api: GuardedSession, target: Target) -> Knock:
    """`knock(door, job_id, caller, key)` -> Reply: one door, one caller, through the guarded session."""
    return Knock(api, target)


@pytest.fixture
def judge(run: Run, request: pytest.FixtureRequest) -> Callable[..., None]:
    """`judge(reply, *clause_names)`: apply clauses (default: all single-reply ones); fail with evidence."""

    def apply(reply: Reply, *names: str) -> None:
        __tracebackhide__ = True
        run.judging.expect(request.node.nodeid, reply, names or clause_defs.EVERY_REPLY)

    return apply


@pytest.fixture
def judge_pair(run: Run, request: pytest.FixtureRequest) -> Callable[..., None]:
    """`judge_pair(before, after, *clause_names)`: the clauses that compare two reads of one job."""

    def apply(before: Reply, after: Reply, *names: str) -> None:
        __tracebackhide__ = True
        run.judging.expect_pair(request.node.nodeid, before, after, names or clause_defs.PAIRWISE)

    return apply


@pytest.fixture(scope="session")
def api_schema(run: Run) -> Any:
    """The schemathesis schema for `openapi.yaml` (nullable honoured), configured for this target."""
    return run.schema()


@pytest.fixture(scope="session")
def exempt_checks(run: Run) -> Callable[[Any], list[Any]]:
    """For a generated case's response, the built-in checks it is not held to (a refusal of bytes no client sends:
    `generation.exempt_checks`)."""
    from spidra_contract.plugin.checks import reply_for
    from spidra_contract.plugin.generation import exempt_checks as exempt

    return lambda response: exempt(reply_for(response, run.session()))


@pytest.fixture(scope="session")
def clause_checks(run: Run) -> list[Any]:
    """The clauses as schemathesis checks, bound to this run."""
    from spidra_contract.plugin.checks import checks_for

    assert run.target is not None, "the target is started at session start"
    return checks_for(run.judging, run.target, run.session)
