"""The mock's accounts and jobs: seeded in every status, some progressing on a clock the suite speeds up."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

ALPHA_KEY = "sk_mock_alpha_7f3c9a1e5b2d4c68"
BETA_KEY = "sk_mock_beta_2e8d6b4f0a9c1e35"
ACCOUNTS = {ALPHA_KEY: "alpha", BETA_KEY: "beta"}

# Job seconds: how long a progressing job waits in the queue, then crawls.
WAITING_SECONDS = 1.0
ACTIVE_SECONDS = 4.0


def _job_id(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://mock.spidra.invalid/jobs/{name}"))


def _pages(site: str, titles: list[str]) -> list[dict[str, Any]]:
    pages = []
    for index, title in enumerate(titles, start=1):
        slug = f"post-{index}"
        pages.append(
            {
                "url": f"https://{site}/blog/{slug}",
                "title": title,
                "status": "success",
                "data": {
                    "title": title,
                    "author": ["John", "Zoë", "Amaka", "李雷"][index % 4],
                    "date": f"2025-01-{index:02d}",
                    "wordCount": 300 + 17 * index,
                },
            }
        )
    return pages


# The completed job that the `zero-pages` variant empties.
ZERO_PAGES_JOB = _job_id("alpha-completed-shop")


class WallClock:
    """Job time is real time: a progressing job moves while nobody looks (a served mock, as a live API does)."""

    def now(self, job_id: str) -> float:
        return time.monotonic()


class SteppedClock:
    """Job time that moves only when its caller moves it, each job on a clock of its own (`advance`): a job's
    state is then a function of how long its watcher has waited, never of the machine's speed or of other readers,
    so a run reads the same statuses, and makes the same requests, every time. The embedded mock runs on it; the
    watcher's pauses advance the job instead of sleeping."""

    def __init__(self) -> None:
        self._times: dict[str, float] = {}
        self._lock = threading.Lock()

    def now(self, job_id: str) -> float:
        with self._lock:
            return self._times.get(job_id, 0.0)

    def advance(self, job_id: str, seconds: float) -> None:
        with self._lock:
            self._times[job_id] = self._times.get(job_id, 0.0) + max(0.0, seconds)


Clock = WallClock | SteppedClock


@dataclass
class Job:
    """A crawl job; a progressing one computes its state from the time since a worker picked it up."""

    id: str
    account: str
    pages: list[dict[str, Any]]
    max_pages: int
    status: str = "completed"
    error: str | None = None
    message: str = ""
    crawled: int = 0
    progressing: bool = False
    ends_failed: bool = False
    started_at: float | None = field(default=None, repr=False)

    def state(self, now: float, time_scale: float) -> tuple[str, int, str | None, str]:
        """(status, pagesCrawled, error, message) at `now`."""
        if not self.progressing:
            return self.status, self.crawled, self.error, self.message
        if self.started_at is None:
            return "waiting", 0, None, "Waiting in queue"
        elapsed = (now - self.started_at) * time_scale
        if elapsed < WAITING_SECONDS:
            return "waiting", 0, None, "Waiting in queue"
        total = len(self.pages)
        if elapsed < WAITING_SECONDS + ACTIVE_SECONDS:
            share = (elapsed - WAITING_SECONDS) / ACTIVE_SECONDS
            crawled = min(total - 1, int(share * total)) if total else 0
            if self.ends_failed:
                crawled = min(crawled, max(total // 2, 0))
            return "active", crawled, None, f"Crawling page {crawled + 1} of up to {self.max_pages}"
        if self.ends_failed:
            crawled = max(total // 2, 0)
            return (
                "failed",
                crawled,
                "Crawl aborted: https://news.example.org/ answered 503 for 10 minutes",
                "Crawl failed",
            )
        return "completed", total, None, "Crawl complete"


@dataclass
class JobStore:
    """Every job the mock knows; thread-safe, since the server and in-process callers share it."""

    jobs: dict[str, Job] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, job: Job) -> Job:
        with self.lock:
            self.jobs[job.id] = job
        return job

    def get(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    def touch(self, job: Job, now: float) -> None:
        """A worker picks a progressing job up the first time its owner asks about it (`now`, on the job's clock)."""
        with self.lock:
            if job.progressing and job.started_at is None:
                job.started_at = now

    def create(self, account: str, url: str, max_pages: int) -> Job:
        name = f"submitted-{len(self.jobs)}-{time.monotonic_ns()}"
        site = url.split("//", 1)[-1].split("/", 1)[0] or "example.com"
        pages = _pages(site, [f"Page {n} of {site}" for n in range(1, min(max_pages, 4) + 1)])
        return self.add(Job(_job_id(name), account, pages, max_pages, progressing=True))

    def ids_of(self, account: str) -> list[str]:
        return [job.id for job in self.jobs.values() if job.account == account]


def add_corpus(store: JobStore, count: int) -> list[str]:
    """`count` more finished jobs of account alpha (yesterday's crawls, for corpus sweeps); their ids."""
    pages = _pages("corpus.example.com", ["Index", "Pricing", "Über uns", "Contact"])
    ids = []
    for number in range(count):
        failed = number % 10 == 9
        job = Job(
            _job_id(f"corpus-{number}"),
            "alpha",
            [] if failed else pages[: 1 + number % 4],
            10,
            "failed" if failed else "completed",
            error="Robots.txt disallows crawling" if failed else None,
            message="Crawl failed" if failed else "Crawl complete",
            crawled=0 if failed else 1 + number % 4,
        )
        store.jobs[job.id] = job
        ids.append(job.id)
    return ids


def seeded_store() -> JobStore:
    """Jobs in every status for two accounts, with realistic data."""
    store = JobStore()
    blog = _pages(
        "example.com",
        ["First Post", "Second Post", "Über uns — Café & Crème", "日本語のページ", "Emoji 🚀 launch notes"],
    )
    shop = _pages("shop.example.net", ["Catalogue", "Basket", "Checkout"])
    docs = _pages("docs.example.io", [f"Guide {n}" for n in range(1, 9)])
    store.add(Job(_job_id("alpha-waiting"), "alpha", [], 20, "waiting", message="Waiting in queue"))
    store.add(
        Job(
            _job_id("alpha-active"),
            "alpha",
            [],
            10,
            "active",
            message="Crawling page 4 of up to 10",
            crawled=3,
        )
    )
    store.add(
        Job(
            _job_id("alpha-completed-blog"),
            "alpha",
            blog,
            10,
            "completed",
            message="Crawl complete",
            crawled=len(blog),
        )
    )
    store.add(
        Job(
            _job_id("alpha-completed-shop"),
            "alpha",
            shop,
            3,
            "completed",
            message="Crawl complete",
            crawled=len(shop),
        )
    )
    store.add(
        Job(
            _job_id("alpha-failed"),
            "alpha",
            [],
            50,
            "failed",
            error="DNS resolution failed for https://unreachable.example.invalid/",
            message="Crawl failed",
        )
    )
    store.add(Job(_job_id("alpha-progressing"), "alpha", docs, 12, progressing=True))
    store.add(Job(_job_id("alpha-progressing-fails"), "alpha", shop, 6, progressing=True, ends_failed=True))
    store.add(
        Job(
            _job_id("beta-completed"),
            "beta",
            _pages("beta.example.org", ["Beta home", "Beta pricing"]),
            5,
            "completed",
            message="Crawl complete",
            crawled=2,
        )
    )
    return store
