"""Every deadline is a wall clock, HTTP is read as clients must read it, and every report survives any body."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from selftests.conftest import ARTIFACTS, ROOT, assert_reports_agree, live_args, run_suite
from spidra_contract.http.transport import Stuck, Transport
from spidra_contract.mock.app import make_state
from spidra_contract.mock.jobs import ALPHA_KEY
from spidra_contract.mock.server import MockServer

QUICK = ("tests/test_job_status.py", "tests/test_error_responses.py")


@pytest.mark.parametrize("switch", ["drip-head", "continue-flood", "endless-chunk-size", "endless-trailers"])
def test_an_exchange_ends_at_its_deadline_in_every_phase_whatever_the_target_drips(switch):
    """A byte before every read (the head dripped, 100 Continue for ever, a chunk-size line or a trailer section
    that never ends) cannot stretch an exchange past its deadline: requests' per-read timeout would wait for
    ever. The endless framing runs into the header-block cap first; either way the exchange ends in time."""
    state = make_state((switch,))
    with MockServer(state) as server:
        transport = Transport(max_body=4 * 1024 * 1024)
        job = state.job_ids("alpha")[3]
        started = time.monotonic()
        outcome: object
        try:
            outcome = transport.exchange("GET", f"{server.base_url}/crawl/{job}", [("x-api-key", ALPHA_KEY)], 1.5)
        except Stuck as stuck:
            outcome = stuck
        finally:
            transport.close()
        assert time.monotonic() - started < 2.5
        assert isinstance(outcome, Stuck) or outcome.problem, outcome  # type: ignore[attr-defined]


def test_interim_replies_are_skipped_counted_and_the_final_reply_judged(served_mock_with):
    server, state = served_mock_with("early-hints")
    result = run_suite(*live_args(server, state), report_dir=server.report_dir, tests=QUICK)
    assert result.exit_code == 0, result.output[-3000:]
    summary = json.loads(result.artifact("summary.json").read_text())
    assert summary["requests"]["interim_replies_skipped"]["103"] >= summary["requests"]["sent"] - 1


def test_a_slow_first_answer_is_asked_again_before_the_target_is_called_unreachable(served_mock_with):
    server, state = served_mock_with("slow-first")
    result = run_suite(*live_args(server, state), "--spidra-timeout=2", report_dir=server.report_dir, tests=QUICK)
    assert result.exit_code == 0, result.output[-3000:]
    summary = json.loads(result.artifact("summary.json").read_text())
    assert len(summary["requests"]["probe_retries"]) == 1
    assert "stuck reading the status line and headers" in summary["requests"]["probe_retries"][0]


def test_garbage_instead_of_http_is_named_as_such_not_as_unreachable(served_mock_with):
    server, state = served_mock_with("not-http")
    result = run_suite(*live_args(server, state), report_dir=server.report_dir, tests=QUICK)
    assert result.exit_code == 1, result.output[-3000:]
    assert "not HTTP a client can read" in result.output
    assert "cannot reach" not in result.output
    assert_reports_agree(server.report_dir, 1, result.output)


def test_a_report_that_cannot_be_written_is_named_in_the_others_and_the_run_is_not_conformant(tmp_path):
    (tmp_path / "cassette.har").mkdir(parents=True)  # the cassette cannot be written over a folder
    result = run_suite("-m", "auth", report_dir=tmp_path)
    assert result.exit_code == 3, result.output[-3000:]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["report_errors"][0].startswith("cassette.har: IsADirectoryError")
    assert "REPORT NOT WRITTEN cassette.har" in result.output
    assert "cassette.har" in (tmp_path / "summary.md").read_text()
    assert_reports_agree(tmp_path, 3, result.output)


def test_sigterm_ends_the_run_with_every_report_saying_it_was_interrupted(served_mock_with):
    """What a CI timeout sends: the run stops within seconds, and its reports say so."""
    server, state = served_mock_with("drip-head-later")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            f"--report-dir={server.report_dir}",
            *live_args(server, state),
            "--spidra-timeout=30",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 60
    while state.requests_seen <= 21 and time.monotonic() < deadline:
        time.sleep(0.1)  # the drip has started: the run is stuck in a read
    process.send_signal(signal.SIGTERM)
    sent = time.monotonic()
    output, _ = process.communicate(timeout=45)
    assert process.returncode == 2, output[-3000:]
    assert time.monotonic() - sent < 40
    assert sorted(p.name for p in server.report_dir.iterdir()) == sorted(ARTIFACTS)
    assert_reports_agree(server.report_dir, 2, output)


def _wrapper(server, state, *extra: str) -> subprocess.Popen[str]:
    """`spidra-contract run` against the served mock, in a process group of its own (as a shell starts it)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spidra_contract.cli",
            "run",
            f"--report-dir={server.report_dir}",
            *live_args(server, state),
            *extra,
        ],
        cwd=server.report_dir.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def _started(state, process: subprocess.Popen[str], requests: int = 30) -> None:
    deadline = time.monotonic() + 60
    while state.requests_seen < requests and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert process.poll() is None, "the run ended before it could be interrupted"


