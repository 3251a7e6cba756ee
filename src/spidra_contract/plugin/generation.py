"""Schemathesis, configured from code (its TOML is not fully honoured under pytest: schemathesis#2755)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import schemathesis

from spidra_contract.clauses.requests import no_client_refusal
from spidra_contract.core.exchange import Reply
from spidra_contract.core.settings import Profile
from spidra_contract.core.spec import JSON_MEDIA_TYPE, Contract

# Built-in checks that fit this contract. positive_data_acceptance is off: any string is a valid jobId,
# and an id that names no job is rightly a 404. Stateful checks need links this document does not have.
# ignored_auth is replaced by `checks.auth_probe`: its probes drop the session they are given, so they would
# bypass the request budget, the rate limit, 429 handling and the cassette.
BUILT_IN_CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
    "negative_data_rejection",
)
MOCK_ONLY_CHECKS = ("unsupported_method", "allow_header_conformance")
# The built-in checks of the spec's description of an answer: a refusal of bytes no client sends (a generated id
# with a control octet or an encoded separator, `clauses.requests`) may come from any layer in any form, so it is
# not held to them; `not_a_server_error` and every clause still judge it.
DESCRIPTION_CHECKS = (
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
    "response_headers_conformance",
)
UNSAFE_METHODS = ["POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"]


@dataclass(frozen=True)
class SchemaInputs:
    """What generation reads: where the target is, how to authenticate, which ids it knows, the profile."""

    base_url: str
    headers: dict[str, str]
    job_ids: tuple[str, ...]
    profile: Profile
    timeout: float
    allow_unsafe: bool  # the embedded mock, or --allow-unsafe
    seed: int | None = None  # the run's seed (None: derandomized, or hypothesis' own --hypothesis-seed)


def schemathesis_config(inputs: SchemaInputs) -> dict[str, Any]:
    profile = inputs.profile
    checks: dict[str, Any] = {"enabled": False}
    for name in BUILT_IN_CHECKS:
        checks[name] = {"enabled": True}
    unsafe_allowed = inputs.allow_unsafe
    for name in MOCK_ONLY_CHECKS:
        checks[name] = {"enabled": unsafe_allowed}
    config: dict[str, Any] = {
        "base-url": inputs.base_url,
        "headers": inputs.headers,
        "request-timeout": inputs.timeout,
        "generation": {
            "max-examples": profile.max_examples,
            "deterministic": profile.derandomize,
            "mode": "all",
        },
        "phases": {
            "examples": {"enabled": True},
            # Against a live API only GET goes out: unexpected-method probes (DELETE cancels a real job).
            "coverage": {"enabled": True, "unexpected-methods": UNSAFE_METHODS if unsafe_allowed else []},
            "fuzzing": {"enabled": True},
            "stateful": {"enabled": False},
        },
        "checks": checks,
    }
    if inputs.seed is not None:
        config["seed"] = inputs.seed
    if inputs.job_ids:
        # Known ids reach the 200 path; generated strings still exercise the 404 path.
        config["dictionaries"] = {"known-jobs": {"values": list(inputs.job_ids)}}
        config["parameters"] = {"path.jobId": {"dictionary": "known-jobs", "probability": 0.5}}
    return config


def exempt_checks(reply: Reply) -> list[Any]:
    """The built-in checks the answer to one generated case is not held to (see `DESCRIPTION_CHECKS`)."""
    if not no_client_refusal(reply):
        return []
    from schemathesis.checks import CHECKS

    return list(CHECKS.get_by_names(list(DESCRIPTION_CHECKS)))


def build_schema(contract: Contract, inputs: SchemaInputs) -> Any:
    config = schemathesis.Config.from_dict(schemathesis_config(inputs))
    return schemathesis.openapi.from_dict(contract.document, config=config)


def suite_json(ctx: Any, response: Any) -> Any:
    """schemathesis' JSON deserializer while the suite runs: for a reply the suite's own session received, the
    body as the suite parsed it (integers of any length by value, as every clause reads them; the interpreter's
    `json` stops at a few thousand digits, which made schemathesis call a valid body unreadable); for any other
    response, exactly schemathesis' own (`response.json()`)."""
    reply = getattr(getattr(response, "request", None), "spidra_reply", None)
    if isinstance(reply, Reply):
        return reply.json  # its own ValueError when the body is not JSON, as `response.json()` would raise
    return response.json()


def builtin_json(ctx: Any, response: Any) -> Any:
    """schemathesis' own JSON deserializer, as it registers it: put back when the suite's run ends."""
    return response.json()


def read_bodies_as_the_suite_does(config: Any) -> None:
    """Use `suite_json` for this run; put schemathesis' own back at the run's end (a process that goes on, such
    as a pytester run, finds schemathesis as it was)."""
    schemathesis.deserializer(JSON_MEDIA_TYPE)(suite_json)
    config.add_cleanup(lambda: schemathesis.deserializer(JSON_MEDIA_TYPE)(builtin_json))
