"""One identity for a finding (issue 29): the clause, the probe class, where, the rule; stable across runs, kept
from the exchange to the baseline. A baseline that accepted one finding never hides another of the same clause,
and the terminal tells the baseline's story."""

from __future__ import annotations

import json

import pytest

from spidra_contract.mock.app import make_state

DOORS = ("-m", "doors")
JOB_BODY = ("-m", "job_body")


def _findings(summary_path, clause):
    rows = json.loads(summary_path.read_text())["clauses"]
    return [finding for row in rows if row["clause"] == clause for finding in row["identities"]]


def test_a_baseline_that_accepted_one_open_door_fails_on_a_door_of_another_axis(suite_in_process, tmp_path):
    """HEAD skipping the key check is accepted; a trailing slash that skips it too is new: exit 1, named."""
    first = suite_in_process("--mock-switch=head-skips-auth", *DOORS, report_dir=tmp_path / "first")
    assert first.exit_code == 1, first.output[-2000:]
    baseline = first.artifact("summary.json")
    accepted = _findings(baseline, "door-locked")
    assert accepted
    assert all("HEAD" in finding["probe"] for finding in accepted)

    again = suite_in_process(
        "--mock-switch=head-skips-auth", *DOORS, f"--baseline={baseline}", report_dir=tmp_path / "a"
    )
    assert again.exit_code == 0, again.output[-3000:]
    assert f"against baseline {baseline}" in again.output
    assert "0 violated and 1 with known violations only (door-locked)" in again.output
    assert f"baseline {baseline}: 0 new, {len(accepted)} known, 0 fixed" in again.output

    worse = suite_in_process(
        "--mock-switch=head-skips-auth",
        "--mock-switch=slash-skips-auth",
        *DOORS,
        f"--baseline={baseline}",
        report_dir=tmp_path / "worse",
    )
    assert worse.exit_code == 1, worse.output[-3000:]
    story = json.loads(worse.artifact("summary.json").read_text())["baseline"]
    assert story["new"]
    assert all("trailing slash" in finding["probe"] for finding in story["new"]), story["new"]
    # The matrix's HEAD door, asked by the same callers, is known; the door drawn by hypothesis to combine with
    # HEAD may differ (it shrinks to another example once another door fails too): fixed or new, by identity.
    known = {finding["key"] for finding in story["known"]}
    assert known <= {finding["key"] for finding in accepted}
    assert {finding["key"] for finding in accepted if "[HEAD]" in finding["probe"]} <= known
    new_lines = [line for line in worse.output.splitlines() if line.startswith("  NEW: door-locked @ ")]
    assert new_lines
    assert all("trailing slash" in line for line in new_lines)


def test_a_baseline_that_accepted_one_status_semantics_fault_fails_on_another(suite_in_process, tmp_path):
    """ "completed job carries an error" is accepted; "failed job has an empty error" is new (another probe class,
    another rule), though both are status-semantics at /error."""
    first = suite_in_process("--mock-switch=completed-with-error", *JOB_BODY, report_dir=tmp_path / "first")
    assert first.exit_code == 1, first.output[-2000:]
    baseline = first.artifact("summary.json")
    assert {f["rule"] for f in _findings(baseline, "status-semantics")} == {"completed-has-no-error"}
    worse = suite_in_process(
        "--mock-switch=completed-with-error",
        "--mock-switch=failed-empty-error",
        *JOB_BODY,
        f"--baseline={baseline}",
        report_dir=tmp_path / "worse",
    )
    assert worse.exit_code == 1, worse.output[-3000:]
    story = json.loads(worse.artifact("summary.json").read_text())["baseline"]
    assert {(f["clause"], f["pointer"], f["rule"]) for f in story["new"]} == {
        ("status-semantics", "/error", "failed-has-error")
    }


