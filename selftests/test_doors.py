"""Doors and probes against a live-like target: sent as written, recorded, shown in the access matrix."""

from __future__ import annotations

import json
import shutil

import pytest

from selftests.conftest import ROOT, live_args, run_suite
from spidra_contract.clauses.doors import AXES, CALLERS, FRONT, FRONT_DOOR, MATRIX_DOORS, NEAR_MISS


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
    assert matrix["callers"][: len(CALLERS)] == list(CALLERS)
    names = [row["door"] for row in matrix["rows"]]
    assert set(names) >= {door.name for door in MATRIX_DOORS}
    assert names[0] == FRONT_DOOR.name
    # Grouped by axis: the front door, then each axis in the catalogue's order, then combinations of axes.
    order = [FRONT, *AXES]
    ranks = [order.index(row["axis"]) if row["axis"] in order else len(order) for row in matrix["rows"]]
    assert ranks == sorted(ranks)
    assert {row["axis"] for row in matrix["rows"]} >= set(AXES)
    front = matrix["rows"][0]["cells"]
    assert front["owner"] == 200
    assert all(status in (403, 404, "-") for caller, status in front.items() if caller != "owner"), front
    assert "Access matrix" in result.artifact("summary.md").read_text()
    report = result.artifact("report.html").read_text()
    assert "Access matrix" in report
    assert "front door" in report


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
    differently = [f for f in findings if f["kind"] == "door answers differently"]
    assert [f["message"].split(" answers")[0] for f in differently] == ["HEAD"]
    assert differently[0]["message"].startswith("HEAD answers 200 for an id that names no job")
    # A stranger with a valid key gets 200 for an unknown id at that door and 404 for the job: it can tell.
    assert {f["kind"] for f in findings} <= {"door answers differently", "id enumeration"}


def test_every_member_of_every_axis_is_knocked_on_and_cites_its_source():
    from spidra_contract.clauses.doors import CATALOGUE, covering_doors

    covered = {(member.axis, member.name) for door in covering_doors() for member in door.members}
    for axis in AXES:
        members = CATALOGUE[axis]
        assert len(members) >= 6, axis
        assert {(m.axis, m.name) for m in members} <= covered, axis
        assert all(member.source for member in members), axis
    assert len({door.name for door in covering_doors()}) == len(covering_doors())


def test_every_door_travels_as_get_or_head_to_the_given_origin_and_never_claims_an_unsafe_method():
    from urllib.parse import urlsplit

    from spidra_contract.clauses.doors import CATALOGUE, METHOD, ROUTING, Door

    doors = [Door(**{axis: member}) for axis in AXES for member in CATALOGUE[axis]]
    doors += [Door(method=m, routing=r) for m in CATALOGUE[METHOD] for r in CATALOGUE[ROUTING]]
    for door in doors:
        method, url, headers = door.request("http://api.test:8080/api", "3f1c-9a2e", "sk_key", "x-api-key")
        assert method in ("GET", "HEAD"), door.name
        assert urlsplit(url).netloc == "api.test:8080", url
        claimed = {value.upper() for name, value in headers if "method" in name.lower()}
        assert claimed <= {"GET", "HEAD", "OPTIONS"}, door.name
        assert "_method=" not in url or url.split("_method=")[1].split("&")[0] in ("HEAD", "OPTIONS"), url


def test_a_refusal_that_carries_the_job_is_a_leak_and_an_ordinary_one_is_not():
    from selftests.test_clauses import reply
    from spidra_contract.clauses import CLAUSES
    from spidra_contract.core.spec import load_contract

    contract = load_contract(ROOT / "openapi.yaml")

    job = {
        "status": "completed",
        "progress": {"message": "done", "pagesCrawled": 7, "maxPages": 9},
        "result": [
            {"url": "https://example.com/private/page", "title": "Quarterly numbers", "data": {"date": "2025-01-01"}}
        ],
        "error": None,
    }
    owner = reply(job)
    check = CLAUSES["door-locked"].check
    plain = {"status": "error", "message": "Not authorized"}
    assert check(owner, reply(plain, status=403), contract) == []
    stamped = {**plain, "at": "2025-01-01T10:00:00Z", "path": "/api/crawl/abc"}  # the job's data has this date
    assert check(owner, reply(stamped, status=403), contract) == []
    assert check(owner, reply({"status": "error", "message": "Job abc not found"}, status=404), contract) == []
    for leaked in (
        {**plain, "debug": {"job": job}},
        {**plain, "message": "Not authorized to read https://example.com/private/page"},
        {**plain, "detail": {"pagesCrawled": 7, "maxPages": 9}},
        b"<html>Quarterly numbers</html>",
    ):
        verdict = check(owner, reply(leaked, status=403), contract)
        assert verdict, leaked
        assert "carries the job" in verdict[0].message, leaked
    assert check(owner, reply(job, status=200), contract), "a 2xx to a stranger is open"


