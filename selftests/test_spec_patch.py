"""Drift as a patch: every run writes openapi.suggested.yaml and openapi.patch; the patch applies with git and
patch, the suggested spec is valid OpenAPI 3.1, a rerun against it shows no drift, and no violation is hidden."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from selftests.conftest import ROOT
from spidra_contract.core.judgement import ClauseResult, ClauseVerdict, ExchangeRecord, Judgement, RunVerdict, Violation
from spidra_contract.core.model import Drift, DriftKind, Report
from spidra_contract.core.outcome import Outcome, TestCounts
from spidra_contract.reporting import specpatch

# A served mock as the live service behaves by its SDKs (FIELD-NOTES): statuses beyond the enum, 401 for a bad key,
# 429 with Retry-After, `data` as a markdown string, fields the spec does not name; and one real fault.
SDK_REALISTIC = ("status-outside-enum", "auth-401", "rate-limited", "result-data-string", "extra-fields")
REAL_FAULT = "completed-with-error"
# The layers that see every kind of drift above (and enough requests for one 429): the watch, the doors and the
# generated cases add time, not drift.
LAYERS = ("-m", "job_body or auth or unknown or cross_account or hostile or burst")
SPEC = (ROOT / "openapi.yaml").read_text(encoding="utf-8")


def applies(patch_file: Path, workdir: Path) -> None:
    """The patch applies beside a copy of the spec, with `git apply` and with `patch -p1`, to the same text."""
    for tool in (["git", "apply"], ["patch", "-p1", "-s"]):
        folder = workdir / tool[0]
        folder.mkdir()
        (folder / "openapi.yaml").write_text(SPEC, encoding="utf-8")
        if tool[0] == "git":
            subprocess.run(["git", "init", "-q"], cwd=folder, check=True)
            subprocess.run([*tool, str(patch_file)], cwd=folder, check=True)
        else:
            with patch_file.open("rb") as handle:
                subprocess.run(tool, cwd=folder, stdin=handle, check=True)
    assert (workdir / "git" / "openapi.yaml").read_text() == (workdir / "patch" / "openapi.yaml").read_text()


@pytest.mark.skipif(shutil.which("patch") is None or shutil.which("git") is None, reason="needs git and patch")
def test_the_patch_describes_the_sdk_realistic_service_and_a_rerun_with_it_shows_no_drift_but_the_real_faults(
    tmp_path, suite_in_process, monkeypatch
):
    import spidra_contract.mock.faults as faults

    monkeypatch.setattr(faults, "RATE_LIMITED_EVERY", 120)  # the embedded mock: a 429 within these layers
    switches = [f"--mock-switch={name}" for name in (*SDK_REALISTIC, REAL_FAULT)]
    first = suite_in_process(*switches, *LAYERS, report_dir=tmp_path / "first")
    assert first.exit_code == 1, first.output[-2000:]
    summary = json.loads(first.artifact("summary.json").read_text())
    failing = {row["clause"] for row in summary["clauses"] if row["verdict"] == "fail"}
    assert {"status-enum", "result-shape", "documented-status", "auth-required", "status-semantics"} <= failing
    patch_file = first.artifact(specpatch.PATCH_NAME)
    diff = patch_file.read_text()
    for described in ("- running", "'401':", "'429':", "retry-after", "type: [object, string]", "total_pages:"):
        assert described in diff, described
    assert "nullable" not in first.artifact(specpatch.SUGGESTED_NAME).read_text()
    applies(patch_file, tmp_path)
    suggested = tmp_path / "git" / "openapi.yaml"
    assert suggested.read_text() == first.artifact(specpatch.SUGGESTED_NAME).read_text()
    assert specpatch.validate(suggested.read_text()) == ""
    # Only what changed changed: the document's comments and every other line stay.
    assert suggested.read_text().splitlines()[:2] == SPEC.splitlines()[:2]
    assert "Not written, each would hide a violation" in first.artifact("summary.md").read_text()

    again = suite_in_process(*switches, *LAYERS, f"--spec={suggested}", report_dir=tmp_path / "again")
    assert again.exit_code == 1, again.output[-2000:]
    rerun = json.loads(again.artifact("summary.json").read_text())
    assert rerun["drift"] == []
    assert rerun["spec_defects"] == []
    still = {row["clause"] for row in rerun["clauses"] if row["verdict"] == "fail"}
    # The real faults fail as before: a bad key's 401 (the spec says 403) and a completed job with an error.
    assert still == {"auth-required", "status-semantics"}
    assert again.artifact(specpatch.PATCH_NAME).read_text() == ""  # nothing left to describe


def report_with(*drift: Drift, failing: tuple[ClauseResult, ...] = ()) -> Report:
    return Report(
        outcome=Outcome(RunVerdict.VIOLATIONS, 1, "r"),
        tests=TestCounts(),
        clauses=failing,
        drift=drift,
    )


def status_drift(status: int, body: object, headers: dict[str, str] | None = None) -> Drift:
    example = {
        "request": "GET /crawl/x",
        "status": status,
        "content_type": "application/json",
        "excerpt": json.dumps(body),
    }
    return Drift(
        f"status-code:GET:{status}",
        DriftKind.STATUS_CODE,
        f"GET answered {status}",
        1,
        "",
        example,
        {"method": "GET", "status": status, "headers": headers or {}},
    )


def test_a_5xx_a_redirect_or_a_broken_rule_is_never_written_but_listed_as_hiding_a_violation():
    exchange = ExchangeRecord("x", "GET /crawl/a", 200, "application/json", "{}", "curl")
    semantics = ClauseResult(
        "status-semantics",
        "t",
        "r",
        ClauseVerdict.FAIL,
        3,
        1,
        (
            Judgement(
                "status-semantics", "t", (Violation("status-semantics", "completed with error", "/error"),), exchange
            ),
        ),
        ("status-semantics:/error",),
    )
    bound = ClauseResult(
        "progress",
        "t",
        "r",
        ClauseVerdict.FAIL,
        3,
        1,
        (Judgement("progress", "t", (Violation("progress", "negative", "/progress/pagesCrawled"),), exchange),),
        ("progress:/progress/pagesCrawled",),
    )
    patch = specpatch.suggest(
        SPEC,
        "openapi.yaml",
        report_with(status_drift(500, {"error": "boom"}), status_drift(307, {}), failing=(semantics, bound)),
    )
    assert patch.empty
    refused = " ".join(item.what for item in patch.refused)
    assert "500" in refused
    assert "307" in refused
    assert "status-semantics" in refused
    assert "progress" in refused


def test_an_observed_4xx_is_documented_with_its_body_schema_and_its_rate_limit_headers():
    patch = specpatch.suggest(
        SPEC,
        "openapi.yaml",
        report_with(
            status_drift(
                429, {"status": "error", "message": "slow down"}, {"Retry-After": "1", "RateLimit-Limit": "60"}
            ),
            status_drift(422, {"errors": ["bad id"], "code": "INVALID"}),
        ),
    )
    assert not patch.refused
    suggested = patch.suggested
    assert "'429':" in suggested
    assert "Retry-After:" in suggested
    assert "RateLimit-Limit:" in suggested
    assert "$ref: '#/components/schemas/ErrorResponse'" in suggested.split("'429':")[1]
    assert "errors:" in suggested.split("'422':")[1]  # a body of its own shape, described as observed
    assert specpatch.validate(suggested) == ""
    assert patch.diff.startswith("--- a/openapi.yaml\n+++ b/openapi.yaml\n")


def test_nothing_observed_changes_nothing():
    patch = specpatch.suggest(SPEC, "openapi.yaml", report_with())
    assert patch.empty
    assert patch.diff == ""
    assert patch.suggested == SPEC


def test_spec_patch_regenerates_both_files_from_a_summary_offline(tmp_path):
    from click.testing import CliRunner

    from spidra_contract.cli import main

    report = report_with(
        Drift("status-value:running", DriftKind.ENUM_VALUE, "status 'running'", 3, "", {}, {"value": "running"}),
    )
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps(report.to_dict()))
    result = CliRunner().invoke(main, ["spec-patch", str(summary), "--spec", str(ROOT / "openapi.yaml")])
    assert result.exit_code == 0, result.output
    assert "valid OpenAPI" in result.output
    assert "+                      - running" in (tmp_path / specpatch.PATCH_NAME).read_text()
    assert (tmp_path / specpatch.SUGGESTED_NAME).is_file()


def test_a_long_4xx_body_is_described_whole_from_the_shape_the_run_recorded_not_from_the_evidence_excerpt():
    """The drift keeps the body's shape (types, never values) however long the body was; the patch describes every
    field of it, the ones past the report's 400-character excerpt too, and no value of the body reaches it."""
    from spidra_contract.core.exchange import Redactor, reply_from_parts
    from spidra_contract.core.spec import load_contract
    from spidra_contract.judging.ledger import Ledger

    body = {"code": "SERVICE_BUSY", "detail": "x" * 600, "retry_after": 3, "tail": {"late_field": True}}
    reply = reply_from_parts(
        method="GET",
        url="http://api.test/api/crawl/1",
        request_headers={},
        status=429,
        headers={"Content-Type": "application/json", "Retry-After": "3"},
        content=json.dumps(body).encode(),
        elapsed_ms=1,
        redactor=Redactor(),
    )
    assert len(reply.record().excerpt) < len(json.dumps(body))
    ledger = Ledger()
    ledger.exchange(reply, load_contract(ROOT / "openapi.yaml"))
    [drift] = (Drift.from_dict({"key": key, **entry}) for key, entry in ledger.drift.items())
    assert drift.detail["body_shape"]["properties"]["tail"]["properties"]["late_field"] == {"type": "boolean"}
    patch = specpatch.suggest(SPEC, "openapi.yaml", report_with(drift)).diff
    assert "late_field:" in patch
    assert "retry_after:" in patch
    assert "x" * 50 not in patch
