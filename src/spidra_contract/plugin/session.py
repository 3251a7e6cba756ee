"""The suite's objects in a pytest process, registered by the plugin once a project asks for the suite:
`ContractSession` (the run's life, its outcome and reports), `SettledHeap` (the collector during the run),
`BriefFailures` (one line a failed test in the terminal) and, under xdist, `XdistBridge` (seed, shared limits,
ledgers)."""

from __future__ import annotations

import atexit
import gc
import tempfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from spidra_contract.core.exchange import encodable
from spidra_contract.core.judgement import Kind, TestFailure
from spidra_contract.core.model import Report, TestResult
from spidra_contract.core.outcome import Evidence
from spidra_contract.core.settings import OPTIONS, Option, cache_dir
from spidra_contract.http.client import SuiteRefusal, TargetNotAnswering, shared_gate_path
from spidra_contract.judging.judge import classify
from spidra_contract.plugin.run import Run
from spidra_contract.reporting import render

PROBE_TIMEOUT = 15.0
LONG_INTEGER_DIGITS = 100_000
MESSAGE_CHARS = 300
# A failed test's record travels on its pytest report as plain data (an attribute of the report, which xdist
# carries from a worker to the controller as it carries every other): `TestFailure.to_dict()`, and the one line
# the terminal shows for it.
FAILURE_ATTRIBUTE = "spidra_failure"
BRIEF_ATTRIBUTE = "spidra_brief"

# Layers of the suite, for `-m`.
MARKERS = {
    "job_body": "reads known jobs with their owner's key and judges every body clause",
    "auth": "403 for missing, empty, wrong and mutated keys",
    "doors": "every door to a job (read methods, path spellings, auth channels) shut to all but its owner",
    "unknown": "404 ErrorResponse for ids that name no job",
    "property": "schemathesis-generated requests from openapi.yaml",
    "lifecycle": "jobs watched over time",
    "cross_account": "another account's key (needs --other-api-key)",
    "hostile": "crafted and generated hostile ids",
    "burst": "concurrent polls (mock, or --burst)",
    "sweep": "the corpus sweep of --job-ids-file",
}


# A hypothesis test that draws a share of the profile's examples (cases that differ little: random ids that name no
# job all take one path), so the request budget goes where cases differ.
EXAMPLES_MARKER = "examples"
EXAMPLES_TEXT = "this hypothesis test draws this share (0 to 1) of the profile's max_examples"


# The layers that read known jobs with their owner's key: a run that selects them and gets no 200 is incomplete.
JOB_BODY_LAYERS = ("job_body", "lifecycle", "sweep")


def register(config: pytest.Config, run: Run) -> ContractSession:
    """Register the objects that run the suite in this process; the session, for the plugin to keep."""
    from spidra_contract.plugin import fixtures

    session = ContractSession(config, run)
    objects: dict[str, object] = {
        "spidra-contract-fixtures": fixtures,
        "spidra-contract-session": session,
        "spidra-contract-brief-failures": BriefFailures(),
        "spidra-contract-settled-heap": SettledHeap(config),
    }
    if config.pluginmanager.hasplugin("xdist"):
        objects["spidra-contract-xdist"] = XdistBridge(run)
    for name, plugin in objects.items():
        config.pluginmanager.register(plugin, name)

    def unregister() -> None:
        # After every unconfigure hook has run (pytest-html does the same): a process that runs pytest again
        # (in process) starts with none of this run's objects.
        for name in objects:
            plugin = config.pluginmanager.get_plugin(name)
            if plugin is not None:
                config.pluginmanager.unregister(plugin)

    config.add_cleanup(unregister)
    return session


def owned_elsewhere(config: pytest.Config) -> list[Option]:
    """The suite's options whose plain spelling another plugin registered (argparse names its destination after
    the spelling: `--timeout` -> `timeout`; the suite's own plain spellings keep the `spidra_` destination)."""
    missing = object()
    return [
        option for option in OPTIONS if config.getoption(option.name.replace("-", "_"), default=missing) is not missing
    ]


