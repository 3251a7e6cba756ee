"""The job over time: only forward, progress never drops, terminal states hold."""

from __future__ import annotations

import itertools

import pytest

from spidra_contract.judging.lifecycle import Timeline

pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="session")
def timelines(run):
    """Every known job watched at once (the watch starts with the run and goes on alongside the other tests):
    polled until terminal or the profile's budget, then re-read."""
    return run.watch().result()


def test_job_only_moves_forward_progress_never_drops_and_a_finished_job_stays_as_it_finished(
    known_job, timelines, judge, judge_pair, ledger, options, run
):
    """One timeline of the job: every read of it by its owner, from any layer (the watch's polls, the body checks,
    the burst), in the order known. Each watch poll is judged alone (the other layers judged their own); each pair
    of reads for a forward move and progress that never drops; once the job is completed or failed, every later
    read against that first terminal one. A job that does not finish within the watch is judged on what it did,
    and the reports say so."""
    timeline = timelines[known_job]
    if timeline.error:
        pytest.skip(f"watch of {known_job} stopped: {timeline.error}")
    for reply in timeline.reads:
        judge(reply)
    if timeline.reads and timeline.reads[0].status != 200:
        pytest.skip(f"job {known_job} answered {timeline.reads[0].status} to its owner: check --job-id")
    reads = run.timeline_of(known_job)
    ledger.timeline(known_job, Timeline(known_job, reads).story, timeline.finished)
    for before, after in itertools.pairwise(reads):
        judge_pair(before, after, "lifecycle-forward", "progress-monotonic")
    first = Timeline(known_job, reads).first_terminal
    if first is not None:
        for later in reads[first + 1 :]:
            judge_pair(reads[first], later, "terminal-stable")
    if not timeline.finished:
        ledger.note(
            f"job {known_job} did not finish within the {options.watch:g} s watch "
            f"of profile {options.profile.name}{_clock(run)} (statuses seen: {timeline.story}): judged on its "
            "moves and progress; terminal-stable needs it finished (a longer --watch)"
        )


def _clock(run) -> str:
    return f" (job time; the mock's clock runs x{run.time_scale:g})" if run.time_scale != 1 else ""
