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


def test_head_answers_as_get_for_the_owner(known_jobs, fetch, judge_pair):
    """HEAD of a job by its owner: the status GET gives (or 405/501, HEAD not offered), the same media type, no
    content (RFC 9110 9.3.2). A read: safe against a live API."""
    if not known_jobs:
        pytest.skip("needs a known job id (pass --job-id)")
    job_id = known_jobs[0]
    judge_pair(fetch(job_id), fetch(job_id, method="HEAD"), "head-as-get")
