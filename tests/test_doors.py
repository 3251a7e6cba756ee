"""Every door to a job is locked: whatever method, path or id spelling, key channel or routing header a request
uses (`spidra_contract.clauses.doors`: axes of members from public bypass catalogues), a caller who is not the owner
never gets a 2xx, and no reply of any status carries the job. The doors of the access matrix are asked by every
caller (another account before and right after the owner, so a response cache that ignores the key shows).
Every other member of every axis is asked by reach: first by the owner; a member that reaches something for the
owner (the job, or any answer but the front door's own refusals) is then asked by every caller, one that reaches
nothing by the other account and one caller without a valid key. Combinations of axes are drawn by hypothesis."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spidra_contract.clauses.doors import (
    AXES,
    CATALOGUE,
    CHANNEL,
    EMPTY_KEY,
    FRONT_DOOR,
    MATRIX_DOORS,
    NEAR_MISS,
    NO_KEY,
    OPTIONS_DOOR,
    OTHER_AFTER,
    OTHER_BEFORE,
    OWNER,
    WRONG_KEY,
    Door,
    covering_doors,
    is_open,
    job_marks,
    leads_elsewhere,
    near_miss_keys,
    reaches,
    wrong_key,
)

pytestmark = pytest.mark.doors

OTHER_DOORS = tuple(door for door in covering_doors() if door not in MATRIX_DOORS)


@pytest.fixture(scope="session")
def door_reference(known_jobs, fetch):
    """The owner's own read (front door) of the known job that says the most about itself (a finished crawl
    with results): the reference every stranger's reply is compared with."""
    best = None
    for job_id in known_jobs:
        reply = fetch(job_id)
        if reply.status != 200:
            continue
        marks = job_marks(reply, job_id)
        if best is None or len(marks.strings) > len(best[1].strings):
            best = (job_id, marks, reply)
        if len(marks.strings) >= 3:
            break
    if best is None:
        pytest.skip("no known job answered 200 to its owner: no door to lock-test (pass --job-id)")
    return best[0], best[2]


@pytest.fixture(scope="session")
def front_refusals(door_reference, knock, target, ledger) -> frozenset[int]:
    """The front door's own refusals: its status for an id that names no job (asked by the owner) and for no key
    (the access matrix's front-door answer to no key when this process asked it, else asked here). A member whose
    answer to the owner is one of them reached nothing."""
    job_id, _ = door_reference
    unknown = knock(FRONT_DOOR, f"spidra-contract-no-such-job-{uuid.uuid4()}", f"{OWNER}, unknown id", target.api_key)
    keyless = ledger.access.get(FRONT_DOOR.name, {}).get(NO_KEY)
    if not isinstance(keyless, int):
        keyless = knock(FRONT_DOOR, job_id, NO_KEY, None).status
    return frozenset({unknown.status, keyless})


@pytest.fixture(scope="session")
def strangers(target):
    """Every caller who may not read the owner's job, with the key each presents (None: no key at all)."""
    callers = {NO_KEY: None, EMPTY_KEY: "", WRONG_KEY: wrong_key(target.api_key)}
    if target.other_api_key:
        callers[OTHER_AFTER] = target.other_api_key
    callers.update(near_miss_keys(target.api_key))
    return callers


def _judge_strangers(judging, request, reference, replies) -> None:
    """Every stranger's reply: never a 2xx, never the job in any refusal (`door-locked`), and a whole reply. All
    are judged before the test fails, so each caller that got through is a finding of its own, with its curl."""
    __tracebackhide__ = True
    found = []
    for reply in replies:
        found += judging.judge_pair(request.node.nodeid, reference, reply, ("door-locked",))
        found += judging.judge(request.node.nodeid, reply, ("complete-body",))
    judging.fail_on(found)


@pytest.mark.parametrize("door", MATRIX_DOORS, ids=[door.name for door in MATRIX_DOORS])
def test_no_door_of_the_matrix_opens_a_job_to_anyone_but_its_owner(
    door, door_reference, strangers, target, knock, judging, ledger, request
):
    """Asked by every caller: the other account before and right after the owner, no key, and a key that is
    not the owner's (a wrong one, or in turn a near miss of the owner's)."""
    job_id, reference = door_reference
    other = target.other_api_key
    misses = [caller for caller in (WRONG_KEY, *NEAR_MISS) if caller in strangers]
    miss = misses[MATRIX_DOORS.index(door) % len(misses)]
    replies = {}
    if other:
        replies[OTHER_BEFORE] = knock(door, job_id, OTHER_BEFORE, other)
    replies[OWNER] = knock(door, job_id, OWNER, target.api_key)
    replies[NO_KEY] = knock(door, job_id, NO_KEY, None)
    replies[miss] = knock(door, job_id, miss, strangers[miss])
    if other:
        replies[OTHER_AFTER] = knock(door, job_id, OTHER_AFTER, other)
    ledger.door(door.name, {caller: reply.status for caller, reply in replies.items()}, axis=door.axis)
    # Once the front door's own answer to no key is in the matrix (the fixture reads it there, not asking again).
    ledger.door(
        door.name, {}, axis=door.axis, reached=reaches(replies[OWNER], request.getfixturevalue("front_refusals"))
    )
    _owner_door_answers_only_for_its_jobs(door, replies[OWNER], knock, ledger, target)
    # One stranger asks for an id that names no job too: a door that answers it otherwise than the job (status)
    # tells strangers which ids exist.
    stranger, key = (OTHER_AFTER, other) if other else (miss, strangers[miss])
    stray = knock(door, f"spidra-contract-no-such-job-{uuid.uuid4()}", f"{stranger}, unknown id", key)
    if stray.status != replies[stranger].status:
        ledger.finding(
            "id enumeration",
            f"{door.name}: {stranger} gets {replies[stranger].status} for another account's job and "
            f"{stray.status} for an id that names no job",
            {"job": replies[stranger].as_evidence(), "unknown": stray.as_evidence()},
        )
    _judge_strangers(judging, request, reference, [reply for caller, reply in replies.items() if caller != OWNER])


