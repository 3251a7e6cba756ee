"""Schemathesis generates requests from openapi.yaml; built-in checks and every clause judge each reply."""

from __future__ import annotations

import pytest
import schemathesis

schema = schemathesis.pytest.from_fixture("api_schema")
pytestmark = pytest.mark.property


@schema.parametrize()
def test_generated_requests_honour_the_contract(case, api, clause_checks, exempt_checks):
    """Each generated case judged by schemathesis' checks and every clause. A generated id no client could send
    (a control octet, an encoded separator) may be refused by any layer in any form: the spec's description
    checks do not judge that refusal; `not_a_server_error` and the clauses do."""
    response = case.call(session=api)
    case.validate_response(response, additional_checks=clause_checks, excluded_checks=exempt_checks(response))
