"""The pytest plugin. Installed, it registers its options and otherwise does nothing until a project asks for
it (see `activation`); then it loads `spidra_contract.plugin.session`, whose objects run the suite. Nothing else of
the suite (its client, mock, clauses, reports) is imported before that: a project that does not use the suite
pays for its options only.

Exit codes: 0 conformant; 1 contract violations; 3 the suite itself broke; 4 bad options, missing key,
malformed spec or unusable report folder; 6 target unreachable (or stopped answering); 7 incomplete.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from spidra_contract.core.settings import OPTIONS, Option, OptionError, OptionKind, check_report_dir, resolve

if TYPE_CHECKING:
    from spidra_contract.plugin.session import ContractSession

PACKAGE = "spidra_contract"
PLUGIN_NAME = "spidra_contract.plugin"
ACTIVATE_INI = "spidra_contract"
SESSION_KEY: pytest.StashKey[ContractSession] = pytest.StashKey()


# --- options and activation (module-level: these run whether or not a project uses the suite) ----------

GROUP_HELP = (
    "Spidra crawl-status contract suite (where a project asks for it, each option also answers to its plain "
    "name, --base-url for --spidra-base-url, when no other plugin owns that name)"
)


def _add(group: Any, option: Option, names: tuple[str, ...], *, listed: bool = True) -> None:
    help_text = f"{option.help} [env {option.env}]" if listed else argparse.SUPPRESS
    if option.kind is OptionKind.FLAG:
        group.addoption(*names, action="store_true", default=False, dest=option.dest, help=help_text)
    elif option.kind is OptionKind.LIST:
        metavar = option.name.upper().replace("-", "_")
        group.addoption(*names, action="append", default=[], dest=option.dest, metavar=metavar, help=help_text)
    elif option.choices:
        # The choices are checked when the options are resolved (a typo is exit 4 with one line, and the reports
        # say so); argparse's own check would end the run before any report could be written.
        metavar = "{" + ",".join(option.choices) + "}"
        group.addoption(*names, default=None, dest=option.dest, metavar=metavar, help=help_text)
    else:
        group.addoption(*names, default=None, dest=option.dest, help=help_text)


def _add_plain_names(parser: pytest.Parser) -> None:
    """`--base-url` beside `--spidra-base-url`, for every name no other plugin has taken; `--help` lists each
    option once (its `--spidra-` spelling)."""
    group = parser.getgroup("spidra-contract")
    untouched = vars(parser.parse_known_args([]))
    for option in OPTIONS:
        if _taken(parser, option.flag, untouched):
            continue  # another plugin owns this spelling (pytest-timeout's --timeout); --spidra-<name> still works
        try:
            _add(group, option, (option.flag,), listed=False)
        except (ValueError, argparse.ArgumentError):
            continue


def _taken(parser: pytest.Parser, flag: str, untouched: dict[str, Any]) -> bool:
    """Whether an option already registered answers to `flag`: parsing it alone changes what the parser
    returns, or is an error (the option wants a value). pytest 8 finds a clash between two plugins' groups only
    when it builds its parser, too late to step aside, so the suite asks the parser itself first."""
    try:
        return vars(parser.parse_known_args([flag])) != untouched
    except (pytest.UsageError, SystemExit):
        return True


def _listed_by_conftest(pluginmanager: pytest.PytestPluginManager) -> bool:
    """A loaded conftest lists this plugin in its `pytest_plugins`."""
    return any(
        Path(str(getattr(plugin, "__file__", ""))).name == "conftest.py"
        and PLUGIN_NAME in (getattr(plugin, "pytest_plugins", ()) or ())
        for plugin in pluginmanager.get_plugins()
    )


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    group = parser.getgroup("spidra-contract", GROUP_HELP)
    for option in OPTIONS:
        _add(group, option, (option.prefixed,))
        parser.addini(
            option.ini,
            f"{option.help} (overridden by {option.prefixed} and {option.env})",
            type="linelist" if option.kind is OptionKind.LIST else "string",
        )
    parser.addini(
        ACTIVATE_INI, "run the Spidra crawl-status contract suite in this project", type="bool", default=False
    )
    if _listed_by_conftest(pluginmanager):
        # Loaded by a conftest's `pytest_plugins` (not installed, or autoload off): the project asked for the
        # suite, every installed plugin has its options already, and the hook below has run without this module.
        _add_plain_names(parser)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser: pytest.Parser, args: list[str]) -> Any:
    """Once the initial conftests are in, pytest knows whether this project asks for the suite; only then are
    the plain spellings (`--timeout`, `--base-url`, ...) taken, and only those no installed plugin owns."""
    result = yield
    if activation(early_config, early_config.known_args_namespace):
        _add_plain_names(parser)
    return result


def activation(config: pytest.Config, namespace: argparse.Namespace | None = None) -> str:
    """Why the suite runs in this pytest invocation, or "" when nothing asked for it, by a name of the suite's
    own: the project (ini `spidra_contract = true` or any `spidra_*` ini key, a conftest listing this plugin
    in `pytest_plugins`) or the command line (`-p spidra_contract...`, any `--spidra-*` option). Environment
    variables give values once the suite is on; they never switch it on (the official SDK reads
    SPIDRA_API_KEY, so many projects that never heard of this suite have it set)."""
    options = namespace if namespace is not None else config.option
    if config.getini(ACTIVATE_INI):
        return f"ini {ACTIVATE_INI}"
    for option in OPTIONS:
        if getattr(options, option.dest, None) not in (None, [], False):
            return f"option {option.prefixed}"
        if config.getini(option.ini) not in ("", [], None):
            return f"ini {option.ini}"
    if any(str(name).startswith(PACKAGE) for name in getattr(options, "plugins", None) or ()):
        return "option -p"
    return "conftest" if _listed_by_conftest(config.pluginmanager) else ""


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    if config.option.help or config.option.version or not activation(config):
        return
    from spidra_contract.core.spec import SpecError, load_contract
    from spidra_contract.judging.baseline import Baseline, BaselineError
    from spidra_contract.mock import catalogue
    from spidra_contract.plugin import session as suite
    from spidra_contract.plugin.run import RUN_KEY, Run

    for name, text in suite.MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")
    config.addinivalue_line("markers", f"{suite.EXAMPLES_MARKER}(share): {suite.EXAMPLES_TEXT}")
    _refuse_misread_path(config)
    try:
        settings = resolve(
            config.getoption, config.getini, Path(str(config.rootpath)), known_switches=catalogue.CATALOGUE
        )
        contract = load_contract(settings.spec)
        baseline = Baseline.load(settings.baseline) if settings.baseline else None
        if not suite.is_worker(config) and not config.option.collectonly:
            check_report_dir(settings.report_dir)
    except (OptionError, SpecError, BaselineError) as exc:
        if not suite.is_worker(config) and not config.option.collectonly:
            _report_usage_error(config, str(exc))
        raise pytest.UsageError(f"spidra-contract: {exc}") from None
    seed, hypothesis_seed = _choose_seed(config, settings.profile.derandomize)
    run = Run(settings=settings, contract=contract, seed=seed, hypothesis_seed=hypothesis_seed, baseline=baseline)
    config.stash[RUN_KEY] = run
    config.stash[SESSION_KEY] = suite.register(config, run)


def _report_usage_error(config: pytest.Config, reason: str) -> None:
    """A run refused before it started still leaves summary.json, summary.md and junit.xml saying why, in the
    report folder the options name (when that folder is usable: when it is the problem, the line is all)."""
    from spidra_contract.core.exchange import Redactor
    from spidra_contract.core.settings import given as value_of
    from spidra_contract.plugin.reports import write_usage_error

    def given(name: str) -> str:
        option = next(option for option in OPTIONS if option.dest == f"spidra_{name}")
        value, _ = value_of(option, config.getoption(option.dest, default=None), config.getini(option.ini))
        return str(value or "")

    folder = Path(given("report_dir"))
    folder = folder if folder.is_absolute() else Path(str(config.rootpath)) / folder
    redactor = Redactor()
    redactor.add(given("api_key"), "$SPIDRA_API_KEY")
    redactor.add(given("other_api_key"), "$SPIDRA_OTHER_API_KEY")
    target = {"kind": "live" if given("base_url") else "embedded mock", "base_url": redactor.url(given("base_url"))}
    try:
        check_report_dir(folder)
        write_usage_error(folder, reason, redactor, target)
    except (OptionError, OSError):
        return


def _refuse_misread_path(config: pytest.Config) -> None:
    """`--report-dir /abs/dir` (a space, an existing folder): pytest read the folder as a test path while
    picking its rootdir, before any plugin declared the option. Say how to write it instead of running in the
    wrong folder."""
    for option in OPTIONS:
        value = config.getoption(option.dest, default=None)
        if not isinstance(value, str) or config.inipath is not None or not Path(value).exists():
            continue
        folder = Path(value) if Path(value).is_dir() else Path(value).parent
        if folder.resolve() == Path(str(config.rootpath)).resolve():
            raise pytest.UsageError(
                f"spidra-contract: pytest took {value} for a test path while finding its rootdir; "
                f"write {option.flag}={value} (with '=')"
            )


def _choose_seed(config: pytest.Config, derandomized: bool) -> tuple[str, int | None]:
    """The seed the reports name, and the one the suite gives its own hypothesis tests (None: hypothesis' own
    `--hypothesis-seed` rules, or the run is derandomized). Applied per test (`Run.explore`), never process-wide."""
    given = config.getoption("hypothesis_seed", default=None)
    if given is not None:
        return str(given), None
    if derandomized:
        return "derandomized (the ci profile: every run generates the same cases)", None
    workerinput = getattr(config, "workerinput", None)
    seed = int(workerinput["spidra_seed"]) if workerinput else random.SystemRandom().randrange(2**31)
    return str(seed), seed
