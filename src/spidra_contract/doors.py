"""The doors to a job: every way a request can reach `GET /crawl/{jobId}`'s data. The front door is the spec's
(GET, the documented path, `x-api-key`); servers answer more: HEAD for every GET route, lenient routers (a
trailing or doubled slash, another case), percent-encoded ids, and other auth channels (the official SDKs
send `Authorization: Bearer`). Each door is knocked on by the owner, by no key, by a wrong key and by the other
account (before and right after the owner, so a response cache that ignores the key shows). Every door is a
GET or a HEAD: read-only against a live API.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from urllib.parse import quote

from spidra_contract.exchange import Reply

# The callers, in the order they knock (the access matrix's columns).
OTHER_BEFORE = "other account (before owner)"
OWNER = "owner"
NO_KEY = "no key"
WRONG_KEY = "wrong key"
OTHER_AFTER = "other account (after owner)"
CALLERS = (OTHER_BEFORE, OWNER, NO_KEY, WRONG_KEY, OTHER_AFTER)


@dataclass(frozen=True)
class Door:
    """One way in: a read method, a spelling of the path (`{id}` is the job id) and an auth channel."""

    name: str
    method: str = "GET"
    path: str = "/crawl/{id}"
    channel: str = "x-api-key"  # x-api-key | bearer | basic | query | cookie

    @property
    def is_front(self) -> bool:
        return self == FRONT_DOOR

    def url(self, base_url: str, job_id: str, key: str | None) -> str:
        """The request target as sent, byte for byte (see `GuardedSession.send_raw`)."""
        encoded = quote(job_id, safe="")
        if "{pct-id}" in self.path:
            # The id's first character percent-encoded: the server must decode it to the same job.
            first = job_id[:1]
            path = self.path.replace("{pct-id}", f"%{ord(first):02X}{encoded[len(quote(first, safe='')) :]}")
        else:
            path = self.path.replace("{id}", encoded)
        url = f"{base_url}{path}"
        if self.channel == "query" and key is not None:
            url += f"?api_key={quote(key, safe='')}"
        return url

    def headers(self, key_header: str, key: str | None) -> dict[str, str]:
        if key is None or self.channel == "query":
            return {}
        if self.channel == "bearer":
            return {"Authorization": f"Bearer {key}"}
        if self.channel == "basic":
            return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}
        if self.channel == "cookie":
            return {"Cookie": f"api_key={quote(key, safe='')}"}
        return {key_header: key}


FRONT_DOOR = Door("GET /crawl/{id} + x-api-key")
DOORS: tuple[Door, ...] = (
    FRONT_DOOR,
    Door("HEAD /crawl/{id} + x-api-key", method="HEAD"),
    Door("GET /crawl/{id}/ (trailing slash)", path="/crawl/{id}/"),
    Door("GET /crawl//{id} (doubled slash)", path="/crawl//{id}"),
    Door("GET /CRAWL/{id} (other case)", path="/CRAWL/{id}"),
    Door("GET /crawl/%XX... (percent-encoded id)", path="/crawl/{pct-id}"),
    Door("GET + Authorization: Bearer", channel="bearer"),
    Door("GET + Authorization: Basic", channel="basic"),
    Door("GET + ?api_key= query", channel="query"),
    Door("GET + api_key cookie", channel="cookie"),
)


def wrong_key(owner_key: str) -> str:
    """A key of the owner's shape that belongs to nobody (new each run)."""
    prefix = owner_key.split("_")[0] + "_" if "_" in owner_key else ""
    return f"{prefix}spidra-contract-wrong-{secrets.token_hex(8)}"


# OPTIONS is not a door of the matrix: a CORS preflight rightly answers 2xx to anyone. It is sent only where
# unsafe methods are allowed (the embedded mock, or --allow-unsafe), and a stranger's must not carry the job.
OPTIONS_DOOR = Door("OPTIONS /crawl/{id} + x-api-key", method="OPTIONS")


def lets_in(reply: Reply, job_statuses: tuple[str, ...]) -> bool:
    """What `door-locked` counts as an open door: a 2xx; for OPTIONS (a preflight rightly answers 2xx to
    anyone), only a 2xx whose body is a job (an object whose `status` is a job status)."""
    if not is_open(reply):
        return False
    if reply.method != "OPTIONS":
        return True
    body = reply.body
    return isinstance(body, dict) and body.get("status") in job_statuses


def opens(status: object) -> bool:
    """A door is open to whoever got a 2xx through it."""
    return isinstance(status, int) and 200 <= status < 300


def is_open(reply: Reply) -> bool:
    return opens(reply.status)


def open_to_stranger(caller: str, status: object) -> bool:
    """A cell of the access matrix that is a `door-locked` violation."""
    return caller != OWNER and opens(status)
