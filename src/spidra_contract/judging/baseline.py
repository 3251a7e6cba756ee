"""Nightly regression: violations already in a baseline are known; new ones fail; gone ones are fixed.

A baseline is a summary.json of a run you accept, or the file `spidra-contract baseline update` writes
(accept a run's violations as known) and `spidra-contract baseline prune` trims (drop the known violations a
complete run no longer shows).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BASELINE_KIND = "spidra-contract baseline"


def violation_keys_of(summary: dict[str, Any]) -> list[str]:
    return sorted({key for row in summary["clauses"] for key in row.get("violation_keys", [])})


def write(path: Path, keys: set[str], source: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"kind": BASELINE_KIND, "violation_keys": sorted(keys), "from": source}
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def update(baseline: Path, summary_path: Path) -> tuple[set[str], set[str]]:
    """Accept the run's violations as known: the baseline's keys plus the run's. (added, all)"""
    summary = _summary(summary_path)
    current = set(violation_keys_of(summary))
    known = set(Baseline.load(baseline).keys) if baseline.is_file() else set()
    write(baseline, known | current, str(summary_path))
    return current - known, known | current


def prune(baseline: Path, summary_path: Path) -> tuple[set[str], set[str]]:
    """Drop the known violations a complete run (no subset, verdict 0 or 1) no longer shows. (dropped, kept)"""
    summary = _summary(summary_path)
    if summary.get("subset") or summary.get("exit_code") not in (0, 1):
        raise BaselineError(
            f"{summary_path} is not a complete run ({summary.get('headline', '?')}): pruning from it would drop "
            "violations it never looked for"
        )
    known = set(Baseline.load(baseline).keys)
    current = set(violation_keys_of(summary))
    write(baseline, known & current, str(summary_path))
    return known - current, known & current


def _summary(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        violation_keys_of(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise BaselineError(f"{path} is not a summary.json written by this suite ({exc})") from None
    return dict(data)


class BaselineError(Exception):
    """The baseline file is not a summary.json this suite wrote."""


@dataclass(frozen=True)
class Baseline:
    path: Path
    keys: frozenset[str]

    @classmethod
    def load(cls, path: Path) -> Baseline:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            written = data.get("kind") == BASELINE_KIND
            keys = set(data["violation_keys"]) if written else set(violation_keys_of(data))
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise BaselineError(f"--baseline {path} is not a summary.json written by this suite ({exc})") from None
        return cls(path=path, keys=frozenset(keys))

    def covers(self, keys: set[str]) -> bool:
        """True when every violation named is already known."""
        return bool(keys) and keys <= self.keys

    def compare(self, current: set[str]) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "known": sorted(current & self.keys),
            "new": sorted(current - self.keys),
            "fixed": sorted(self.keys - current),
        }
