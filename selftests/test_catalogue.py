"""Every fault in the catalogue fails the suite with its clause named; every variant passes."""

from __future__ import annotations

import re

import pytest

from selftests.conftest import assert_no_secret_in, assert_reports_agree
from spidra_contract.cli import Outcome, marker_expression
from spidra_contract.mock.catalogue import FAULTS, VARIANTS, Switch
from spidra_contract.mock.faults import REGISTRY, Fault
from spidra_contract.mock.jobs import ALPHA_KEY, BETA_KEY

# A variant bent at hook points is judged in process, reply by reply, for every kind of request the layers send
# (`test_mock_faults`: owner, strangers, every door, odd ids); here, end to end, by what only the suite's own tests
# judge: schemathesis' checks over generated cases, the lifecycle's pairs of reads, the body tests. The whole
# suite runs every variant in `spidra-contract faults` (a step of `.ci/run`).
SUITE_ONLY_LAYERS = "property or lifecycle or job_body"
HOOKED = {v.name for v in VARIANTS if v.name in REGISTRY and type(REGISTRY[v.name]).pace is Fault.pace}


def run_switch(suite_in_process, switch: Switch, workdir, marker: str | None = None) -> Outcome:
    """`spidra-contract faults`' run of one switch (cli.run_switch), in this process: a fault, the layer meant
    to catch it; a variant, the whole suite (or `marker`'s layers)."""
    import json
    import time

    started = time.monotonic()
    marker = marker or marker_expression(switch)
    layers = ("-m", marker) if marker else ()
    result = suite_in_process("--mock-switch", switch.name, *switch.options, *layers, report_dir=workdir / switch.name)
    summary = json.loads(result.artifact("summary.json").read_text(encoding="utf-8"))
    failed = tuple(row["clause"] for row in summary["clauses"] if row["failed"])
    return Outcome(switch, result.exit_code, failed, time.monotonic() - started, result.output)


@pytest.mark.parametrize("switch", [pytest.param(s, id=s.name) for s in FAULTS])
def test_suite_fails_on_fault_naming_its_clause(switch, tmp_path, suite_in_process):
    outcome = run_switch(suite_in_process, switch, tmp_path)
    assert outcome.exit_code == switch.expected_exit, (
        f"{switch.name} ended with exit {outcome.exit_code}, expected {switch.expected_exit}:\n{outcome.output_tail}"
    )
    assert not switch.clause or switch.clause in outcome.failed_clauses, (
        f"{switch.name} failed other clauses {outcome.failed_clauses}, not {switch.clause}"
    )
    assert_reports_agree(tmp_path / switch.name, switch.expected_exit, outcome.output)
    assert_no_secret_in(tmp_path / switch.name, ALPHA_KEY, BETA_KEY)


@pytest.mark.parametrize("switch", [pytest.param(s, id=s.name) for s in VARIANTS])
def test_suite_passes_conformant_variant(switch, tmp_path, suite_in_process):
    """A pacing or transport variant runs the whole suite; a hooked one the layers only the suite judges (see
    `SUITE_ONLY_LAYERS`)."""
    outcome = run_switch(suite_in_process, switch, tmp_path, SUITE_ONLY_LAYERS if switch.name in HOOKED else None)
    assert outcome.exit_code == 0, f"false alarm on {switch.name}: {outcome.failed_clauses}\n{outcome.output_tail}"
    assert_reports_agree(tmp_path / switch.name, 0, outcome.output)


def test_reference_mock_passes_and_judges_every_clause(tmp_path):
    import json

    from selftests.conftest import run_suite

    result = run_suite(report_dir=tmp_path)
    assert result.exit_code == 0, result.output
    summary = json.loads(result.artifact("summary.json").read_text())
    not_judged = [row["clause"] for row in summary["clauses"] if row["judged"] == 0]
    assert not_judged == [], f"clauses never exercised by the default run: {not_judged}"
    assert set(summary["observed_statuses"]) >= {"waiting", "active", "completed", "failed"}
    stories = [entry["statuses"] for entry in summary["lifecycle"].values()]
    # Each job's one timeline (every owner read, from every layer): jobs seen moving to each end.
    assert any(re.search(r"active x\d+ -> completed x\d+$", story) for story in stories), stories
    assert any(re.search(r"active x\d+ -> failed x\d+$", story) for story in stories), stories


def test_a_403_for_another_accounts_job_is_reported_as_id_enumeration_not_as_a_failure(tmp_path):
    import json

    from selftests.conftest import run_suite

    def findings(*switches: str) -> list[str]:
        options = [f"--mock-switch={name}" for name in switches]
        result = run_suite("-m", "cross_account", *options, report_dir=tmp_path / "-".join(switches or ("ref",)))
        assert result.exit_code == 0, result.output
        summary = json.loads(result.artifact("summary.json").read_text())
        return [finding["kind"] for finding in summary["findings"]]

    assert findings() == []
    assert findings("foreign-403") == ["id enumeration"]