def is_worker(config: pytest.Config) -> bool:
    """An xdist worker (the controller writes the reports)."""
    return hasattr(config, "workerinput")


def _hypothesis_settings(config: pytest.Config, run: Run) -> Any:
    """The hypothesis settings of the run's profile, for the suite's own tests only (`Run.explore` puts them on
    each at collection; nothing is loaded as the process' profile); None when the command line names a
    hypothesis profile, which then rules. Examples are kept in the user's cache folder, not beside the tests."""
    import os

    from hypothesis import HealthCheck, Phase, settings
    from hypothesis.database import DirectoryBasedExampleDatabase

    if config.getoption("hypothesis_profile", default=None):
        return None
    profile = run.settings.profile
    database: dict[str, Any] = {}
    if profile.derandomize:
        database["database"] = None
    elif not os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY"):
        database["database"] = DirectoryBasedExampleDatabase(cache_dir() / "hypothesis" / "examples")
    return settings(
        max_examples=profile.max_examples,
        derandomize=profile.derandomize,
        deadline=None,  # requests cross a network: a wall-clock deadline would only flake
        # No shrinking or explaining: each would send more requests to a target already known to break a
        # clause (a failing run must cost about what a green one does); the report names the request anyway.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
        **database,
    )


def _watches(item: pytest.Item) -> bool:
    return "timelines" in getattr(item, "fixturenames", ())


# --- the run -----------------------------------------------------------------------------------------


