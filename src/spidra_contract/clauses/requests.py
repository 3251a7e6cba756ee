"""Who could have sent a request: whether its job id is one a conforming client could hold and send, or bytes no
client sends. The classes come from the URI and HTTP message grammars:

- RFC 3986 2.1: a `%` begins a percent-encoding of exactly two hex digits; anything else is not a URI.
- RFC 3986 3.3: a path segment is `*pchar`; a `/` (raw, or percent-encoded and decoded by a layer that routes on
  the decoded path) ends the segment, so the id is no longer one segment; `.` and `..` are dot segments, removed by
  normalisation (5.2.4) before any layer routes on them.
- RFC 9112 3.2 / RFC 9110 5.5: control octets (C0, DEL, C1) are never part of a field or target a client writes;
  encoded (`%00`, `%0D%0A`) they are what request smuggling and response splitting send (CWE-113, CWE-158).
- A backslash is a path separator to several servers and proxies (IIS, Windows back ends; OWASP WSTG-ATHZ-01).
- Ids are issued by the server (a UUID here): text in UTF-8 (RFC 3986 2.5); a segment that does not decode to
  UTF-8 is no id a client was given.

A request of the `NO_CLIENT` class may be refused by any 4xx from any layer (an edge's own HTML page included): it
must still never get a 5xx, a 2xx, the job or any of it, internals, or a credential. A `CLIENT` request keeps the
whole contract (an unknown id's 404 is an ErrorResponse, whoever sends it).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import unquote_to_bytes, urlsplit

from spidra_contract.core.exchange import Reply
from spidra_contract.core.spec import OPERATION_PATH

_BROKEN_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_PREFIX = OPERATION_PATH.split("{", 1)[0]  # "/crawl/"


class RequestClass(StrEnum):
    CLIENT = "an id a client could hold"
    NO_CLIENT = "bytes no client sends"


@dataclass(frozen=True)
class Classified:
    kind: RequestClass
    why: str = ""  # for NO_CLIENT: what in the id no client sends


def id_segment(url: str) -> str | None:
    """The raw (still percent-encoded) text after the operation's `/crawl/`, or None for another route."""
    path = urlsplit(url).path
    at = path.find(_PREFIX)
    return None if at < 0 else path[at + len(_PREFIX) :]


def classify(reply: Reply) -> Classified:
    """The class of the request that `reply` answers (see the module's docstring)."""
    raw = id_segment(reply.url)
    if raw is None or raw == "":
        return Classified(RequestClass.CLIENT)  # another route: a door's own business, not an id's
    if "/" in raw:
        return Classified(RequestClass.NO_CLIENT, "a '/' in the id: more than one path segment")
    if _BROKEN_PERCENT.search(raw):
        return Classified(RequestClass.NO_CLIENT, "a '%' that begins no percent-encoding (RFC 3986 2.1)")
    try:
        text = unquote_to_bytes(raw).decode("utf-8")
    except UnicodeDecodeError:
        return Classified(RequestClass.NO_CLIENT, "octets that are not UTF-8 once decoded")
    if text in (".", ".."):
        return Classified(RequestClass.NO_CLIENT, "a dot segment (RFC 3986 5.2.4)")
    for char in text:
        if char in "/\\":
            return Classified(RequestClass.NO_CLIENT, f"an encoded path separator ({char!r})")
        if unicodedata.category(char) == "Cc":
            return Classified(RequestClass.NO_CLIENT, f"a control octet (U+{ord(char):04X})")
    return Classified(RequestClass.CLIENT)


def no_client_refusal(reply: Reply) -> bool:
    """A refusal (4xx) of a request no client sends: any layer may give it in any form."""
    return 400 <= reply.status < 500 and classify(reply).kind is RequestClass.NO_CLIENT
