"""The contract clauses as schemathesis checks, so every generated case is judged by the same functions.
The checks are made for one run (closures over it): no module state."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from spidra_contract import clauses as clause_defs
from spidra_contract.core.exchange import Reply, reply_from_response
from spidra_contract.http.client import GuardedSession, reply_of
from spidra_contract.judging.judge import Judge
from spidra_contract.plugin.run import Target

PROPERTY_TEST = "property-based: GET /crawl/{jobId}"
Check = Callable[[Any, Any, Any], bool | None]


def reply_for(response: Any, session: GuardedSession) -> Reply:
    """The reply to a generated case: the one the guarded session attached, or one built here."""
    request = getattr(response, "request", None)
    attached = getattr(request, "spidra_reply", None)
    if isinstance(attached, Reply):
        return attached
    elapsed_ms = float(getattr(response, "elapsed", 0) or 0) * 1000
    return reply_from_response(response, session.redactor, elapsed_ms)


def checks_for(judging: Judge, target: Target, session: Callable[[], GuardedSession]) -> list[Check]:
    """`clause_contract` and `clause_auth_required`, judging with `judging`, probing through `session()`."""
    probed: set[str] = set()

    def clause_contract(ctx: Any, response: Any, case: Any) -> bool | None:
        """Every single-reply clause on one generated case; an id the generator made up is also held to
        `unknown-job`, where only a 200 is evidence of a problem."""
        reply = reply_for(response, session())
        names: tuple[str, ...] = clause_defs.EVERY_REPLY
        job_id = (case.path_parameters or {}).get("jobId")
        if reply.status == 200 and job_id not in target.job_ids:
            names = (*names, "unknown-job")
        judging.fail_on(judging.judge(PROPERTY_TEST, reply, names))
        return None

    def clause_auth_required(ctx: Any, response: Any, case: Any) -> bool | None:
        """Once per job id answered 200: the same request without a key, and with a wrong one, gets 403.
        (schemathesis' ignored_auth, but sent through the guarded session.)"""
        url = response.request.url
        if response.status_code != 200 or url in probed:
            return None
        probed.add(url)
        for headers in ({}, target.auth("sk_wrong_" + "0" * 24)):
            reply = reply_of(session().get(url, headers=headers))
            judging.fail_on(judging.judge(PROPERTY_TEST, reply, ("auth-required",)))
        return None

    return [clause_contract, clause_auth_required]
