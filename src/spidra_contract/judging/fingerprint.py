"""The behavioural fingerprint: for each class of probe the suite sends, what came back, in terms that stay the
same for one build of the API (no ids, timestamps, ports or request ids): the statuses, the media types, the
body's skeleton (field paths with JSON types, the values of enum-like fields), notable headers, and latency.

A probe class is the test that sent the request (its parameters, job ids left out), the method, the door and
caller when a door test knocked, and, for a job read by its owner, the job's status: two deployments with
different job ids compare class by class. `diff.py` compares two fingerprints.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

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


def skeleton(body: Any) -> tuple[dict[str, str], dict[str, str]]:
    """The body's field paths (items folded as `*`) with their JSON types, and the values of enum-like fields."""
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
        {path: "|".join(sorted(seen)) for path, seen in values.items()},
    )


def test_of(probe: str, known_ids: frozenset[str]) -> str:
    """The test a probe came from, job ids left out (the first part of its class)."""
    name = probe
    for job_id in sorted(known_ids, key=len, reverse=True):
        name = name.replace(job_id, "{job}")
    return re.sub(r"\[\{job\}\]$", "", name)


def new_stats(test: str = "") -> dict[str, Any]:
    return {
        "test": test,
        "stranger": False,  # a door knocked on with a key that is not the job owner's
        "reads": 0,
        "statuses": {},
        "media_types": {},
        "fields": {},
        "values": {},
        "headers": {},
        "latency_ms": [],
    }


def _count(counter: dict[str, int], key: str, by: int = 1) -> None:
    counter[key] = counter.get(key, 0) + by


def observe(stats: dict[str, Any], reply: Reply) -> None:
    """Add one exchange to its class' stats (counts: how many of the class' reads showed each thing)."""
    stats["reads"] += 1
    stats["stranger"] = stats.get("stranger", False) or reply.stranger
    _count(stats["statuses"], str(reply.status))
    _count(stats["media_types"], reply.media_type or "-")
    body = reply.body if reply.method == "GET" else None
    if body is not None:
        fields, values = skeleton(body)
        for path, types in fields.items():
            stats["fields"].setdefault(path, {})
            _count(stats["fields"][path], types)
        for path, seen in values.items():
            stats["values"].setdefault(path, {})
            for value in seen.split("|"):
                _count(stats["values"][path], value)
    for name, value in reply.headers.items():
        lowered = name.lower()
        if lowered in VALUE_HEADERS:
            shown = " ".join(value.split())[:MAX_VALUE_CHARS]
        elif lowered in NAME_HEADERS or lowered.startswith(NAME_PREFIXES):
            shown = "(present)"
        else:
            continue
        stats["headers"].setdefault(lowered, {})
        _count(stats["headers"][lowered], shown)
    if len(stats["latency_ms"]) < MAX_LATENCIES:
        stats["latency_ms"].append(round(reply.elapsed_ms, 2))


def merge(into: dict[str, Any], other: dict[str, Any]) -> None:
    into["reads"] += other["reads"]
    into["stranger"] = bool(into.get("stranger") or other.get("stranger"))
    for name in ("statuses", "media_types"):
        for key, count in other[name].items():
            _count(into[name], key, count)
    for name in ("fields", "values", "headers"):
        for key, counts in other[name].items():
            target = into[name].setdefault(key, {})
            for value, count in counts.items():
                _count(target, value, count)
    room = MAX_LATENCIES - len(into["latency_ms"])
    into["latency_ms"].extend(other["latency_ms"][: max(0, room)])


def percentile(samples: list[float], share: float) -> float:
    if not samples:
        return 0.0
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
    return round(ordered[index], 2)


def summary(stats: dict[str, Any]) -> dict[str, Any]:
    """A class' stats as summary.json keeps them: the counts, and latency as percentiles (not its samples)."""
    samples = stats["latency_ms"]
    return {
        "test": stats.get("test", ""),
        "stranger": bool(stats.get("stranger")),
        "reads": stats["reads"],
        "statuses": dict(sorted(stats["statuses"].items())),
        "media_types": dict(sorted(stats["media_types"].items())),
        "fields": {path: dict(sorted(types.items())) for path, types in sorted(stats["fields"].items())},
        "values": {path: dict(sorted(seen.items())) for path, seen in sorted(stats["values"].items())},
        "headers": {name: dict(sorted(seen.items())) for name, seen in sorted(stats["headers"].items())},
        "latency_ms": {
            "samples": len(samples),
            "p50": percentile(samples, 0.5),
            "p95": percentile(samples, 0.95),
        },
    }
