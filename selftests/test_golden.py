"""The default run's summary.json, in what does not depend on time or ports, is what it was: a golden file kept
through every move of the house (layers, registry, mock). Which tests ran and how, every clause's verdict,
metadata and count of judgements, the requests sent (by method and layer), every job's story as the watch read
it, the spec's defects, drift, findings and the access matrix are kept: the ci profile against the embedded mock
makes the same requests and reaches the same verdict counts on every run, on any machine (its jobs move on a
clock the watch moves, see judging.lifecycle.JobTime), so a run that differs from this file in a count is a
change to review, not noise. Only times, ports and latencies are left out.

When a change means to alter the default run, write the new golden file and review its diff:
`SPIDRA_UPDATE_GOLDEN=1 python -m pytest -c selftests/pytest.ini selftests/test_golden.py`."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).resolve().parent / "golden" / "default-run.json"
# Read at import: the in-process run takes every SPIDRA_* variable away from the test itself.
UPDATE = bool(os.environ.get("SPIDRA_UPDATE_GOLDEN"))


def shape(summary: dict[str, Any]) -> dict[str, Any]:
    """What a summary.json says that the same build against the reference mock says on every run."""
    matrix = summary["access_matrix"]
    return {
        "schema_version": summary["schema_version"],
        "verdict": summary["verdict"],
        "exit_code": summary["exit_code"],
        "reason": summary["reason"],
        "subset": summary["subset"],
        "tests": dict(summary["tests"]),
        "test_results": sorted(f"{row['outcome']} {row['test']}" for row in summary["test_results"]),
        "failures": summary["failures"],
        "clauses": [
            {key: row[key] for key in ("clause", "title", "reference", "verdict", "failed", "violation_keys", "judged")}
            for row in summary["clauses"]
        ],
        "statuses_not_observed": summary["statuses_not_observed"],
        "known_jobs": summary["known_jobs"],
        "drift": sorted(entry["key"] for entry in summary["drift"]),
        "spec_defects": summary["spec_defects"],
        "findings": sorted(finding["kind"] for finding in summary["findings"]),
        # Combinations of axes are drawn by hypothesis: derandomized, but from the drawing test's source, so an edit
        # of that test draws others. The matrix's own doors are fixed.
        "access_matrix": {
            "callers": matrix["callers"],
            "rows": [row for row in matrix["rows"] if "+" not in row["axis"]],
        },
        "lifecycle_jobs": {job: story["statuses"] for job, story in summary["lifecycle"].items()},
        "requests": {key: summary["requests"][key] for key in ("sent", "rereads", "by_method", "by_layer")},
        "ok_replies": summary["ok_replies"],
        "profile": summary["profile"],
        "target": summary["target"]["kind"],
        "fingerprint_tests": sorted({probe.split(" | ")[0] for probe in summary["fingerprint"]}),
    }


def test_the_default_run_says_what_it_said(tmp_path):
    """The run as a user makes it: a process of its own (a run inside a process that ran the suite before may
    find schemathesis' generation moved on, as no user's run does)."""
    from selftests.conftest import run_suite

    result = run_suite(report_dir=tmp_path)
    assert result.exit_code == 0, result.output[-3000:]
    got = shape(json.loads(result.artifact("summary.json").read_text(encoding="utf-8")))
    if UPDATE:
        GOLDEN.write_text(json.dumps(got, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    differing = {key: got.get(key) for key in expected if got.get(key) != expected[key]}
    shown = {key: differing[key] for key in ("requests", "lifecycle_jobs", "tests") if key in differing} | differing
    assert not differing, f"{sorted(differing)} differ from {GOLDEN.name}: {json.dumps(shown)[:3000]}"
    assert set(got) == set(expected)
