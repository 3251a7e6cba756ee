"""Schemathesis generates requests from openapi.yaml; built-in checks and every clause judge each reply."""

from __future__ import annotations

import pytest
import schemathesis

schema = schemathesis.pytest.from_fixture("api_schema")
pytestmark = pytest.mark.property


@schema.parametrize()
def test_generated_requests_honour_the_contract(case, api, clause_checks):
    case.call_and_validate(session=api, additional_checks=clause_checks)
