"""Every known job, read with the owner's key, honours every clause that fits the status it reports."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.job_body


def test_known_job_body_honours_every_clause(known_job, fetch, judge):
    reply = fetch(known_job)
    judge(reply)
    if reply.status != 200:
        # Not a contract violation: the id given is not (or no longer) a job of this key's account.
        pytest.skip(f"known job {known_job} answered {reply.status} to its owner's key: check --job-id")
