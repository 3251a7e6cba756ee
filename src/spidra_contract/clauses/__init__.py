"""Every clause of the contract, each one small pure function: reply (or replies) in, violations out.

The hand-written tests, the schemathesis custom checks, the lifecycle poller, the corpus sweep and the
reports all call these functions; a clause is found by its name here and changed in one place.
A clause returns None when it does not apply to the reply (a body clause on a 404, say), so the
reports can count how many responses each clause really judged.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlsplit

from jsonschema import Draft202012Validator

from spidra_contract.clauses.doors import carried, is_job_body, is_open, job_marks, lets_in
from spidra_contract.clauses.requests import classify, no_client_refusal
from spidra_contract.core.exchange import Reply, shown, strings_of, with_short_integers
from spidra_contract.core.judgement import Place, Verdict, Violation
from spidra_contract.core.model import DriftKind
from spidra_contract.core.spec import JSON_MEDIA_TYPE, Contract

TERMINAL_STATUSES = frozenset({"completed", "failed"})
# Forward order of the documented states; a job may skip states, never go back.
STATUS_ORDER = {"waiting": 0, "active": 1, "completed": 2, "failed": 2}


class Applies(StrEnum):
    """Which replies a clause judges: what every layer asks of it without naming it."""

    TRANSPORT = "every reply"  # status documented, body complete, JSON where JSON is said
    JOB_BODY = "a job's body"  # a 200's job: enum, progress, result, error, their semantics
    ERROR_BODY = "an error body"  # a 4xx's ErrorResponse
    REQUEST = "what the request decides"  # the answer a request alone calls for (a test names it)
    DOOR = "a stranger's reply beside the owner's"
    PAIR = "two reads of one job, in time order"
    METHOD_PAIR = "the owner's HEAD beside the same GET"


@dataclass(frozen=True)
class Clause:
    """A clause and what the other layers need to know of it, stated once, where its function is."""

    name: str
    title: str
    reference: str
    check: Callable[..., Verdict]
    applies: Applies
    layer: str  # the test layer (a marker) meant to catch its faults: a fault run is limited to it
    # What drift its failures may show (None: every failure is a violation no spec change may hide): a status
    # code the spec does not list, a status value outside the enum, a field of another type than the spec's.
    drift: DriftKind | None = None
    framing: bool = False  # judged even on bytes with no status line


CLAUSES: dict[str, Clause] = {}


def clause(
    name: str,
    title: str,
    reference: str,
    *,
    applies: Applies,
    layer: str,
    drift: DriftKind | None = None,
    framing: bool = False,
) -> Callable[[Callable[..., Verdict]], Callable[..., Verdict]]:
    """Register a clause function under its name, with its one-line statement, the spec's wording and its
    metadata: a new clause is its function here, its fault in the mock and its test."""

    def register(func: Callable[..., Verdict]) -> Callable[..., Verdict]:
        if name in CLAUSES:
            raise ValueError(f"clause {name} is registered twice")
        CLAUSES[name] = Clause(
            name=name,
            title=title,
            reference=reference,
            check=func,
            applies=applies,
            layer=layer,
            drift=drift,
            framing=framing,
        )
        return func

    return register


def names(applies: Applies) -> tuple[str, ...]:
    """The clauses that judge this kind of reply, in the order they were registered."""
    return tuple(name for name, spec in CLAUSES.items() if spec.applies is applies)


@lru_cache(maxsize=64)
def _validator(contract: Contract, status: int, prop: str | None) -> Draft202012Validator | None:
    schema = contract.response_schema(status) if prop is None else contract.property_schema(status, prop)
    return None if schema is None else Draft202012Validator(schema)


def _schema_violations(name: str, validator: Draft202012Validator | None, instance: Any, base: str) -> list[Violation]:
    if validator is None:
        return []
    found = []
    # A validator writes the values it rejects into its messages: an integer too long to write out is checked as
    # one of the same type, sign and order (10**60), and shown by its length.
    checked = with_short_integers(instance)
    for error in sorted(validator.iter_errors(checked), key=lambda e: list(e.absolute_path)):
        pointer = base + "".join(f"/{part}" for part in error.absolute_path)
        observed, message = error.instance, error.message
        if checked is not instance:
            original: Any = instance
            for part in error.absolute_path:
                original = original[part]
            observed = original
            if error.instance is not original:  # a stand-in was checked: the message names the value itself
                message = message.replace(repr(error.instance), shown(original))
        found.append(
            Violation(
                name,
                message,
                pointer,
                expected=shown(error.validator_value, 200),
                observed=shown(observed, 200),
                rule="/".join(map(str, error.schema_path)),
            )
        )
    return found


def _body_object(reply: Reply) -> dict[str, Any] | None:
    if reply.method != "GET":
        return None
    body = reply.body
    return body if isinstance(body, dict) else None


def _job_body(reply: Reply) -> dict[str, Any] | None:
    return _body_object(reply) if reply.status == 200 else None


# --- transport -----------------------------------------------------------------------------------------


@clause(
    "documented-status",
    "GET answers only with a documented status code (200, 403, 404)",
    "paths./crawl/{jobId}.get.responses",
    applies=Applies.TRANSPORT,
    layer="unknown",
    drift=DriftKind.STATUS_CODE,
)
def documented_status(reply: Reply, contract: Contract) -> Verdict:
    """Any code the operation does not document is a violation, reported with its body."""
    if reply.method not in ("GET", "HEAD") or not reply.status:
        return None  # no status line to judge: `complete-body` says what came instead
    if reply.status in contract.documented_statuses or no_client_refusal(reply):
        return []  # (a request no client sends may be refused by any 4xx, from any layer: clauses.requests)
    location = reply.header("location")
    redirect = f", redirecting to {location!r} (not followed)" if 300 <= reply.status < 400 and location else ""
    return [
        Violation(
            "documented-status",
            f"status {reply.status} is not documented (documented: {sorted(contract.documented_statuses)}){redirect}",
            place=Place.STATUS,
            expected=", ".join(map(str, sorted(contract.documented_statuses))),
            observed=str(reply.status),
            rule="undocumented-status",
        )
    ]


@clause(
    "complete-body",
    "A response arrives whole: an HTTP/1.1 message a client can read (status line, headers, interim replies "
    "and framing within the suite's caps), a Content-Encoding the suite asked for that decodes, within the body "
    "size cap",
    "HTTP/1.1 message syntax and framing (RFC 9112) + the suite's caps (--max-body, headers, interim replies)",
    applies=Applies.TRANSPORT,
    layer="job_body",
    framing=True,
)
def complete_body(reply: Reply, contract: Contract) -> Verdict:
    if reply.method not in ("GET", "HEAD"):
        return None
    return (
        [Violation("complete-body", reply.problem, place=Place.MESSAGE, rule="whole-message")] if reply.problem else []
    )


@clause(
    "json-body",
    "Documented responses are application/json (parameters allowed) and parse as a JSON object",
    "responses.*.content.application/json",
    applies=Applies.TRANSPORT,
    layer="job_body",
)
def json_body(reply: Reply, contract: Contract) -> Verdict:
    if reply.method != "GET" or reply.status not in contract.documented_statuses or no_client_refusal(reply):
        return None
    found = []
    if reply.media_type != JSON_MEDIA_TYPE:
        found.append(
            Violation(
                "json-body",
                f"Content-Type is {reply.header('content-type')!r}, expected {JSON_MEDIA_TYPE}",
                "content-type",
                place=Place.HEADER,
                expected=JSON_MEDIA_TYPE,
                observed=reply.header("content-type"),
                rule="media-type",
            )
        )
    try:
        body = reply.json
    except ValueError as exc:
        found.append(
            Violation(
                "json-body", f"body does not parse as JSON ({exc})", expected="JSON", observed=str(exc), rule="parse"
            )
        )
    else:
        if not isinstance(body, dict):
            found.append(
                Violation(
                    "json-body",
                    f"body is a JSON {type(body).__name__}, the schema says object",
                    expected="object",
                    observed=type(body).__name__,
                    rule="type",
                )
            )
    return found


# --- the 200 body --------------------------------------------------------------------------------------


@clause(
    "status-enum",
    "`status` is one of the documented values",
    "200.schema.properties.status.enum",
    applies=Applies.JOB_BODY,
    layer="job_body",
    drift=DriftKind.ENUM_VALUE,
)
def status_enum(reply: Reply, contract: Contract) -> Verdict:
    body = _job_body(reply)
    if body is None or "status" not in body:
        return None if body is None else []
    return _schema_violations("status-enum", _validator(contract, 200, "status"), body["status"], "/status")


@clause(
    "progress",
    "`progress` is an object: message a string, pagesCrawled and maxPages non-negative "
    "integers, pagesCrawled <= maxPages",
    "200.schema.properties.progress",
    applies=Applies.JOB_BODY,
    layer="job_body",
    drift=DriftKind.FIELD_TYPE,
)
def progress(reply: Reply, contract: Contract) -> Verdict:
    body = _job_body(reply)
    if body is None or "progress" not in body:
        return None if body is None else []
    value = body["progress"]
    found = _schema_violations("progress", _validator(contract, 200, "progress"), value, "/progress")
    if found or not isinstance(value, dict):
        return found
    crawled, limit = value.get("pagesCrawled"), value.get("maxPages")
    for key, number in (("pagesCrawled", crawled), ("maxPages", limit)):
        if isinstance(number, int) and number < 0:
            found.append(
                Violation("progress", f"{key} is negative ({shown(number)})", f"/progress/{key}", rule="non-negative")
            )
    if isinstance(crawled, int) and isinstance(limit, int) and crawled > limit:
        message = f"pagesCrawled ({shown(crawled)}) exceeds maxPages ({shown(limit)})"
        found.append(Violation("progress", message, "/progress", rule="crawled-within-max"))
    return found


@clause(
    "result-shape",
    "`result` is null or an array of objects whose url, title, status are strings and data an object, when present",
    "200.schema.properties.result",
    applies=Applies.JOB_BODY,
    layer="job_body",
    drift=DriftKind.FIELD_TYPE,
)
def result_shape(reply: Reply, contract: Contract) -> Verdict:
    body = _job_body(reply)
    if body is None or "result" not in body:
        return None if body is None else []
    return _schema_violations("result-shape", _validator(contract, 200, "result"), body["result"], "/result")


@clause(
    "nullable-error",
    "`error` is null or a string, when present",
    "200.schema.properties.error",
    applies=Applies.JOB_BODY,
    layer="job_body",
    drift=DriftKind.FIELD_TYPE,
)
def nullable_error(reply: Reply, contract: Contract) -> Verdict:
    body = _job_body(reply)
    if body is None or "error" not in body:
        return None if body is None else []
    return _schema_violations("nullable-error", _validator(contract, 200, "error"), body["error"], "/error")


@clause(
    "status-semantics",
    "completed has a result array and no error; failed has a non-empty error; waiting has no result items yet",
    "200 description + example (semantics across fields)",
    applies=Applies.JOB_BODY,
    layer="job_body",
)
def status_semantics(reply: Reply, contract: Contract) -> Verdict:
    body = _job_body(reply)
    if body is None or not isinstance(body.get("status"), str):
        return None
    status, result, error = body["status"], body.get("result"), body.get("error")
    found = []
    if status == "completed":
        if not isinstance(result, list):
            found.append(
                Violation(
                    "status-semantics",
                    f"completed job has result {shown(result)}, expected an array",
                    "/result",
                    rule="completed-has-result",
                )
            )
        if error not in (None, ""):
            found.append(
                Violation(
                    "status-semantics",
                    f"completed job carries an error: {shown(error)}",
                    "/error",
                    rule="completed-has-no-error",
                )
            )
    elif status == "failed":
        if not isinstance(error, str) or not error.strip():
            found.append(
                Violation(
                    "status-semantics",
                    f"failed job has no error message (error={shown(error)})",
                    "/error",
                    rule="failed-has-error",
                )
            )
    elif status == "waiting" and isinstance(result, list) and result:
        found.append(
            Violation(
                "status-semantics",
                f"waiting job already has {len(result)} result items",
                "/result",
                rule="waiting-has-no-result",
            )
        )
    return found


# --- error responses -----------------------------------------------------------------------------------


@clause(
    "error-response",
    '403 and 404 bodies are an ErrorResponse: status "error" and a non-empty message',
    "components.schemas.ErrorResponse",
    applies=Applies.ERROR_BODY,
    layer="unknown",
)
def error_response(reply: Reply, contract: Contract) -> Verdict:
    if reply.method != "GET" or reply.status == 200 or reply.status not in contract.documented_statuses:
        return None
    if no_client_refusal(reply):
        return None  # any layer may refuse bytes no client sends, in any form (clauses.requests)
    body = _body_object(reply)
    if body is None:
        return [
            Violation(
                "error-response", f"{reply.status} body is not a JSON object", expected="ErrorResponse", rule="type"
            )
        ]
    found = _schema_violations("error-response", _validator(contract, reply.status, None), body, "")
    message = body.get("message")
    if isinstance(message, str) and not message.strip():
        found.append(Violation("error-response", "message is empty", "/message", rule="message-not-empty"))
    return found


# Signs of an implementation's insides leaking into an error message.
# Signs of an implementation's insides in an error message. Each is specific enough that an ordinary message
# ("Please select a job from the list", "https://example.com/home/") does not match.
_LEAK_PATTERNS = {
    "stack trace": re.compile(
        r"Traceback \(most recent call last\)|\bat [\w.$]+\([\w.]+:\d+\)|"
        r"File \"[^\"]+\", line \d+|\n\s+at .+:\d+:\d+"
    ),
    # A server path standing alone, not the path part of a URL.
    "file path": re.compile(
        r"(?<![\w.:/-])/(?:usr|var|home|srv|opt|app|etc|root)/[\w.-]+/[\w./-]+|\b[A-Z]:\\[\w\\.-]+"
    ),
    "SQL text": re.compile(
        r"\b(?:SELECT\s+[\w*,.\s]+?\s+FROM\s+\w+|INSERT\s+INTO\s+\w+|UPDATE\s+\w+\s+SET\s|DELETE\s+FROM\s+\w+)|"
        r"(?i:syntax error at or near|SQLSTATE\[?\w*|ORA-\d{5}|sqlite3?\.\w+Error|psycopg2?\.|"
        r"You have an error in your SQL syntax)"
    ),
    "exception name": re.compile(
        r"\b(?:[a-z_][\w]*\.)+[A-Z]\w*(?:Error|Exception)\b|"
        r"\b(?:KeyError|TypeError|ValueError|AttributeError|IndexError|NameError|ReferenceError|"
        r"NullPointerException|IllegalStateException|MongoServerError)\b|\bE11000\b"
    ),
}


@clause(
    "error-hygiene",
    "Error bodies carry no stack trace, file path, SQL text or exception name",
    "security (OWASP API8: security misconfiguration)",
    applies=Applies.ERROR_BODY,
    layer="unknown",
)
def error_hygiene(reply: Reply, contract: Contract) -> Verdict:
    if reply.status < 400:
        return None
    text = "\n".join(strings_of(reply.body)) if isinstance(reply.body, (dict, list)) else reply.text
    return [
        Violation("error-hygiene", f"{kind} in a {reply.status} body: {match.group(0)[:120]!r}", rule=kind)
        for kind, pattern in _LEAK_PATTERNS.items()
        if (match := pattern.search(text))
    ]


# --- expectations set by the request -------------------------------------------------------------------


@clause(
    "auth-required",
    "A missing, empty or wrong key (or one sent only in the query) gets 403",
    'responses.403 "Not authorized" + security: ApiKeyAuth',
    applies=Applies.REQUEST,
    layer="auth",
)
def auth_required(reply: Reply, contract: Contract) -> Verdict:
    hint = " (401 is what the SDKs expect; the spec documents 403)" if reply.status == 401 else ""
    return _expect_status(
        "auth-required", reply, (403,), f"expected 403 for an unauthorized request, got {reply.status}{hint}"
    )


def _expect_status(name: str, reply: Reply, allowed: tuple[int, ...], message: str) -> Verdict:
    """A clause that the request alone decides: one of `allowed` statuses, else one violation saying `message`."""
    if reply.status in allowed:
        return []
    expected = " or ".join(map(str, allowed))
    return [Violation(name, message, place=Place.STATUS, expected=expected, observed=str(reply.status), rule="status")]


@clause(
    "unknown-job",
    "An id that names no job gets 404 (or 403: a server may refuse whatever a key does not own rather than say "
    "whether it exists)",
    'responses.404 "Job not found" (responses.403 "Not authorized")',
    applies=Applies.REQUEST,
    layer="unknown",
)
def unknown_job(reply: Reply, contract: Contract) -> Verdict:
    if no_client_refusal(reply):
        return []
    return _expect_status(
        "unknown-job", reply, (404, 403), f"expected 404 (or 403) for an id that names no job, got {reply.status}"
    )


@clause(
    "foreign-job",
    "Another account's job is never readable: 403 or 404, never 200",
    'responses.403 "Not authorized" / 404',
    applies=Applies.REQUEST,
    layer="cross_account",
)
def foreign_job(reply: Reply, contract: Contract) -> Verdict:
    message = f"another account's key got {reply.status} for this job (expected 403 or 404)"
    return _expect_status("foreign-job", reply, (403, 404), message)


@clause(
    "door-locked",
    "Every door to a job (any read method, path or id spelling, key channel, routing header) stays shut to a "
    "missing, empty, wrong or near-miss key and to another account: never 2xx, and no reply of any status "
    "carries the job",
    "security: ApiKeyAuth + responses.403 (OWASP API1/API2: object-level and broken authentication)",
    applies=Applies.DOOR,
    layer="doors",
)
def door_locked(reference: Reply, reply: Reply, contract: Contract) -> Verdict:
    """`reference` is the owner's own read of the job through the front door; `reply` a stranger's knock."""
    who = reply.context or "a caller without the owner's key"
    leak = carried(job_marks(reference, _job_id_of(reference)), reply)
    if reply.rewritten:
        # Sent to another route (the API's root, say, which may rightly answer anyone): open only if the job
        # came back.
        opened = is_open(reply) and (bool(leak) or is_job_body(reply.body, contract.status_enum))
    else:
        opened = lets_in(reply, contract.status_enum)
    if opened:
        return [
            Violation(
                "door-locked",
                f"{who}: {reply.method} answered {reply.status}, the job is open to a caller who may not read it",
                place=Place.STATUS,
                expected="a refusal (not 2xx, not the job)",
                observed=str(reply.status),
                rule="stranger-let-in",
            )
        ]
    if leak:
        return [
            Violation(
                "door-locked",
                f"{who}: {reply.method} refused with {reply.status}, but its body carries {leak}: a refusal that "
                "embeds the record is a leak",
                expected="a refusal that does not carry the job",
                observed=str(leak),
                rule="refusal-carries-job",
            )
        ]
    return []


def _job_id_of(reply: Reply) -> str:
    return reply.url.rstrip("/").rsplit("/", 1)[-1]


@clause(
    "hostile-id",
    "A hostile or malformed id gets a 403/404 ErrorResponse: never 5xx, never a job",
    "responses.404 + robustness",
    applies=Applies.REQUEST,
    layer="hostile",
)
def hostile_id(reply: Reply, contract: Contract) -> Verdict:
    """An id a client could hold gets 403 or 404; bytes no client sends (`clauses.requests`) any 4xx, from any
    layer. Neither ever a 5xx nor a 2xx."""
    if no_client_refusal(reply):
        return []
    why = classify(reply).why
    expected = "a 4xx (bytes no client sends: " + why + ")" if why else "403 or 404"
    message = f"hostile id answered {reply.status} (expected {expected})"
    return _expect_status("hostile-id", reply, (403, 404), message)


# --- the job over time ---------------------------------------------------------------------------------


def _snapshot(reply: Reply) -> dict[str, Any] | None:
    body = _job_body(reply)
    return body if body is not None and isinstance(body.get("status"), str) else None


@clause(
    "lifecycle-forward",
    "A job's status only moves forward: waiting -> active -> completed|failed",
    "status enum order; terminal states are final",
    applies=Applies.PAIR,
    layer="lifecycle",
)
def lifecycle_forward(before: Reply, after: Reply, contract: Contract) -> Verdict:
    old, new = _snapshot(before), _snapshot(after)
    if old is None or new is None:
        return None
    a, b = old["status"], new["status"]
    if (
        a in STATUS_ORDER
        and b in STATUS_ORDER
        and (STATUS_ORDER[b] < STATUS_ORDER[a] or (a in TERMINAL_STATUSES and a != b))
    ):
        return [Violation("lifecycle-forward", f"status went from {shown(a)} to {shown(b)}", "/status", rule="forward")]
    return []


def _progress_numbers(body: dict[str, Any]) -> tuple[Any, Any]:
    progress_ = body.get("progress")
    if not isinstance(progress_, dict):
        return None, None
    return progress_.get("pagesCrawled"), progress_.get("maxPages")


@clause(
    "progress-monotonic",
    "pagesCrawled never decreases and maxPages never changes between reads",
    "progress semantics over time",
    applies=Applies.PAIR,
    layer="lifecycle",
)
def progress_monotonic(before: Reply, after: Reply, contract: Contract) -> Verdict:
    old, new = _snapshot(before), _snapshot(after)
    if old is None or new is None:
        return None
    (crawled_a, max_a), (crawled_b, max_b) = _progress_numbers(old), _progress_numbers(new)
    found = []
    if isinstance(crawled_a, int) and isinstance(crawled_b, int) and crawled_b < crawled_a:
        found.append(
            Violation(
                "progress-monotonic",
                f"pagesCrawled dropped from {crawled_a} to {crawled_b}",
                "/progress/pagesCrawled",
                rule="never-drops",
            )
        )
    if isinstance(max_a, int) and isinstance(max_b, int) and max_a != max_b:
        found.append(
            Violation(
                "progress-monotonic",
                f"maxPages changed from {max_a} to {max_b}",
                "/progress/maxPages",
                rule="max-fixed",
            )
        )
    return found


@clause(
    "terminal-stable",
    "Once completed or failed, later reads return the same status, result and error",
    "terminal states are final",
    applies=Applies.PAIR,
    layer="lifecycle",
)
def terminal_stable(first: Reply, later: Reply, contract: Contract) -> Verdict:
    old, new = _snapshot(first), _snapshot(later)
    if old is None or new is None or old["status"] not in TERMINAL_STATUSES:
        return None
    return [
        Violation(
            "terminal-stable",
            f"{key} changed after the job was {old['status']}: {shown(old.get(key))} -> {shown(new.get(key))}",
            f"/{key}",
            rule="unchanged",
        )
        for key in ("status", "result", "error")
        if old.get(key) != new.get(key)
    ]


# --- what a reply carries ------------------------------------------------------------------------------


@clause(
    "no-credential",
    "No reply hands out a credential: no key the suite holds (the one sent included) in a body, a header or an "
    "error message, as it is or encoded (base64, hex, percent, JSON escapes)",
    "security: OWASP API3:2023 (broken object property level authorization) / CWE-200, CWE-532",
    applies=Applies.TRANSPORT,
    layer="job_body",
)
def no_credential(reply: Reply, contract: Contract) -> Verdict:
    """Judged on `Reply.credentials`: where the transport saw a secret of the run before redacting it (the
    reports show its label, never its value)."""
    if not reply.status:
        return None
    found = []
    for where in reply.credentials:
        place, _, label = where.partition(": ")
        header = place.removeprefix("header ") if place.startswith("header ") else ""
        found.append(
            Violation(
                "no-credential",
                f"the reply carries a credential the suite holds ({label}) in its {place}",
                header,
                place=Place.HEADER if header else Place.BODY,
                expected="no credential",
                observed=label,
                rule="credential-handed-out",
            )
        )
    return found


def _cache_directives(reply: Reply) -> dict[str, str]:
    """Cache-Control's directives (RFC 9111 5.2), names lower-cased, values unquoted."""
    directives = {}
    for part in reply.header("cache-control").split(","):
        name, _, value = part.strip().partition("=")
        if name:
            directives[name.strip().lower()] = value.strip().strip('"')
    return directives


