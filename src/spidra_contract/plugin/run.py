"""One run of the suite: its settings, target, traffic and ledger, and its lifecycle (the embedded mock, the
guarded session, the lifecycle watch, the schema built in the background). Judging is `judge.Judge`'s."""

from __future__ import annotations

import contextlib
import threading
import time
import types
from concurrent.futures import Future
from concurrent.futures import wait as wait_for
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from spidra_contract.clauses.doors import channel_names
from spidra_contract.core.exchange import Redactor, Reply
from spidra_contract.core.settings import Settings
from spidra_contract.core.spec import Contract
from spidra_contract.http.client import Gate, GuardedSession, Traffic, reply_of
from spidra_contract.judging.baseline import Baseline
from spidra_contract.judging.fingerprint import probe_class, test_of
from spidra_contract.judging.judge import Judge
from spidra_contract.judging.ledger import Ledger
from spidra_contract.judging.lifecycle import (
    MAX_OWNER_READS,
    JobTime,
    Pace,
    Read,
    RealTime,
    Watch,
    in_time_order,
    is_job_read,
)
from spidra_contract.mock.app import MockState, make_state
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY, SteppedClock
from spidra_contract.mock.server import MockServer

KEY_LABEL = "$SPIDRA_API_KEY"
OTHER_KEY_LABEL = "$SPIDRA_OTHER_API_KEY"


@dataclass
class Target:
    """The API under test: where it is, which keys and job ids the suite may use."""

    base_url: str
    api_key: str = field(repr=False)
    other_api_key: str | None = field(repr=False)
    job_ids: tuple[str, ...]
    key_header: str
    is_mock: bool
    mock: MockState | None = None

    def url(self, job_id: str, *, encode: bool = True) -> str:
        """The crawl-status URL for `job_id` (percent-encoded as a single path segment unless told not to)."""
        return f"{self.base_url}/crawl/{quote(job_id, safe='') if encode else job_id}"

    def auth(self, key: str | None = None) -> dict[str, str]:
        return {self.key_header: self.api_key if key is None else key}

    @property
    def label(self) -> str:
        return f"embedded mock ({self.base_url})" if self.is_mock else self.base_url


