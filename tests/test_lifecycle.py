"""The job over time: only forward, progress never drops, terminal states hold."""

from __future__ import annotations

import pytest

from spidra_contract.client import reply_of
from spidra_contract.lifecycle import watch_all

pytestmark = pytest.mark.lifecycle


@pytest.fixture(scope="session")
def timelines(run, target, api, known_jobs):
    """Every known job watched at once: polled until terminal or the profile's budget, then re-read."""
    profile = run.settings.profile

    def read(job_id):
        return reply_of(api.get(target.url(job_id), headers=target.auth()))

    return watch_all(
        known_jobs,
        read,
        interval=profile.poll_interval,
        budget=profile.poll_budget,
        stable_reads=profile.stable_reads,
    )


def test_job_only_moves_forward_and_progress_never_drops(known_job, timelines, judge, judge_pair, run):
    timeline = timelines[known_job]
    if timeline.error:
        pytest.skip(f"watch of {known_job} stopped: {timeline.error}")
    for reply in timeline.reads:
        judge(reply)
    if timeline.reads and timeline.reads[0].status != 200:
        pytest.skip(f"job {known_job} answered {timeline.reads[0].status}: nothing to watch")
    run.ledger.timeline(known_job, timeline.story, timeline.finished)
    for before, after in zip(timeline.reads, timeline.reads[1:], strict=False):
        judge_pair(before, after, "lifecycle-forward", "progress-monotonic")
    if not timeline.finished:
        run.ledger.note(
            f"job {known_job} did not finish within the {run.settings.profile.poll_budget}s budget "
            f"of profile {run.settings.profile.name} (statuses seen: "
            f"{timeline.story})"
        )


def test_terminal_job_keeps_its_status_result_and_error(known_job, timelines, judge_pair):
    timeline = timelines[known_job]
    first = timeline.first_terminal
    if first is None:
        pytest.skip(f"job {known_job} was not seen completed or failed ({timeline.story})")
    for later in timeline.reads[first + 1 :]:
        judge_pair(timeline.reads[first], later, "terminal-stable")
