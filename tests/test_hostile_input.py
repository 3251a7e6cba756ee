"""Hostile and odd job ids: never a 5xx, never another job's data, always a 403/404 ErrorResponse."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spidra_contract.clauses import ERROR_BODY, TRANSPORT

pytestmark = pytest.mark.hostile

HOSTILE = ("hostile-id", *TRANSPORT, *ERROR_BODY)

CRAFTED = [
    pytest.param("%41%42%43", id="percent-encoded"),
    pytest.param("jöb-日本語-🚀", id="unicode"),
    pytest.param("a" * 1024, id="1kb"),
    pytest.param("b" * 4096, id="4kb"),
    pytest.param("' OR '1'='1", id="sql-or"),
    pytest.param("1; DROP TABLE jobs;--", id="sql-drop"),
    pytest.param('{"$ne": null}', id="nosql-ne"),
    pytest.param("{{7*7}}${7*7}<%= 7*7 %>", id="template"),
    pytest.param("${jndi:ldap://127.0.0.1/a}", id="jndi"),
    pytest.param("\x00", id="nul"),
    pytest.param("\r\nX-Injected: 1", id="crlf"),
]


@pytest.mark.parametrize("job_id", CRAFTED)
def test_crafted_id_gets_error_response(job_id, fetch, judge):
    judge(fetch(job_id), *HOSTILE)


@pytest.mark.parametrize("shape", ["..%2F{id}", "%2e%2e%2F{id}", "..%252F{id}", "x%2F..%2F{id}", "%2e%2e/{id}"])
def test_traversal_shaped_id_never_reads_a_job(shape, known_jobs, fetch, judge):
    if not known_jobs:
        pytest.skip("traversal probes aim at a known job id")
    judge(fetch(shape.format(id=known_jobs[0]), encode=False), *HOSTILE)


def test_query_string_cannot_smuggle_another_id(known_jobs, fetch, judge):
    if not known_jobs:
        pytest.skip("needs a known job id to smuggle")
    judge(fetch("no-such-job-0000", params={"jobId": known_jobs[0], "id": known_jobs[0]}), *HOSTILE)


FRAGMENTS = st.sampled_from(
    [
        "'",
        '"',
        ";",
        "--",
        "/*",
        "$where",
        "{{",
        "}}",
        "${",
        "../",
        "%00",
        "\\",
        "<script>",
        "%2e",
        "|",
        "`",
        "\u202e",
        "\ufeff",
    ]
)


@given(parts=st.lists(st.one_of(FRAGMENTS, st.text(min_size=1, max_size=12)), min_size=1, max_size=8))
def test_generated_hostile_id_gets_error_response(parts, known_jobs, fetch, judge):
    job_id = "".join(parts)
    if job_id in known_jobs or job_id in (".", ".."):
        return
    judge(fetch(job_id), *HOSTILE)
