"""The official Python SDK (`spidra` on PyPI) as a real consumer of the mock, served over HTTP.

Bridges between the SDK and the spec, which the mock follows:
- the SDK sends `Authorization: Bearer <key>`; the spec's scheme is `x-api-key`. The mock accepts both.
- the SDK expects 401 for a bad key (SpidraAuthenticationError); the spec documents 403, so the SDK raises
  SpidraForbiddenError ("insufficient credits / key not permitted") against a conformant server.
- the SDK starts crawls with POST /crawl, which the contract does not cover; the mock implements it so the
  SDK's `crawl()` (submit, then poll GET /crawl/{jobId}) can run end to end.
"""

from __future__ import annotations

import asyncio

import pytest

spidra = pytest.importorskip("spidra", reason="the official SDK is a dev dependency")

from spidra_contract.mock.app import make_state  # noqa: E402
from spidra_contract.mock.jobs import ALPHA_KEY, _job_id  # noqa: E402
from spidra_contract.mock.server import MockServer  # noqa: E402


@pytest.fixture(scope="module")
def served():
    """The mock served on a free loopback port (jobs progress 10x faster than real time)."""
    state = make_state(time_scale=10.0)
    with MockServer(state) as server:
        yield server, state


def with_sdk(served, use, key=ALPHA_KEY):
    """Run `use(client)` with the SDK's async client, closed afterwards as a careful user would."""
    server, _ = served

    async def main():
        client = spidra.AsyncSpidra(api_key=key, api_url=server.base_url, max_retries=0)
        try:
            return await use(client)
        finally:
            await client.aclose()

    return asyncio.run(main())


def test_sdk_reads_a_completed_crawl_with_every_page(served):
    job = with_sdk(served, lambda client: client.get_crawl(_job_id("alpha-completed-blog")))
    assert job.status == "completed"
    assert [page.title for page in job.result][:2] == ["First Post", "Second Post"]
    assert all(page.url.startswith("https://example.com/") for page in job.result)
    assert job.result[0].data["author"]


def test_sdk_reads_a_failed_crawl_with_its_error(served):
    job = with_sdk(served, lambda client: client.get_crawl(_job_id("alpha-failed")))
    assert job.status == "failed"
    assert "DNS resolution failed" in job.error


def test_sdk_waits_for_a_submitted_crawl_to_finish(served):
    _, state = served
    before = len(state.received)
    job = with_sdk(
        served,
        lambda client: client.crawl(
            "https://docs.example.io/", crawl_instruction="every guide", max_pages=4, poll_interval=0.1, timeout=30
        ),
    )
    assert job.status == "completed"
    assert len(job.result) == 4
    polls = [entry for entry in list(state.received)[before:] if entry["method"] == "GET"]
    assert len(polls) >= 2, "the SDK should have polled while the job was waiting and active"


def test_sdk_sees_an_unknown_job_as_not_found(served):
    with pytest.raises(spidra.SpidraNotFoundError):
        with_sdk(served, lambda client: client.get_crawl("00000000-0000-0000-0000-000000000000"))


def test_sdk_sees_a_bad_key_as_forbidden_because_the_spec_says_403(served):
    with pytest.raises(spidra.SpidraForbiddenError):
        with_sdk(served, lambda client: client.get_crawl(_job_id("alpha-completed-blog")), key="sk_wrong")


def test_sdk_watches_a_submitted_crawl_page_by_page_until_it_completes(served):
    async def watch(client):
        job = await client.start_crawl("https://docs.example.io/", crawl_instruction="every guide", max_pages=4)
        return [page async for page in client.watch_crawl(job.job_id, poll_interval=0.05, timeout=30)]

    pages = with_sdk(served, watch)
    assert len(pages) == 4
    assert len({page.id for page in pages}) == 4
    assert all(page.url.startswith("https://docs.example.io/") for page in pages)


def test_sdk_reads_a_crawls_pages_in_batches_with_offset_and_limit(served):
    job_id = _job_id("alpha-completed-blog")

    async def read(client):
        first = await client.crawl_pages(job_id, offset=0, limit=2)
        rest = await client.crawl_pages(job_id, offset=2, limit=1000)
        return first, rest, await client.crawl_all_pages(job_id)

    first, rest, every = with_sdk(served, read)
    assert [len(first.pages), first.has_more, first.total] == [2, True, 5]
    assert rest.has_more is False
    assert [page.url for page in first.pages + rest.pages] == [page.url for page in every]
    assert isinstance(every[0].data, dict)
