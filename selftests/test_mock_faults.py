"""The mock as a reference with faults beside it: one served app answers the reference and any fault that bends
it at a hook point side by side (chosen per request), and the suite's own clauses, in this process, pass the
reference and fail each fault under the clause the catalogue names for it."""

from __future__ import annotations

import dataclasses
import uuid

import pytest

from selftests.conftest import ROOT
from spidra_contract.clauses import CLAUSES, EVERY_REPLY, METHOD_PAIRS, Applies, evaluate
from spidra_contract.clauses.doors import OPTIONS_DOOR, covering_doors
from spidra_contract.core.exchange import Redactor
from spidra_contract.core.spec import load_contract
from spidra_contract.http.client import Gate, GuardedSession, reply_of
from spidra_contract.mock.app import SWITCH_HEADER, make_state
from spidra_contract.mock.catalogue import FAULTS, VARIANTS
from spidra_contract.mock.faults import REGISTRY, Chain, Fault
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY
from spidra_contract.mock.server import MockServer

# The hooked faults a reply shows on its own or beside its owner's (the lifecycle ones need a sequence of reads, a
# burst needs concurrency): every one of them a hook object of the same served app.
SINGLE_REPLY = [
    fault
    for fault in FAULTS
    if fault.name in REGISTRY
    and fault.clause
    and CLAUSES[fault.clause].applies is not Applies.PAIR
    and fault.layers != "burst"
]


@pytest.fixture(scope="module")
def side_by_side():
    """One served mock whose requests may each name faults of their own; its clock fast enough that every job
    has finished, so every status is there to read."""
    state = make_state(time_scale=1000.0, per_request=True)
    redactor = Redactor()
    redactor.add(ALPHA_KEY, "$SPIDRA_API_KEY")  # as a run does: a reply that hands a key out is seen
    redactor.add(BETA_KEY, "$SPIDRA_OTHER_API_KEY")
    with MockServer(state) as server:
        session = GuardedSession(
            redactor=redactor,
            gate=Gate(rate=0, max_requests=0),
            origin=server.base_url,
            timeout=10,
            allow_unsafe=True,  # the OPTIONS door: the embedded mock, as the suite sends it there
        )
        yield server, state, session
        session.close()


# Strangers to a job, as the auth and door layers knock: (who, headers), with the clause the answer is held to.
STRANGERS = (
    ("no key", {}, "auth-required"),
    ("empty key", {"x-api-key": ""}, "auth-required"),
    ("key less its last character", {"x-api-key": ALPHA_KEY[:-1]}, "auth-required"),
    ("key case swapped", {"x-api-key": ALPHA_KEY.swapcase()}, "auth-required"),
    ("Bearer near miss", {"Authorization": f"Bearer {ALPHA_KEY[:-1]}x"}, "auth-required"),
    ("other account", {"x-api-key": BETA_KEY}, "foreign-job"),
)


def violated(side_by_side, switches: tuple[str, ...]) -> set[str]:
    """Every clause broken by what the suite's layers ask of each job (its owner, every stranger, each held
    to its clause and to door-locked beside the owner's read) and of ids that name no job (unknown, hostile)."""
    server, state, session = side_by_side
    contract = load_contract(ROOT / "openapi.yaml")
    chosen = {SWITCH_HEADER: ",".join(switches)} if switches else {}

    def ask(job_id: str, headers: dict[str, str]):
        return reply_of(session.get(f"{server.base_url}/crawl/{job_id}", headers=chosen | headers))

    broken: set[str] = set()

    def judge(reply, *names: str) -> None:
        broken.update(name for name, verdict in evaluate(reply, contract, (*EVERY_REPLY, *names)).items() if verdict)

    for job_id in state.job_ids("alpha"):
        owner = ask(job_id, {"x-api-key": ALPHA_KEY})
        judge(owner)
        head = reply_of(session.head(f"{server.base_url}/crawl/{job_id}", headers=chosen | {"x-api-key": ALPHA_KEY}))
        broken.update(name for name in METHOD_PAIRS if CLAUSES[name].check(owner, head, contract))
        for _, headers, clause in STRANGERS:
            stranger = ask(job_id, headers)
            judge(stranger, clause)
            if CLAUSES["door-locked"].check(owner, stranger, contract):
                broken.add("door-locked")
    # Every member of every axis of the suite's door catalogue, for one job: knocked by no key and by the other
    # account, each beside the owner's read through the same door (door-locked).
    job_id = state.job_ids("alpha")[0]
    owner = ask(job_id, {"x-api-key": ALPHA_KEY})  # the reference a stranger's answer is held against
    for door in (*covering_doors(), OPTIONS_DOOR):
        for key in (None, BETA_KEY):
            method, url, headers = door.request(server.base_url, job_id, key, "x-api-key")
            stranger = reply_of(session.request(method, url, headers=chosen | dict(headers)))
            # As the suite's `knock` says: a request sent to another route names the job in a header.
            stranger = dataclasses.replace(stranger, rewritten=bool(door.routing.via))
            if CLAUSES["door-locked"].check(owner, stranger, contract):
                broken.add("door-locked")
    # The key in the query string alone (a channel the spec does not give it).
    url = f"{server.base_url}/crawl/{job_id}?api_key={ALPHA_KEY}"
    judge(reply_of(session.get(url, headers=chosen)), "auth-required")
    odd_ids = (
        f"no-such-{uuid.uuid4()}",
        "x" * 1500,
        "a'; DROP TABLE jobs; --",
        f"..%2F{state.job_ids('alpha')[0]}",
        "%0D%0AX-Injected%3A%201",  # a CR LF that would start a header (response splitting)
    )
    for odd in odd_ids:
        reply = ask(odd, {"x-api-key": ALPHA_KEY})
        judge(reply, "unknown-job", "hostile-id")
    return broken


