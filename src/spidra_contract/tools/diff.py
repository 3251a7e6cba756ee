"""Two runs' behaviour side by side: every difference between production's fingerprint and the candidate's,
classified as breaking, non-breaking or noise.

Noise is a difference that also shows between reads of one side (Twitter's Diffy compares a primary with a
secondary for that reason): the suite reads each probe class many times (every job, every generated case, the
watch's polls, re-reads of violations), so a value seen in some of a side's reads and not in others varies within
that deployment, and its absence on the other side says nothing. A value seen in every read of one side and in
none of the other's is a change.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from spidra_contract.core.codec import Record
from spidra_contract.core.judgement import ClauseVerdict
from spidra_contract.core.model import Report

SLOWER = 2.0  # a p95 this many times production's ...
SLOWER_BY_MS = 50.0  # ... and at least this much slower is breaking
MIN_SAMPLES = 5


class Aspect(StrEnum):
    """What a difference is about."""

    CLAUSE = "clause"
    PROBE = "probe"
    STATUS = "status"
    MEDIA_TYPE = "media type"
    FIELD = "field"
    TYPE = "type"
    VALUE = "value"
    HEADER = "header"
    LATENCY = "latency"
    OTHER = ""  # a difference written before aspects were recorded


class Severity(StrEnum):
    BREAKING = "breaking"
    NON_BREAKING = "non-breaking"
    NOISE = "noise"


@dataclass(frozen=True)
class Difference(Record):
    """One difference in one probe class. `subject` is what it is about, beyond `what` (the statuses on each side,
    the field's types, the header's values, the clause or finding): the same difference in many probe classes
    shares (severity, aspect, what, subject), its `distinct` key, and is counted once."""

    probe: str
    severity: Severity
    what: str
    production: str
    candidate: str
    aspect: Aspect = Aspect.OTHER
    subject: str = ""

    @property
    def distinct(self) -> tuple[str, str, str, str]:
        return (self.severity.value, self.aspect.value, self.what, self.subject)


def _set(values: Any) -> str:
    return ",".join(sorted(values))


def _shown(counts: dict[str, int], reads: int) -> str:
    return ", ".join(f"{key} ({count}/{reads})" if count != reads else key for key, count in counts.items()) or "-"


def compare_class(probe: str, a: dict[str, Any], b: dict[str, Any]) -> list[Difference]:
    found: list[Difference] = []
    ra, rb = a["reads"], b["reads"]

    def add(severity: Severity, aspect: Aspect, what: str, left: str, right: str, subject: str = "") -> None:
        found.append(Difference(probe, severity, what, left, right, aspect, subject))

    # A door knocked on with a key that is not the job owner's (the fingerprint says so, by the key sent).
    stranger = bool(a.get("stranger") or b.get("stranger"))

    # Statuses.
    sa, sb = a["statuses"], b["statuses"]
    if set(sa) != set(sb):
        left, right = _shown(sa, ra), _shown(sb, rb)
        opened = [s for s in set(sb) - set(sa) if s.startswith("2")]
        closed = [s for s in set(sa) - set(sb) if s.startswith("2")]
        stable = any(sb[s] == rb for s in set(sb) - set(sa)) or any(sa[s] == ra for s in set(sa) - set(sb))
        moved = f"{_set(sa)} -> {_set(sb)}"
        if stranger and opened:
            add(
                Severity.BREAKING,
                Aspect.STATUS,
                "a door opened: a caller who may not read the job gets a 2xx",
                left,
                right,
                moved,
            )
        elif stranger and closed and not opened:
            add(Severity.NON_BREAKING, Aspect.STATUS, "a door closed", left, right, moved)
        elif stable:
            add(Severity.BREAKING, Aspect.STATUS, "status changed", left, right, moved)
        else:
            add(Severity.NOISE, Aspect.STATUS, "statuses vary within a side", left, right, moved)
        if found[-1].severity is not Severity.NOISE:
            return found  # another answer altogether: its body, type and headers differ as a consequence
    ma, mb = a["media_types"], b["media_types"]
    if set(ma) != set(mb):
        stable = any(mb[m] == rb for m in set(mb) - set(ma))
        add(
            Severity.BREAKING if stable else Severity.NOISE,
            Aspect.MEDIA_TYPE,
            "media type changed",
            _shown(ma, ra),
            _shown(mb, rb),
            f"{_set(ma)} -> {_set(mb)}",
        )

    # Fields and their types.
    fa, fb = a["fields"], b["fields"]
    for path in sorted(set(fa) | set(fb)):
        ta, tb = fa.get(path, {}), fb.get(path, {})
        seen_a, seen_b = sum(ta.values()), sum(tb.values())
        if not tb:
            severity = Severity.BREAKING if seen_a == ra else Severity.NOISE
            add(severity, Aspect.FIELD, f"field {path} removed", _shown(ta, ra), "absent")
        elif not ta:
            add(Severity.NON_BREAKING, Aspect.FIELD, f"field {path} added", "absent", _shown(tb, rb))
        elif set(ta) != set(tb):
            stable = all(tb[t] == seen_b for t in set(tb) - set(ta)) and bool(set(tb) - set(ta))
            add(
                Severity.BREAKING if stable else Severity.NOISE,
                Aspect.TYPE,
                f"type of {path} changed",
                _shown(ta, ra),
                _shown(tb, rb),
                f"{_set(ta)} -> {_set(tb)}",
            )

    # Enum-like values.
    va, vb = a["values"], b["values"]
    for path in sorted(set(va) & set(vb)):
        gone = set(va[path]) - set(vb[path])
        new = set(vb[path]) - set(va[path])
        if gone:
            stable = any(va[path][value] == ra for value in gone)
            add(
                Severity.BREAKING if stable else Severity.NOISE,
                Aspect.VALUE,
                f"value(s) of {path} no longer seen",
                ", ".join(sorted(gone)),
                ", ".join(sorted(vb[path])),
                _set(gone),
            )
        if new:
            add(
                Severity.NON_BREAKING,
                Aspect.VALUE,
                f"new value(s) of {path}",
                ", ".join(sorted(va[path])),
                ", ".join(sorted(new)),
                _set(new),
            )

    # Notable headers.
    ha, hb = a["headers"], b["headers"]
    for name in sorted(set(ha) | set(hb)):
        left, right = ha.get(name, {}), hb.get(name, {})
        if not right:
            stable = sum(left.values()) == ra
            add(
                Severity.BREAKING if stable else Severity.NOISE,
                Aspect.HEADER,
                f"header {name} removed",
                _shown(left, ra),
                "absent",
            )
        elif not left:
            add(Severity.NON_BREAKING, Aspect.HEADER, f"header {name} added", "absent", _shown(right, rb))
        elif set(left) != set(right):
            stable = any(count == rb for value, count in right.items() if value not in left)
            add(
                Severity.BREAKING if stable else Severity.NOISE,
                Aspect.HEADER,
                f"header {name} changed",
                _shown(left, ra),
                _shown(right, rb),
                f"{_set(left)} -> {_set(right)}",
            )

    # Latency.
    # Latency: slower only when the whole distribution moved (p50 and p95 both), not when one side had a slow read
    # or two (its tail varies within the side).
    la, lb = a["latency_ms"], b["latency_ms"]
    if la["samples"] >= MIN_SAMPLES and lb["samples"] >= MIN_SAMPLES:
        left, right = f"p50 {la['p50']} ms, p95 {la['p95']} ms", f"p50 {lb['p50']} ms, p95 {lb['p95']} ms"
        if _moved(la, lb):
            add(Severity.BREAKING, Aspect.LATENCY, f"latency more than {SLOWER:g}x slower (p50 and p95)", left, right)
        elif _moved(lb, la):
            add(
                Severity.NON_BREAKING,
                Aspect.LATENCY,
                f"latency more than {SLOWER:g}x faster (p50 and p95)",
                left,
                right,
            )
    return found


def _moved(before: dict[str, float], after: dict[str, float]) -> bool:
    return all(after[q] > SLOWER * before[q] and after[q] - before[q] > SLOWER_BY_MS for q in ("p50", "p95"))


def diff(production: Report, candidate: Report) -> list[Difference]:
    """Every difference, the clauses' first (a clause that passed and now fails, a new violation), then each
    probe class seen by both sides; a class seen by one side only is noise (its test did not run on the other,
    or its jobs were in another state)."""
    found: list[Difference] = []
    before = {row.clause: row for row in production.clauses}
    for row in candidate.clauses:
        old = before.get(row.clause)
        if old is None:
            continue
        if row.verdict is ClauseVerdict.FAIL and old.verdict is not ClauseVerdict.FAIL:
            found.append(
                Difference(
                    f"clause {row.clause}",
                    Severity.BREAKING,
                    "a clause that passed now fails",
                    f"{old.verdict.value} ({old.failed} of {old.judged})",
                    f"fail ({row.failed} of {row.judged})",
                    Aspect.CLAUSE,
                    row.clause,
                )
            )
        elif row.verdict is ClauseVerdict.FAIL and row.finding_keys - old.finding_keys:
            # A clause that failed on both sides: each finding the candidate adds (by identity) is a difference.
            for key in sorted(row.finding_keys - old.finding_keys):
                found.append(
                    Difference(
                        f"clause {row.clause}",
                        Severity.BREAKING,
                        "a new finding of a clause that already failed",
                        f"{len(old.finding_keys)} finding(s)",
                        key,
                        Aspect.CLAUSE,
                        key,
                    )
                )
        elif old.verdict is ClauseVerdict.FAIL and row.verdict is ClauseVerdict.PASS:
            found.append(
                Difference(
                    f"clause {row.clause}",
                    Severity.NON_BREAKING,
                    "a clause that failed now passes",
                    f"fail ({old.failed} of {old.judged})",
                    "pass",
                    Aspect.CLAUSE,
                    row.clause,
                )
            )
    pa, pb = production.fingerprint, candidate.fingerprint
    for probe in sorted(set(pa) | set(pb)):
        if probe in pa and probe in pb:
            found += compare_class(probe, pa[probe], pb[probe])
        else:
            side = "production" if probe in pa else "candidate"
            stats = pa.get(probe) or pb[probe]
            shown = _shown(stats["statuses"], stats["reads"])
            found.append(
                Difference(
                    probe,
                    Severity.NOISE,
                    f"asked on the {side} only",
                    shown if probe in pa else "-",
                    shown if probe in pb else "-",
                    Aspect.PROBE,
                    probe,
                )
            )
    return found


def breaking(differences: list[Difference]) -> list[Difference]:
    return [d for d in differences if d.severity is Severity.BREAKING]