@dataclass
class Run:
    settings: Settings
    contract: Contract
    seed: str
    # The seed the suite's own hypothesis tests and schemathesis draw with (None: derandomized, or hypothesis'
    # own --hypothesis-seed), and the hypothesis settings of the run's profile (None: --hypothesis-profile rules).
    hypothesis_seed: int | None = None
    hypothesis: Any = None
    redactor: Redactor = field(default_factory=lambda: Redactor(channel_names()))
    ledger: Ledger = field(default_factory=Ledger)
    traffic: Traffic = field(default_factory=Traffic)
    started: float = field(default_factory=time.time)
    mock_state: MockState | None = None
    mock_server: MockServer | None = None
    target: Target | None = None
    baseline: Baseline | None = None
    _session: GuardedSession | None = None
    _watch: Watch | None = None
    # Every owner's front-door read of each known job, from any layer (this process), for the lifecycle clauses.
    owner_reads: dict[str, list[Read]] = field(default_factory=dict)
    _reads_lock: threading.Lock = field(default_factory=threading.Lock)
    _schema: Future[Any] | None = None
    _known_ids: frozenset[str] | None = None
    # The test functions `explore` decorated, each with its attributes before (given back by `restore_tests`).
    _explored: list[tuple[Any, dict[str, Any]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        settings = self.settings
        if settings.is_mock:
            # Its jobs move on a clock the watch moves (see judging.lifecycle.JobTime): the same reads every run.
            self.mock_state = make_state(
                settings.mock_switches, time_scale=settings.profile.mock_time_scale, clock=SteppedClock()
            )
        self.redactor.add(self.api_key, KEY_LABEL)
        self.redactor.add(self.other_api_key, OTHER_KEY_LABEL)
        for secret in settings.url_secrets:
            self.redactor.add(secret, "[REDACTED]")
        self.gate = Gate(rate=settings.rate_limit, max_requests=settings.max_requests, run_deadline=settings.deadline)
        # Judging is its own (the contract, the ledger, the seed, the baseline); the run hands it how to read an
        # exchange again.
        self.judging = Judge(
            contract=self.contract,
            ledger=self.ledger,
            seed=self.seed,
            baseline=self.baseline,
            reread=lambda reply: self.session().reread(reply),
            spare=self.gate.spare,
            probe_of=lambda test, reply: probe_class(test, reply, self.known_ids),
        )

    def explore(self, test: Any, **overrides: Any) -> Any:
        """`test` (a hypothesis test, or schemathesis' lazy one, which reads the settings put on it) drawn with
        the run's hypothesis settings and seed: the suite's own tests get them one by one, the process' profile
        and seed stay as they were. A test that chose its own settings keeps them. What the decorators write on
        the function is taken back at the run's end (`restore_tests`): a process that runs the suite again
        (another profile, another seed) starts from the test as written, not from the last run's settings
        (hypothesis refuses a second `settings` on one function, so those would stay)."""
        from hypothesis import is_hypothesis_test, seed, settings
        from hypothesis.errors import InvalidArgument

        if not is_hypothesis_test(test):
            return test
        if isinstance(test, types.FunctionType) and all(test is not done for done, _ in self._explored):
            self._explored.append((test, dict(test.__dict__)))
        if self.hypothesis is not None or overrides:
            with contextlib.suppress(InvalidArgument):  # decorated with settings of its own: they rule
                test = settings(self.hypothesis, **overrides)(test)
        if self.hypothesis_seed is not None:
            test = seed(self.hypothesis_seed)(test)
        return test

    def restore_tests(self) -> None:
        """Give every test `explore` decorated back its attributes as they were before the run."""
        for test, attributes in self._explored:
            test.__dict__.clear()
            test.__dict__.update(attributes)
        self._explored.clear()

    @property
    def api_key(self) -> str:
        return ALPHA_KEY if self.settings.is_mock else self.settings.api_key or ""

    @property
    def other_api_key(self) -> str | None:
        return BETA_KEY if self.settings.is_mock else self.settings.other_api_key

    @property
    def job_ids(self) -> tuple[str, ...]:
        if self.mock_state is not None and not self.settings.job_ids:
            return tuple(self.mock_state.job_ids("alpha"))
        return self.settings.job_ids

    def start(self) -> Target:
        """Serve the embedded mock if that is the target; return the target."""
        if self.target is not None:
            return self.target
        if self.mock_state is not None:
            self.mock_server = MockServer(self.mock_state).start()
            base_url = self.mock_server.base_url
        else:
            base_url = self.settings.base_url or ""
        self.target = Target(
            base_url=base_url,
            api_key=self.api_key,
            other_api_key=self.other_api_key,
            job_ids=self.job_ids,
            key_header=self.contract.api_key_header,
            is_mock=self.mock_state is not None,
            mock=self.mock_state,
        )
        return self.target

    @property
    def time_scale(self) -> float:
        """How much faster than real time the target's jobs move: the embedded mock's clock is the suite's to
        set, so its jobs live through the profile's watch in a fraction of it; a live API's move in real time."""
        return self.settings.profile.mock_time_scale if self.settings.is_mock else 1.0

    def prepare_schema(self) -> None:
        """Build the schemathesis schema in a background thread, so the property layer's test finds it ready (on
        a live target the main thread would otherwise sit out rate-limit slots while it builds, about 0.3 s)."""
        if self._schema is None:
            self._schema = Future()
            threading.Thread(target=self._build_schema, args=(self._schema,), name="spidra-schema", daemon=True).start()

    def schema(self) -> Any:
        """The schemathesis schema for `openapi.yaml`, configured for this target (built once)."""
        if self._schema is None:
            self._schema = Future()
            self._build_schema(self._schema)
        return self._schema.result()

    def _build_schema(self, future: Future[Any]) -> None:
        from spidra_contract.plugin.generation import SchemaInputs, build_schema  # schemathesis: only when asked

        try:
            target = self.start()
            inputs = SchemaInputs(
                base_url=target.base_url,
                headers=target.auth(),
                job_ids=target.job_ids,
                profile=self.settings.profile,
                timeout=self.settings.timeout,
                allow_unsafe=target.is_mock or self.settings.allow_unsafe,
                seed=self.hypothesis_seed,
            )
            future.set_result(build_schema(self.contract, inputs))
        except BaseException as exc:  # the fixture that asks raises it, as if it had built the schema itself
            future.set_exception(exc)

    def watch(self) -> Watch:
        """The lifecycle watch of every known job (not started: `start()` it early, `result()` waits)."""
        if self._watch is None:
            target = self.start()
            session = self.session()
            profile = self.settings.profile

            def read(job_id: str) -> Reply:
                self.traffic.in_layer("lifecycle", "lifecycle watch")  # a watch thread, whatever test runs
                return reply_of(session.get(target.url(job_id), headers=target.auth()))

            self._watch = Watch(
                self.job_ids,
                read,
                interval=profile.poll_interval / self.time_scale,
                budget=self.settings.watch / self.time_scale,
                stable_reads=profile.stable_reads,
                pace=self.pace,
            )
        return self._watch

    @property
    def pace(self) -> Pace:
        """The watch's time: the embedded mock's job clock, moved by the watch; real seconds anywhere else."""
        clock = self.mock_state.clock if self.mock_state is not None else None
        return JobTime(clock) if isinstance(clock, SteppedClock) else RealTime()

    def stop(self, wait: bool = True) -> None:
        """Stop the watch, the session and the embedded mock. Without `wait` the mock's shutdown (about 0.2 s of
        uvicorn ticks) goes on while the caller writes its reports; `close()` waits for it."""
        if self._watch is not None:
            self._watch.stop(wait=False)
        if self._session is not None:
            self._session.close()  # in-flight exchanges (a watch read stuck on a dripping target) end now
        if self._watch is not None:
            self._watch.stop()
        if wait:
            self.close()
        elif self.mock_server is not None:
            self.mock_server.stop(wait=False)

    def close(self) -> None:
        """Wait for the background work to end (the schema build, the embedded mock's thread): a thread still
        running while the interpreter finalises can crash the process."""
        if self._schema is not None:
            wait_for([self._schema], timeout=60)
        if self.mock_server is not None:
            self.mock_server.stop(wait=True)
            self.mock_server = None

    def session(self) -> GuardedSession:
        """The guarded session every request of this run goes through."""
        if self._session is None:
            self._session = self.new_session()
        return self._session

    @property
    def base_url(self) -> str:
        """Where requests go: the served mock's URL, or --base-url."""
        if self.target is not None:
            return self.target.base_url
        return self.settings.base_url or ""

    @property
    def known_ids(self) -> frozenset[str]:
        """The run's job ids, which a probe class writes as `{job}`."""
        if self._known_ids is None:
            self._known_ids = frozenset(self.job_ids)
        return self._known_ids

    def _on_exchange(self, reply: Reply) -> None:
        known = self.known_ids
        self._keep_owner_read(reply, known)
        probe = self.traffic.current_probe
        self.ledger.exchange(reply, self.contract, probe_class(probe, reply, known), test_of(probe, known))

    def _keep_owner_read(self, reply: Reply, known: frozenset[str]) -> None:
        """A GET of a known job's front door with the owner's key (its label, after redaction) that answered a
        job: one more read for the job's timeline. Not the burst's: its reads are in flight together by design, so
        their order is not known (`in_time_order` would keep a share of them that depends on scheduling)."""
        if (
            reply.method != "GET"
            or not is_job_read(reply)
            or reply.request_headers.get(self.contract.api_key_header) != KEY_LABEL
            or self.traffic.current_layer == "burst"
        ):
            return
        parts = urlsplit(reply.url)
        base = urlsplit(self.base_url).path.rstrip("/") + "/crawl/"
        job_id = unquote(parts.path[len(base) :]) if parts.path.startswith(base) else ""
        if parts.query or job_id not in known or parts.path != base + quote(job_id, safe=""):
            return
        answered = time.monotonic()
        with self._reads_lock:
            reads = self.owner_reads.setdefault(job_id, [])
            if len(reads) < MAX_OWNER_READS:
                reads.append(Read(answered - reply.elapsed_ms / 1000, answered, reply, threading.get_ident()))

    def timeline_of(self, job_id: str) -> list[Reply]:
        """Every read of the job by its owner from any layer so far, in the order known (`in_time_order`)."""
        with self._reads_lock:
            return in_time_order(list(self.owner_reads.get(job_id, ())))

    def new_session(self) -> GuardedSession:
        return GuardedSession(
            redactor=self.redactor,
            gate=self.gate,
            origin=self.base_url,
            timeout=self.settings.timeout,
            max_body=self.settings.max_body,
            allow_unsafe=self.settings.allow_unsafe or self.settings.is_mock,
            on_exchange=self._on_exchange,
            traffic=self.traffic,
        )


# Where the pytest plugin keeps the run of a pytest process (its fixtures read it there).
RUN_KEY: pytest.StashKey[Run] = pytest.StashKey()