@clause(
    "private-job",
    "A reply carrying one account's job is not storable by a shared cache: no `public` or `s-maxage`, and no "
    "freshness or validator for a shared cache to reuse without `private` or `no-store`, unless it varies on the key",
    "RFC 9111 3 (storing), 4.2 (freshness, heuristics), 4.1 (Vary), 5.2.2.6 (no-store), 5.2.2.7 (private), "
    "5.2.2.9 (public), 5.2.2.10 (s-maxage)",
    applies=Applies.JOB_BODY,
    layer="job_body",
)
def private_job(reply: Reply, contract: Contract) -> Verdict:
    """A shared cache keyed on the URL alone would hand one account's job to whoever asks next (the API key is a
    header no cache keys on unless told: `Vary`). The reply may say so (`private`, `no-store`), vary on the key,
    or give a cache nothing to reuse it by (no freshness, no validator, or `no-cache`)."""
    if _job_body(reply) is None:
        return None
    directives = _cache_directives(reply)
    varies = {name.strip().lower() for name in reply.header("vary").split(",")}
    if "*" in varies or contract.api_key_header.lower() in varies:
        return []
    if "private" in directives or "no-store" in directives:
        return []
    shared = [name for name in ("public", "s-maxage") if name in directives]
    reusable = []
    if not shared and "no-cache" in directives:
        return []  # stored, but reused only once the origin (which checks the key) says so
    max_age = directives.get("max-age", "")
    if max_age.isdigit() and int(max_age) > 0:
        reusable.append(f"max-age={max_age}")
    if reply.header("expires") and "max-age" not in directives:
        reusable.append(f"Expires: {reply.header('expires')}")
    if reply.header("last-modified") and "max-age" not in directives and not reply.header("expires"):
        reusable.append("Last-Modified (heuristic freshness, RFC 9111 4.2.2)")
    if not shared and not reusable:
        return []
    said = ", ".join(shared + reusable)
    return [
        Violation(
            "private-job",
            f"a reply carrying one account's job is storable by a shared cache ({said}; no private or no-store, no "
            f"Vary on {contract.api_key_header}): a cache in front would serve it to another caller",
            "cache-control",
            place=Place.HEADER,
            expected=f"Cache-Control: private or no-store, or Vary: {contract.api_key_header}",
            observed=reply.header("cache-control") or "(none)",
            rule="shared-cache-storable",
        )
    ]


