"""Schemathesis over the whole OpenAPI document, in process against the ASGI app, with an
admin key and with a tenant key: zero server errors, and every answer (status, media type,
body, headers) conforms to the document. Examples per operation are bounded (well under a
minute for the lot); the seed is fixed by the suite (--hypothesis-seed=0)."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi import checks as openapi_checks

from tests.api.conftest import World
from tests.api.test_isolation import EVENTS_USAGE

EXAMPLES = 6
CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_headers_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
]


def test_the_api_keeps_to_its_schema(world: World) -> None:
    api = schemathesis.openapi.from_asgi("/openapi.json", world.client.app)
    failures: list[str] = []
    operations = set()
    for found in api.get_all_operations():
        operation = found.ok()  # type: ignore[union-attr]  # an Err: the document is broken
        operations.add((operation.method.upper(), operation.path))

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case: schemathesis.Case[Any]) -> None:
            for who in ("admin", "lab-a"):
                case.call_and_validate(headers=world.as_(who), checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # one operation's; the others run on
            failures.append(f"{operation.method.upper()} {operation.path}: {exc}")
    assert len(operations) >= 34
    assert operations >= EVENTS_USAGE  # the routes of events, webhooks and usage too
    assert failures == [], "\n\n".join(failures)