@pytest.mark.parametrize("door", OTHER_DOORS, ids=[door.name for door in OTHER_DOORS])
def test_no_member_of_any_axis_opens_a_job_to_a_stranger(
    door, door_reference, front_refusals, strangers, target, knock, judging, ledger, request, run
):
    """The front door with one member changed, asked first by the owner. Where it reaches something (an edge that
    lets `//crawl/{id}` through to an app that trusts the edge, a header a cache answers from its store), every
    caller asks: no key, an empty, wrong and each near-miss key, the other account (a key channel only by callers
    with a key to carry). Where it reaches nothing, the other account and one caller without a valid key."""
    job_id, reference = door_reference
    owner = knock(door, job_id, OWNER, target.api_key)
    reached = reaches(owner, front_refusals)
    elsewhere = leads_elsewhere(owner, reference, run.contract.status_enum)
    keyed = door.axis == CHANNEL
    if reached:
        callers = [caller for caller, key in strangers.items() if key or not keyed]
    else:
        # (A key channel carries a key: its caller without a valid one brings a wrong key.)
        callers = [WRONG_KEY if keyed else NO_KEY] + ([OTHER_AFTER] if OTHER_AFTER in strangers else [])
    replies = {caller: knock(door, job_id, caller, strangers[caller], elsewhere=elsewhere) for caller in callers}
    ledger.door(
        door.name,
        {OWNER: owner.status} | {caller: reply.status for caller, reply in replies.items()},
        axis=door.axis,
        reached=reached,
    )
    _judge_strangers(judging, request, reference, replies.values())


def _doors_of_several_axes(draw: st.DrawFn) -> Door:
    """Two or three axes (nightly explores more examples of them), each with a member other than the front's."""
    axes = draw(st.lists(st.sampled_from(AXES), min_size=2, max_size=3, unique=True))
    return Door(**{axis: draw(st.sampled_from(CATALOGUE[axis][1:])) for axis in axes})


combined_doors = st.composite(_doors_of_several_axes)


def test_combined_doors_stay_shut_to_strangers(
    door_reference, strangers, knock, judging, ledger, options, run, request
):
    """Doors no list names: members of two or three axes together (a path spelling with a key channel and a
    routing header, ...), drawn by hypothesis (derandomized in ci; `--hypothesis-seed` reproduces the others)."""
    job_id, reference = door_reference
    keyed = [caller for caller, key in strangers.items() if key]

    @given(door=combined_doors(), index=st.integers(min_value=0, max_value=len(keyed) - 1))
    def knock_on(door: Door, index: int) -> None:
        caller = keyed[index]
        reply = knock(door, job_id, caller, strangers[caller])
        ledger.door(door.name, {caller: reply.status}, axis=door.axis)
        _judge_strangers(judging, request, reference, [reply])

    run.explore(knock_on, max_examples=options.profile.door_examples)()


def _owner_door_answers_only_for_its_jobs(door, owner_reply, knock, ledger, target) -> None:
    """A door that opens for the owner must not open for an id that names no job either (the front door answers
    404 there): a HEAD or a lenient route that answers 200 for anything is a finding."""
    if door.is_front or not is_open(owner_reply):
        return
    stray = knock(door, f"spidra-contract-no-such-job-{uuid.uuid4()}", f"{OWNER}, unknown id", target.api_key)
    if is_open(stray):
        ledger.finding(
            "door answers differently",
            f"{door.name} answers {stray.status} for an id that names no job (the front door answers 404)",
            {"reply": stray.as_evidence()},
        )


def test_options_never_gives_a_stranger_the_job(door_reference, target, knock, judging, options, request):
    """OPTIONS goes out only where unsafe methods may (the embedded mock, or --allow-unsafe; schemathesis'
    allow-header check judges what it advertises). A stranger's OPTIONS may be a 2xx preflight, never the job."""
    if not (target.is_mock or options.allow_unsafe):
        pytest.skip("OPTIONS goes to a live API only with --allow-unsafe")
    job_id, reference = door_reference
    replies = [
        knock(OPTIONS_DOOR, job_id, NO_KEY, None),
        knock(OPTIONS_DOOR, job_id, WRONG_KEY, wrong_key(target.api_key)),
    ]
    if target.other_api_key:
        replies.append(knock(OPTIONS_DOOR, job_id, OTHER_AFTER, target.other_api_key))
    _judge_strangers(judging, request, reference, replies)
