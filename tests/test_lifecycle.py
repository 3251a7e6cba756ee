"""The job over time: only forward, progress never drops, terminal states hold."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="session")
def timelines(run):
    """Every known job watched at once (the watch starts with the run and goes on alongside the other tests):
    polled until terminal or the profile's budget, then re-read."""
    return run.watch().result()


def test_job_only_moves_forward_and_progress_never_drops(known_job, timelines, judge, judge_pair, ledger, options, run):
    timeline = timelines[known_job]
    if timeline.error:
        pytest.skip(f"watch of {known_job} stopped: {timeline.error}")
    for reply in timeline.reads:
        judge(reply)
    if timeline.reads and timeline.reads[0].status != 200:
        pytest.skip(f"job {known_job} answered {timeline.reads[0].status}: nothing to watch")
    ledger.timeline(known_job, timeline.story, timeline.finished)
    for before, after in zip(timeline.reads, timeline.reads[1:], strict=False):
        judge_pair(before, after, "lifecycle-forward", "progress-monotonic")
    if not timeline.finished:
        ledger.note(
            f"job {known_job} did not finish within the {options.watch:g} s watch "
            f"of profile {options.profile.name}{_clock(run)} (statuses seen: {timeline.story})"
        )


def test_terminal_job_keeps_its_status_result_and_error(known_job, timelines, judge_pair):
    timeline = timelines[known_job]
    first = timeline.first_terminal
    if first is None:
        pytest.skip(f"job {known_job} was not seen completed or failed ({timeline.story})")
    for later in timeline.reads[first + 1 :]:
        judge_pair(timeline.reads[first], later, "terminal-stable")


def _clock(run) -> str:
    return f" (job time; the mock's clock runs x{run.time_scale:g})" if run.time_scale != 1 else ""
