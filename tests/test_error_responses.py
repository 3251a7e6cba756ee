"""403 and 404: who is refused, and what the refusal looks like (ErrorResponse)."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spidra_contract.clauses import ERROR_BODY, TRANSPORT


def _swapcase(key: str) -> str:
    swapped = key.swapcase()
    return swapped if swapped != key else key + "X"


BAD_KEYS = [
    pytest.param(lambda key: None, id="missing-key"),
    pytest.param(lambda key: "", id="empty-key"),
    pytest.param(lambda key: f"sk_wrong_{uuid.uuid4().hex}", id="wrong-key"),
    pytest.param(_swapcase, id="key-case-changed"),
    pytest.param(lambda key: key[:-1], id="key-truncated-by-one"),
    pytest.param(lambda key: key + "0", id="key-extended-by-one"),
]


@pytest.mark.auth
@pytest.mark.parametrize("bad_key", BAD_KEYS)
def test_unauthorized_request_for_a_known_job_gets_403_error_response(bad_key, target, known_jobs, fetch, judge):
    job_id = known_jobs[0] if known_jobs else f"job-{uuid.uuid4()}"
    key = bad_key(target.api_key)
    headers = {} if key is None else target.auth(key)
    judge(fetch(job_id, headers=headers), "auth-required", *TRANSPORT, *ERROR_BODY)


@pytest.mark.auth
@pytest.mark.parametrize("scheme", ["Bearer", "Token"])
def test_bad_key_in_authorization_header_gets_403(scheme, target, known_jobs, fetch, judge):
    job_id = known_jobs[0] if known_jobs else f"job-{uuid.uuid4()}"
    judge(
        fetch(job_id, headers={"Authorization": f"{scheme} sk_wrong_{uuid.uuid4().hex}"}),
        "auth-required",
        *TRANSPORT,
        *ERROR_BODY,
    )


@pytest.mark.auth
def test_key_sent_only_in_the_query_string_is_not_accepted(target, known_jobs, fetch, judge):
    job_id = known_jobs[0] if known_jobs else f"job-{uuid.uuid4()}"
    reply = fetch(job_id, headers={}, params={"api_key": target.api_key, "x-api-key": target.api_key})
    judge(reply, "auth-required", *TRANSPORT, *ERROR_BODY)


@pytest.mark.unknown
@pytest.mark.examples(0.32)  # every uuid that names no job takes the same path: a few show it
@given(job_id=st.uuids().map(str))
def test_random_uuid_is_refused_with_an_error_response(job_id, fetch, judge):
    judge(fetch(job_id), "unknown-job", *TRANSPORT, *ERROR_BODY)


@pytest.mark.unknown
@pytest.mark.examples(0.32)
@given(
    job_id=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=64).filter(
        lambda s: s not in (".", "..")
    )
)
def test_random_string_id_is_refused_with_an_error_response(job_id, known_jobs, fetch, judge):
    if job_id in known_jobs:
        return
    judge(fetch(job_id), "unknown-job", *TRANSPORT, *ERROR_BODY)
