"""Nightly regression: violations already in an earlier summary.json are known; new ones fail; gone ones are fixed.

Refresh a baseline by copying the summary.json of a run you accept: `cp reports/summary.json baseline.json`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any


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
            keys = {key for row in data["clauses"] for key in row.get("violation_keys", [])}
        except (OSError, ValueError, KeyError, TypeError) as exc:
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