class ContractSession:
    """The suite's life in one pytest process: starts the target, probes it, classifies every failure,
    computes the one `Outcome` and writes the reports from it."""

    def __init__(self, config: pytest.Config, run: Run) -> None:
        self.config = config
        self.run = run
        self.worker = is_worker(config)
        self.unreachable = ""
        self.report: Report | None = None  # the report model, built once: what every report renders
        self.history_error = ""
        self.evidence = Evidence()
        self.results: list[TestResult] = []
        self.deselected = 0
        run.hypothesis = _hypothesis_settings(config, run)
        from spidra_contract.plugin.generation import read_bodies_as_the_suite_does

        read_bodies_as_the_suite_does(config)
        if not self.worker and not config.option.collectonly and not config.option.xmlpath:
            config.option.xmlpath = str(run.settings.report_dir / "junit-tests.xml")

    @property
    def reporting(self) -> bool:
        return not self.worker and not self.config.option.collectonly

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        if not self.worker:
            self._say_whose_options()
        if not self.config.option.collectonly:
            self._end_on_sigterm()
            self._read_long_integers()
            self.run.start()

    def _say_whose_options(self) -> None:
        """One line a plain spelling another installed plugin owns (pytest-timeout's `--timeout`): it means that
        plugin's option here, and the suite's answers to its `--spidra-` spelling only. Said at the start of every
        run, -q or not."""
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None:
            return
        for option in owned_elsewhere(self.config):
            reporter.write_line(
                f"spidra-contract: {option.flag} is another plugin's option here; the suite's is {option.prefixed}",
                yellow=True,
            )

    def _read_long_integers(self) -> None:
        """JSON sets no limit on an integer's digits; Python (CVE-2020-10735) stops at 4300. The suite's own
        parser reads any length by value (`exchange.parse_int`), but schemathesis' checks parse bodies with the
        interpreter's `json`: up to 100,000 digits (a quadratic conversion of about 50 ms) they read them too."""
        import sys

        previous = sys.get_int_max_str_digits()
        if previous and previous < LONG_INTEGER_DIGITS:
            sys.set_int_max_str_digits(LONG_INTEGER_DIGITS)

            def restore() -> None:
                sys.set_int_max_str_digits(previous)

            self.config.add_cleanup(restore)

    def _end_on_sigterm(self) -> None:
        """SIGTERM (what a CI timeout sends) ends the run as an interrupt does: pytest stops the tests, and the
        reports are still written, saying the run was interrupted."""
        import signal
        import threading

        if self.worker or threading.current_thread() is not threading.main_thread():
            return

        def interrupt(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")

        previous = signal.signal(signal.SIGTERM, interrupt)

        def restore() -> None:
            signal.signal(signal.SIGTERM, previous)

        self.config.add_cleanup(restore)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> bool | None:
        """One GET before any test against a live target: unreachable means one line and exit 6 (reports
        written), not a failure per test. Then the lifecycle watch starts, in the background, if its tests were
        selected (under xdist a worker starts it when its first lifecycle test asks); on the embedded mock's job
        clock it is over before the first test (see `judging.lifecycle.JobTime`)."""
        if self.config.option.collectonly or self.worker:
            return None
        if not self.run.settings.is_mock and self._probe():
            return True
        if any(_watches(item) for item in session.items):
            self.run.watch().start()
        if any(item.get_closest_marker("property") for item in session.items):
            self.run.prepare_schema()
        return None

    def _probe(self) -> bool:
        """True when the target is unreachable: no answer to one GET, asked twice (a single slow first answer,
        a cold start or a dropped connection, is not yet "unreachable")."""
        settings = self.run.settings
        for attempt in (1, 2):
            try:
                self.run.session().get(
                    f"{self.run.base_url}/crawl/spidra-contract-probe-{uuid.uuid4()}",
                    headers={self.run.contract.api_key_header: self.run.api_key},
                    timeout=min(settings.timeout, PROBE_TIMEOUT),
                )
            except TargetNotAnswering as exc:
                if attempt == 1:
                    continue
                where = settings.shown_base_url
                self.unreachable = (
                    f"no answer from {where} (it took the connection): {exc.cause} (asked twice)"
                    if exc.connected
                    else f"cannot reach {where}: {exc.cause} (asked twice)"
                )
                return True
            except SuiteRefusal:
                pass  # refused (e.g. a 429 beyond what the suite waits): the run goes on and ends incomplete
            return False
        return False

    def pytest_report_header(self, config: pytest.Config) -> list[str]:
        run = self.run
        settings = run.settings
        target = settings.shown_base_url or "embedded mock (started by the suite)"
        lines = [
            f"spidra-contract: target {target}",
            f"spidra-contract: profile {settings.profile.name}, seed {run.seed}",
            f"spidra-contract: {len(run.job_ids)} known job id(s); other account key: "
            f"{'yes' if run.other_api_key else 'no (cross-account checks skipped)'}; "
            f"request budget {settings.max_requests or 'unlimited'}, rate limit "
            f"{str(settings.rate_limit) + '/s' if settings.rate_limit else 'none'}, "
            f"{settings.timeout:g} s and {settings.max_body} bytes an exchange",
            f"spidra-contract: reports in {settings.report_dir}",
        ]
        if settings.mock_switches:
            lines.append(f"spidra-contract: mock switches on: {', '.join(settings.mock_switches)}")
        return lines

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        """Each known job id becomes one case of any test that asks for `known_job`; with -n N the corpus of
        --job-ids-file splits into N shards (`corpus_shard`), one test each, spread over the workers."""
        if "corpus_shard" in metafunc.fixturenames:
            self._parametrize_corpus(metafunc)
        if "known_job" not in metafunc.fixturenames:
            return
        job_ids = self.run.job_ids
        if job_ids:
            metafunc.parametrize("known_job", job_ids, ids=[_short_id(i) for i in job_ids])
        else:
            _parametrize_skipped(
                metafunc, "known_job", "no job ids known: pass --job-id (or SPIDRA_JOB_IDS) to judge 200 responses"
            )

    def _parametrize_corpus(self, metafunc: pytest.Metafunc) -> None:
        if self.run.settings.job_ids_file is None:
            _parametrize_skipped(
                metafunc,
                "corpus_shard",
                "no --job-ids-file (SPIDRA_JOB_IDS_FILE): the corpus sweep needs a file of job ids",
            )
            return
        workerinput = getattr(metafunc.config, "workerinput", None)
        workers = workerinput["workercount"] if workerinput else getattr(metafunc.config.option, "numprocesses", None)
        shards = workers if isinstance(workers, int) and workers > 0 else 1
        metafunc.parametrize(
            "corpus_shard",
            [(index, shards) for index in range(shards)],
            ids=[f"shard-{index + 1}-of-{shards}" for index in range(shards)],
        )

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """The lifecycle tests last: their watch starts with the run (see `pytest_runtestloop`) and goes on
        while every other test runs, so they find it done. The suite's own tests (those that use its `run`)
        draw with the run's hypothesis settings and seed."""
        items.sort(key=lambda item: 1 if _watches(item) else 0)
        profile = self.run.settings.profile
        self.config.add_cleanup(self.run.restore_tests)  # the functions as written, for a later run in this process
        for item in items:
            if isinstance(item, pytest.Function) and "run" in item.fixturenames:
                share = item.get_closest_marker(EXAMPLES_MARKER)
                overrides = (
                    {"max_examples": max(1, round(profile.max_examples * float(share.args[0])))} if share else {}
                )
                self.run.explore(item.function, **overrides)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Requests from here on count for this test's layer."""
        self.run.traffic.layer = next((name for name in MARKERS if item.get_closest_marker(name)), "other")
        self.run.traffic.probe = item.nodeid

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self.deselected += len(items)
        self.evidence.categories["deselected"] += len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        testpaths = [str(Path(self.config.rootpath, p)) for p in self.config.getini("testpaths")]
        explicit = [a for a in self.config.args if str(Path(self.config.invocation_params.dir, a)) not in testpaths]
        self.evidence.subset = bool(self.deselected) or (
            self.config.args_source == pytest.Config.ArgsSource.ARGS and bool(explicit)
        )
        self.evidence.collected = len(session.items)
        # Tests that read known jobs with their owner's key expect 200 bodies; the others (another account's
        # key, unknown ids) expect refusals.
        self.evidence.needs_jobs = any(
            item.get_closest_marker(layer) is not None for item in session.items for layer in JOB_BODY_LAYERS
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
        """Classify each failure (a clause's violation, another check's failure, or the suite's own error) into a
        `TestFailure` record carried on the report; show a violation as its evidence, not a traceback; a failure
        whose violations are all in the baseline is reported as known (xfail); no report carries a secret."""
        refusal = call.excinfo.value if call.excinfo and isinstance(call.excinfo.value, SuiteRefusal) else None
        report: pytest.TestReport = yield
        run = self.run
        if refusal is not None:
            # The HTTP layer did not send a request, or got no answer: the test is skipped with why (the run's
            # verdict says what that means: could not test, or incomplete).
            report.outcome = "skipped"
            report.longrepr = (str(item.path), (item.location[1] or 0) + 1, f"Skipped: {refusal}")
        elif report.failed and call.excinfo is not None:
            exc = call.excinfo.value
            kind, judgements = classify(exc, call.when)
            if judgements:
                report.longrepr = render.failure_text(judgements)
                setattr(report, BRIEF_ATTRIBUTE, run.redactor.text(render.brief(judgements)))
                message = render.brief(judgements)
            else:
                text = str(exc).strip()
                message = text.splitlines()[0] if text else type(exc).__name__
            if kind is Kind.KNOWN:
                keys = sorted({i.key for judgement in judgements for i in judgement.identities})
                name = run.baseline.path.name if run.baseline else "baseline"
                reason = f"known in baseline {name}: {'; '.join(keys)}"
                report.outcome = "skipped"
                report.wasxfail = reason
                # A skip's longrepr is (path, line, reason): what every reporter expects of a skipped report
                # (schemathesis files its subtest reports under "skipped" on pytest 8).
                report.longrepr = (str(item.path), (item.location[1] or 0) + 1, reason)
            failure = TestFailure(
                test=report.nodeid,
                kind=kind,
                message=run.redactor.text(message[:MESSAGE_CHARS]) or call.when,
                judgements=judgements,
            )
            setattr(report, FAILURE_ATTRIBUTE, encodable(failure.to_dict()))
        _redact_report(report, run)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Count each report in pytest's own words (the terminal's), keep each failure's record."""
        if self.worker:
            return
        e = self.evidence
        category = self.config.hook.pytest_report_teststatus(report=report, config=self.config)[0]
        if category:
            e.categories[category] += 1
            self.results.append(_result(report, category))
        if hasattr(report, "wasxfail"):
            if report.when == "call" or report.skipped:
                e.ran += 1
            return
        if report.failed:
            recorded = getattr(report, FAILURE_ATTRIBUTE, None)
            if recorded:
                failure = TestFailure.from_dict(recorded)
            else:
                failure = TestFailure(report.nodeid, Kind.ERROR, report.when)
            if report.when != "call" and failure.kind is Kind.CHECK:
                failure = TestFailure(failure.test, Kind.ERROR, failure.message, failure.judgements)
            e.failures.append(failure)
            e.ran += report.when == "call"
        elif report.when == "call" and report.passed:
            e.ran += 1

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """The outcome, once, before any reporter (junit, html, terminal) renders the run."""
        run = self.run
        run.stop(wait=False)  # the mock winds down while the reports are written; unconfigure waits for it
        if self.worker:
            self.config.workeroutput["spidra_ledger"] = run.ledger.to_dict()  # type: ignore[attr-defined]
            self.config.workeroutput["spidra_traffic"] = run.traffic.to_dict()  # type: ignore[attr-defined]
            return
        if self.config.option.collectonly:
            return
        from spidra_contract.plugin import reports

        e = self.evidence
        e.pytest_status = int(exitstatus)
        e.unreachable = self.unreachable
        e.trip = run.gate.tripped
        e.network_errors = list(run.traffic.network_errors)
        e.refused = list(run.traffic.refused)
        e.ok_replies = run.ledger.ok_replies
        self.report = reports.write_all(run, e, tuple(self.results))
        session.exitstatus = self.report.outcome.exit_code
        if run.settings.history is not None:
            self._add_to_history(run.settings.history)

    def _add_to_history(self, folder: Path) -> None:
        """The run's summary and page go to the history (a folder that cannot take them is a warning, not a
        changed verdict: the run's own reports are written)."""
        from spidra_contract.tools import history

        assert self.report is not None
        settings = self.run.settings
        summary = encodable(self.report.to_dict())
        try:
            history.record(folder, summary, settings.report_dir / "report.html", settings.history_window)
        except OSError as exc:
            self.history_error = f"spidra-contract: --history {folder}: not recorded: {exc.strerror or exc}"

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if self.report is None:
            return
        from spidra_contract.plugin import reports

        outcome = self.report.outcome
        color = {0: "green", 1: "red"}.get(outcome.exit_code, "yellow")
        for line in reports.terminal_lines(self.run, self.report):
            terminalreporter.write_line(line)
        if self.history_error:
            terminalreporter.write_line(self.history_error, yellow=True)
        headline = str(encodable(self.run.redactor.text(outcome.headline)))
        terminalreporter.write_sep("=", f"spidra-contract: {headline}", **{color: True, "bold": True})

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        """The mock's thread and the schema build end before the process does (see `Run.close`)."""
        self.run.close()


class SettledHeap:
    """What start-up built (pytest, every plugin, schemathesis, hypothesis, the collected tests: hundreds of
    thousands of objects) lives until the process ends, so the collector stops re-scanning it once the tests
    start (`gc.freeze`): about a third of a second less a run in full collections and at interpreter exit.

    The heap is given back by the last of the run's cleanups (registered first, so it runs after pytest's own,
    whose unraisable-exception check collects garbage once more); the process freezes it again at exit so its
    final collection is quick."""

    frozen = False

    def __init__(self, config: pytest.Config) -> None:
        config.add_cleanup(self._give_back)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        gc.freeze()
        self.frozen = True

    def _give_back(self) -> None:
        if self.frozen:
            self.frozen = False
            gc.unfreeze()
            atexit.register(gc.freeze)


class BriefFailures:
    """The terminal shows a violation's failure as one line (clauses, counts, request); the evidence comes once
    per clause in the suite's summary. junit-tests.xml and report.html, written before the terminal summary,
    keep each test's full evidence."""

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_terminal_summary(self, terminalreporter: Any) -> Any:
        for report in terminalreporter.stats.get("failed", []):
            brief = getattr(report, BRIEF_ATTRIBUTE, None)
            if brief:
                report.longrepr = f"{brief} (evidence, reproduction: its clause block below)"
        return (yield)


class XdistBridge:
    """xdist: every worker explores with the controller's seed and shares its limits; their ledgers and
    traffic fold into the controller's."""

    def __init__(self, run: Run) -> None:
        self.run = run
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        if self._dir is None:
            self._dir = tempfile.TemporaryDirectory(prefix="spidra-gate-")
            self.run.gate.share(shared_gate_path(self._dir.name))
        node.workerinput["spidra_seed"] = self.run.hypothesis_seed or 0
        node.workerinput["spidra_gate"] = str(self.run.gate.path)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        output = getattr(node, "workeroutput", {})
        if output.get("spidra_ledger"):
            self.run.ledger.merge(output["spidra_ledger"])
        if output.get("spidra_traffic"):
            self.run.traffic.merge(output["spidra_traffic"])

    def pytest_configure(self, config: pytest.Config) -> None:
        workerinput = getattr(config, "workerinput", None)
        if workerinput and workerinput.get("spidra_gate"):
            self.run.gate.attach(Path(workerinput["spidra_gate"]))

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if self._dir is not None:
            self._dir.cleanup()


# --- helpers -----------------------------------------------------------------------------------------


def _result(report: pytest.TestReport, category: str) -> TestResult:
    """One row of the page's test table: the test, pytest's word for it, its time, and why (a failure's or a
    skip's first line)."""
    why = ""
    recorded = getattr(report, FAILURE_ATTRIBUTE, None)
    if recorded:
        why = str(recorded.get("message", ""))
    elif isinstance(report.longrepr, tuple) and len(report.longrepr) == 3:
        why = str(report.longrepr[2])
    elif report.failed and report.longrepr is not None:
        lines = str(report.longrepr).strip().splitlines()
        why = lines[-1] if lines else ""
    phase = "" if report.when == "call" else f" ({report.when})"
    return TestResult(report.nodeid + phase, category, round(report.duration, 3), why[:MESSAGE_CHARS])


def _redact_report(report: pytest.TestReport, run: Run) -> None:
    """Whatever a report shows (failure, skip reason, captured output) passes through the redactor, and is
    made encodable (junit-tests.xml and report.html are written as UTF-8 by their own plugins)."""

    def clean(text: str) -> str:
        return str(encodable(run.redactor.text(text)))

    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        report.longrepr = (longrepr[0], longrepr[1], clean(str(longrepr[2])))
    elif longrepr is not None:
        text = str(longrepr)
        cleaned = clean(text)
        if cleaned != text:
            report.longrepr = cleaned
    report.sections = [(title, clean(content)) for title, content in report.sections]
    if hasattr(report, "wasxfail"):
        report.wasxfail = clean(str(report.wasxfail))


def _parametrize_skipped(metafunc: pytest.Metafunc, name: str, reason: str) -> None:
    """One skipped case, so the report says why the test did not run."""
    metafunc.parametrize(name, [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=[f"no-{name}"])


def _short_id(job_id: str) -> str:
    return job_id if len(job_id) <= 40 else job_id[:37] + "..."
