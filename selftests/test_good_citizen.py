"""Installed beside other projects, the plugin stays out of their way: it switches on only when asked by a name
of its own, never by an environment variable, and takes no generic option name where it is off."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

# What many projects that never heard of this suite have set: the official SDK reads SPIDRA_API_KEY.
SUITE_ENVIRONMENT = {
    "SPIDRA_API_KEY": "sk-unrelated-project",
    "SPIDRA_TIMEOUT": "5",
    "SPIDRA_PROFILE": "nightly",
    "SPIDRA_BASE_URL": "https://api.spidra.io/api",
}


def _observe(pytester: pytest.Pytester, *args: str) -> tuple[int, list[str], set[str]]:
    """Exit code, output (but the `plugins:` line and timings) and the files left behind."""
    shutil.rmtree(pytester.path / "__pycache__", ignore_errors=True)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *args)
    lines = [re.sub(r"[0-9.]+s\b", "Ns", line) for line in result.outlines + result.errlines]
    lines = [line for line in lines if not line.startswith(("plugins:", "running:"))]
    files = {str(p.relative_to(pytester.path)) for p in pytester.path.rglob("*") if "runpytest-" not in str(p)}
    return int(result.ret), lines, files


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((), id="environment-only"),
        pytest.param(("--timeout", "5"), id="timeout-with-pytest-timeout"),
        pytest.param(("-p", "no:timeout", "--timeout", "5"), id="timeout-without-pytest-timeout"),
        pytest.param(("--profile", "ci"), id="a-generic-option-name"),
    ],
)
def test_an_unrelated_project_behaves_exactly_as_without_the_plugin(pytester, monkeypatch, args):
    """Same exit code, same output, same files as with the plugin blocked, whatever SPIDRA_* says and whatever
    generic option names (another plugin's `--timeout`, or none's) the command line carries."""
    pytester.makepyfile("def test_one():\n    assert True\n\ndef test_two():\n    assert True\n")
    for name, value in SUITE_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    without = _observe(pytester, "-p", "no:spidra_contract.plugin", *args)
    with_plugin = _observe(pytester, *args)
    assert with_plugin[0] == without[0], with_plugin[1][-5:]
    assert with_plugin[1] == without[1], "the plugin changed the output of a project that does not use it"
    assert with_plugin[2] == without[2], "the plugin wrote files in a project that does not use it"


def test_help_lists_each_option_once_and_takes_no_generic_name_where_the_suite_is_off(pytester):
    help_text = pytester.runpytest_subprocess("-p", "no:timeout", "--help").stdout.str()
    from spidra_contract.core.settings import OPTIONS

    for option in OPTIONS:
        assert len(re.findall(rf"^  {option.prefixed}(?=[=\s])", help_text, re.MULTILINE)) == 1, option.prefixed
        assert not re.search(rf"^  {option.flag}(?=[=\s])", help_text, re.MULTILINE), option.flag


def test_the_suite_switches_on_only_by_a_name_of_its_own(pytester):
    """The ini key, a `--spidra-*` option, `-p`: each switches it on (here: the missing spec says so)."""
    pytester.makepyfile("def test_one():\n    assert True\n")
    asked = pytester.runpytest_subprocess("--spidra-spec=/no/such/openapi.yaml")
    assert asked.ret == 4
    assert "cannot read spec /no/such/openapi.yaml" in asked.stderr.str()
    pytester.makeini("[pytest]\nspidra_contract = true\nspidra_spec = /no/such/openapi.yaml\n")
    from_ini = pytester.runpytest_subprocess("--timeout", "5", "-p", "no:timeout")
    assert from_ini.ret == 4
    assert "--timeout must be positive" not in from_ini.stderr.str()
    assert "cannot read spec" in from_ini.stderr.str()


def test_installed_plugin_loads_nothing_of_the_suite_for_a_project_that_does_not_use_it(pytester):
    """Its options only: the client, mock, clauses and reports (about 0.15 s of imports) wait for a project
    that asks for the suite."""
    pytester.makepyfile(
        "import sys\n"
        "OPTIONS_ONLY = {'spidra_contract', 'spidra_contract.plugin', 'spidra_contract.core',\n"
        "                'spidra_contract.core.settings'}\n"
        "def test_the_suite_is_not_loaded():\n"
        "    loaded = {m for m in sys.modules if m.split('.')[0] == 'spidra_contract'}\n"
        "    assert 'spidra_contract.plugin' in loaded\n"
        "    assert sorted(loaded - OPTIONS_ONLY) == []\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == 0, result.outlines[-15:]


def test_a_run_in_process_leaves_hypothesis_and_the_plugin_manager_as_it_found_them(pytester, suite_modules_loaded):
    """The suite's hypothesis settings and seed go on its own tests one by one: the process' profile, its default
    settings and hypothesis' forced seed are what they were; every object the plugin registered is gone after."""
    from hypothesis import core, settings

    from spidra_contract.tools import runner

    class Configs:
        def __init__(self) -> None:
            self.seen: list[pytest.Config] = []

        def pytest_configure(self, config: pytest.Config) -> None:
            self.seen.append(config)

    before = (settings.get_current_profile_name(), settings.default, core.global_force_seed)
    configs = Configs()
    args = (
        *runner.suite_args(),
        "-q",
        "-m",
        "unknown or doors",
        "--profile=dev",
        f"--report-dir={pytester.path / 'r'}",
    )
    result = pytester.runpytest_inprocess(*args, plugins=[configs])
    assert result.ret == 0, result.outlines[-10:]
    import json

    seed = json.loads((pytester.path / "r" / "summary.json").read_text(encoding="utf-8"))["seed"]
    assert str(seed).isdigit(), seed  # a seeded (dev) run: its hypothesis tests drew with that seed
    assert (settings.get_current_profile_name(), settings.default, core.global_force_seed) == before
    [config] = configs.seen
    names = [name for name, _ in config.pluginmanager.list_name_plugin() if str(name).startswith("spidra-contract-")]
    assert names == []


