"""Watch jobs over time: poll every job at once until it is terminal (or the budget runs out), then read it
a few more times. The clauses that judge each pair of reads live in `clauses.py`."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from spidra_contract.clauses import TERMINAL_STATUSES
from spidra_contract.client import SuiteRefusal
from spidra_contract.exchange import Reply

MAX_POLLERS = 8


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


def watch(job_id: str, read: Callable[[str], Reply], *, interval: float, budget: float, stable_reads: int) -> Timeline:
    """Poll one job until it is terminal or `budget` seconds pass; then `stable_reads` more reads."""
    timeline = Timeline(job_id)
    deadline = time.monotonic() + budget
    try:
        while True:
            reply = read(job_id)
            timeline.reads.append(reply)
            status = _status(reply)
            if status is None:
                return timeline  # not a job body (an error, a broken body): nothing to watch
            if status in TERMINAL_STATUSES:
                break
            if time.monotonic() + interval > deadline:
                return timeline
            time.sleep(interval)
        timeline.finished = True
        for _ in range(stable_reads):
            time.sleep(min(interval, 0.5))
            timeline.reads.append(read(job_id))
    except (Exception, SuiteRefusal) as exc:  # a refused or failed request ends this job's watch, not the others'
        timeline.error = f"{type(exc).__name__}: {exc}"
    return timeline


def watch_all(
    job_ids: tuple[str, ...],
    read: Callable[[str], Reply],
    *,
    interval: float,
    budget: float,
    stable_reads: int,
) -> dict[str, Timeline]:
    """Watch every job concurrently, so the time budget is paid once, not once per job."""
    if not job_ids:
        return {}
    with ThreadPoolExecutor(max_workers=min(MAX_POLLERS, len(job_ids)), thread_name_prefix="poll") as pool:
        futures = {
            job_id: pool.submit(watch, job_id, read, interval=interval, budget=budget, stable_reads=stable_reads)
            for job_id in job_ids
        }
        return {job_id: future.result() for job_id, future in futures.items()}
