"""Schemathesis against the app's own OpenAPI schema, as a signed-in member and anonymously.

Bounded and deterministic (10 derandomized examples per operation, no example database), so it
runs in well under a minute: no response is a 5xx, and every response has a status code, a
content type, headers and a body that the schema declares for that operation.
"""

from __future__ import annotations

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.core.config import get_settings
from app.main import create_app
from tests.support.factories import TestUser, UserFactory

# Its own app instance: schemathesis serves it from its own event-loop thread (with its lifespan).
schema = schemathesis.openapi.from_asgi("/openapi.json", create_app(get_settings()))
schema.config.generation.update(
    max_examples=10,
    deterministic=True,
    database="none",
    # The caller is chosen below; no made-up Authorization headers.
    with_security_parameters=False,
)
schema.config.phases.update(phases=["examples", "fuzzing"])

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]


@pytest.fixture
async def member(users: UserFactory) -> TestUser:
    return await users.create()


@pytest.mark.parametrize("caller", ["anonymous", "member"])
@schema.parametrize()
@hypothesis.settings(suppress_health_check=list(hypothesis.HealthCheck))
def test_api_keeps_to_its_schema(case: schemathesis.Case, caller: str, member: TestUser) -> None:
    headers = member.headers if caller == "member" else {}
    case.call_and_validate(headers=headers, checks=CHECKS)
