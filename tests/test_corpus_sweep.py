"""The corpus sweep (--job-ids-file): every job of a large file of ids, judged by every clause."""

from __future__ import annotations

import pytest

from spidra_contract.core.settings import iter_ids
from spidra_contract.http.client import reply_of
from spidra_contract.judging.sweep import sweep

pytestmark = pytest.mark.sweep


def test_every_job_in_the_corpus_honours_the_contract(corpus_shard, judging, ledger, options, target, api):
    index, shards = corpus_shard
    test = f"corpus sweep (shard {index + 1} of {shards})"

    def check(job_id):
        reply = reply_of(api.get(target.url(job_id), headers=target.auth()))
        return reply.status, judging.judge(test, reply)

    stats = sweep(iter_ids(options.job_ids_file, index, shards), check)
    ledger.note(f"{test}: {stats.describe()}")
    unreadable = stats.ids - stats.statuses[200]
    if unreadable:
        ledger.note(
            f"{test}: {unreadable} of {stats.ids} corpus ids did not answer 200 (expired, or another account's?)"
        )
    judging.fail_on(stats.first_judgements)  # the first of them; the counts are in the note above
    if stats.stopped:
        pytest.skip(f"{test} stopped early: {stats.stopped}")