def test_the_reference_breaks_no_clause(side_by_side):
    assert violated(side_by_side, ()) == set()


@pytest.mark.parametrize("fault", [pytest.param(f, id=f.name) for f in SINGLE_REPLY])
def test_each_fault_bends_the_reference_at_its_point_and_breaks_its_clause(side_by_side, fault):
    assert fault.clause in violated(side_by_side, (fault.name,))


# Pacing variants (slow, a cold start, 429s) only wait: the catalogue's whole-suite runs prove them.
HOOKED_VARIANTS = [v for v in VARIANTS if v.name in REGISTRY and type(REGISTRY[v.name]).pace is Fault.pace]


@pytest.mark.parametrize("variant", [pytest.param(v, id=v.name) for v in HOOKED_VARIANTS])
def test_each_hooked_variant_stays_within_the_contract(side_by_side, variant):
    assert violated(side_by_side, (variant.name,)) == set()


def test_a_fault_asked_by_one_request_leaves_the_next_one_as_the_reference(side_by_side):
    server, state, session = side_by_side
    job_id = state.job_ids("alpha")[0]
    bent = session.get(
        f"{server.base_url}/crawl/{job_id}", headers={"x-api-key": ALPHA_KEY, SWITCH_HEADER: "status-uppercase"}
    )
    plain = session.get(f"{server.base_url}/crawl/{job_id}", headers={"x-api-key": ALPHA_KEY})
    assert bent.json()["status"] == plain.json()["status"].upper() != plain.json()["status"]


def test_a_switch_that_is_no_hook_is_refused_per_request_not_ignored(side_by_side):
    server, state, session = side_by_side
    job_id = state.job_ids("alpha")[0]
    refused = session.get(
        f"{server.base_url}/crawl/{job_id}", headers={"x-api-key": ALPHA_KEY, SWITCH_HEADER: "endless-body"}
    )
    assert refused.status_code == 400
    assert "endless-body" in refused.json()["message"]


def test_every_hook_object_is_a_switch_of_the_catalogue_and_the_chain_keeps_the_registry_order():
    from spidra_contract.mock.catalogue import CATALOGUE

    assert set(REGISTRY) <= set(CATALOGUE)
    chain = Chain.of(["body-array", "status-uppercase"])
    assert [fault.name for fault in chain] == [name for name in REGISTRY if name in ("body-array", "status-uppercase")]


def test_the_mock_leaves_the_process_random_generator_alone(side_by_side):
    """The mock answers from a thread of the suite's own process, where hypothesis watches the process-wide
    `random` while it draws: no fault or variant may move it (the noisy variant once did, now and then failing the
    property test of a conformant target)."""
    import random

    server, state, session = side_by_side
    before = random.getstate()
    for name in REGISTRY:
        session.get(
            f"{server.base_url}/crawl/{state.job_ids('alpha')[0]}",
            headers={"x-api-key": ALPHA_KEY, SWITCH_HEADER: name},
        )
    assert random.getstate() == before
