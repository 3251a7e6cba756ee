"""Watch jobs over time: poll every job at once until it is terminal (or the budget runs out), then read it
a few more times. The clauses that judge each pair of reads live in `clauses.py`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial

from spidra_contract.clauses import TERMINAL_STATUSES
from spidra_contract.core.exchange import Reply
from spidra_contract.http.client import SuiteRefusal

MAX_POLLERS = 8
# A job that reads the same twice running is polled half as often, up to this many intervals apart; any change
# brings the pace back (a stuck job costs the API a handful of reads a watch, not one an interval).
MAX_BACKOFF = 8


@dataclass
class Timeline:
    """Every read of one job, in order."""

    job_id: str
    reads: list[Reply] = field(default_factory=list)
    finished: bool = False
    error: str = ""

    @property
    def statuses(self) -> list[str]:
        return [_status(reply) or f"HTTP {reply.status}" for reply in self.reads]

    @property
    def story(self) -> str:
        """The statuses seen, runs folded: `waiting x3 -> active x5 -> completed x4`."""
        runs: list[list[object]] = []
        for status in self.statuses:
            if runs and runs[-1][0] == status:
                runs[-1][1] = int(str(runs[-1][1])) + 1
            else:
                runs.append([status, 1])
        return " -> ".join(f"{status} x{count}" if count != 1 else str(status) for status, count in runs)

    @property
    def first_terminal(self) -> int | None:
        for index, reply in enumerate(self.reads):
            if _status(reply) in TERMINAL_STATUSES:
                return index
        return None


def _status(reply: Reply) -> str | None:
    body = reply.body if reply.status == 200 else None
    status = body.get("status") if isinstance(body, dict) else None
    return status if isinstance(status, str) else None


def watch(
    job_id: str,
    read: Callable[[str], Reply],
    *,
    interval: float,
    budget: float,
    stable_reads: int,
    stop: threading.Event | None = None,
) -> Timeline:
    """Poll one job until it is terminal or `budget` seconds pass (backing off while it reads the same, see
    `MAX_BACKOFF`; the last read falls at the budget's end); once terminal, `stable_reads` more reads. Setting
    `stop` ends the watch at the next pause (the run is over or interrupted)."""
    stop = stop or threading.Event()
    timeline = Timeline(job_id)
    deadline = time.monotonic() + budget
    pause = interval
    try:
        while True:
            reply = read(job_id)
            timeline.reads.append(reply)
            status = _status(reply)
            if status is None:
                return timeline  # not a job body (an error, a broken body): nothing to watch
            if status in TERMINAL_STATUSES:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return timeline  # this read was at the budget's end: the job did not finish within it
            unchanged = len(timeline.reads) > 1 and timeline.reads[-2].body == reply.body
            pause = min(pause * 2, interval * MAX_BACKOFF) if unchanged else interval
            # Never past the budget's end, and always a read there, whatever the back-off: a job that changes
            # just before the end is seen, and if it finished, re-read `stable_reads` times.
            if stop.wait(min(pause, remaining)):
                return timeline
        timeline.finished = True
        for _ in range(stable_reads):
            if stop.wait(interval):
                return timeline
            timeline.reads.append(read(job_id))
    except (Exception, SuiteRefusal) as exc:  # a refused or failed request ends this job's watch, not the others'
        timeline.error = f"{type(exc).__name__}: {exc}"
    return timeline


class Watch:
    """A watch of every job that runs in the background while the other tests run, so a run lasts
    max(watch, rest) and not their sum; `result()` waits for it."""

    def __init__(
        self,
        job_ids: tuple[str, ...],
        read: Callable[[str], Reply],
        *,
        interval: float,
        budget: float,
        stable_reads: int,
    ) -> None:
        self.job_ids = job_ids
        self._stop = threading.Event()
        self._watch_one = partial(
            watch, read=read, interval=interval, budget=budget, stable_reads=stable_reads, stop=self._stop
        )
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future[Timeline]] = {}

    def start(self) -> Watch:
        if self._pool is None and self.job_ids:
            workers = min(MAX_POLLERS, len(self.job_ids))
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spidra-watch")
            self._futures = {job_id: self._pool.submit(self._watch_one, job_id) for job_id in self.job_ids}
        return self

    def result(self) -> dict[str, Timeline]:
        self.start()
        timelines = {job_id: future.result() for job_id, future in self._futures.items()}
        if self._pool is not None:
            self._pool.shutdown()
        return timelines

    def stop(self, wait: bool = True) -> None:
        """End every job's watch at its next pause (the session is over or interrupted); `wait` for them."""
        self._stop.set()
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=True)
