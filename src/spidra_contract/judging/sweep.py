"""The corpus sweep: every job id of a (large) file read once and judged by every clause, with bounded
concurrency, streaming the ids so memory stays flat however long the file is."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from spidra_contract.core.judgement import Judgement
from spidra_contract.http.client import SuiteRefusal

SWEEP_CONCURRENCY = 8


@dataclass
class SweepStats:
    """What one sweep saw: how many ids, which HTTP statuses, which clauses broke how often."""

    ids: int = 0
    seconds: float = 0.0
    statuses: Counter[int] = field(default_factory=Counter)
    clause_failures: Counter[str] = field(default_factory=Counter)
    first_judgements: list[Judgement] = field(default_factory=list)
    stopped: str = ""

    @property
    def rate(self) -> float:
        return self.ids / self.seconds if self.seconds else 0.0

    @property
    def violations(self) -> int:
        return sum(self.clause_failures.values())

    def describe(self) -> str:
        statuses = ", ".join(f"{code} x{count}" for code, count in sorted(self.statuses.items()))
        text = f"{self.ids} ids in {self.seconds:.1f} s ({self.rate:.0f}/s); statuses {statuses or 'none'}"
        if self.clause_failures:
            text += "; violations: " + ", ".join(f"{name} x{n}" for name, n in self.clause_failures.most_common())
        if self.stopped:
            text += f"; stopped early: {self.stopped}"
        return text


CheckOne = Callable[[str], tuple[int, list[Judgement]]]


def sweep(ids: Iterable[str], check: CheckOne, concurrency: int = SWEEP_CONCURRENCY) -> SweepStats:
    """Run `check(job_id) -> (http status, judgements)` over `ids`, at most `concurrency` at a time and
    never more than twice that many queued, so a file of any length is swept in constant memory."""
    stats = SweepStats()
    started = time.perf_counter()

    def collect(future: Future[tuple[int, list[Judgement]]]) -> None:
        try:
            status, judgements = future.result()
        except SuiteRefusal as exc:
            stats.stopped = stats.stopped or str(exc)
            return
        stats.ids += 1
        stats.statuses[status] += 1
        for judgement in judgements:
            stats.clause_failures[judgement.clause] += 1
            if len(stats.first_judgements) < 5:
                stats.first_judgements.append(judgement)

    with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="sweep") as pool:
        pending: set[Future[tuple[int, list[Judgement]]]] = set()
        for job_id in ids:
            if stats.stopped:
                break
            if len(pending) >= concurrency * 2:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    collect(future)
            pending.add(pool.submit(check, job_id))
        for future in pending:
            collect(future)
    stats.seconds = time.perf_counter() - started
    return stats
