"""Run the contract suite as a user types it, in a subprocess: for the fault catalogue, the self-tests
and the benchmark."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
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


# The exit code of a run a signal ended (pytest's own for an interrupted run).
EXIT_INTERRUPTED = 2
FORWARDED = (signal.SIGINT, signal.SIGTERM)


# Started first in a supervised child: on Linux it asks the kernel for SIGTERM when the wrapper dies
# (PR_SET_PDEATHSIG, which survives the exec), checks the wrapper did not die already, then becomes the command.
# (A preexec_fn would do the same, but is not safe beside threads: `compare` starts its sides from two.)
_LAUNCH = (
    "import os, signal, sys\n"
    "if sys.platform.startswith('linux'):\n"
    "    import ctypes\n"
    "    ctypes.CDLL(None).prctl(1, signal.SIGTERM)\n"
    "    if os.getppid() != int(sys.argv[1]):\n"
    "        sys.exit(2)\n"
    "os.execv(sys.argv[2], sys.argv[2:])\n"
)


def launched(command: list[str]) -> list[str]:
    """`command`, started so that it does not outlive this process."""
    return [sys.executable, "-c", _LAUNCH, str(os.getpid()), *command]


class Supervised:
    """Suite processes started by a wrapper (`spidra-contract run`, both sides of `compare`): each in a process
    group of its own, so a signal reaches it once, from here. SIGINT and SIGTERM sent to the wrapper are passed
    to every group; each suite then stops its tests and writes its reports (pytest's interrupt, the plugin's
    SIGTERM), the wrapper waits for them and ends with exit 2. A wrapper that dies takes its suites along."""

    def __init__(self) -> None:
        self.children: list[subprocess.Popen[Any]] = []
        self.signalled: int | None = None
        self._lock = threading.Lock()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> Supervised:
        if threading.current_thread() is threading.main_thread():
            for number in FORWARDED:
                self._previous[number] = signal.signal(number, self._forward)
        return self

    def __exit__(self, *exc: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)

    def _forward(self, number: int, frame: Any) -> None:
        self.signalled = number
        with self._lock:
            children = list(self.children)
        for child in children:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(child.pid, number)

    def call(self, command: list[str], **options: Any) -> int:
        """Run `command` to its end (a signal to the wrapper reaches it); its exit code, 2 once signalled."""
        child = subprocess.Popen(launched(command), start_new_session=True, **options)
        with self._lock:
            self.children.append(child)
            if self.signalled is not None:  # a signal came while it started
                os.killpg(child.pid, self.signalled)
        try:
            code = child.wait()
        finally:
            with self._lock:
                self.children.remove(child)
        return EXIT_INTERRUPTED if self.signalled is not None else code


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