@pytest.mark.parametrize(
    "channel",
    [
        "Authorization: Bearer",
        "Authorization: Basic key:",
        "Authorization: Basic :key",
        "Authorization: Token",
        "Authorization: ApiKey",
        "Api-Key header",
        "?key=",
    ],
)
def test_a_doors_reproduction_line_rebuilds_its_key_from_the_environment(channel):
    """Each channel's curl line sends exactly what the door sent, the key as a shell expression."""
    import subprocess

    from spidra_contract.clauses.doors import CHANNEL, member, near_miss_keys, one_axis
    from spidra_contract.core.exchange import Redactor, reply_from_parts

    key = "sk_live_0123456789abcdefXYZ"
    redactor = Redactor()
    redactor.add(key, "$SPIDRA_API_KEY")
    door = one_axis(member(CHANNEL, channel))
    for sent_key in (key, *near_miss_keys(key).values()):
        method, url, headers = door.request("http://api.test/api", "job-1", sent_key, "x-api-key")
        shown = reply_from_parts(
            method=method,
            url=url,
            request_headers=headers,
            status=403,
            headers={},
            content=b"",
            elapsed_ms=0,
            redactor=redactor,
        )
        line = shown.curl()
        assert key not in line, line
        assert "[REDACTED]" not in line, line
        echoed = subprocess.run(
            ["bash", "-c", 'curl() { printf "%s\\n" "$@"; }; ' + line],
            env={"SPIDRA_API_KEY": key, "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.splitlines()
        assert echoed[-1] == url, (line, echoed)
        for name, value in headers:
            assert f"{name}: {value}" in echoed, (line, echoed)


def test_every_channel_is_a_record_and_the_redactor_hides_every_name_a_key_travels_under():
    """A channel says where a key goes (header, query, cookie) as data; a channel added to the catalogue needs no
    branch anywhere, and the run's redactor hides the values of every name it uses."""
    from spidra_contract.clauses.doors import CHANNELS, channel_names
    from spidra_contract.core.exchange import Redactor

    redactor = Redactor(channel_names())
    for channel in CHANNELS:
        headers, query = channel.channel.present("sk_not_a_known_key_0000", "x-api-key")
        assert headers or query, channel.name
        assert all(name.lower() in redactor.names for name, _ in (*headers, *query) if name != "Cookie"), channel.name
    shown = redactor.url("http://api.test/api/crawl/1?access_token=anything-at-all&page=2")
    assert "anything-at-all" not in shown
    assert "page=2" in shown


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_every_reproduction_line_runs_and_gets_what_the_suite_got(tmp_path):
    """A report's curl line, run as printed (the keys from the environment), sends what the suite sent and gets
    the status it got: for GET, for HEAD (`-I`: `-X HEAD` waits for a body that never comes), for OPTIONS, and for
    doors whose path curl would otherwise normalise (`--path-as-is`)."""
    import os
    import subprocess

    from spidra_contract.clauses.doors import METHOD, OPTIONS_DOOR, PATH, member, one_axis
    from spidra_contract.core.exchange import Redactor
    from spidra_contract.http.client import Gate, GuardedSession, reply_of
    from spidra_contract.mock.app import make_state
    from spidra_contract.mock.jobs import ALPHA_KEY
    from spidra_contract.mock.server import MockServer

    state = make_state(time_scale=1000.0)
    redactor = Redactor()
    redactor.add(ALPHA_KEY, "$SPIDRA_API_KEY")
    doors = [
        FRONT_DOOR,
        one_axis(member(METHOD, "HEAD")),
        OPTIONS_DOOR,
        one_axis(member(PATH, "/crawl/./{id} (dot segment)")),
        one_axis(member(PATH, "/crawl//{id} (doubled slash)")),
    ]
    with MockServer(state) as server:
        session = GuardedSession(
            redactor=redactor, gate=Gate(rate=0, max_requests=0), origin=server.base_url, timeout=10, allow_unsafe=True
        )
        job_id = state.job_ids("alpha")[0]
        for door in doors:
            for key in (ALPHA_KEY, None):
                method, url, headers = door.request(server.base_url, job_id, key, "x-api-key")
                reply = reply_of(session.request(method, url, headers=dict(headers)))
                line = reply.curl()
                assert ALPHA_KEY not in line
                done = subprocess.run(
                    ["bash", "-c", line],
                    capture_output=True,
                    text=True,
                    timeout=10,
                    env={**os.environ, "SPIDRA_API_KEY": ALPHA_KEY},
                    check=False,
                )
                assert done.returncode == 0, (line, done.stderr)
                status = int(done.stdout.split(None, 2)[1])
                assert status == reply.status, (door.name, line, done.stdout[:200])
        session.close()


def test_doors_are_asked_by_reach_and_the_matrix_says_which_reached(suite_in_process, tmp_path):
    """A member that reaches the job for its owner (a client-IP header changes no route) is asked by every caller;
    one that reaches nothing (a trailing dot segment the reference refuses) by the other account and one caller
    without a valid key; the access matrix says which reached (issue 28)."""
    result = suite_in_process("-m", "doors", report_dir=tmp_path)
    assert result.exit_code == 0, result.output[-3000:]
    rows = {
        row["door"]: row for row in json.loads(result.artifact("summary.json").read_text())["access_matrix"]["rows"]
    }
    reached = rows["X-Forwarded-For: 127.0.0.1"]
    assert reached["reached"] is True
    asked = {caller for caller, status in reached["cells"].items() if status != "-"}
    assert asked >= {"owner", "no key", "empty key", "wrong key", "other account (after owner)", *NEAR_MISS}
    nothing = rows["/crawl/{id}/. (trailing dot segment)"]
    assert nothing["reached"] is False
    assert {caller for caller, status in nothing["cells"].items() if status != "-"} == {
        "owner",
        "no key",
        "other account (after owner)",
    }
