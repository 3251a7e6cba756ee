"""The contract clauses as schemathesis checks, so every generated case is judged by the same functions.
The checks are made for one run (closures over it): no module state."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from spidra_contract import clauses as clause_defs
from spidra_contract.exchange import Reply, reply_from_response

if TYPE_CHECKING:
    from spidra_contract.run import Run

PROPERTY_TEST = "property-based: GET /crawl/{jobId}"
Check = Callable[[Any, Any, Any], bool | None]


def checks_for(run: Run) -> list[Check]:
    """`clause_contract` and `clause_auth_required`, bound to `run`."""
    probed: set[str] = set()

    def reply_for(response: Any) -> Reply:
        # The guarded session attached the reply it built; a response from elsewhere is built here.
        request = getattr(response, "request", None)
        attached = getattr(request, "spidra_reply", None)
        if isinstance(attached, Reply):
            return attached
        return reply_from_response(response, run.redactor, float(getattr(response, "elapsed", 0) or 0) * 1000)

    def clause_contract(ctx: Any, response: Any, case: Any) -> bool | None:
        """Every single-reply clause on one generated case; an id the generator made up is also held to
        `unknown-job`, where only a 200 is evidence of a problem."""
        reply = reply_for(response)
        names: tuple[str, ...] = clause_defs.EVERY_REPLY
        job_id = (case.path_parameters or {}).get("jobId")
        if reply.status == 200 and job_id not in run.job_ids:
            names = (*names, "unknown-job")
        found = run.judge(PROPERTY_TEST, reply, names)
        if found:
            raise run.violation(found, reply)
        return None

    def clause_auth_required(ctx: Any, response: Any, case: Any) -> bool | None:
        """Once per job id answered 200: the same request without a key, and with a wrong one, gets 403.
        (schemathesis' ignored_auth, but sent through the guarded session.)"""
        from spidra_contract.client import reply_of

        url = response.request.url
        if response.status_code != 200 or url in probed or run.target is None:
            return None
        probed.add(url)
        for headers in ({}, run.target.auth("sk_wrong_" + "0" * 24)):
            reply = reply_of(run.session().get(url, headers=headers))
            found = run.judge(PROPERTY_TEST, reply, ("auth-required",))
            if found:
                raise run.violation(found, reply)
        return None

    return [clause_contract, clause_auth_required]
