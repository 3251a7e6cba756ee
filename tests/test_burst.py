"""Many concurrent polls (the embedded mock, or a live API only with --burst) still honour the contract."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from spidra_contract.http.client import reply_of

pytestmark = pytest.mark.burst

BURST = 32  # four times the 8 concurrent requests a shedding server (the `burst-503` fault) tolerates


def test_concurrent_polls_all_honour_the_contract(options, target, api, known_jobs, judge):
    if not target.is_mock and not options.burst:
        pytest.skip("the burst probe runs against a live API only with --burst")
    if not known_jobs:
        pytest.skip("needs a known job id to poll")

    # The polls leave together: each thread waits at the barrier until all are there (so the pool must start one
    # thread per poll), however slowly a loaded machine schedules them.
    start = threading.Barrier(BURST)

    def poll(index):
        # A thread that could not start in time breaks the barrier: the others go anyway.
        with contextlib.suppress(threading.BrokenBarrierError):
            start.wait(timeout=10)
        return reply_of(api.get(target.url(known_jobs[index % len(known_jobs)]), headers=target.auth()))

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        replies = list(pool.map(poll, range(BURST)))
    for reply in replies:
        judge(reply)
