"""Benchmark: prints the figures the README quotes, from one run on this machine.

- the default suite's wall time and requests against the mock served over HTTP (its own process);
- the same for a plain `st run` of openapi.yaml with the same key and job ids;
- the corpus sweep's rate at 1,000 and 10,000 ids beside a bare HTTP client loop, and its memory.

- what an unrelated project's pytest pays with the package installed beside it.

Usage: python benchmarks/bench.py [--sizes 1000,10000] [--good-citizen]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from spidra_contract.core.settings import PROFILES  # noqa: E402
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY  # noqa: E402
from spidra_contract.tools.runner import run_suite  # noqa: E402


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ServedMock:
    """`spidra-contract serve-mock` in its own process, as another tool would use it."""

    def __init__(self, workdir: Path, corpus: int = 0, switches: tuple[str, ...] = ()) -> None:
        self.port = free_port()
        self.ids_file = workdir / f"corpus-{corpus}.txt"
        command = [
            sys.executable,
            "-m",
            "spidra_contract.cli",
            "serve-mock",
            "--port",
            str(self.port),
            "--time-scale",
            "2.5",
        ]
        if corpus:
            command += ["--corpus", str(corpus), "--ids-file", str(self.ids_file)]
        for switch in switches:
            command += ["--switch", switch]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        self.base_url = f"http://127.0.0.1:{self.port}/api"
        self.job_ids: list[str] = []
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("job ids:"):
                self.job_ids = line.split(":", 1)[1].strip().split(",")
            if line.startswith("run the suite"):
                break
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                requests.get(f"http://127.0.0.1:{self.port}/_mock/stats", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise RuntimeError("served mock did not start")

    def requests_seen(self) -> int:
        return int(requests.get(f"http://127.0.0.1:{self.port}/_mock/stats", timeout=5).json()["requests"])

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def timed(command: list[str], cwd: Path = ROOT) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, completed


def _st_command(workdir: Path, mock: ServedMock) -> list[str]:
    """A plain `st run` of openapi.yaml against the served mock, with the same key and job ids."""
    st = shutil.which("st") or str(Path(sys.executable).parent / "st")
    config = workdir / "schemathesis.toml"
    config.write_text(
        "[dictionaries.known-jobs]\nvalues = [" + ", ".join(json.dumps(i) for i in mock.job_ids) + "]\n\n"
        '[parameters]\n"path.jobId" = { dictionary = "known-jobs", probability = 0.5 }\n'
    )
    return [
        st,
        "--config-file",
        str(config),
        "run",
        str(ROOT / "openapi.yaml"),
        "--url",
        mock.base_url,
        "-H",
        f"x-api-key: {ALPHA_KEY}",
        "--max-examples",
        "25",
        "--mode",
        "all",
        "--generation-deterministic",
        "--no-color",
    ]


def _summary(report_dir: Path) -> dict[str, Any]:
    path = report_dir / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


# A marker expression no test matches: the run's fixed cost (start-up, collection, the mock, the reports).
NO_TEST = "property and not property"

# Two faults that fail many tests of several layers (the self-tests' "broken run").
BROKEN = ("--mock-switch=result-data-string", "--mock-switch=error-empty-message")


def bench_suite(workdir: Path, runs: int) -> tuple[list[tuple[str, ...]], list[tuple[str, ...]], dict[str, int]]:
    """The default run (embedded mock) beside `st run` on a served mock, `runs` times each, alternating;
    then one live-like run (served mock, `--base-url`, the default live rate limit) against its bound."""
    mock = ServedMock(workdir)
    suite_times: list[float] = []
    layer_times: list[float] = []
    floor_times: list[float] = []
    st_times: list[float] = []
    try:
        command = _st_command(workdir, mock)
        for index in range(runs):
            started = time.perf_counter()
            result = run_suite(report_dir=workdir / f"default-{index}", cwd=ROOT)
            suite_times.append(time.perf_counter() - started)
            suite_exit = result.exit_code
            started = time.perf_counter()
            layer = run_suite("-m", "property", report_dir=workdir / f"property-{index}", cwd=ROOT)
            layer_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            run_suite("-m", NO_TEST, report_dir=workdir / f"floor-{index}", cwd=ROOT)
            floor_times.append(time.perf_counter() - started)
            before = mock.requests_seen()
            seconds, completed = timed(command, cwd=workdir)
            st_times.append(seconds)
            st_sent = mock.requests_seen() - before
        default = _summary(workdir / f"default-{runs - 1}")
        property_only = _summary(workdir / f"property-{runs - 1}")
        failing = run_suite(*BROKEN, report_dir=workdir / "failing", cwd=ROOT)
        failing_sent = _summary(workdir / "failing").get("requests", {}).get("sent", 0)
        green_sent = default.get("requests", {}).get("sent", 0)
        suite_median, st_median = statistics.median(suite_times), statistics.median(st_times)
        layer_median = statistics.median(layer_times)
        floor_median = statistics.median(floor_times)
        speed: list[tuple[str, ...]] = [
            (
                "contract suite, default run (embedded mock, profile ci)",
                f"{suite_median:.1f}",
                str(green_sent),
                f"exit {suite_exit}",
            ),
            (
                "its schemathesis layer alone (`-m property`: pytest, the plugin, the mock, 25 examples)",
                f"{layer_median:.1f}",
                str(property_only.get("requests", {}).get("sent", "?")),
                f"exit {layer.exit_code}",
            ),
            (
                "plain `st run openapi.yaml` (served mock, 25 examples)",
                f"{st_median:.1f}",
                str(st_sent),
                f"exit {completed.returncode}: {_st_summary(completed.stdout)}",
            ),
            (
                "fixed cost: the suite with no test selected (python, pytest and every installed plugin, collection,"
                " the mock, eight reports)",
                f"{floor_median:.1f}",
                "0",
                "",
            ),
            ("ratio of medians (suite / st run; goal <= 1.0)", f"{suite_median / st_median:.2f}", "", f"{runs} runs"),
            ("ratio of medians (schemathesis layer alone / st run)", f"{layer_median / st_median:.2f}", "", ""),
            ("ratio of medians (fixed cost / st run)", f"{floor_median / st_median:.2f}", "", ""),
            (
                f"a failing run ({' '.join(BROKEN)})",
                "",
                str(failing_sent),
                f"exit {failing.exit_code}; {failing_sent / green_sent if green_sent else 0:.2f} x the green run's"
                " requests (goal <= 1.2)",
            ),
        ]

        args = ["--base-url", mock.base_url, "--api-key", ALPHA_KEY, "--other-api-key", BETA_KEY]
        args += [f"--job-id={job_id}" for job_id in mock.job_ids]
        started = time.perf_counter()
        result = run_suite(*args, report_dir=workdir / "live-like", cwd=ROOT)
        seconds = time.perf_counter() - started
        live = _summary(workdir / "live-like")
        sent = int(live.get("requests", {}).get("sent", 0))
        rate = float(live.get("requests", {}).get("rate_limit_per_s", 0) or 0)
        watch = PROFILES["ci"].poll_budget
        bound = max(watch, sent / rate if rate else 0.0) + 2
        live_rows: list[tuple[str, ...]] = [
            (
                f"live-like run (served mock, --base-url, {rate:g} requests/s)",
                f"{seconds:.1f}",
                str(sent),
                f"exit {result.exit_code}; bound max({watch:g} s watch, {sent}/{rate:g}) + 2 = {bound:.1f} s"
                f" ({'within' if seconds <= bound else 'OVER'})",
            )
        ]
    finally:
        mock.stop()
    return speed, live_rows, dict(live.get("requests", {}).get("by_layer", {}))


# Every hostile target of the catalogue's transport and wire faults (and the conformant wire variants), run with
# the options: each must end within --timeout + 10 s (a slow drip: --deadline + 10 s), under 300 MB.
HOSTILE = (
    "huge-body",
    "endless-body",
    "inflation-bomb",
    "drip-head",
    "drip-head-later",
    "continue-flood",
    "endless-chunk-size",
    "endless-trailers",
    "header-flood",
    "switch-protocols",
    "not-http",
    "surrogate-status",
    "early-hints",
    "huge-ints",
)
HOSTILE_OPTIONS = ("--spidra-timeout=5", "--spidra-deadline=120")


def bench_hostile(workdir: Path) -> list[tuple[str, str, str, str]]:
    """The whole suite against a served mock that tries to hurt or trick it (bodies huge, endless or a bomb; a
    head dripped; interim replies for ever; chunk framing or trailers that never end; header floods; protocol
    switches; garbage): wall time and the suite process' peak memory, with `HOSTILE_OPTIONS`."""
    rows = []
    gnu_time = shutil.which("time") or "/usr/bin/time"
    for switch in HOSTILE:
        mock = ServedMock(workdir, switches=(switch,))
        try:
            args = ["--base-url", mock.base_url, "--api-key", ALPHA_KEY, "--other-api-key", BETA_KEY]
            args += ["--rate-limit", "0", *[f"--job-id={job_id}" for job_id in mock.job_ids], *HOSTILE_OPTIONS]
            report_dir = workdir / switch
            stats = workdir / f"{switch}.time"
            started = time.perf_counter()
            completed = subprocess.run(
                [
                    gnu_time,
                    "-f",
                    "%M",
                    "-o",
                    str(stats),
                    sys.executable,
                    "-m",
                    "pytest",
                    "-q",
                    "-p",
                    "no:cacheprovider",
                    f"--report-dir={report_dir}",
                    *args,
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=False,
            )
            seconds = time.perf_counter() - started
            peak = int(stats.read_text().split()[-1]) / 1024 if stats.is_file() else float("nan")
            written = sum(1 for _ in report_dir.glob("*")) if report_dir.is_dir() else 0
            rows.append(
                (switch, f"{seconds:.1f}", f"{peak:.0f} MiB", f"exit {completed.returncode}, {written} reports")
            )
        finally:
            mock.stop()
    return rows


def _st_summary(output: str) -> str:
    lines = [line.strip() for line in output.splitlines() if re.search(r"\d+ (passed|failed|failures?)", line)]
    return lines[-1][:90] if lines else "see output"


def bare_loop(base_url: str, ids: list[str]) -> float:
    """The floor: one plain requests.Session, one GET after another, nothing checked. Requests per second."""
    session = requests.Session()
    started = time.perf_counter()
    for job_id in ids:
        session.get(f"{base_url}/crawl/{job_id}", headers={"x-api-key": ALPHA_KEY}).content  # noqa: B018
    return len(ids) / (time.perf_counter() - started)


def sweep_rate(base_url: str, ids_file: Path, trace_memory: bool = False) -> tuple[float, int, float]:
    """The suite's corpus sweep, in this process: ids per second, 200s seen, and (traced in a separate pass,
    since tracing slows every allocation) peak memory in MiB."""
    from spidra_contract.core.judgement import Judgement
    from spidra_contract.core.settings import iter_ids, resolve
    from spidra_contract.core.spec import load_contract
    from spidra_contract.http.client import reply_of
    from spidra_contract.judging.sweep import sweep
    from spidra_contract.mock.catalogue import CATALOGUE
    from spidra_contract.plugin.run import Run

    given = {
        "spidra_base_url": base_url,
        "spidra_api_key": ALPHA_KEY,
        "spidra_job_ids_file": str(ids_file),
        "spidra_report_dir": tempfile.mkdtemp(),
        "spidra_rate_limit": "0",
    }
    settings = resolve(lambda dest: given.get(dest), lambda ini: None, ROOT, known_switches=CATALOGUE)
    run = Run(settings=settings, contract=load_contract(settings.spec), seed="bench")
    target = run.start()
    api = run.session()

    def check(job_id: str) -> tuple[int, list[Judgement]]:
        reply = reply_of(api.get(target.url(job_id), headers=target.auth()))
        return reply.status, run.judging.judge("sweep", reply)

    if trace_memory:
        tracemalloc.start()
    stats = sweep(iter_ids(ids_file), check)
    peak = tracemalloc.get_traced_memory()[1] if trace_memory else 0
    tracemalloc.stop()
    run.stop()
    return stats.rate, stats.statuses[200], peak / 2**20


def bench_sweep(workdir: Path, sizes: list[int]) -> list[tuple[str, str, str, str]]:
    rows = []
    for size in sizes:
        mock = ServedMock(workdir, corpus=size)
        try:
            ids = mock.ids_file.read_text().split()
            floor = bare_loop(mock.base_url, ids)
            rate, ok, _ = sweep_rate(mock.base_url, mock.ids_file)
            _, _, peak = sweep_rate(mock.base_url, mock.ids_file, trace_memory=True)
        finally:
            mock.stop()
        rows.append(
            (
                f"{size:,} ids",
                f"{floor:,.0f}/s",
                f"{rate:,.0f}/s ({rate / floor:.0%})",
                f"{ok:,} judged 200s, peak {peak:.1f} MiB",
            )
        )
    return rows


def faults_by_layer() -> dict[str, int]:
    """How many catalogue faults each layer is meant to catch (what `faults` limits a fault's run to)."""
    from spidra_contract.cli import marker_expression
    from spidra_contract.mock.catalogue import FAULTS

    counts: dict[str, int] = {}
    for fault in FAULTS:
        layer = marker_expression(fault) or "whole suite"
        counts[layer] = counts.get(layer, 0) + 1
    return counts


def bench_good_citizen(workdir: Path, runs: int) -> list[tuple[str, ...]]:
    """What an unrelated project's pytest (two trivial tests) pays when this package is installed beside it:
    nothing installed (an isolated tool install leaves the project's environment so; pytest alone, no plugin
    autoloaded), the dependencies' pytest plugins with this plugin blocked, and everything as installed with
    SPIDRA_API_KEY set (the plugin stays off). Each with bytecode cached (as on a user's machine) and without any
    cache; one warm-up, medians of `runs`."""
    project = workdir / "unrelated"
    project.mkdir()
    (project / "test_unrelated.py").write_text("def test_one():\n    pass\n\n\ndef test_two():\n    pass\n")
    base = {k: v for k, v in os.environ.items() if not k.startswith(("SPIDRA_", "PYTEST_"))}
    base.pop("PYTHONDONTWRITEBYTECODE", None)
    pytest_cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
    cases = [
        ("pytest alone (the suite installed as a tool elsewhere)", [], {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}),
        (
            "installed beside it, this plugin blocked (its dependencies' plugins)",
            ["-p", "no:spidra_contract.plugin"],
            {},
        ),
        ("installed beside it, SPIDRA_API_KEY set (the plugin stays off)", [], {"SPIDRA_API_KEY": "sk-x"}),
    ]
    # Without a bytecode cache: nothing written, and the cache looked up in an empty folder, so every module is
    # compiled from source in every run (what a machine with PYTHONDONTWRITEBYTECODE=1 and no .pyc pays).
    uncached = {"PYTHONDONTWRITEBYTECODE": "1", "PYTHONPYCACHEPREFIX": str(workdir / "no-pycache")}
    rows: list[tuple[str, ...]] = []
    baselines: dict[bool, float] = {}
    for label, args, extra in cases:
        medians: dict[bool, float] = {}
        for cached in (True, False):
            walls = []
            for attempt in range(runs + 1):
                env = {**base, **extra, **({} if cached else uncached)}
                started = time.perf_counter()
                done = subprocess.run(
                    [*pytest_cmd, *args], cwd=project, env=env, capture_output=True, text=True, check=False
                )
                if attempt:
                    walls.append(time.perf_counter() - started)
            medians[cached] = statistics.median(walls)
            baselines.setdefault(cached, medians[cached])
        rows.append(
            (
                label,
                f"{medians[True]:.2f}",
                f"+{medians[True] - baselines[True]:.2f}",
                f"{medians[False]:.2f}",
                f"+{medians[False] - baselines[False]:.2f}",
                f"exit {done.returncode}",
            )
        )
    return rows


def table(header: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="corpus sizes for the sweep (comma-separated)")
    parser.add_argument("--skip-suite", action="store_true", help="only measure the hostile targets and the sweep")
    parser.add_argument("--runs", type=int, default=5, help="runs of the default suite and of `st run` (medians)")
    parser.add_argument(
        "--good-citizen", action="store_true", help="only what an unrelated project's pytest pays with this installed"
    )
    parser.add_argument("--skip-hostile", action="store_true", help="leave out the hostile targets")
    parser.add_argument("--skip-sweep", action="store_true", help="leave out the corpus sweep")
    options = parser.parse_args()
    os.environ.pop("SPIDRA_API_KEY", None)
    with tempfile.TemporaryDirectory(prefix="spidra-bench-") as tmp:
        workdir = Path(tmp)
        print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}")
        citizen = bench_good_citizen(workdir, options.runs)
        print(
            table(
                ("an unrelated project's pytest (2 tests)", "wall s, cached", "cost", "wall s, no cache", "cost", ""),
                citizen,
            )
        )
        print()
        if options.good_citizen:
            return
        if not options.skip_suite:
            speed, live, layers = bench_suite(workdir, options.runs)
            print(table(("run", "median wall s", "requests", "verdict"), speed))
            print()
            print(table(("run", "wall s", "requests", "verdict and bound"), live))
            print()
            caught = faults_by_layer()
            names = sorted(set(layers) | set(caught), key=lambda name: (-layers.get(name, 0), name))
            # "whole suite": faults whose run is every layer; "burst" sends nothing to a live API without --burst.
            rows = [(name, str(layers.get(name, 0)), str(caught.get(name, 0))) for name in names]
            total = ("total", str(sum(layers.values())), str(sum(caught.values())))
            header = ("layer (requests of the live-like run)", "requests", "catalogue faults it is meant to catch")
            print(table(header, [*rows, total]))
            print()
        if not options.skip_hostile:
            print(table(("hostile target (served mock)", "wall s", "peak memory", "verdict"), bench_hostile(workdir)))
            print()
        if not options.skip_sweep:
            sizes = [int(size) for size in options.sizes.split(",")]
            sweep_header = ("corpus", "bare client loop", "suite sweep (share of bare)", "notes")
            print(table(sweep_header, bench_sweep(workdir, sizes)))


if __name__ == "__main__":
    main()
