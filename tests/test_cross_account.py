"""Another account's key never reads this account's jobs; refusals that reveal which ids exist are reported."""

from __future__ import annotations

import uuid

import pytest

from spidra_contract.clauses import ERROR_BODY, TRANSPORT

pytestmark = pytest.mark.cross_account


@pytest.fixture(scope="session")
def other_key(target):
    """The other account's key, or a skip with the reason."""
    if not target.other_api_key:
        pytest.skip("no --other-api-key (SPIDRA_OTHER_API_KEY): cross-account checks need a second account")
    return target.other_api_key


def test_other_accounts_key_cannot_read_the_job_before_or_right_after_its_owner(known_job, other_key, fetch, judge):
    """Asked before and right after the owner's read: a response cache that ignores the key serves the
    owner's answer to whoever asks next."""
    before = fetch(known_job, key=other_key)
    fetch(known_job)
    after = fetch(known_job, key=other_key)
    for reply in (before, after):
        judge(reply, "foreign-job", *TRANSPORT, *ERROR_BODY)


def test_other_accounts_key_on_an_unknown_id_is_refused_and_id_enumeration_is_reported(
    known_jobs, other_key, fetch, judge, ledger
):
    """The other account asking for an id that names no job gets a 404 (or 403) ErrorResponse. Where its answer
    for this account's job differs from that, a caller can tell which ids exist: reported as a finding, not
    a failure (the contract allows 403 for another account's job)."""
    unknown = fetch(str(uuid.uuid4()), key=other_key)
    judge(unknown, "unknown-job", *TRANSPORT, *ERROR_BODY)
    if not known_jobs:
        pytest.skip("no known jobs to compare the unknown id's answer with")
    foreign = fetch(known_jobs[0], key=other_key)
    if foreign.status == 200:
        pytest.skip("the foreign read itself was answered 200 (reported by the foreign-job clause)")
    if (foreign.status, foreign.body) != (unknown.status, unknown.body):
        ledger.finding(
            "id enumeration",
            f"another account's job answers {foreign.status} {foreign.excerpt!r} while an unknown id answers "
            f"{unknown.status} {unknown.excerpt!r}: a caller can tell which ids exist",
            {"foreign": foreign.as_evidence(), "unknown": unknown.as_evidence()},
        )