def test_a_keyless_and_a_cross_account_caller_through_one_door_are_two_findings_each_with_its_curl(
    suite_in_process, tmp_path
):
    result = suite_in_process("--mock-switch=head-skips-auth", *DOORS, report_dir=tmp_path)
    assert result.exit_code == 1
    summary = json.loads(result.artifact("summary.json").read_text())
    matrix_head = [f for f in _findings(result.artifact("summary.json"), "door-locked") if "[HEAD]" in f["probe"]]
    callers = {finding["probe"].rsplit("caller: ", 1)[1] for finding in matrix_head}
    assert {"no key", "other account (after owner)"} <= callers
    door = next(row for row in summary["clauses"] if row["clause"] == "door-locked")
    with_evidence = {i["key"]: ex["exchange"]["curl"] for ex in door["examples"] for i in ex["identities"]}
    for finding in matrix_head:
        assert finding["key"] in with_evidence, "each finding has its own evidence"
        assert with_evidence[finding["key"]].startswith("curl ")
    keyless = next(f for f in matrix_head if f["probe"].endswith("caller: no key"))
    assert "x-api-key" not in with_evidence[keyless["key"]].lower()


def test_an_identity_holds_no_id_port_or_time_and_is_the_same_on_another_target(suite_in_process, tmp_path):
    """Two runs against two mocks (other ports): the same findings, by identity; none names a job id or port."""
    runs = [
        suite_in_process("--mock-switch=completed-with-error", *JOB_BODY, report_dir=tmp_path / name)
        for name in ("one", "two")
    ]
    found = [{f["key"] for f in _findings(run.artifact("summary.json"), "status-semantics")} for run in runs]
    assert found[0] == found[1]
    assert found[0]
    ids = make_state().job_ids("alpha")
    for key in found[0]:
        assert not any(job_id in key for job_id in ids), key
        assert "127.0.0.1" not in key


@pytest.mark.parametrize("place", ["status", "header", "body", "message"])
def test_where_is_written_for_each_place(place):
    from spidra_contract.core.judgement import Identity, Place

    identity = Identity("c", "p", Place(place), "/result/*/data" if place == "body" else "Content-Type", "r")
    assert identity.where.startswith(place)
    assert Identity.from_dict(json.loads(json.dumps(identity.to_dict()))) == identity


@pytest.mark.parametrize(
    ("switch", "layer", "clause"),
    [
        pytest.param("max-pages-changes", "lifecycle", "progress-monotonic", id="lifecycle"),
        pytest.param("cross-account-read", "cross_account", "foreign-job", id="cross-account"),
        pytest.param("auth-401", "auth", "auth-required", id="auth"),
    ],
)
def test_replay_judges_the_lifecycle_cross_account_and_auth_again_from_the_cassette(
    suite_in_process, tmp_path, switch, layer, clause
):
    """What the run found over two reads or by what the request asked, replay finds from the cassette alone:
    exit 1, the same findings (the same layers against the reference replay clean: below)."""
    from click.testing import CliRunner

    from spidra_contract.cli import main

    broken = suite_in_process(f"--mock-switch={switch}", "-m", layer, report_dir=tmp_path / "broken")
    assert broken.exit_code == 1, broken.output[-2000:]
    replay = CliRunner().invoke(main, ["replay", str(broken.artifact("cassette.har"))])
    assert replay.exit_code == 1, replay.output[-2000:]
    assert f"[{clause}]" in replay.output
    run = {f["key"] for f in _findings(broken.artifact("summary.json"), clause)}
    assert run <= {line.split("finding: ", 1)[1] for line in replay.output.splitlines() if "finding: " in line}


def test_replay_of_a_clean_run_of_those_layers_finds_nothing(suite_in_process, tmp_path):
    from click.testing import CliRunner

    from spidra_contract.cli import main

    clean = suite_in_process("-m", "lifecycle or cross_account or auth", report_dir=tmp_path)
    assert clean.exit_code == 0, clean.output[-2000:]
    again = CliRunner().invoke(main, ["replay", str(clean.artifact("cassette.har"))])
    assert again.exit_code == 0, again.output[-2000:]
    assert "0 with new violations" in again.output
