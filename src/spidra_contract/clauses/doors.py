"""The doors to a job: every way a request can be spelled, routed or refused on its way to `GET /crawl/{jobId}`.

A door is a point in a space of independent axes: the method (and the ways frameworks let a request claim
another one), the path's spelling, the id's spelling, the channel the key travels in, and routing headers that
proxies and frameworks honour. Each axis is a catalogue of members, each with the public source it comes from;
a caller (the owner, another account, no key, an empty, wrong or near-miss key) knocks on a door. The front
door is the spec's (GET, the documented path, the id as it is, `x-api-key`, no routing header).

The suite knocks on every member of every axis at least once (`covering_doors`: the front door with one member
changed), on every door of the access matrix with every caller, and on combinations of axes that hypothesis
draws (`tests/test_doors.py`). Every door is a GET or a HEAD on the wire: a method claimed by a header still
travels as GET, and only safe methods are ever claimed (a server that honoured a claimed DELETE would cancel
a real job).

Sources, beside each axis below:
- OWASP API Security Top 10 2023: API1 Broken Object Level Authorization, API2 Broken Authentication.
- OWASP Web Security Testing Guide (WSTG) 4.2: WSTG-ATHZ-01 (directory traversal), WSTG-ATHZ-02 (bypassing
  authorization schema), WSTG-ATHZ-04 (insecure direct object references), WSTG-ATHN-04 (bypassing
  authentication schema), WSTG-CONF-06 (HTTP methods, method overriding), WSTG-INPV-17 (host header injection).
- 403/401-bypass lists in wide use: HackTricks "403 & 401 Bypasses", byp4xx, 4-ZERO-3, nomore403.
- Orange Tsai, "Breaking Parser Logic" (Black Hat USA 2018): `..;/` and path parameters through proxies.
- Routers and gateways: RFC 3986 5.2.4 (dot segments), nginx `merge_slashes`, Express `strict` and
  `caseSensitive` routing, Spring MVC suffix-pattern and trailing-slash matching, Tomcat path parameters (`;`),
  IIS URL Rewrite and Symfony (`X-Original-URL`, `X-Rewrite-URL`, CVE-2018-14773), RFC 7239 (`Forwarded`).
- Key channels: RFC 6750 (Bearer: header, `access_token` query), RFC 7617 (Basic), OpenAPI `apiKey` (header,
  query, cookie), Kong key-auth (`apikey`), Google APIs (`key=`), AWS API Gateway (`x-api-key`).
- Ids: PostgreSQL `uuid` input (upper case, braces, no hyphens are the same uuid), .NET `Guid.Parse` (formats
  N, D, B, P), MySQL `_ci` collations (case-insensitive equality, trailing spaces ignored), SQL `LIKE`
  wildcards, C-string truncation at NUL.
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import quote, urlsplit

from spidra_contract.core.exchange import Reply

# --- callers ----------------------------------------------------------------------------------------------

# The callers of the access matrix, in the order they knock (its columns).
OTHER_BEFORE = "other account (before owner)"
OWNER = "owner"
NO_KEY = "no key"
WRONG_KEY = "wrong key"
OTHER_AFTER = "other account (after owner)"
CALLERS = (OTHER_BEFORE, OWNER, NO_KEY, WRONG_KEY, OTHER_AFTER)
# Callers beyond the matrix's columns (OWASP WSTG-ATHN-04: keys that are almost right).
EMPTY_KEY = "empty key"
NEAR_MISS = ("owner's key less its last character", "owner's key, last character changed", "owner's key, case swapped")


def wrong_key(owner_key: str) -> str:
    """A key of the owner's shape that belongs to nobody (new each run)."""
    prefix = owner_key.split("_")[0] + "_" if "_" in owner_key else ""
    return f"{prefix}spidra-contract-wrong-{secrets.token_hex(8)}"


