"""The suite through the reverse proxies and caches real deployments have (issue 28): nginx, HAProxy, Caddy and
Varnish from Debian's packages, started from the configs in `edges/` in front of a served mock. A conformant stack
passes however its edge answers bytes no client sends (nginx's own 400 page for an encoded NUL); a shared cache
keyed without the API key, and an edge key check that a path spelling slips past to an app that trusts the edge,
fail for their own reason, not for noise."""

from __future__ import annotations

import json

import pytest

from selftests.conftest import ALPHA_KEY, BETA_KEY
from selftests.edges import Edge
from spidra_contract.mock.app import make_state
from spidra_contract.mock.server import MockServer


def edge_args(edge: Edge, job_ids: list[str]) -> list[str]:
    """The suite against the edge's URL, as a live API: keys, ids, no pacing, a half-second watch."""
    args = ["--base-url", edge.base_url, "--api-key", ALPHA_KEY, "--other-api-key", BETA_KEY]
    args += ["--rate-limit", "0", "--watch=0.5"]
    return args + [f"--job-id={job_id}" for job_id in job_ids]


def through(config: str, switches: tuple[str, ...], tmp_path, suite_in_process, *layers: str):
    state = make_state(switches, time_scale=2.5)
    with MockServer(state) as server, Edge(config, server.port, tmp_path / "edge") as edge:
        result = suite_in_process(*edge_args(edge, state.job_ids("alpha")), *layers, report_dir=tmp_path / "reports")
        log = edge.log()
    summary = json.loads(result.artifact("summary.json").read_text())
    return result, summary, log


@pytest.mark.parametrize(
    "config",
    [
        "nginx-plain.conf",
        "nginx-gzip.conf",
        "haproxy-plain.cfg",
        "caddy-plain.Caddyfile",
        "varnish-keyed.vcl",
    ],
)
def test_a_conformant_api_behind_a_real_edge_passes(config, tmp_path, suite_in_process):
    result, summary, log = through(config, (), tmp_path, suite_in_process)
    assert result.exit_code == 0, result.output[-4000:] + log
    assert summary["verdict"] == "conformant"
    if config.startswith("nginx"):
        # nginx answers an encoded NUL with its own HTML page: allowed, and reported as another layer's answer.
        kinds = {finding["kind"]: finding["message"] for finding in summary["findings"]}
        assert "answered by another layer" in kinds, summary["findings"]
        assert "nginx" in kinds["answered by another layer"]


@pytest.mark.parametrize(
    ("config", "switches", "reason", "allowed"),
    [
        pytest.param(
            "varnish-key-blind.vcl",
            (),
            "foreign-job",
            {"foreign-job", "door-locked", "auth-required"},
            id="shared-cache-keyed-without-the-key",
        ),
        pytest.param(
            "nginx-key-check.conf",
            ("trusts-edge",),
            "door-locked",
            {"door-locked"},
            id="edge-key-check-slipped-past",
        ),
    ],
)
def test_a_misconfigured_edge_fails_for_its_own_reason(config, switches, reason, allowed, tmp_path, suite_in_process):
    result, summary, log = through(config, switches, tmp_path, suite_in_process)
    assert result.exit_code == 1, result.output[-4000:] + log
    failing = {row["clause"] for row in summary["clauses"] if row["verdict"] == "fail"}
    assert reason in failing, failing
    assert failing <= allowed, f"noise beside the misconfiguration: {failing - allowed}"
