"""Every door to a job is locked: each read method, path spelling and auth channel that opens a job for its
owner stays shut to a missing key, a wrong key and another account (asked before and right after the owner,
so a response cache that ignores the key shows). The statuses seen make the access matrix of the reports."""

from __future__ import annotations

import uuid

import pytest

from spidra_contract.doors import (
    DOORS,
    NO_KEY,
    OPTIONS_DOOR,
    OTHER_AFTER,
    OTHER_BEFORE,
    OWNER,
    WRONG_KEY,
    is_open,
    wrong_key,
)

pytestmark = pytest.mark.doors


@pytest.fixture(scope="session")
def door_job(known_jobs, fetch):
    """The first known job its owner reads through the front door (GET, x-api-key)."""
    for job_id in known_jobs:
        if fetch(job_id).status == 200:
            return job_id
    pytest.skip("no known job answered 200 to its owner: no door to lock-test (pass --job-id)")


@pytest.mark.parametrize("door", DOORS, ids=[door.name for door in DOORS])
def test_no_door_opens_a_job_to_anyone_but_its_owner(door, door_job, target, knock, judge, run, request):
    other = target.other_api_key
    replies = {}
    if other:
        replies[OTHER_BEFORE] = knock(door, door_job, OTHER_BEFORE, other)
    replies[OWNER] = knock(door, door_job, OWNER, target.api_key)
    replies[NO_KEY] = knock(door, door_job, NO_KEY, None)
    replies[WRONG_KEY] = knock(door, door_job, WRONG_KEY, wrong_key(target.api_key))
    if other:
        replies[OTHER_AFTER] = knock(door, door_job, OTHER_AFTER, other)
    run.ledger.door(door.name, {caller: reply.status for caller, reply in replies.items()})
    if is_open(replies[OWNER]) and not door.is_front:
        # A door that opens for the owner must not open for an id that names no job either (the front door
        # answers 404 there): a HEAD or a lenient route that answers 200 for anything is a finding.
        stray = knock(door, f"spidra-contract-no-such-job-{uuid.uuid4()}", f"{OWNER}, unknown id", target.api_key)
        if is_open(stray):
            run.ledger.finding(
                "door answers differently",
                f"{door.name} answers {stray.status} for an id that names no job (the front door answers 404)",
                {"reply": stray.as_evidence()},
            )
    for caller, reply in replies.items():
        if caller != OWNER:
            judge(reply, "door-locked", "complete-body")


def test_options_never_gives_a_stranger_the_job(door_job, target, knock, judge, run):
    """OPTIONS goes out only where unsafe methods may (the embedded mock, or --allow-unsafe; schemathesis'
    allow-header check judges what it advertises). A stranger's OPTIONS may be a 2xx preflight, never the job."""
    if not (target.is_mock or run.settings.allow_unsafe):
        pytest.skip("OPTIONS goes to a live API only with --allow-unsafe")
    judge(knock(OPTIONS_DOOR, door_job, NO_KEY, None), "door-locked")
    judge(knock(OPTIONS_DOOR, door_job, WRONG_KEY, wrong_key(target.api_key)), "door-locked")
    if target.other_api_key:
        judge(knock(OPTIONS_DOOR, door_job, OTHER_AFTER, target.other_api_key), "door-locked")
