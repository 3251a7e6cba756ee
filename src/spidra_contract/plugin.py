"""The pytest plugin: owns the command line, builds the run, starts the target, writes the reports, and
turns what happened into an honest exit code.

Exit codes: 0 conformant; 1 contract violations; 4 bad options, missing key or malformed spec;
6 target unreachable (or stopped answering); 7 incomplete (no 200 reached, or budget/rate limit cut the run short).
"""

from __future__ import annotations

import random
import re
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests

from spidra_contract import checks as st_checks
from spidra_contract.baseline import Baseline, BaselineError
from spidra_contract.ledger import keys_in_text
from spidra_contract.run import Run
from spidra_contract.settings import OPTIONS, OptionError, resolve
from spidra_contract.spec import SpecError, load_contract

pytest_plugins = ["spidra_contract.fixtures"]

EXIT_UNREACHABLE = 6
EXIT_INCOMPLETE = 7
RUN_KEY = pytest.StashKey[Run]()
SEED_KEY = pytest.StashKey[int]()
PROBE_CONNECT_TIMEOUT = 10.0


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("spidra-contract", "Spidra crawl-status contract suite")
    for option in OPTIONS:
        if option.kind == "flag":
            group.addoption(
                option.flag,
                action="store_true",
                default=False,
                dest=option.dest,
                help=f"{option.help} [env {option.env}]",
            )
        elif option.kind == "list":
            group.addoption(
                option.flag,
                action="append",
                default=[],
                dest=option.dest,
                help=f"{option.help} [env {option.env}]",
            )
        else:
            group.addoption(option.flag, default=None, dest=option.dest, help=f"{option.help} [env {option.env}]")
        parser.addini(
            option.ini,
            f"{option.help} (overridden by {option.flag} and {option.env})",
            type="linelist" if option.kind == "list" else "string",
        )


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> None:
    """Make `--report-dir /abs/dir` (space, not `=`) work. pytest picks its rootdir and ini file before
    installed plugins add their options, so it took `/abs/dir` for a test path and missed pytest.ini.
    Now that our options are known, pick them again from the real test paths."""
    from _pytest.config.findpaths import determine_setup

    namespace = early_config.known_args_namespace
    if namespace.inifilename or namespace.rootdir:
        return
    rootpath, inipath, inicfg, _ = determine_setup(
        inifile=None,
        override_ini=namespace.override_ini,
        args=namespace.file_or_dir,
        rootdir_cmd_arg=None,
        invocation_dir=early_config.invocation_params.dir,
    )
    if inipath is None or inipath == early_config.inipath:
        return
    early_config._rootpath = rootpath
    early_config._inipath = inipath
    early_config._inicfg = inicfg
    early_config._inicache.clear()
    early_config._parser.extra_info["rootdir"] = str(rootpath)
    early_config._parser.extra_info["inifile"] = str(inipath)
    namespace.confcutdir = str(inipath.parent)
    args[:] = [*early_config.getini("addopts"), *args]


def get_run(config: pytest.Config) -> Run:
    return config.stash[RUN_KEY]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    try:
        settings = resolve(config.getoption, lambda name: config.getini(name), Path(str(config.rootpath)))
        contract = load_contract(settings.spec)
        baseline = Baseline.load(settings.baseline) if settings.baseline else None
    except (OptionError, SpecError, BaselineError) as exc:
        raise pytest.UsageError(f"spidra-contract: {exc}") from None
    seed = _choose_seed(config, settings.profile.derandomize)
    run = Run(settings=settings, contract=contract, seed=seed, baseline=baseline)
    config.stash[RUN_KEY] = run
    st_checks.activate(run)
    _load_hypothesis_profile(config, run)
    _describe_in_metadata(config, run)
    if not settings.is_mock and not _is_worker(config) and not config.option.help:
        _probe(config, run)
    if not _is_worker(config):
        settings.report_dir.mkdir(parents=True, exist_ok=True)
        if not config.option.xmlpath:
            config.option.xmlpath = str(settings.report_dir / "junit-tests.xml")
        if hasattr(config.option, "htmlpath") and not config.option.htmlpath:
            config.option.htmlpath = str(settings.report_dir / "report.html")
            config.option.self_contained_html = True


def _describe_in_metadata(config: pytest.Config, run: Run) -> None:
    """The HTML report's environment table: what was tested, how, and with which seed."""
    try:
        from pytest_metadata.plugin import metadata_key
    except ImportError:
        return
    metadata = config.stash.get(metadata_key, None)
    if metadata is None:
        return
    settings = run.settings
    metadata["Target"] = settings.base_url or "embedded mock"
    metadata["Profile"] = settings.profile.name
    metadata["Seed"] = run.seed
    metadata["Known job ids"] = str(len(run.job_ids))
    if settings.mock_switches:
        metadata["Mock switches"] = ", ".join(settings.mock_switches)


