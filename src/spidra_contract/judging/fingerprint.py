"""The behavioural fingerprint: for each class of probe the suite sends, what came back, in terms that stay the
same for one build of the API (no ids, timestamps, ports or request ids): the statuses, the media types, the
body's skeleton (field paths with JSON types, the values of enum-like fields), notable headers, and latency.

A probe class is the test that sent the request (its parameters, job ids left out), the method, the door and
caller when a door test knocked, and, for a job read by its owner, the job's status: two deployments with
different job ids compare class by class. `diff.py` compares two fingerprints.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

from spidra_contract.core.codec import Record
from spidra_contract.core.exchange import Reply, json_type

# Headers whose values a client acts on (caching, security, CORS, authentication): compared by value.
VALUE_HEADERS = frozenset(
    {
        "cache-control",
        "vary",
        "x-content-type-options",
        "strict-transport-security",
        "content-security-policy",
        "x-frame-options",
        "access-control-allow-origin",
        "www-authenticate",
    }
)
# Headers whose presence matters, not their value (it changes every reply).
NAME_HEADERS = frozenset({"retry-after"})
NAME_PREFIXES = ("ratelimit", "x-ratelimit")
# Fields whose values form a small vocabulary (statuses of the job and of its pages): compared by value.
ENUM_FIELDS = frozenset({"status"})
MAX_PATHS = 200
MAX_LATENCIES = 400
MAX_VALUE_CHARS = 60


def probe_class(probe: str, reply: Reply, known_ids: frozenset[str]) -> str:
    """The class of one exchange (see the module's docstring)."""
    name = test_of(probe, known_ids)
    segment = unquote(urlsplit(reply.url).path.rstrip("/").rsplit("/", 1)[-1])
    parts = [name, reply.method]
    if reply.context:
        parts.append(reply.context)
    elif segment in known_ids:
        parts.append("a known job")
    body = reply.body if reply.status == 200 and reply.method == "GET" and segment in known_ids else None
    if isinstance(body, dict) and isinstance(body.get("status"), str) and not reply.context:
        parts.append(f"status {body['status'][:MAX_VALUE_CHARS]}")
    return " | ".join(parts)


def skeleton(body: Any) -> tuple[dict[str, str], dict[str, frozenset[str]]]:
    """The body's field paths (items folded as `*`) with their JSON types (a field seen with two types in one body
    is one union, written "integer|null"), and the values of enum-like fields."""
    fields: dict[str, set[str]] = {}
    values: dict[str, set[str]] = {}

    def walk(node: Any, path: str) -> None:
        if len(fields) >= MAX_PATHS:
            return
        fields.setdefault(path or "/", set()).add(json_type(node))
        if isinstance(node, dict):
            for key, item in node.items():
                child = f"{path}/{key}"
                if key in ENUM_FIELDS and isinstance(item, str) and len(item) <= MAX_VALUE_CHARS:
                    values.setdefault(child, set()).add(item)
                walk(item, child)
        elif isinstance(node, list):
            for item in node[:50]:
                walk(item, f"{path}/*")

    walk(body, "")
    return (
        {path: "|".join(sorted(types)) for path, types in fields.items()},
        {path: frozenset(seen) for path, seen in values.items()},
    )


def test_of(probe: str, known_ids: frozenset[str]) -> str:
    """The test a probe came from, job ids left out (the first part of its class)."""
    name = probe
    for job_id in sorted(known_ids, key=len, reverse=True):
        name = name.replace(job_id, "{job}")
    return re.sub(r"\[\{job\}\]$", "", name)


def _count(counter: dict[str, int], key: str, by: int = 1) -> None:
    counter[key] = counter.get(key, 0) + by


@dataclass
class ClassStats(Record):
    """What one probe class' reads showed: how many of them showed each status, media type, field type, enum
    value and notable header, whether a stranger knocked, and latency samples (bounded)."""

    test: str = ""
    stranger: bool = False  # a door knocked on with a key that is not the job owner's
    reads: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    media_types: dict[str, int] = field(default_factory=dict)
    fields: dict[str, dict[str, int]] = field(default_factory=dict)
    values: dict[str, dict[str, int]] = field(default_factory=dict)
    headers: dict[str, dict[str, int]] = field(default_factory=dict)
    latency_ms: list[float] = field(default_factory=list)

    def observe(self, reply: Reply) -> None:
        """Add one exchange (counts: how many of the class' reads showed each thing)."""
        self.reads += 1
        self.stranger = self.stranger or reply.stranger
        _count(self.statuses, str(reply.status))
        _count(self.media_types, reply.media_type or "-")
        body = reply.body if reply.method == "GET" else None
        if body is not None:
            fields, values = skeleton(body)
            for path, types in fields.items():
                _count(self.fields.setdefault(path, {}), types)
            for path, seen in values.items():
                for value in seen:
                    _count(self.values.setdefault(path, {}), value)
        for name, value in reply.headers.items():
            lowered = name.lower()
            if lowered in VALUE_HEADERS:
                shown = " ".join(value.split())[:MAX_VALUE_CHARS]
            elif lowered in NAME_HEADERS or lowered.startswith(NAME_PREFIXES):
                shown = "(present)"
            else:
                continue
            _count(self.headers.setdefault(lowered, {}), shown)
        if len(self.latency_ms) < MAX_LATENCIES:
            self.latency_ms.append(round(reply.elapsed_ms, 2))

    def merge(self, other: ClassStats) -> None:
        """Another process' reads of the same class (an xdist worker's)."""
        self.reads += other.reads
        self.stranger = self.stranger or other.stranger
        for mine, theirs in ((self.statuses, other.statuses), (self.media_types, other.media_types)):
            for key, count in theirs.items():
                _count(mine, key, count)
        for mine_nested, theirs_nested in (
            (self.fields, other.fields),
            (self.values, other.values),
            (self.headers, other.headers),
        ):
            for key, counts in theirs_nested.items():
                target = mine_nested.setdefault(key, {})
                for value, count in counts.items():
                    _count(target, value, count)
        room = MAX_LATENCIES - len(self.latency_ms)
        self.latency_ms.extend(other.latency_ms[: max(0, room)])

    def summary(self) -> dict[str, Any]:
        """As summary.json keeps it: the counts in a stable order, and latency as percentiles (not its samples)."""
        return {
            "test": self.test,
            "stranger": self.stranger,
            "reads": self.reads,
            "statuses": dict(sorted(self.statuses.items())),
            "media_types": dict(sorted(self.media_types.items())),
            "fields": {path: dict(sorted(types.items())) for path, types in sorted(self.fields.items())},
            "values": {path: dict(sorted(seen.items())) for path, seen in sorted(self.values.items())},
            "headers": {name: dict(sorted(seen.items())) for name, seen in sorted(self.headers.items())},
            "latency_ms": {
                "samples": len(self.latency_ms),
                "p50": percentile(self.latency_ms, 0.5),
                "p95": percentile(self.latency_ms, 0.95),
            },
        }


def percentile(samples: list[float], share: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return round(ordered[index], 2)