@pytest.mark.parametrize(("blocked", "said"), [((), True), (("-p", "no:timeout"), False)])
def test_a_plain_spelling_another_plugin_owns_is_named_at_the_start_of_the_run(
    pytester, suite_modules_loaded, blocked, said
):
    """With pytest-timeout installed (the dev extra has it), `--timeout` is its option: the run says so in one
    line, -q or not, and names the suite's own spelling; without it, nothing is said."""
    from spidra_contract.tools import runner

    args = (*runner.suite_args(), *blocked, "-q", "-m", "job_body", f"--report-dir={pytester.path / 'r'}")
    result = pytester.runpytest_inprocess(*args)
    assert result.ret == 0, result.outlines[-10:]
    line = "spidra-contract: --timeout is another plugin's option here; the suite's is --spidra-timeout"
    assert (line in result.outlines) is said, result.outlines[:8]


def test_an_integer_of_a_million_digits_is_judged_by_value_by_every_check(suite_in_process, tmp_path, monkeypatch):
    """JSON sets no limit on an integer's digits: a conformant body whose maxPages has a million is judged (the
    clauses and schemathesis' checks read the suite's own parse, by value), not called unreadable; afterwards
    schemathesis reads JSON as it did before the run."""
    from schemathesis.core import deserialization

    import spidra_contract.mock.faults as faults
    from spidra_contract.plugin.generation import suite_json

    monkeypatch.setattr(faults, "HUGE_DIGITS", 1_000_000)
    # The property layer: schemathesis' checks and every clause (its clause check) on each generated case.
    result = suite_in_process("--mock-switch=huge-ints", "-m", "property", report_dir=tmp_path)
    assert result.exit_code == 0, result.output[-3000:]
    assert deserialization._DESERIALIZERS["application/json"] is not suite_json


def test_a_second_run_in_one_process_draws_with_its_own_profile_not_the_last_ones(tmp_path, monkeypatch):
    """Hypothesis refuses a second `settings` on one test function, and `pytest.main` called twice in a process
    keeps the test modules (their functions) loaded: a run's settings are taken back at its end, so a `ci` run
    after a `dev` run in the same process draws the `ci` number of examples."""
    import contextlib
    import io
    import json
    import os
    import sys

    from selftests.conftest import ROOT
    from spidra_contract.tools import runner

    for name in [name for name in os.environ if name.startswith("SPIDRA_")]:
        monkeypatch.delenv(name)
    loaded = set(sys.modules)

    def unknown_requests(*options: str) -> int:
        folder = tmp_path / "-".join(options or ("ci",))
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = pytest.main([*runner.suite_args(), "-q", "-m", "unknown", *options, f"--report-dir={folder}"])
        assert code == 0
        return int(json.loads((folder / "summary.json").read_text())["requests"]["by_layer"]["unknown"])

    try:
        first = unknown_requests()
        assert unknown_requests("--profile=dev") > first
        assert unknown_requests() == first
    finally:  # the suite's test modules this test loaded: gone again, as the other in-process runs expect
        suite = runner.SUITE.resolve()
        for name in set(sys.modules) - loaded:
            path = getattr(sys.modules[name], "__file__", None) or ""
            if path and (Path(path).resolve().is_relative_to(suite) or Path(path).resolve().parent == ROOT / "tests"):
                del sys.modules[name]