def _choose_seed(config: pytest.Config, derandomized: bool) -> str:
    from hypothesis import core

    given = config.getoption("hypothesis_seed", default=None)
    if given is not None:
        return str(given)
    if derandomized:
        return "derandomized (the ci profile: every run generates the same cases)"
    workerinput = getattr(config, "workerinput", None)
    seed = int(workerinput["spidra_seed"]) if workerinput else random.SystemRandom().randrange(2**31)
    core.global_force_seed = seed  # type: ignore[assignment]
    config.stash[SEED_KEY] = seed
    return str(seed)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist: every worker explores with the controller's seed, so one number reproduces the run."""
    seed = node.config.stash.get(SEED_KEY, None)
    node.workerinput["spidra_seed"] = seed if seed is not None else 0


def _load_hypothesis_profile(config: pytest.Config, run: Run) -> None:
    from hypothesis import HealthCheck, settings

    profile = run.settings.profile
    name = f"spidra-{profile.name}"
    settings.register_profile(
        name,
        max_examples=profile.max_examples,
        derandomize=profile.derandomize,
        deadline=None,  # requests cross a network: a wall-clock deadline would only flake
        # judge/judge_pair are function-scoped only to know the test id; they hold no state between examples.
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.filter_too_much,
            HealthCheck.data_too_large,
            HealthCheck.function_scoped_fixture,
        ],
        database=None if profile.derandomize else settings().database,
        print_blob=True,
    )
    if not config.getoption("hypothesis_profile", default=None):
        settings.load_profile(name)


UNREACHABLE_KEY = pytest.StashKey[str]()


def _network_cause(exc: requests.RequestException, timeout: float) -> str:
    if isinstance(exc, requests.Timeout):
        return f"no answer within {timeout:g} s"
    found = re.search(r"\[Errno -?\d+\] ([^'\")\]]+)", str(exc))
    return found.group(1).strip() if found else type(exc).__name__


def _probe(config: pytest.Config, run: Run) -> None:
    """One GET before any test, so an unreachable target fails fast with one line, not with every test."""
    base_url = run.settings.base_url or ""
    timeout = min(run.settings.timeout, 15.0)
    try:
        run.session().get(
            f"{base_url}/crawl/spidra-contract-probe-{uuid.uuid4()}",
            headers={run.contract.api_key_header: run.api_key},
            timeout=(min(PROBE_CONNECT_TIMEOUT, timeout), timeout),
        )
    except requests.RequestException as exc:
        config.stash[UNREACHABLE_KEY] = f"cannot reach {base_url}: {_network_cause(exc, timeout)}"
        raise pytest.UsageError(config.stash[UNREACHABLE_KEY]) from None


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config: pytest.Config) -> Any:
    """An unreachable target exits 6 (not 4, not 1) with its one line."""
    try:
        return (yield)
    except pytest.UsageError:
        unreachable = config.stash.get(UNREACHABLE_KEY, None)
        if unreachable is None:
            raise
        sys.stderr.write(f"ERROR: spidra-contract: {unreachable}\n")
        return EXIT_UNREACHABLE


def pytest_sessionstart(session: pytest.Session) -> None:
    get_run(session.config).start()


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = get_run(config)
    settings = run.settings
    target = settings.base_url or "embedded mock (in-process, started by the suite)"
    lines = [
        f"spidra-contract: target {target}",
        f"spidra-contract: profile {settings.profile.name}, seed {run.seed}",
        f"spidra-contract: {len(run.job_ids)} known job id(s); other account key: "
        f"{'yes' if run.other_api_key else 'no (cross-account checks skipped)'}; "
        f"request budget {settings.max_requests or 'unlimited'}, rate limit "
        f"{str(settings.rate_limit) + '/s' if settings.rate_limit else 'none'}",
        f"spidra-contract: reports in {settings.report_dir}",
    ]
    if settings.mock_switches:
        lines.append(f"spidra-contract: mock switches on: {', '.join(settings.mock_switches)}")
    for defect in run.contract.defects:
        lines.append(f"spidra-contract: spec defect at {defect.pointer}: {defect.suggestion}")
    return lines


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """Failures carry no secrets; with --baseline, a failure whose violations are all known is an xfail."""
    report = yield
    run = get_run(item.config)
    if report.failed and run.redactor.secrets:
        # Last line of defence for terminal, junit and HTML: a traceback may show an argument's repr.
        text = str(report.longrepr)
        cleaned = run.redactor.text(text)
        if cleaned != text:
            report.longrepr = cleaned
    if run.baseline is not None and report.failed and call.excinfo is not None:
        keys = keys_in_text(str(report.longrepr))
        if run.baseline.covers(keys):
            report.outcome = "skipped"
            report.wasxfail = f"known in baseline {run.baseline.path.name}: {', '.join(sorted(keys))}"
    return report


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Each known job id becomes one case of any test that asks for `known_job`; with -n N the corpus of
    --job-ids-file splits into N shards (`corpus_shard`), one test each, spread over the workers."""
    if "corpus_shard" in metafunc.fixturenames:
        _parametrize_corpus(metafunc)
    if "known_job" not in metafunc.fixturenames:
        return
    run = get_run(metafunc.config)
    if run.job_ids:
        metafunc.parametrize("known_job", run.job_ids, ids=[_short_id(i) for i in run.job_ids])
    else:
        _parametrize_skipped(
            metafunc, "known_job", "no job ids known: pass --job-id (or SPIDRA_JOB_IDS) to judge 200 responses"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Watch jobs first: jobs still in progress when the run starts are the ones whose transitions can be seen."""
    items.sort(key=lambda item: 0 if "timelines" in getattr(item, "fixturenames", ()) else 1)


