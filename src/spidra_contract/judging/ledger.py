"""What a run learns: per-clause verdicts with evidence, drift from the spec, findings, observed statuses,
and the exchanges for the cassette. Plain data, mergeable across xdist workers."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spidra_contract.clauses import CLAUSES
from spidra_contract.core.exchange import Reply, json_type, redacted_in, shape_of
from spidra_contract.core.judgement import Identity, Judgement, Verdict, Violation, field_path
from spidra_contract.core.model import DriftKind
from spidra_contract.core.spec import Contract, at_pointer, follow_ref
from spidra_contract.judging import fingerprint

EXAMPLES_PER_CLAUSE = 5
# Beyond those, a clause keeps the first judgement of each finding (identity) it has no evidence for yet, up to
# this many in all: every caller through a door is a finding with its own request and curl line.
FINDINGS_WITH_EVIDENCE = 50
# The JSON Schema keywords whose failure means "a value of another type" (drift), not a value out of range.
TYPE_KEYWORDS = frozenset({"type", "anyOf", "oneOf"})
# Response headers a drift entry keeps (with every RateLimit-* and X-RateLimit-* one): what a spec documents.
NOTABLE_HEADERS = frozenset({"retry-after", "www-authenticate", "content-type"})
MAX_UNDESCRIBED = 32  # fields the spec does not describe, a body (a hostile body may send thousands)
CASSETTE_LIMIT = 1000
# Each kept body is an excerpt at most this long, so the cassette stays bounded whatever the target sends.
CASSETTE_BODY_CHARS = 64 * 1024
CASSETTE_HEADER_CHARS = 1024
CASSETTE_HEADERS_CHARS = 16 * 1024


@dataclass
class Tally:
    judged: int = 0
    failed: int = 0
    examples: list[Judgement] = field(default_factory=list)
    identities: set[Identity] = field(default_factory=set)


@dataclass
class Ledger:
    tallies: dict[str, Tally] = field(default_factory=dict)
    observed_statuses: Counter[str] = field(default_factory=Counter)
    drift: dict[str, dict[str, Any]] = field(default_factory=dict)
    findings: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    timelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    access: dict[str, dict[str, int | str]] = field(default_factory=dict)
    door_axes: dict[str, str] = field(default_factory=dict)
    door_reach: dict[str, bool] = field(default_factory=dict)  # whether a door reached something for the owner
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    exchanges_dropped: int = 0
    # The behavioural fingerprint: per probe class, what came back (`fingerprint.ClassStats`).
    fingerprints: dict[str, fingerprint.ClassStats] = field(default_factory=dict)
    ok_replies: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _entries: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)  # cassette entries by `_id`

    # --- recording --------------------------------------------------------------------------------

    def wants_example(self, clause: str, identities: Iterable[Identity] = ()) -> bool:
        """Whether a new judgement of `clause` naming `identities` would be kept as evidence: the first few of a
        clause are, and the first of each finding (see `FINDINGS_WITH_EVIDENCE`)."""
        with self.lock:
            tally = self.tallies.get(clause)
            if tally is None or len(tally.examples) < EXAMPLES_PER_CLAUSE:
                return True
            if len(tally.examples) >= FINDINGS_WITH_EVIDENCE:
                return False
            shown = {identity for example in tally.examples for identity in example.identities}
            return any(identity not in shown for identity in identities)

    def record(
        self,
        reply: Reply,
        verdicts: dict[str, Verdict],
        judgements: list[Judgement],
        probe: str = "",
        *,
        test: str = "",
        before: Reply | None = None,
    ) -> None:
        """Count each clause that applied; name each finding by its identity in the probe class `probe`; keep the
        first judgements of each clause as its evidence; write on the exchange's cassette entry how it was judged
        (`_judged`: the test, the probe class, the clauses, the earlier exchange a pairwise clause compared it
        with), so `replay` judges it again the same way."""
        with self.lock:
            entry = self._entries.get(reply.exchange_id) if reply.exchange_id else None
            if entry is not None:
                entry["_judged"].append(
                    {
                        "test": test,
                        "probe": probe,
                        "clauses": list(verdicts),
                        "earlier": before.exchange_id if before is not None else "",
                    }
                )
            for name, verdict in verdicts.items():
                if verdict is None:
                    continue
                tally = self.tallies.setdefault(name, Tally())
                tally.judged += 1
                if verdict:
                    tally.failed += 1
                    tally.identities.update(v.identity(probe) for v in verdict)
                    for violation in verdict:
                        self._learn_drift_from(reply, violation)
            for judgement in judgements:
                tally = self.tallies[judgement.clause]
                if self.wants_example(judgement.clause, judgement.identities):
                    tally.examples.append(judgement)

    def exchange(self, reply: Reply, contract: Contract, probe: str = "", test: str = "") -> None:
        """Keep one exchange for the cassette, add it to its probe class' fingerprint, and learn what it shows
        about drift from the spec."""
        with self.lock:
            if probe:
                self.fingerprints.setdefault(probe, fingerprint.ClassStats(test=test)).observe(reply)
            if len(self.exchanges) < CASSETTE_LIMIT:
                entry = _har_entry(reply)
                self.exchanges.append(entry)
                if reply.exchange_id:
                    self._entries[reply.exchange_id] = entry
            else:
                self.exchanges_dropped += 1
            if reply.status == 200 and reply.method == "GET":
                body = reply.body
                if isinstance(body, dict):
                    self.ok_replies += 1
            self._learn_drift(reply, contract)

    def observe_status(self, status: Any) -> None:
        with self.lock:
            self.observed_statuses[str(status)] += 1

    def finding(self, kind: str, message: str, evidence: dict[str, Any] | None = None, once: str = "") -> None:
        """A finding for every report; `once`: a key under which it is kept once (the first one's evidence)."""
        with self.lock:
            if once and any(found.get("once") == once for found in self.findings):
                return
            entry: dict[str, Any] = {"kind": kind, "message": message, "evidence": evidence or {}}
            if once:
                entry["once"] = once
            self.findings.append(entry)

    def door(self, door: str, cells: dict[str, int | str], axis: str = "front", reached: bool | None = None) -> None:
        """One row of the access matrix: what each caller got at this door, the axis (or axes) it varies, and
        whether it reached something for the job's owner (None: not asked)."""
        with self.lock:
            self.access.setdefault(door, {}).update(cells)
            self.door_axes[door] = axis
            if reached is not None:
                self.door_reach[door] = reached

    def timeline(self, job_id: str, story: str, finished: bool) -> None:
        with self.lock:
            self.timelines[job_id] = {"statuses": story, "finished": finished}

    def note(self, text: str) -> None:
        with self.lock:
            self.notes.append(text)

    def _drift(
        self, key: str, kind: DriftKind, what: str, reply: Reply, suggestion: str, detail: dict[str, Any]
    ) -> None:
        entry = self.drift.get(key)
        if entry is None:
            self.drift[key] = {
                "kind": kind,
                "what": what,
                "count": 1,
                "example": reply.record().to_dict(),
                "suggestion": suggestion,
                "detail": detail,
            }
        else:
            entry["count"] += 1

    def _learn_drift(self, reply: Reply, contract: Contract) -> None:
        if reply.status and reply.status not in contract.documented_statuses and _undescribed_answer(reply):
            headers = {name: value for name, value in reply.headers.items() if name.lower() in NOTABLE_HEADERS}
            headers |= {
                name: value
                for name, value in reply.headers.items()
                if name.lower().startswith(("ratelimit", "x-ratelimit"))
            }
            self._drift(
                f"status-code:{reply.method}:{reply.status}",
                DriftKind.STATUS_CODE,
                f"{reply.method} answered {reply.status}",
                reply,
                f"document a '{reply.status}' response for GET /crawl/{{jobId}} (with an ErrorResponse "
                "body if it carries one)"
                if reply.method == "GET"
                else f"document {reply.method} /crawl/{{jobId}} or keep {reply.status} as the answer",
                {"method": reply.method, "status": reply.status, "headers": headers}
                # The whole body's shape (types only), however long it was: the spec patch describes it from this.
                | (
                    {"body_shape": shape_of(reply.body), "error_response": contract.is_error_response(reply.body)}
                    if reply.body is not None
                    else {}
                ),
            )
            return
        body = reply.body if reply.method == "GET" else None
        if isinstance(body, dict):
            schema = contract.response_schema(reply.status)
            for path, seen, credential in undescribed_fields(body, schema, schema):
                # A field that carried a credential is a leak to stop (`no-credential`), never one to describe.
                suggestion = (
                    f"remove {path}: it carried a credential (no-credential)"
                    if credential
                    else f"describe {path} as an optional {seen} property of the {reply.status} body"
                )
                self._drift(
                    f"field:{reply.status}:{path}:{seen}",
                    DriftKind.UNDESCRIBED_FIELD,
                    f"{path} ({seen}) in {reply.status} bodies",
                    reply,
                    suggestion,
                    {"status": reply.status, "path": path, "type": seen, "credential": credential},
                )

    def _learn_drift_from(self, reply: Reply, violation: Violation) -> None:
        """A status value outside the enum, or a field of another type, is drift as well as a violation."""
        drift = _drift_of(violation.clause)
        if drift is DriftKind.ENUM_VALUE and isinstance(reply.body, dict):
            status = reply.body.get("status")
            self._drift(
                f"status-value:{status}",
                DriftKind.ENUM_VALUE,
                f"status {status!r}",
                reply,
                f"add '{status}' to the status enum in openapi.yaml",
                {"value": status},
            )
        elif drift is DriftKind.FIELD_TYPE and violation.rule.rsplit("/", 1)[-1] in TYPE_KEYWORDS:
            path = field_path(violation.pointer)
            seen = json_type(at_pointer(reply.body, violation.pointer))
            self._drift(
                f"type:{path}:{seen}",
                DriftKind.FIELD_TYPE,
                f"{path} is {seen}",
                reply,
                f"if {seen} is intended, allow it at {path} (e.g. add '{seen}' to its type)",
                {"status": reply.status, "path": path, "type": seen},
            )

    # --- merging and reading ----------------------------------------------------------------------

    def merge(self, data: dict[str, Any]) -> None:
        with self.lock:
            for name, raw in data.get("tallies", {}).items():
                tally = self.tallies.setdefault(name, Tally())
                tally.judged += raw["judged"]
                tally.failed += raw["failed"]
                for given in raw["examples"]:
                    example = Judgement.from_dict(given)
                    if self.wants_example(name, example.identities):
                        tally.examples.append(example)
                tally.identities.update(Identity.from_dict(given) for given in raw.get("identities", []))
            self.observed_statuses.update(data.get("observed_statuses", {}))
            for key, entry in data.get("drift", {}).items():
                if key in self.drift:
                    self.drift[key]["count"] += entry["count"]
                else:
                    self.drift[key] = entry
            self.findings.extend(data.get("findings", []))
            self.notes.extend(data.get("notes", []))
            self.timelines.update(data.get("timelines", {}))
            for door, cells in data.get("access", {}).items():
                self.access.setdefault(door, {}).update(cells)
            self.door_axes.update(data.get("door_axes", {}))
            self.door_reach.update(data.get("door_reach", {}))
            room = CASSETTE_LIMIT - len(self.exchanges)
            incoming = data.get("exchanges", [])
            self.exchanges.extend(incoming[:room])
            self._entries.update((entry["_id"], entry) for entry in incoming[:room] if entry.get("_id"))
            self.exchanges_dropped += data.get("exchanges_dropped", 0) + max(0, len(incoming) - room)
            self.ok_replies += data.get("ok_replies", 0)
            for probe, given in data.get("fingerprints", {}).items():
                stats = fingerprint.ClassStats.from_dict(given)
                if probe in self.fingerprints:
                    self.fingerprints[probe].merge(stats)
                else:
                    self.fingerprints[probe] = stats

    def to_dict(self) -> dict[str, Any]:
        with self.lock:
            return {
                "tallies": {
                    name: {
                        "judged": t.judged,
                        "failed": t.failed,
                        "examples": [example.to_dict() for example in t.examples],
                        "identities": [identity.to_dict() for identity in sorted(t.identities)],
                    }
                    for name, t in self.tallies.items()
                },
                "observed_statuses": dict(self.observed_statuses),
                "drift": self.drift,
                "findings": self.findings,
                "notes": self.notes,
                "timelines": self.timelines,
                "access": self.access,
                "door_axes": self.door_axes,
                "door_reach": self.door_reach,
                "exchanges": self.exchanges,
                "exchanges_dropped": self.exchanges_dropped,
                "ok_replies": self.ok_replies,
                "fingerprints": {probe: stats.to_dict() for probe, stats in self.fingerprints.items()},
            }

    @property
    def violations(self) -> int:
        return sum(t.failed for t in self.tallies.values())

    @property
    def identities(self) -> set[Identity]:
        """Every finding of the run, by identity."""
        with self.lock:
            return set().union(*(t.identities for t in self.tallies.values()))


def _undescribed_answer(reply: Reply) -> bool:
    """An answer the spec should describe: any undocumented status to GET; to HEAD, any but 405 (a server may
    refuse HEAD); to a method the spec does not document, only a success (405, 404 or 403 is the right answer)."""
    if reply.method == "GET":
        return True
    if reply.method == "HEAD":
        return reply.status != 405
    return 200 <= reply.status < 300


def undescribed_fields(
    body: Any, schema: dict[str, Any] | None, root: dict[str, Any] | None
) -> list[tuple[str, str, bool]]:
    """The fields of `body` its schema does not name (`properties`), as (path with items folded, JSON type,
    whether it carried a credential: the redactor's mark is in it): walked where the schema describes objects and
    arrays, `$ref`s resolved against `root`."""
    found: list[tuple[str, str, bool]] = []

    def walk(value: Any, node: Any, path: str) -> None:
        node = follow_ref(root, node)[0]
        if not isinstance(node, dict) or len(found) >= MAX_UNDESCRIBED:
            return
        if isinstance(value, dict) and isinstance(node.get("properties"), dict):
            for key, item in value.items():
                if key in node["properties"]:
                    walk(item, node["properties"][key], f"{path}/{key}")
                elif len(found) < MAX_UNDESCRIBED:
                    found.append((f"{path}/{key}", json_type(item), redacted_in(item)))
        elif isinstance(value, list) and isinstance(node.get("items"), dict):
            for item in value[:50]:
                walk(item, node["items"], f"{path}/*")

    walk(body, schema, "")
    return list(dict.fromkeys(found))


def _kept_headers(headers: dict[str, str], notes: list[str]) -> list[dict[str, str]]:
    """The headers the cassette keeps: each value cut to CASSETTE_HEADER_CHARS, at most CASSETTE_HEADERS_CHARS
    of them in all (a target may send 100 headers of 600 bytes, or a few of 60 KB, with every reply)."""
    kept: list[dict[str, str]] = []
    room = CASSETTE_HEADERS_CHARS
    for name, value in headers.items():
        shown = value if len(value) <= CASSETTE_HEADER_CHARS else value[:CASSETTE_HEADER_CHARS] + "..."
        if len(name) + len(shown) > room:
            notes.append(f"{len(headers) - len(kept)} of {len(headers)} headers not kept")
            break
        room -= len(name) + len(shown)
        kept.append({"name": name, "value": shown})
    if any(len(value) > CASSETTE_HEADER_CHARS for value in headers.values()):
        notes.append(f"header values cut to {CASSETTE_HEADER_CHARS} characters")
    return kept


def _har_entry(reply: Reply) -> dict[str, Any]:
    """One HAR 1.2 entry (request headers and URL already redacted), the body and headers cut to excerpts."""
    text = reply.text
    notes = [reply.problem] if reply.problem else []
    if len(text) > CASSETTE_BODY_CHARS:
        notes.append(f"body cut to {CASSETTE_BODY_CHARS} of {len(text)} characters")
        text = text[:CASSETTE_BODY_CHARS]
    response_headers = _kept_headers(reply.headers, notes)
    comment = "; ".join(notes)
    return {
        "_id": reply.exchange_id,  # what a judgement's `exchange.id` names
        # What a clause reads of a reply beyond HTTP (who asked through which door, a rewritten route, a body
        # problem), and how the run judged it (`Ledger.record`): what `replay` needs to judge it again.
        "_reply": {
            "context": reply.context,
            "rewritten": reply.rewritten,
            "stranger": reply.stranger,
            "problem": reply.problem,
        },
        "_judged": [],
        "startedDateTime": datetime.now(UTC).isoformat(),
        "time": round(reply.elapsed_ms, 2),
        "request": {
            "method": reply.method,
            "url": reply.url,
            "httpVersion": "HTTP/1.1",
            "headers": [{"name": k, "value": v} for k, v in reply.request_headers.items()],
            "queryString": [],
            "cookies": [],
            "headersSize": -1,
            "bodySize": 0,
        },
        "response": {
            "status": reply.status,
            "statusText": "",
            "httpVersion": "HTTP/1.1",
            "headers": response_headers,
            "cookies": [],
            "content": {"size": len(reply.content), "mimeType": reply.header("content-type"), "text": text},
            "redirectURL": reply.header("location"),
            "headersSize": -1,
            "bodySize": len(reply.content),
        },
        "cache": {},
        "timings": {"send": 0, "wait": round(reply.elapsed_ms, 2), "receive": 0},
        "comment": comment,
    }


def _drift_of(name: str) -> DriftKind | None:
    """The drift a clause's failures may show, as its registry entry says."""
    registered = CLAUSES.get(name)
    return registered.drift if registered is not None else None
