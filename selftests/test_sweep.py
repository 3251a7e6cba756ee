"""The corpus sweep: thousands of ids from a file, sharded over xdist workers, one merged report."""

from __future__ import annotations

import json

import pytest

from selftests.conftest import live_args, run_suite
from spidra_contract.core.settings import iter_ids
from spidra_contract.judging.sweep import sweep
from spidra_contract.mock.app import make_state
from spidra_contract.mock.jobs import add_corpus
from spidra_contract.mock.server import MockServer

SWEEP = ("tests/test_corpus_sweep.py", "tests/test_job_status.py")


@pytest.fixture
def corpus_mock(request, tmp_path):
    """A served mock holding 400 more finished jobs, and the file of their ids."""
    state = make_state(getattr(request, "param", ()), time_scale=2.5)
    ids = add_corpus(state.store, 400)
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("# yesterday's crawls\n" + "\n".join(ids) + "\n\n")
    with MockServer(state) as server:
        yield server, state, ids_file


def test_sharded_sweep_judges_every_id_once_and_merges_the_reports(corpus_mock, tmp_path):
    server, state, ids_file = corpus_mock
    result = run_suite(
        *live_args(server, state), f"--job-ids-file={ids_file}", "-n", "2", report_dir=tmp_path / "r", tests=SWEEP
    )
    assert result.exit_code == 0, result.output
    summary = json.loads(result.artifact("summary.json").read_text())
    notes = " ".join(summary["notes"])
    assert "shard 1 of 2" in notes
    assert "shard 2 of 2" in notes
    swept = [entry for entry in state.received if entry["path"].startswith("/api/crawl/")]
    assert len(swept) >= 400
    judged = next(row["judged"] for row in summary["clauses"] if row["clause"] == "status-enum")
    assert judged >= 400 + len(state.job_ids()), "the workers' verdicts were not merged"


@pytest.mark.parametrize("corpus_mock", [("result-data-string",)], indirect=True)
def test_sweep_counts_violations_per_clause_with_first_examples(corpus_mock, tmp_path):
    server, state, ids_file = corpus_mock
    result = run_suite(
        *live_args(server, state),
        "--job-ids-file",
        str(ids_file),
        report_dir=tmp_path / "r",
        tests=("tests/test_corpus_sweep.py",),
    )
    assert result.exit_code == 1, result.output
    assert "result-shape x" in result.output
    summary = json.loads(result.artifact("summary.json").read_text())
    row = next(row for row in summary["clauses"] if row["clause"] == "result-shape")
    assert row["failed"] >= 300
    assert 1 <= len(row["examples"]) <= 5


def test_ids_are_streamed_and_split_into_disjoint_shards(tmp_path):
    ids_file = tmp_path / "ids.txt"
    ids_file.write_text("\n".join(f"id-{n}" for n in range(10)) + "\n# comment\n\n")
    shards = [list(iter_ids(ids_file, index, 3)) for index in range(3)]
    assert sorted(job_id for shard in shards for job_id in shard) == sorted(f"id-{n}" for n in range(10))
    assert not set(shards[0]) & set(shards[1])


def test_sweep_never_reads_more_than_twice_its_concurrency_ahead_of_the_checks():
    """Constant memory for a file of any length: the id iterator is never read more than 2 x concurrency
    ahead of the checks done, and never more than `concurrency` checks run at once."""
    import threading
    import time

    lock = threading.Lock()
    in_flight, peak, done, lead = [0], [0], [0], [0]

    def check(job_id):
        with lock:
            in_flight[0] += 1
            peak[0] = max(peak[0], in_flight[0])
        time.sleep(0.001)  # long enough for an unbounded producer to run far ahead
        with lock:
            in_flight[0] -= 1
            done[0] += 1
        return 200, []

    def ids():
        for n in range(300):
            with lock:
                lead[0] = max(lead[0], n - done[0])
            yield str(n)

    stats = sweep(ids(), check, concurrency=4)
    assert stats.ids == 300
    assert 1 < peak[0] <= 4
    assert lead[0] <= 2 * 4