# A header field name (RFC 9110 5.1: a token) after a CR or LF the request sent: what response splitting needs.
_INJECTED_FIELD = re.compile(r"[\r\n]+[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)[ \t]*:")


def injected_names(reply: Reply) -> frozenset[str]:
    """The header names the request spelled after a CR or LF (in its target, decoded as a server decodes it)."""
    parts = urlsplit(reply.url)
    text = unquote(parts.path) + "\n" + unquote(parts.query)
    return frozenset(name.lower() for name in _INJECTED_FIELD.findall(text))


@clause(
    "no-split",
    "No response header carries bytes the request put there: a CR or LF the request sent never starts a field "
    "of the reply",
    "CWE-113 (HTTP response splitting); RFC 9110 5.5 (field values carry no CR or LF), RFC 9112 2.2",
    applies=Applies.TRANSPORT,
    layer="hostile",
)
def no_split(reply: Reply, contract: Contract) -> Verdict:
    if not reply.status:
        return None
    injected = injected_names(reply)
    if not injected:
        return []
    return [
        Violation(
            "no-split",
            f"the reply carries the header {name!r}, which the request spelled after a CR LF: the request's bytes "
            "became a field of the response",
            name,
            place=Place.HEADER,
            expected="no field the request spelled",
            observed=name,
            rule="crlf-injected-field",
        )
        for name in reply.headers
        if name.lower() in injected
    ]


