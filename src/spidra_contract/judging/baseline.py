"""Nightly regression: findings already in a baseline are known; new ones fail; gone ones are fixed.

A baseline names findings by identity (`core.judgement.Identity`: clause, probe class, where, rule), so a known
finding never hides a new one of the same clause: a baseline that accepted "HEAD skips the key check" does not
accept a trailing-slash door. It is a summary.json of a run you accept, or the file `spidra-contract baseline
update` writes (accept a run's findings as known) and `spidra-contract baseline prune` trims (drop the known
findings a complete run no longer shows).

A baseline written before identities (`violation_keys` such as `door-locked:`) names findings by clause and field
only. It is still read, with one line saying what it would hide (every later finding of those clauses at those
fields); `baseline update` rewrites it by identity.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spidra_contract.core.judgement import BaselineStory, Identity

BASELINE_KIND = "spidra-contract baseline"
FORMAT = 2  # 2: findings by identity; 1 (no "format"): `violation_keys`, clause and field only


def findings_of(summary: dict[str, Any]) -> tuple[set[Identity], set[str]]:
    """A summary's findings: (identities, coarse keys). A summary written before identities has only the coarse
    keys (`clause:/field`) of its violations."""
    identities: set[Identity] = set()
    coarse: set[str] = set()
    for row in summary["clauses"]:
        if "identities" in row:
            identities.update(Identity.from_dict(given) for given in row["identities"])
        else:
            coarse.update(row.get("violation_keys", []))
    return identities, coarse


def write(path: Path, identities: set[Identity], source: str, coarse: set[str] | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "kind": BASELINE_KIND,
        "format": FORMAT,
        "findings": [identity.to_dict() for identity in sorted(identities)],
        "from": source,
    }
    if coarse:  # kept from an earlier baseline the run did not replace (a run judged nothing of theirs)
        data["violation_keys"] = sorted(coarse)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def update(baseline: Path, summary_path: Path) -> tuple[set[Identity], set[Identity], set[str]]:
    """Accept the run's findings as known: the baseline's plus the run's. A coarse key of an earlier baseline is
    replaced by the run's findings it stood for, and kept only where the run showed none. (added, all, coarse
    keys kept)"""
    current, current_coarse = findings_of(_summary(summary_path))
    old = Baseline.load(baseline) if baseline.is_file() else Baseline(baseline, frozenset())
    coarse = {key for key in old.coarse | current_coarse if not any(i.coarse == key for i in current)}
    everything = set(old.identities) | current
    write(baseline, everything, str(summary_path), coarse)
    return current - old.identities, everything, coarse


def prune(baseline: Path, summary_path: Path) -> tuple[set[Identity], set[Identity]]:
    """Drop the known findings a complete run (no subset, verdict 0 or 1) no longer shows. (dropped, kept)"""
    summary = _summary(summary_path)
    if summary.get("subset") or summary.get("exit_code") not in (0, 1):
        raise BaselineError(
            f"{summary_path} is not a complete run ({summary.get('headline', '?')}): pruning from it would drop "
            "findings it never looked for"
        )
    old = Baseline.load(baseline)
    current, _ = findings_of(summary)
    kept = set(old.identities) & current
    coarse = {key for key in old.coarse if any(identity.coarse == key for identity in current)}
    write(baseline, kept, str(summary_path), coarse)
    return set(old.identities) - current, kept


def _summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        findings_of(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BaselineError(f"{path} is not a summary.json written by this suite ({exc})") from None
    return dict(data)


class BaselineError(Exception):
    """The baseline file is not a summary.json this suite wrote."""


@dataclass(frozen=True)
class Baseline:
    path: Path
    identities: frozenset[Identity]
    # Findings named the earlier way (clause and field only): each accepts every finding of its clause at its
    # field, whatever the probe class.
    coarse: frozenset[str] = frozenset()

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("kind") == BASELINE_KIND:
                identities = {Identity.from_dict(given) for given in data.get("findings", [])}
                coarse = set(data.get("violation_keys", []))
            else:
                identities, coarse = findings_of(data)
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BaselineError(f"--baseline {path} is not a summary.json written by this suite ({exc})") from None
        return cls(path=path, identities=frozenset(identities), coarse=frozenset(coarse))

    def knows(self, identity: Identity) -> bool:
        return identity in self.identities or identity.coarse in self.coarse

    def covers(self, identities: set[Identity]) -> bool:
        """True when every finding named is already known."""
        return bool(identities) and all(self.knows(identity) for identity in identities)

    @property
    def note(self) -> str:
        """The line a baseline of the earlier format gets: what it would hide, and how to rewrite it."""
        if not self.coarse:
            return ""
        shown = ", ".join(sorted(self.coarse)[:4]) + (", ..." if len(self.coarse) > 4 else "")
        return (
            f"baseline {self.path} names {len(self.coarse)} finding(s) the earlier way, by clause and field only "
            f"({shown}): each accepts every later finding of its clause at its field, whatever the door, caller or "
            f"probe; `spidra-contract baseline update --from reports/summary.json {self.path}` rewrites it by identity"
        )

    def compare(self, current: set[Identity]) -> BaselineStory:
        known = {identity for identity in current if self.knows(identity)}
        return BaselineStory(
            path=str(self.path),
            new=tuple(sorted(current - known)),
            known=tuple(sorted(known)),
            fixed=tuple(sorted(self.identities - current)),
            fixed_coarse=tuple(sorted(key for key in self.coarse if not any(i.coarse == key for i in current))),
            note=self.note,
        )