def _parametrize_skipped(metafunc: pytest.Metafunc, name: str, reason: str) -> None:
    """One skipped case, so the report says why the test did not run."""
    metafunc.parametrize(name, [pytest.param(None, marks=pytest.mark.skip(reason=reason))], ids=[f"no-{name}"])


def _parametrize_corpus(metafunc: pytest.Metafunc) -> None:
    run = get_run(metafunc.config)
    if run.settings.job_ids_file is None:
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


def _short_id(job_id: str) -> str:
    return job_id if len(job_id) <= 40 else job_id[:37] + "..."


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist: fold a worker's ledger into the controller's."""
    data = getattr(node, "workeroutput", {}).get("spidra_ledger")
    if data:
        run = get_run(node.config)
        run.ledger.merge(data)
        traffic = data.get("traffic", {})
        run.traffic.sent += traffic.get("sent", 0)
        for method, count in traffic.get("by_method", {}).items():
            run.traffic.by_method[method] = run.traffic.by_method.get(method, 0) + count
        run.traffic.rate_limited.extend(traffic.get("rate_limited", []))
        run.traffic.network_errors.extend(traffic.get("network_errors", []))
        run.traffic.refused.extend(traffic.get("refused", []))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    run = get_run(config)
    run.stop()
    if _is_worker(config):
        data = run.ledger.to_dict()
        data["traffic"] = {
            "sent": run.traffic.sent,
            "by_method": run.traffic.by_method,
            "rate_limited": run.traffic.rate_limited,
            "network_errors": run.traffic.network_errors,
            "refused": run.traffic.refused,
        }
        config.workeroutput["spidra_ledger"] = data  # type: ignore[attr-defined]
        return
    session.exitstatus = honest_exit_status(run, exitstatus, bool(session.testscollected))
    from spidra_contract import reports

    reports.write_all(run, session)


@pytest.hookimpl(optionalhook=True)
def pytest_html_report_title(report: Any) -> None:
    report.title = "Spidra crawl-status contract report"


@pytest.hookimpl(optionalhook=True)
def pytest_html_results_summary(
    prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
) -> None:
    from spidra_contract import reports

    run = get_run(session.config)
    prefix.append(run.redactor.text(reports.matrix_html(reports.build_summary(run, session))))


def honest_exit_status(run: Run, exitstatus: int, collected: bool) -> int:
    """Failures that are not contract violations, and passes that judged nothing, are "could not test"."""
    if exitstatus == pytest.ExitCode.OK and collected and (run.ledger.ok_replies == 0 or run.traffic.refused):
        return EXIT_INCOMPLETE
    if exitstatus == pytest.ExitCode.TESTS_FAILED and run.ledger.violations == 0:
        if run.traffic.network_errors:
            return EXIT_UNREACHABLE  # the target stopped answering
        if run.traffic.refused:
            return EXIT_INCOMPLETE  # the budget or the target's rate limit cut the run short
    return exitstatus


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    run = get_run(config)
    from spidra_contract import reports

    for line in reports.terminal_lines(run):
        terminalreporter.write_line(line)
    if run.traffic.network_errors and not _is_worker(config):
        terminalreporter.write_line(
            f"spidra-contract: the target stopped answering {len(run.traffic.network_errors)} time(s), first: "
            f"{run.traffic.network_errors[0]}" + (" (exit code 6: could not test)" if exitstatus == 6 else ""),
            red=True,
        )
    if run.traffic.refused and not _is_worker(config):
        terminalreporter.write_line(
            f"spidra-contract: {len(run.traffic.refused)} request(s) not sent: {run.traffic.refused[0]} "
            "(the run is incomplete: exit code 7 unless violations were found)",
            yellow=True,
        )
    if run.ledger.ok_replies == 0 and not _is_worker(config):
        terminalreporter.write_sep("!", "NO 200 RESPONSE REACHED", red=True, bold=True)
        terminalreporter.write_line(
            "No known job answered 200, so status, progress, result and error were never judged. "
            "Pass --job-id with ids of this key's account (exit code 7: incomplete)."
        )