@clause(
    "head-as-get",
    "HEAD answers as GET would, without content: the same status (or 405/501: HEAD not offered), the same media type",
    "RFC 9110 9.3.2 (HEAD), 9.1 (GET and HEAD)",
    applies=Applies.METHOD_PAIR,
    layer="job_body",
)
def head_as_get(get: Reply, head: Reply, contract: Contract) -> Verdict:
    if get.method != "GET" or head.method != "HEAD" or not get.status or not head.status:
        return None
    if head.status in (405, 501):
        return []  # HEAD not offered, and said so
    found = []
    if head.status != get.status:
        found.append(
            Violation(
                "head-as-get",
                f"HEAD answered {head.status} where GET answers {get.status}",
                place=Place.STATUS,
                expected=str(get.status),
                observed=str(head.status),
                rule="same-status",
            )
        )
    elif head.media_type and get.media_type and head.media_type != get.media_type:
        found.append(
            Violation(
                "head-as-get",
                f"HEAD says Content-Type {head.media_type!r} where GET sends {get.media_type!r}",
                "content-type",
                place=Place.HEADER,
                expected=get.media_type,
                observed=head.media_type,
                rule="same-media-type",
            )
        )
    if head.content:
        found.append(
            Violation(
                "head-as-get",
                f"HEAD carried {len(head.content)} bytes of content",
                place=Place.MESSAGE,
                expected="no content",
                observed=f"{len(head.content)} bytes",
                rule="no-content",
            )
        )
    return found


# Groups, read off the registry: which clauses judge which kind of reply.
TRANSPORT = names(Applies.TRANSPORT)
JOB_BODY = names(Applies.JOB_BODY)
ERROR_BODY = names(Applies.ERROR_BODY)
EVERY_REPLY = TRANSPORT + JOB_BODY + ERROR_BODY
PAIRWISE = names(Applies.PAIR)
METHOD_PAIRS = names(Applies.METHOD_PAIR)
# A reply with no status line (the target sent something that is not HTTP) is judged on its framing alone.
FRAMING = tuple(name for name, spec in CLAUSES.items() if spec.framing)


def evaluate(reply: Reply, contract: Contract, names: tuple[str, ...] = EVERY_REPLY) -> dict[str, Verdict]:
    """Run the named single-reply clauses; a clause that does not apply maps to None."""
    return {name: CLAUSES[name].check(reply, contract) if reply.status or name in FRAMING else None for name in names}
