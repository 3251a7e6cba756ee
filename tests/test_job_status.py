"""Every known job, read with the owner's key, honours every clause that fits the status it reports."""

from __future__ import annotations


def test_known_job_body_honours_every_clause(known_job, fetch, judge):
    reply = fetch(known_job)
    assert reply.status == 200, (
        f"known job {known_job} is not readable with its owner's key:\n{reply.curl()}\n{reply.status} {reply.excerpt}"
    )
    judge(reply)