def near_miss_keys(owner_key: str) -> dict[str, str]:
    """Keys one slip away from the owner's: a server that compares a prefix, ignores case or the last character
    lets them in."""
    last = owner_key[-1:]
    changed = "0" if last != "0" else "1"
    keys = {
        NEAR_MISS[0]: owner_key[:-1],
        NEAR_MISS[1]: owner_key[:-1] + changed,
        NEAR_MISS[2]: owner_key.swapcase(),
    }
    return {caller: key for caller, key in keys.items() if key and key != owner_key}


# --- axes -------------------------------------------------------------------------------------------------


KEY = "{key}"  # a template's place for the key, as sent
KEY_HEADER = "{key_header}"  # a template's place for the target's own key header (x-api-key)


@dataclass(frozen=True)
class Channel:
    """How a key is presented: header fields and query parameters, each value a template of the key (`{key}`,
    `{basic_user}` for Basic "key:", `{basic_password}` for ":key", `{key_quoted}` percent-encoded). A new
    channel is one record here; the redactor hides every name it uses."""

    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()

    def present(self, key: str | None, key_header: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The headers and query parameters that carry `key` (nothing for no key)."""
        if key is None:
            return [], []
        values = {
            "key": key,
            "basic_user": base64.b64encode(f"{key}:".encode()).decode(),
            "basic_password": base64.b64encode(f":{key}".encode()).decode(),
            "key_quoted": quote(key, safe=""),
        }

        def fill(pairs: tuple[tuple[str, str], ...]) -> list[tuple[str, str]]:
            return [
                (key_header if name == KEY_HEADER else name, template.format_map(values)) for name, template in pairs
            ]

        return fill(self.headers), fill(self.query)

    @property
    def names(self) -> tuple[str, ...]:
        """The header and query names a key travels under here (the target's key header stands as `{key_header}`)."""
        return tuple(name for name, _ in (*self.headers, *self.query) if name != KEY_HEADER)


def header(name: str, template: str = KEY) -> Channel:
    return Channel(headers=((name, template),))


def query(name: str) -> Channel:
    return Channel(query=((name, KEY),))


def cookie(name: str) -> Channel:
    return Channel(headers=(("Cookie", f"{name}={{key_quoted}}"),))


@dataclass(frozen=True)
class Member:
    """One member of one axis: how it changes a request, and where it comes from."""

    axis: Axis
    name: str
    source: str
    # method axis: the method on the wire (GET or HEAD), headers and query that claim another one
    method: str = "GET"
    # path axis: the path after the base URL, `{id}` standing for the id as the id axis spells it
    path: str = "/crawl/{id}"
    # id axis: the id as sent (already percent-encoded where it must be)
    spell: Callable[[str], str] | None = field(default=None, compare=False)
    # channel axis: how a key is presented
    channel: Channel = Channel(headers=((KEY_HEADER, KEY),))
    # any axis: extra headers and query parameters (`{path}` stands for the front door's path)
    headers: tuple[tuple[str, str], ...] = ()
    query: tuple[tuple[str, str], ...] = ()
    # routing: the request goes to this path instead, the headers carry the job's
    via: str = ""


class Axis(StrEnum):
    """What a door varies from the front door (a combination of them is named by joining them with "+")."""

    FRONT = "front"
    METHOD = "method"
    PATH = "path"
    ID = "id"
    CHANNEL = "channel"
    ROUTING = "routing"


FRONT = Axis.FRONT
METHOD, PATH, ID, CHANNEL, ROUTING = Axis.METHOD, Axis.PATH, Axis.ID, Axis.CHANNEL, Axis.ROUTING
AXES = (METHOD, PATH, ID, CHANNEL, ROUTING)

_WSTG_METHODS = "OWASP WSTG-CONF-06 (HTTP method overriding); Symfony/Laravel/Rails `_method`"
METHODS = (
    Member(METHOD, "GET", "the spec"),
    Member(METHOD, "HEAD", "RFC 9110 9.3.2: every GET route answers HEAD", method="HEAD"),
    Member(
        METHOD,
        "GET claiming HEAD (X-HTTP-Method-Override)",
        _WSTG_METHODS,
        headers=(("X-HTTP-Method-Override", "HEAD"),),
    ),
    Member(
        METHOD,
        "GET claiming OPTIONS (X-HTTP-Method-Override)",
        _WSTG_METHODS,
        headers=(("X-HTTP-Method-Override", "OPTIONS"),),
    ),
    Member(METHOD, "GET claiming HEAD (X-HTTP-Method)", _WSTG_METHODS, headers=(("X-HTTP-Method", "HEAD"),)),
    Member(
        METHOD, "GET claiming OPTIONS (X-Method-Override)", _WSTG_METHODS, headers=(("X-Method-Override", "OPTIONS"),)
    ),
    Member(METHOD, "GET claiming HEAD (?_method=)", _WSTG_METHODS, query=(("_method", "HEAD"),)),
)

_BYPASS_LISTS = "HackTricks 403 & 401 bypasses; byp4xx; 4-ZERO-3"
PATHS = (
    Member(PATH, "/crawl/{id}", "the spec"),
    Member(
        PATH, "/crawl/{id}/ (trailing slash)", "Express strict:false; Spring trailing-slash match", path="/crawl/{id}/"
    ),
    Member(PATH, "/crawl//{id} (doubled slash)", "nginx merge_slashes", path="/crawl//{id}"),
    Member(PATH, "//crawl/{id} (leading doubled slash)", _BYPASS_LISTS, path="//crawl/{id}"),
    Member(PATH, "/CRAWL/{id} (upper case)", "Express caseSensitive:false; IIS", path="/CRAWL/{id}"),
    Member(PATH, "/Crawl/{id} (mixed case)", "Express caseSensitive:false; IIS", path="/Crawl/{id}"),
    Member(PATH, "/crawl/./{id} (dot segment)", "RFC 3986 5.2.4", path="/crawl/./{id}"),
    Member(PATH, "/crawl/x/../{id} (dot-dot segment)", "RFC 3986 5.2.4; WSTG-ATHZ-01", path="/crawl/x/../{id}"),
    Member(PATH, "/crawl/%2e/{id} (encoded dot)", _BYPASS_LISTS, path="/crawl/%2e/{id}"),
    Member(PATH, "/crawl/%2e%2e/crawl/{id} (encoded dot-dot)", "WSTG-ATHZ-01", path="/crawl/%2e%2e/crawl/{id}"),
    Member(
        PATH, "/crawl;x=1/{id} (path parameter)", "Tomcat path parameters; Orange Tsai 2018", path="/crawl;x=1/{id}"
    ),
    Member(
        PATH, "/crawl/{id};x=1 (path parameter)", "Tomcat path parameters; Orange Tsai 2018", path="/crawl/{id};x=1"
    ),
    Member(
        PATH, "/crawl/..;/crawl/{id} (..;/)", "Orange Tsai 2018 (Tomcat behind a proxy)", path="/crawl/..;/crawl/{id}"
    ),
    Member(
        PATH, "/crawl/{id}.json (format suffix)", "Spring suffix-pattern match; Rails formats", path="/crawl/{id}.json"
    ),
    Member(PATH, "/crawl/{id}? (empty query)", _BYPASS_LISTS, path="/crawl/{id}?"),
    Member(PATH, "/crawl/{id}%23 (encoded #)", _BYPASS_LISTS, path="/crawl/{id}%23"),
    Member(PATH, "/crawl/{id}/. (trailing dot segment)", "RFC 3986 5.2.4; " + _BYPASS_LISTS, path="/crawl/{id}/."),
    Member(PATH, "/crawl%2f{id} (encoded slash)", "Apache AllowEncodedSlashes; " + _BYPASS_LISTS, path="/crawl%2f{id}"),
    Member(PATH, "/crawl%5c{id} (encoded backslash)", "IIS backslash folding; " + _BYPASS_LISTS, path="/crawl%5c{id}"),
    Member(PATH, "/%63rawl/{id} (encoded letter)", "RFC 3986 2.3 (unreserved characters)", path="/%63rawl/{id}"),
    Member(PATH, "/crawl/{id}%09 (trailing tab)", _BYPASS_LISTS, path="/crawl/{id}%09"),
)


def _pct_first(job_id: str) -> str:
    encoded = quote(job_id, safe="")
    first = job_id[:1]
    return f"%{ord(first):02X}{encoded[len(quote(first, safe='')) :]}" if first else encoded


def _pct_all(job_id: str) -> str:
    return "".join(f"%{byte:02X}" for byte in job_id.encode("utf-8"))


def _q(text: str) -> str:
    return quote(text, safe="")


def _fullwidth(text: str) -> str:
    """ASCII letters, digits and '-' as their fullwidth forms (U+FF01..U+FF5E), which NFKC folds back."""
    return "".join(chr(ord(char) + 0xFEE0) if "!" <= char <= "~" else char for char in text)


_UUID = "PostgreSQL uuid input; .NET Guid.Parse"
IDS = (
    Member(ID, "the id", "the spec", spell=_q),
    Member(ID, "UPPER-CASE id", "MySQL _ci collations; " + _UUID, spell=lambda i: _q(i.upper())),
    Member(ID, "first character percent-encoded", "RFC 3986 2.1", spell=_pct_first),
    Member(ID, "every character percent-encoded", "RFC 3986 2.1", spell=_pct_all),
    Member(ID, "first character double-encoded (%25XX)", _BYPASS_LISTS, spell=lambda i: "%25" + _pct_first(i)[1:]),
    Member(ID, "id + trailing space", "MySQL PAD SPACE collations; trimming", spell=lambda i: _q(i) + "%20"),
    Member(ID, "leading space + id", "trimming", spell=lambda i: "%20" + _q(i)),
    Member(ID, "id + newline", "trimming; " + _BYPASS_LISTS, spell=lambda i: _q(i) + "%0A"),
    Member(ID, "id + NUL", "C-string truncation", spell=lambda i: _q(i) + "%00"),
    Member(ID, "{id} in braces", _UUID + " (format B)", spell=lambda i: "%7B" + _q(i) + "%7D"),
    Member(ID, "id without hyphens", _UUID + " (format N)", spell=lambda i: _q(i.replace("-", ""))),
    Member(ID, "id in quotes", "JSON-ish parsers", spell=lambda i: "%22" + _q(i) + "%22"),
    Member(ID, "id less its last character + %", "SQL LIKE wildcard", spell=lambda i: _q(i[:-1]) + "%25"),
    Member(ID, "id less its last character + _", "SQL LIKE wildcard", spell=lambda i: _q(i[:-1]) + "_"),
    Member(
        ID,
        "id truncated to 8 characters",
        "prefix matching (SQL LIKE 'x%', search indexes); Akto tests-library BOLA templates (id variations)",
        spell=lambda i: _q(i[:8]),
    ),
    Member(
        ID,
        "id in fullwidth characters",
        "Unicode UAX #15 (NFKC folds fullwidth forms to ASCII); PortSwigger Web Security Academy (normalisation)",
        spell=lambda i: _q(_fullwidth(i)),
    ),
)

_OPENAPI_KEY = "OpenAPI apiKey (in: header, query, cookie)"
CHANNELS = (
    Member(CHANNEL, "x-api-key", "the spec", channel=header(KEY_HEADER)),
    Member(
        CHANNEL,
        "Authorization: Bearer",
        "RFC 6750 2.1; the official SDKs",
        channel=header("Authorization", "Bearer {key}"),
    ),
    Member(CHANNEL, "Authorization: Basic key:", "RFC 7617", channel=header("Authorization", "Basic {basic_user}")),
    Member(CHANNEL, "Authorization: Basic :key", "RFC 7617", channel=header("Authorization", "Basic {basic_password}")),
    Member(
        CHANNEL,
        "Authorization: Token",
        "Django REST framework TokenAuthentication",
        channel=header("Authorization", "Token {key}"),
    ),
    Member(
        CHANNEL,
        "Authorization: ApiKey",
        "Elasticsearch; common gateways",
        channel=header("Authorization", "ApiKey {key}"),
    ),
    Member(CHANNEL, "Authorization: <key>", "WSTG-ATHN-04", channel=header("Authorization")),
    Member(CHANNEL, "Api-Key header", _OPENAPI_KEY, channel=header("Api-Key")),
    Member(CHANNEL, "apikey header", "Kong key-auth", channel=header("apikey")),
    Member(CHANNEL, "?api_key=", _OPENAPI_KEY, channel=query("api_key")),
    Member(CHANNEL, "?apikey=", "Kong key-auth", channel=query("apikey")),
    Member(CHANNEL, "?key=", "Google APIs", channel=query("key")),
    Member(CHANNEL, "?access_token=", "RFC 6750 2.3", channel=query("access_token")),
    Member(CHANNEL, "?token=", _BYPASS_LISTS, channel=query("token")),
    Member(CHANNEL, "api_key cookie", _OPENAPI_KEY, channel=cookie("api_key")),
    Member(CHANNEL, "token cookie", _OPENAPI_KEY, channel=cookie("token")),
    Member(
        CHANNEL,
        "x-api-key twice (empty, then the key)",
        "RFC 9110 5.3 (repeated fields)",
        channel=Channel(headers=((KEY_HEADER, ""), (KEY_HEADER, KEY))),
    ),
    Member(
        CHANNEL,
        "x-api-key and Bearer together",
        "WSTG-ATHN-04",
        channel=Channel(headers=((KEY_HEADER, KEY), ("Authorization", "Bearer {key}"))),
    ),
)

_LOCAL = "127.0.0.1"
_IP_HEADERS = "HackTricks 403 bypasses (IP headers); WSTG-INPV-17"
ROUTINGS = (
    Member(ROUTING, "no routing header", "the spec"),
    Member(ROUTING, "X-Forwarded-For: 127.0.0.1", _IP_HEADERS, headers=(("X-Forwarded-For", _LOCAL),)),
    Member(ROUTING, "X-Real-IP: 127.0.0.1", "nginx real_ip; " + _IP_HEADERS, headers=(("X-Real-IP", _LOCAL),)),
    Member(ROUTING, "X-Client-IP: 127.0.0.1", _IP_HEADERS, headers=(("X-Client-IP", _LOCAL),)),
    Member(ROUTING, "X-Originating-IP: 127.0.0.1", _IP_HEADERS, headers=(("X-Originating-IP", _LOCAL),)),
    Member(ROUTING, "X-Remote-Addr: 127.0.0.1", _IP_HEADERS, headers=(("X-Remote-Addr", _LOCAL),)),
    Member(
        ROUTING,
        "True-Client-IP: 127.0.0.1",
        "Akamai, Cloudflare; " + _IP_HEADERS,
        headers=(("True-Client-IP", _LOCAL),),
    ),
    Member(ROUTING, "CF-Connecting-IP: 127.0.0.1", "Cloudflare", headers=(("CF-Connecting-IP", _LOCAL),)),
    Member(
        ROUTING, "X-Custom-IP-Authorization: 127.0.0.1", _IP_HEADERS, headers=(("X-Custom-IP-Authorization", _LOCAL),)
    ),
    Member(ROUTING, "Forwarded: for=127.0.0.1", "RFC 7239", headers=(("Forwarded", f"for={_LOCAL};proto=https"),)),
    Member(ROUTING, "X-Forwarded-Host: localhost", "WSTG-INPV-17", headers=(("X-Forwarded-Host", "localhost"),)),
    Member(ROUTING, "X-Host: localhost", "WSTG-INPV-17", headers=(("X-Host", "localhost"),)),
    Member(ROUTING, "X-Forwarded-Proto: https", "proxies' scheme header", headers=(("X-Forwarded-Proto", "https"),)),
    Member(
        ROUTING,
        "X-Forwarded-Prefix: /internal",
        "Spring ForwardedHeaderFilter",
        headers=(("X-Forwarded-Prefix", "/internal"),),
    ),
    # Fields a cache or a virtual-host router acts on (RFC 9110 7.2, 13, 14; RFC 9111 5.2.1): a layer that answers
    # from its own store or another host on them must still check the key.
    Member(ROUTING, "Host: localhost", "RFC 9110 7.2; WSTG-INPV-17 (host header)", headers=(("Host", "localhost"),)),
    Member(
        ROUTING,
        "If-None-Match: * (conditional)",
        "RFC 9110 13.1.2; a cache answers conditionals from its store",
        headers=(("If-None-Match", "*"),),
    ),
    Member(
        ROUTING,
        "Range: bytes=0-99",
        "RFC 9110 14.2; a cache serves ranges of what it stored",
        headers=(("Range", "bytes=0-99"),),
    ),
    Member(
        ROUTING,
        "Cache-Control: max-stale",
        "RFC 9111 5.2.1.2: a client asks a cache for what it stored, however old",
        headers=(("Cache-Control", "max-stale"),),
    ),
    Member(ROUTING, "X-Original-URL over /", "IIS URL Rewrite; Symfony CVE-2018-14773", via="X-Original-URL"),
    Member(ROUTING, "X-Rewrite-URL over /", "Symfony CVE-2018-14773", via="X-Rewrite-URL"),
)

CATALOGUE: dict[str, tuple[Member, ...]] = {
    METHOD: METHODS,
    PATH: PATHS,
    ID: IDS,
    CHANNEL: CHANNELS,
    ROUTING: ROUTINGS,
}


def member(axis: Axis, name: str) -> Member:
    """The member of `axis` called `name`: members are addressed by name, so adding one anywhere in a list
    changes no door that names another (a name that is not there is a KeyError at import, not a silent shift)."""
    found = [candidate for candidate in CATALOGUE[axis] if candidate.name == name]
    if len(found) != 1:
        raise KeyError(f"no single {axis} member named {name!r}")
    return found[0]


# --- doors ------------------------------------------------------------------------------------------------


# The front door's member of each axis: what the spec and the SDKs send.
_FRONT = {
    METHOD: member(METHOD, "GET"),
    PATH: member(PATH, "/crawl/{id}"),
    ID: member(ID, "the id"),
    CHANNEL: member(CHANNEL, "x-api-key"),
    ROUTING: member(ROUTING, "no routing header"),
}


@dataclass(frozen=True)
class Door:
    """One way in: a member of every axis."""

    method: Member = _FRONT[METHOD]
    path: Member = _FRONT[PATH]
    id: Member = _FRONT[ID]
    channel: Member = _FRONT[CHANNEL]
    routing: Member = _FRONT[ROUTING]

    @property
    def members(self) -> tuple[Member, ...]:
        return (self.method, self.path, self.id, self.channel, self.routing)

    @property
    def changed(self) -> tuple[Member, ...]:
        """The members that differ from the front door's."""
        return tuple(member for member, front in zip(self.members, FRONT_DOOR.members, strict=True) if member != front)

    @property
    def axis(self) -> str:
        """The axis this door varies (`front`, one axis, or `a+b` for a combination)."""
        changed = self.changed
        return "+".join(member.axis for member in changed) if changed else FRONT

    @property
    def name(self) -> str:
        changed = self.changed
        return " + ".join(member.name for member in changed) if changed else "front door (GET /crawl/{id} + x-api-key)"

    @property
    def is_front(self) -> bool:
        return not self.changed

    @property
    def wire_method(self) -> str:
        return self.method.method

    def request(
        self, base_url: str, job_id: str, key: str | None, key_header: str
    ) -> tuple[str, str, list[tuple[str, str]]]:
        """(method, URL as sent byte for byte, headers) for this door, asked with `key` (None: no key)."""
        path = self.path.path.replace("{id}", (self.id.spell or _q)(job_id))
        headers: list[tuple[str, str]] = [*self.method.headers, *self.routing.headers]
        query = list(self.method.query)
        if self.routing.via:
            # The request goes to the base path's root; the header names the job's route (the rewritten route
            # must run its own checks).
            headers.append((self.routing.via, urlsplit(base_url).path + path))
            path = "/"
        headers_key, query_key = self.channel.channel.present(key, key_header)
        headers += headers_key
        query += query_key
        url = base_url + path
        if query:
            separator = "&" if "?" in path and not path.endswith("?") else ("" if path.endswith("?") else "?")
            url += separator + "&".join(f"{name}={quote(value, safe='')}" for name, value in query)
        return self.wire_method, url, headers


FRONT_DOOR = Door()


def one_axis(changed: Member) -> Door:
    """The front door with one member changed."""
    return Door(**{changed.axis: changed})


def reaches(owner_reply: Reply, refusals: frozenset[int]) -> bool:
    """Whether a door reached something for the job's owner: the job itself, or any answer other than the front
    door's own refusals (`refusals`: its statuses for an id that names no job and for no key). A door that reaches
    something is then asked by every caller; one that reaches nothing, by the other account and one caller
    without a valid key (`tests/test_doors.py`)."""
    return is_open(owner_reply) or owner_reply.status not in refusals


def leads_elsewhere(owner_reply: Reply, reference: Reply, job_statuses: tuple[str, ...]) -> bool:
    """Whether a door leads somewhere other than the job: the owner, asking through it, gets a 2xx body that is not
    the job and carries nothing of it (an edge's page for a host it does not serve, a service index). A stranger's
    2xx there is open only if it carries the job (as for a request sent to another route). A HEAD has no body to
    tell: a door the owner HEADs into is held to "never 2xx"."""
    if owner_reply.method != "GET" or not is_open(owner_reply):
        return False
    if is_job_body(owner_reply.body, job_statuses):
        return False
    return not carried(job_marks(reference, reference.url.rstrip("/").rsplit("/", 1)[-1]), owner_reply)


def covering_doors() -> tuple[Door, ...]:
    """Every member of every axis at least once: the front door, then the front door with each other member."""
    doors = [FRONT_DOOR]
    for axis in AXES:
        doors += [one_axis(other) for other in CATALOGUE[axis] if other not in FRONT_DOOR.members]
    return tuple(doors)


# The doors of the access matrix, each asked by every caller (the rest of the covering doors by the owner and
# one stranger each): the read methods, the path spellings routers most often tolerate, and the channels the
# SDKs and gateways use.
MATRIX_DOORS: tuple[Door, ...] = (
    FRONT_DOOR,
    one_axis(member(METHOD, "HEAD")),
    one_axis(member(PATH, "/crawl/{id}/ (trailing slash)")),
    one_axis(member(PATH, "/crawl//{id} (doubled slash)")),
    one_axis(member(PATH, "/CRAWL/{id} (upper case)")),
    one_axis(member(ID, "first character percent-encoded")),
    one_axis(member(CHANNEL, "Authorization: Bearer")),
    one_axis(member(CHANNEL, "Authorization: Basic key:")),
    one_axis(member(CHANNEL, "?api_key=")),
    one_axis(member(CHANNEL, "api_key cookie")),
)
DOORS = MATRIX_DOORS


# OPTIONS is not a door of the matrix: a CORS preflight rightly answers 2xx to anyone. It is sent only where
# unsafe methods are allowed (the embedded mock, or --allow-unsafe), and a stranger's must not carry the job.
OPTIONS_DOOR = Door(method=Member(METHOD, "OPTIONS", "RFC 9110 9.3.7", method="OPTIONS"))


# --- what came back ------------------------------------------------------------------------------------


def lets_in(reply: Reply, job_statuses: tuple[str, ...]) -> bool:
    """What `door-locked` counts as an open door: a 2xx; for OPTIONS (a preflight rightly answers 2xx to
    anyone), only a 2xx whose body is a job (an object whose `status` is a job status)."""
    if not is_open(reply):
        return False
    if reply.method != "OPTIONS":
        return True
    return is_job_body(reply.body, job_statuses)


def is_job_body(body: object, job_statuses: tuple[str, ...]) -> bool:
    """A body that is a job: an object whose `status` is a job status."""
    return isinstance(body, dict) and body.get("status") in job_statuses


def opens(status: object) -> bool:
    """A door is open to whoever got a 2xx through it."""
    return isinstance(status, int) and 200 <= status < 300


def is_open(reply: Reply) -> bool:
    return opens(reply.status)


# A job's marks: what only the job's own body says. Strings this long are the job's (result urls, titles, data,
# error text); shorter ones (status words, "Queued", names) and dates or numbers (a refusal's own timestamp) may be
# in any refusal.
MIN_MARK_CHARS = 12
_NOT_A_MARK = re.compile(r"[\d\s:.,+\-TZ/]*")


@dataclass(frozen=True)
class JobMarks:
    """What a reply must not carry unless it is the owner's: the job's distinctive strings, and its progress
    figures (pagesCrawled with maxPages)."""

    strings: frozenset[str]
    figures: tuple[object, object] | None

    def __bool__(self) -> bool:
        return bool(self.strings or self.figures)


def job_marks(reference: Reply, job_id: str = "") -> JobMarks:
    """The marks of the job in the owner's own read (`reference`); the id itself is not one (a refusal may
    rightly echo the id it was asked for)."""
    body = reference.body if reference.status == 200 else None
    if not isinstance(body, dict):
        return JobMarks(frozenset(), None)
    strings: set[str] = set()
    stack: list[object] = [body.get("result"), body.get("error")]
    while stack:
        node = stack.pop()
        if isinstance(node, str):
            if len(node) >= MIN_MARK_CHARS and job_id not in node and not _NOT_A_MARK.fullmatch(node):
                strings.add(node)
        elif isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    progress = body.get("progress")
    figures = None
    if isinstance(progress, dict) and isinstance(progress.get("pagesCrawled"), int) and progress["pagesCrawled"] > 0:
        figures = (progress["pagesCrawled"], progress.get("maxPages"))
    return JobMarks(frozenset(strings), figures)


def carried(marks: JobMarks, reply: Reply) -> str:
    """What of the job `reply` carries ("" when nothing): one of its marks in the body's text (as sent or as a
    JSON string escapes it), or its progress figures in an object of the body."""
    import json

    text = reply.text
    for mark in sorted(marks.strings, key=lambda mark: (-len(mark), mark)):  # the most telling first
        if mark in text or json.dumps(mark)[1:-1] in text:
            return f"the job's {mark[:60]!r}"
    if marks.figures is not None:
        stack: list[object] = [reply.body]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if (node.get("pagesCrawled"), node.get("maxPages")) == marks.figures:
                    return f"the job's progress figures (pagesCrawled {marks.figures[0]}, maxPages {marks.figures[1]})"
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return ""


def open_to_stranger(caller: str, status: object) -> bool:
    """A cell of the access matrix that is a `door-locked` violation."""
    return caller != OWNER and opens(status)


def channel_names() -> frozenset[str]:
    """Every header and query name a key travels under in some channel: the redactor hides their values."""
    return frozenset(name.lower() for member in CHANNELS for name in member.channel.names)