@pytest.mark.parametrize(
    ("how", "signum"), [("SIGTERM to the wrapper", signal.SIGTERM), ("Ctrl-C to its group", signal.SIGINT)]
)
def test_the_wrapper_passes_a_signal_to_its_suite_waits_for_the_reports_and_exits_2(served_mock_with, how, signum):
    """What a CI runner (SIGTERM to the process it started) and a person (Ctrl-C: SIGINT to the terminal's
    process group) send `spidra-contract run`: its pytest stops, writes every report saying so, and nothing of
    it goes on testing the target."""
    server, state = served_mock_with("slow")
    process = _wrapper(server, state)
    _started(state, process)
    if signum == signal.SIGINT:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    output, _ = process.communicate(timeout=45)
    assert process.returncode == 2, output[-3000:]
    assert sorted(p.name for p in server.report_dir.iterdir()) == sorted(ARTIFACTS)
    assert_reports_agree(server.report_dir, 2)
    seen = state.requests_seen
    time.sleep(0.5)
    assert state.requests_seen == seen, "the suite went on testing the target after its wrapper ended"


def test_a_suite_does_not_outlive_its_wrapper(served_mock_with):
    """A wrapper killed outright (SIGKILL: no handler runs) takes its pytest along: nothing keeps testing."""
    server, state = served_mock_with("slow")
    process = _wrapper(server, state, "--watch=60")  # left alone, the run would watch its jobs for a minute
    _started(state, process)
    process.kill()
    killed = time.monotonic()
    process.communicate(timeout=30)  # the output ends when the last process holding it, the suite, does
    assert time.monotonic() - killed < 15, "the suite went on after its wrapper was killed"
    seen = state.requests_seen
    time.sleep(0.5)
    assert state.requests_seen == seen


@pytest.fixture
def served_mock_with(tmp_path):
    """`served_mock_with(switch)`: the mock served over HTTP with that switch on, and a report folder."""
    servers: list[MockServer] = []

    def serve(*switches: str) -> tuple[MockServer, object]:
        state = make_state(switches, time_scale=2.5)
        server = MockServer(state).start()
        server.report_dir = tmp_path / "reports"  # type: ignore[attr-defined]
        servers.append(server)
        return server, state

    yield serve
    for server in servers:
        server.stop()


def test_every_report_survives_a_body_that_utf8_cannot_encode(tmp_path):
    """A lone surrogate escape in the status value (the server's `"\\udc00"`, parsed) reaches the drift list,
    the evidence and the terminal: every report is still written and parses, and the terminal shows it too."""
    import xml.etree.ElementTree as ET

    result = run_suite("-m", "job_body", "--mock-switch=surrogate-status", report_dir=tmp_path)
    assert result.exit_code == 1, result.output[-3000:]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(ARTIFACTS)
    for name in ("summary.json", "cassette.har"):
        json.loads((tmp_path / name).read_text(encoding="utf-8"))
    for name in ("junit.xml", "junit-tests.xml"):
        ET.parse(tmp_path / name)
    assert "\\udc00" in (tmp_path / "report.html").read_text(encoding="utf-8")
    assert json.loads((tmp_path / "summary.json").read_text())["report_errors"] == []
    assert_reports_agree(tmp_path, 1, result.output)


def test_the_runs_deadline_ends_an_exchange_stuck_in_a_drip_and_the_reports_name_it(served_mock_with):
    """`--deadline` bounds the last exchange too: a head dripped after 20 requests, an exchange timeout of 30 s,
    a run deadline of 4 s: the run ends within seconds of its deadline, incomplete, naming the stuck exchange."""
    server, state = served_mock_with("drip-head-later")
    started = time.monotonic()
    result = run_suite(
        *live_args(server, state), "--spidra-timeout=30", "--spidra-deadline=4", report_dir=server.report_dir
    )
    assert time.monotonic() - started < 4 + 15, result.output[-2000:]
    assert result.exit_code == 7, result.output[-3000:]
    summary = json.loads(result.artifact("summary.json").read_text())
    assert "deadline (4 s) passed during GET" in summary["reason"], summary["reason"]
    assert "stuck reading the status line and headers" in summary["reason"], summary["reason"]
    assert_reports_agree(server.report_dir, 7, result.output)


def test_a_tls_target_is_read_through_a_handshake_on_the_same_clock_and_verified(tmp_path):
    """HTTPS: the handshake is driven under the exchange's deadline, the connection reused, and a certificate
    no CA vouches for is refused (verification is on unless the transport is told otherwise)."""
    import http.server
    import shutil
    import ssl
    import threading

    from spidra_contract.http.transport import NoAnswer

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a throwaway certificate")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(tmp_path / "k.pem"),
            "-out",
            str(tmp_path / "c.pem"),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
        ],
        check=True,
        capture_output=True,
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "c.pem", tmp_path / "k.pem")
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"https://localhost:{server.server_address[1]}/api/crawl/x"
    try:
        lenient = Transport(max_body=1024 * 1024, verify=False)
        assert [lenient.exchange("GET", url, [], 5.0).status for _ in range(2)] == [200, 200]
        lenient.close()
        with pytest.raises(NoAnswer, match="CERTIFICATE_VERIFY_FAILED"):
            Transport(max_body=1024 * 1024).exchange("GET", url, [], 5.0)
    finally:
        server.shutdown()
        server.server_close()
