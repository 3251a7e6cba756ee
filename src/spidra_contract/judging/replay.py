"""A cassette judged again, offline: every exchange by the clauses the run judged it with, each pairwise clause
(a door's stranger beside the owner's read, two reads of a job in time order) against the earlier exchange the
run compared it with, both from the cassette; each finding by the identity the run gave it.

The cassette says how each exchange was judged (its entry's `_judged`, written by `Ledger.record`); an entry
without it (a cassette written before) is judged by every per-reply clause, as replay did then.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from spidra_contract import clauses
from spidra_contract.clauses import Applies
from spidra_contract.core.exchange import Reply
from spidra_contract.core.judgement import Judgement, Kind
from spidra_contract.core.spec import Contract
from spidra_contract.judging.baseline import Baseline
from spidra_contract.judging.judge import Judge
from spidra_contract.judging.ledger import Ledger

PAIRED = (Applies.PAIR, Applies.DOOR, Applies.METHOD_PAIR)
# A request line as a report prints it: `request:   GET http://... -> 404` (the label and the status optional).
_PRINTED = re.compile(r"^\s*(?:request:\s*)?(?P<line>.*?)(?:\s+(?:->|→)\s+(?P<status>\d{3}))?\s*$")


def reply_of(entry: dict[str, Any]) -> Reply:
    """The reply a cassette entry recorded (the body as the cassette kept it)."""
    request, response, extra = entry["request"], entry["response"], entry.get("_reply") or {}
    return Reply(
        method=request["method"],
        url=request["url"],
        request_headers={h["name"]: h["value"] for h in request["headers"]},
        status=response["status"],
        headers={h["name"]: h["value"] for h in response["headers"]},
        content=response["content"].get("text", "").encode("utf-8"),
        problem=str(extra.get("problem", "")),
        context=str(extra.get("context", "")),
        rewritten=bool(extra.get("rewritten", False)),
        stranger=bool(extra.get("stranger", False)),
        exchange_id=entry.get("_id", ""),
    )


def printed_request(text: str) -> Callable[[Reply], bool]:
    """Which replies a request line as a report prints it names: the same method and URL (`...` for any text),
    and the same status when the line gives one (`GET http://.../crawl/3f1c -> 404`)."""
    found = _PRINTED.match(text)
    line = found.group("line") if found else text
    status = found.group("status") if found else None
    pattern = re.compile("^" + ".*?".join(map(re.escape, line.split("..."))) + "$")
    return lambda reply: bool(pattern.match(reply.request_line)) and (status is None or str(reply.status) == status)


@dataclass
class Replayed:
    """One exchange judged again: its reply, the judgements (findings), and the pairwise judgements it could not
    make (the earlier exchange is not in the cassette)."""

    reply: Reply
    judgements: list[Judgement] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    @property
    def new(self) -> list[Judgement]:
        return [judgement for judgement in self.judgements if judgement.kind is not Kind.KNOWN]


def _recorded(step: dict[str, Any]) -> Callable[[str, Reply], str]:
    """The probe class the run gave this judging step (the finding's identity is the run's)."""
    probe = str(step.get("probe", ""))
    return lambda test, reply: probe or test


def replay(
    entries: Iterable[dict[str, Any]],
    contract: Contract,
    wanted: Callable[[Reply], bool] | None = None,
    baseline: Baseline | None = None,
) -> list[Replayed]:
    """Judge again the entries `wanted` picks (all by default)."""
    entries = list(entries)
    by_id = {entry["_id"]: entry for entry in entries if entry.get("_id")}
    replayed = []
    for entry in entries:
        reply = reply_of(entry)
        if wanted is not None and not wanted(reply):
            continue
        result = Replayed(reply)
        steps = entry.get("_judged")
        if steps is None:  # written before the cassette said how: every per-reply clause, as replay did then
            steps = [{"test": "replay", "probe": "", "clauses": list(clauses.EVERY_REPLY), "earlier": ""}]
        for step in steps:
            judge = Judge(contract, Ledger(), seed="replay", baseline=baseline, probe_of=_recorded(step))
            test = str(step.get("test", "")) or "replay"
            names = tuple(name for name in step.get("clauses", []) if name in clauses.CLAUSES)
            single = tuple(name for name in names if clauses.CLAUSES[name].applies not in PAIRED)
            paired = tuple(name for name in names if clauses.CLAUSES[name].applies in PAIRED)
            if single:
                result.judgements += judge.judge(test, reply, single)
            if paired:
                earlier = by_id.get(str(step.get("earlier", "")))
                if earlier is None:
                    result.missing += [f"{name} (its earlier read is not in the cassette)" for name in paired]
                else:
                    result.judgements += judge.judge_pair(test, reply_of(earlier), reply, paired)
        replayed.append(result)
    return replayed
