"""Errors as RFC 9457 problem+json: bad input is a 4xx naming field and value, never a 500."""

from __future__ import annotations

from typing import Any

import httpx

from tests.api.conftest import World, new_deal

PROBLEM = "application/problem+json"
JSON = {"Content-Type": "application/json"}


def _problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:neocloud:problem:{code}"
    return body


def test_malformed_json_is_400(world: World) -> None:
    for text in ('{"version": 1, "agreement": ', "not json", '{"a": NaN}', "[" * 100_000):
        response = world.client.post(
            "/v1/agreements", content=text, headers={**world.as_("admin"), **JSON}
        )
        _problem(response, 400, "malformed")


def test_malformed_json_in_a_typed_body_is_400(world: World) -> None:
    response = world.client.post(
        "/v1/agreements/deal-a/notice",
        content="{by: tenant}",
        headers={**world.as_("admin"), **JSON},
    )
    _problem(response, 400, "malformed")


def test_wrong_types_are_422_naming_field_and_value(world: World) -> None:
    response = world.client.post(
        "/v1/agreements/deal-a/notice", json={"by": 7}, headers=world.as_("admin")
    )
    body = _problem(response, 422, "invalid_input")
    assert body["errors"] == [
        {"field": "by", "value": 7, "message": "Input should be 'operator' or 'tenant'",
         "location": "body"}
    ]  # fmt: skip
    response = world.client.get("/v1/agreements?limit=lots", headers=world.as_("admin"))
    (error,) = _problem(response, 422, "invalid_input")["errors"]
    assert (error["field"], error["value"], error["location"]) == ("limit", "lots", "query")


def test_unknown_fields_are_422(world: World) -> None:
    response = world.client.post(
        "/v1/agreements/deal-a/notice",
        json={"by": "operator", "when": "2027-03-01"},
        headers=world.as_("admin"),
    )
    (error,) = _problem(response, 422, "invalid_input")["errors"]
    assert (error["field"], error["value"]) == ("when", "2027-03-01")
    # in an agreement document the domain's reader names the field it does not know
    body = new_deal().replace('"currency"', '"colour": "red", "currency"')
    response = world.client.post("/v1/agreements", content=body, headers=world.as_("admin"))
    errors = _problem(response, 422, "invalid_input")["errors"]
    assert [e["field"] for e in errors] == ["agreement.colour"]


def test_every_problem_in_a_document_is_named(world: World) -> None:
    body = new_deal(monthly_fee="lots", currency="XXQ")
    response = world.client.post("/v1/agreements", content=body, headers=world.as_("admin"))
    errors = _problem(response, 422, "invalid_input")["errors"]
    fields = {e["field"]: e["value"] for e in errors}
    assert fields == {"agreement.monthly_fee": "lots", "agreement.currency": "XXQ"}


def test_an_oversized_body_is_413_and_not_read_to_the_end(world: World) -> None:
    big = b'{"version": 1, "agreement": {"key": "' + b"x" * (1024 * 1024) + b'"}}'
    response = world.client.post(
        "/v1/agreements", content=big, headers={**world.as_("admin"), **JSON}
    )
    _problem(response, 413, "too_large")

    def chunks() -> object:  # no Content-Length: the limit holds while reading
        for _ in range(20):
            yield b" " * 100_000

    response = world.client.post(
        "/v1/agreements", content=chunks(), headers={**world.as_("admin"), **JSON}
    )
    _problem(response, 413, "too_large")


def test_a_body_at_the_limit_is_read(world: World) -> None:
    body = new_deal()
    padded = body + " " * (1024 * 1024 - len(body.encode()))
    response = world.client.post("/v1/agreements", content=padded, headers=world.as_("admin"))
    assert response.status_code == 201, response.text


def test_unknown_routes_and_methods_are_problems(world: World) -> None:
    _problem(world.client.get("/v1/nowhere", headers=world.as_("admin")), 404, "not_found")
    response = world.client.delete("/v1/agreements", headers=world.as_("admin"))
    _problem(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "GET, POST"


def test_anonymous_and_bad_keys_are_401_with_a_challenge(world: World) -> None:
    revoked = world.keys["finance"]
    key_id = revoked.split("_")[1]
    assert (
        world.client.delete(f"/v1/api-keys/{key_id}", headers=world.as_("admin")).status_code == 200
    )
    for headers in (
        {},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer nck_0000000000000000_" + "A" * 43},
        {"Authorization": "Bearer " + world.keys["admin"][:-1] + "B"},
        {"Authorization": f"Bearer {revoked}"},
    ):
        response = world.client.get("/v1/agreements", headers=headers)
        _problem(response, 401, "unauthenticated")
        assert response.headers["www-authenticate"] == 'Bearer realm="neocloud"'


def test_a_domain_refusal_keeps_its_code(world: World) -> None:
    response = world.client.post(
        "/v1/agreements/deal-a/sign", json={}, headers=world.as_("admin")
    )  # signed already: active -> signed is not a transition
    _problem(response, 409, "invalid_transition")
    response = world.client.post(
        "/v1/agreements", content=new_deal("deal-a"), headers=world.as_("admin")
    )
    _problem(response, 409, "conflict")


def test_a_role_without_the_area_is_403(world: World) -> None:
    response = world.client.get("/v1/audit", headers=world.as_("operator"))
    assert _problem(response, 403, "forbidden")["detail"] == "a operator key may not read audit"
