"""The contract clauses as schemathesis checks, so every generated case is judged by the same functions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from spidra_contract import clauses as clause_defs
from spidra_contract.exchange import Reply, reply_from_response

if TYPE_CHECKING:
    from spidra_contract.run import Run

_ACTIVE: list[Run] = []
PROPERTY_TEST = "property-based: GET /crawl/{jobId}"


def activate(run: Run) -> None:
    """Schemathesis calls checks without our fixtures; they find the run here."""
    _ACTIVE[:] = [run]


def _reply(run: Run, response: Any) -> Reply:
    return reply_from_response(response, run.redactor, float(getattr(response, "elapsed", 0) or 0) * 1000)


def clause_contract(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every single-reply clause on one generated case (the reply is built and redacted once); an id the
    generator made up is also held to `unknown-job`, where only a 200 is evidence of a problem."""
    run = _ACTIVE[0]
    reply = _reply(run, response)
    names: tuple[str, ...] = clause_defs.EVERY_REPLY
    job_id = (case.path_parameters or {}).get("jobId")
    if reply.status == 200 and job_id not in run.job_ids:
        names = (*names, "unknown-job")
    lines = run.judge(PROPERTY_TEST, reply, names)
    if lines:
        raise AssertionError(run.explain(lines, reply))
    return None


_PROBED: set[str] = set()


def clause_auth_required(ctx: Any, response: Any, case: Any) -> bool | None:
    """Once per job id answered 200: the same request without a key, and with a wrong one, gets 403.
    (schemathesis' ignored_auth, but sent through the guarded session.)"""
    from spidra_contract.client import SuiteRefusal, reply_of

    run = _ACTIVE[0]
    url = response.request.url
    if response.status_code != 200 or url in _PROBED or run.target is None:
        return None
    _PROBED.add(url)
    for headers in ({}, run.target.auth("sk_wrong_" + "0" * 24)):
        try:
            reply = reply_of(run.session().get(url, headers=headers))
        except SuiteRefusal:
            return None
        lines = run.judge(PROPERTY_TEST, reply, ("auth-required",))
        if lines:
            raise AssertionError(run.explain(lines, reply))
    return None


CLAUSE_CHECKS = [clause_contract, clause_auth_required]
