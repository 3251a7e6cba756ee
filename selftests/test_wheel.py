"""The wheel alone, from an empty folder: `spidra-contract run` gives the repo's verdicts and reports."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path

import pytest

from selftests.conftest import ARTIFACTS, ROOT, assert_reports_agree, live_args


@pytest.fixture(scope="module")
def wheel_python(tmp_path_factory) -> Path:
    """A fresh virtualenv holding only the built wheel (its dependencies are read from this environment's
    site-packages, without its editable install of this project)."""
    import fcntl
    import tempfile

    base = tmp_path_factory.mktemp("wheel")
    # setuptools writes build/ in the source tree: one xdist worker builds at a time.
    with open(Path(tempfile.gettempdir()) / "spidra-contract-wheel.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(base / "dist"), str(ROOT)],
            check=True,
            capture_output=True,
        )
    wheel = next((base / "dist").glob("spidra_contract-*.whl"))
    env_dir = base / "venv"
    venv.create(env_dir, with_pip=False)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
    )
    # The dependencies, as a plain path entry: its .pth files (the editable install's finder) are not run.
    (site / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    where = subprocess.run(
        [str(python), "-c", "import spidra_contract; print(spidra_contract.__file__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert where.startswith(str(site)), f"the wheel's package is not the one imported: {where}"
    return python


def spidra_contract(python: Path, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """The installed command, as a CI log runs it (80 columns), with its own cache folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPIDRA_", "HYPOTHESIS_"))}
    env |= {"COLUMNS": "80", "XDG_CACHE_HOME": str(cwd.parent / "cache")}
    return subprocess.run(
        [str(python), "-m", "spidra_contract.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.parametrize(
    ("served_mock", "exit_code"),
    [pytest.param((), 0, id="conformant"), pytest.param(("result-data-string",), 1, id="broken")],
    indirect=["served_mock"],
)
def test_the_wheel_alone_runs_the_suite_from_an_empty_folder(wheel_python, served_mock, exit_code, tmp_path):
    server, state = served_mock
    folder = tmp_path / "empty"
    folder.mkdir()
    result = spidra_contract(wheel_python, folder, "run", *live_args(server, state))
    assert result.returncode == exit_code, result.stdout[-3000:] + result.stderr[-2000:]
    # Progress: one line a test file at 80 columns (short paths, no dangling `[ 1%]`); the spec's defects in one
    # short line (whole in the reports).
    progress = [line for line in result.stdout.splitlines() if line.rstrip().endswith("%]")]
    assert progress, result.stdout[-2000:]
    assert all(len(line) <= 80 for line in progress), progress
    assert all(re.match(r"(tests/test_\w+\.py )?\S+ +\[ *\d+%\]$", line) for line in progress), progress
    assert [len(line) <= 80 for line in result.stdout.splitlines() if line.startswith("spec")] == [True]
    reports = folder / "reports"
    assert sorted(p.name for p in reports.iterdir()) == sorted(ARTIFACTS)
    assert_reports_agree(reports, exit_code, result.stdout)
    summary = json.loads((reports / "summary.json").read_text())
    assert summary["subset"] is False
    # Only the reports: hypothesis' examples go to the user's cache folder, never beside the tests.
    written = sorted(p.name for p in folder.iterdir())
    assert written == ["reports"], f"run wrote outside its report folder: {written}"


def test_the_wheel_knows_its_version_and_scores_a_fault_from_any_folder(wheel_python, tmp_path):
    version = spidra_contract(wheel_python, tmp_path, "--version")
    assert version.returncode == 0
    assert "0.1.0" in version.stdout
    faults = spidra_contract(wheel_python, tmp_path, "faults", "--only", "no-auth")
    assert faults.returncode == 0, faults.stdout + faults.stderr
    assert "caught" in faults.stdout


def test_the_wheel_compares_two_served_mocks_from_an_empty_folder(wheel_python, tmp_path):
    """`compare` with the installed package alone: production and a candidate that dropped optional fields."""
    from spidra_contract.mock.app import make_state
    from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY
    from spidra_contract.mock.server import MockServer

    folder = tmp_path / "empty"
    folder.mkdir()
    production = MockServer(make_state((), time_scale=2.5)).start()
    candidate = MockServer(make_state(("sparse-items",), time_scale=2.5)).start()
    try:
        ids = [f"--job-id={job_id}" for job_id in make_state((), time_scale=2.5).job_ids("alpha")]
        result = spidra_contract(
            wheel_python,
            folder,
            "compare",
            f"--base-url={production.base_url}",
            f"--candidate-url={candidate.base_url}",
            f"--api-key={ALPHA_KEY}",
            f"--candidate-api-key={ALPHA_KEY}",
            f"--other-api-key={BETA_KEY}",
            f"--candidate-other-api-key={BETA_KEY}",
            *ids,
            *(f"--candidate-job-id={i.split('=', 1)[1]}" for i in ids),
            "--",
            "-m",
            "job_body",
            "--rate-limit",
            "0",
        )
    finally:
        production.stop()
        candidate.stop()
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert "field /result/*/title removed" in result.stdout
    assert sorted(p.name for p in (folder / "reports").iterdir()) == [
        "candidate",
        "candidate.log",
        "comparison.html",
        "comparison.json",
        "comparison.md",
        "production",
        "production.log",
    ]
