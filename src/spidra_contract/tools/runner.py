"""Run the contract suite as a user types it, in a subprocess: for the fault catalogue, the self-tests
and the benchmark."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# The suite as installed: the top-level tests/, openapi.yaml, pytest.ini and conftest.py, which the wheel
# carries here (in a clone, symlinks to them).
SUITE = Path(__file__).resolve().parent.parent / "suite"


def suite_args() -> list[str]:
    """The pytest arguments that run the packaged suite from any folder (no cache written beside it)."""
    return ["-c", str(SUITE / "pytest.ini"), "--rootdir", str(SUITE), "-p", "no:cacheprovider", str(SUITE / "tests")]


# Options of pytest and of the plugins installed with the suite that name a file or folder.
PYTEST_PATH_OPTIONS = ("--junitxml", "--junit-xml", "--html", "--basetemp", "--confcutdir", "--log-file")


def with_paths_from(args: list[str], cwd: Path) -> tuple[list[str], dict[str, str]]:
    """`args`, and the suite's SPIDRA_* variables, with every path option (report folder, ids file, baseline,
    spec) made absolute against `cwd`, the user's folder: the packaged suite runs in its own folder. The report
    folder is `cwd/reports` when neither they nor the environment name one."""
    from spidra_contract.core.settings import OPTIONS

    paths: dict[str, Any] = {
        spelling: option for option in OPTIONS if option.is_path for spelling in (option.flag, option.prefixed)
    }
    paths.update(dict.fromkeys(PYTEST_PATH_OPTIONS))  # pytest's and its plugins' own file options
    out: list[str] = []
    named: set[str] = set()
    pending = None
    for arg in args:
        flag, eq, value = arg.partition("=")
        if pending is not None:
            out.append(f"{pending}={cwd / arg}")
            pending = None
        elif flag in paths and eq:
            out.append(f"{flag}={cwd / value}")
            named.add(paths[flag].env if paths[flag] else flag)
        elif arg in paths:
            pending = arg
            named.add(paths[arg].env if paths[arg] else arg)
        else:
            out.append(arg)
    if pending is not None:
        out.append(pending)  # a path option with no value: pytest says so
    env: dict[str, str] = {}
    for option in OPTIONS:
        if option.is_path and option.env not in named and os.environ.get(option.env):
            env[option.env] = str(cwd / os.environ[option.env])
    if "SPIDRA_REPORT_DIR" not in named and "SPIDRA_REPORT_DIR" not in env:
        out.append(f"--report-dir={cwd / 'reports'}")
    return out, env


@dataclass
class SuiteResult:
    exit_code: int
    output: str
    report_dir: Path

    def artifact(self, name: str) -> Path:
        return self.report_dir / name


def run_suite(
    *args: str,
    report_dir: Path,
    env: dict[str, str] | None = None,
    timeout: float | None = 900,
    cwd: Path | None = None,
    packaged: bool = False,
) -> SuiteResult:
    """`pytest ARGS --report-dir DIR` in `cwd` (default: here, the project root when run as documented), or
    the packaged suite from any folder when `packaged`; this process' SPIDRA_* variables are not inherited."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SPIDRA_") and k != "GITHUB_STEP_SUMMARY"}
    # pytest rewrites the asserts of every module of a plugin's distribution (hypothesis, schemathesis: about
    # 300 modules, 2-3 s a run); let it cache them, as it does by default.
    clean.pop("PYTHONDONTWRITEBYTECODE", None)
    clean.update(env or {})
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            *(suite_args() if packaged else ["-p", "no:cacheprovider"]),
            "-q",
            f"--report-dir={report_dir}",
            *args,
        ],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=clean,
        timeout=timeout,
        check=False,
    )
    return SuiteResult(completed.returncode, completed.stdout + completed.stderr, report_dir)
