"""Doors and probes against a live-like target: sent as written, recorded, shown in the access matrix."""

from __future__ import annotations

import json

import pytest

from selftests.conftest import live_args, run_suite
from spidra_contract.doors import CALLERS, DOORS, FRONT_DOOR


def test_every_traversal_probe_reaches_the_server_as_written(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), "-k", "traversal", report_dir=tmp_path)
    assert result.exit_code == 0, result.output
    har = json.loads(result.artifact("cassette.har").read_text())
    sent = [entry["request"]["url"].lower() for entry in har["log"]["entries"]]
    for probe in ("/crawl/%2e%2e%2f", "/crawl/%2e%2e/", "/crawl/..%2f", "/crawl/..%252f", "/crawl/x%2f..%2f"):
        assert any(probe in url for url in sent), f"{probe} never went out: {sent}"
    received = [entry["raw_path"].lower() for entry in state.received]
    assert any("/crawl/%2e%2e/" in path for path in received), received


def test_the_access_matrix_is_in_every_report_of_a_live_like_run(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), "-m", "doors", report_dir=tmp_path)
    assert result.exit_code == 0, result.output
    matrix = json.loads(result.artifact("summary.json").read_text())["access_matrix"]
    assert matrix["callers"] == list(CALLERS)
    assert [row["door"] for row in matrix["rows"]] == [door.name for door in DOORS]
    front = matrix["rows"][0]["cells"]
    assert front["owner"] == 200
    assert all(status in (403, 404) for caller, status in front.items() if caller != "owner"), front
    assert "Access matrix" in result.artifact("summary.md").read_text()
    report = result.artifact("report.html").read_text()
    assert "Access matrix" in report
    assert FRONT_DOOR.name.replace("{", "").split()[0] in report


@pytest.mark.parametrize("served_mock", [("key-blind-cache",)], indirect=True)
def test_a_key_blind_cache_is_caught_right_after_the_owners_read(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), "-m", "doors", report_dir=tmp_path)
    assert result.exit_code == 1, result.output
    matrix = json.loads(result.artifact("summary.json").read_text())["access_matrix"]
    front = matrix["rows"][0]["cells"]
    assert front["other account (after owner)"] == 200
    assert front["no key"] == 200
    assert "**200 open**" in result.artifact("summary.md").read_text()


@pytest.mark.parametrize("served_mock", [("head-blind",)], indirect=True)
def test_a_door_that_answers_for_ids_the_front_door_does_not_know_is_a_finding(served_mock, tmp_path):
    server, state = served_mock
    result = run_suite(*live_args(server, state), "-m", "doors", report_dir=tmp_path)
    assert result.exit_code == 0, result.output
    findings = json.loads(result.artifact("summary.json").read_text())["findings"]
    assert [f["kind"] for f in findings] == ["door answers differently"]
    assert findings[0]["message"].startswith("HEAD /crawl/{id} + x-api-key answers 200 for an id that names no job")
