"""Schemathesis generates requests from openapi.yaml; built-in checks and every clause judge each reply."""

from __future__ import annotations

import schemathesis

from spidra_contract.checks import CLAUSE_CHECKS

schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
def test_generated_requests_honour_the_contract(case, api):
    case.call_and_validate(session=api, additional_checks=CLAUSE_CHECKS)
