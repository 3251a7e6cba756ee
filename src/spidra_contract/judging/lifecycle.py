"""Watch jobs over time: poll every job at once until it is terminal (or the budget runs out), then read it
a few more times. The clauses that judge each pair of reads live in `clauses.py`."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

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


# The owner's reads of a job a run keeps (all layers: the watch, the body checks, the burst...), per job.
MAX_OWNER_READS = 500


@dataclass(frozen=True)
class Read:
    """One owner's read of a job, with when it was sent and answered (monotonic seconds) and the thread that made
    it (one thread's reads are one after another)."""

    sent: float
    answered: float
    reply: Reply
    thread: int = 0


def in_time_order(reads: list[Read]) -> list[Reply]:
    """The reads whose order is known: by when they were answered, each kept if the same thread made the last kept
    one (its reads are sequential) or it was sent after that one was answered (two reads of two threads in flight
    together may have been served in either order)."""
    kept: list[Read] = []
    for read in sorted(reads, key=lambda read: read.answered):
        if not kept or read.thread == kept[-1].thread or read.sent >= kept[-1].answered:
            kept.append(read)
    return [read.reply for read in kept]


def is_job_read(reply: Reply) -> bool:
    """A 200 whose body is a job with a status: what the lifecycle clauses compare."""
    return _status(reply) is not None


class Pace(Protocol):
    """The watch's sense of time, per job: `now` and `wait` (True when `stop` was set instead)."""

    def now(self, job_id: str) -> float: ...

    def wait(self, job_id: str, seconds: float, stop: threading.Event) -> bool: ...

    @property
    def takes_time(self) -> bool: ...


class RealTime:
    """Real seconds: a live API's jobs, and a served mock's, move while the watch sleeps."""

    takes_time = True

    def now(self, job_id: str) -> float:
        return time.monotonic()

    def wait(self, job_id: str, seconds: float, stop: threading.Event) -> bool:
        return stop.wait(seconds)


class JobTime:
    """A clock the target's jobs run on and the watch moves (the embedded mock's): a pause advances the job's own
    time by that much instead of sleeping, so the watch reads every job at the same job times on every run, on any
    machine, and takes no wall time waiting."""

    takes_time = False

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self, job_id: str) -> float:
        return self._clock.now(job_id)

    def wait(self, job_id: str, seconds: float, stop: threading.Event) -> bool:
        if stop.is_set():
            return True
        self._clock.advance(job_id, seconds)
        return False


class Clock(Protocol):
    def now(self, job_id: str) -> float: ...

    def advance(self, job_id: str, seconds: float) -> None: ...


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
    pace: Pace | None = None,
) -> Timeline:
    """Poll one job until it is terminal or `budget` seconds pass (backing off while it reads the same, see
    `MAX_BACKOFF`; the last read falls at the budget's end); once terminal, `stable_reads` more reads. Setting
    `stop` ends the watch at the next pause (the run is over or interrupted). Seconds are `pace`'s (real ones by
    default)."""
    stop = stop or threading.Event()
    pace = pace or RealTime()
    timeline = Timeline(job_id)
    deadline = pace.now(job_id) + budget
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
            remaining = deadline - pace.now(job_id)
            if remaining <= 0:
                return timeline  # this read was at the budget's end: the job did not finish within it
            unchanged = len(timeline.reads) > 1 and timeline.reads[-2].body == reply.body
            pause = min(pause * 2, interval * MAX_BACKOFF) if unchanged else interval
            # Never past the budget's end, and always a read there, whatever the back-off: a job that changes
            # just before the end is seen, and if it finished, re-read `stable_reads` times.
            if pace.wait(job_id, min(pause, remaining), stop):
                return timeline
        timeline.finished = True
        for _ in range(stable_reads):
            if pace.wait(job_id, interval, stop):
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
        pace: Pace | None = None,
    ) -> None:
        self.job_ids = job_ids
        self.pace = pace or RealTime()
        self._stop = threading.Event()
        self._watch_one = partial(
            watch,
            read=read,
            interval=interval,
            budget=budget,
            stable_reads=stable_reads,
            stop=self._stop,
            pace=self.pace,
        )
        self._pool: ThreadPoolExecutor | None = None
        self._futures: dict[str, Future[Timeline]] = {}

    def start(self) -> Watch:
        """Start watching. On a pace that takes no wall time there is nothing to overlap: the watch ends before
        this returns, so no other reader sees a job part-way through its story (the same reads on every run)."""
        if self._pool is None and self.job_ids:
            workers = min(MAX_POLLERS, len(self.job_ids))
            self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="spidra-watch")
            self._futures = {job_id: self._pool.submit(self._watch_one, job_id) for job_id in self.job_ids}
            if not self.pace.takes_time:
                wait(self._futures.values())
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
