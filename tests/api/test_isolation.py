"""The isolation matrix: every route of the OpenAPI document x every role, aimed at tenant
lab-b's objects. Tenant lab-a never sees a trace of lab-b (its agreement, tenant name,
invoices, holdings): object routes answer 404 (or 403 where the role may not go at all),
listings leave lab-b out, and nothing of lab-b changes. Anonymous calls get 401 on every
data route. Each staff role gets exactly the areas the policy table gives it."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx

from neocloud.api.deps import declared_guard
from neocloud.domain.access.policy import PERMISSIONS, Area, Role, Verb
from neocloud.services import agreement_views, billing, webhooks
from tests import factories
from tests.api.conftest import ROLES, World, as_json, new_deal

QUERY: dict[str, dict[str, str]] = {
    "/v1/sites/{site}/whatif": {"from": "2027-06-01T00:00:00Z", "gpus": "16", "model": "H100"},
    "/v1/sites/{site}/economics": {"from": "2027-01", "to": "2027-02"},
    "/v1/sites/{site}/backlog": {"at": "2027-03-01"},
}


def bodies() -> dict[str, str]:
    """A valid body for every POST (so that only authorization can refuse it)."""
    terms = factories.agreement_document(
        "deal-b",
        tenant="lab-b",
        capacity={"gpus": 16, "gpu_model": "H100"},
        monthly_fee=Decimal("2.00"),
    )
    return {
        "/v1/agreements": new_deal("deal-x", tenant="lab-b"),
        "/v1/agreements/{key}/sign": "{}",
        "/v1/agreements/{key}/amend": as_json(
            {"terms": terms, "effective_from": "2027-02-01", "note": "cheaper"}
        ),
        "/v1/agreements/{key}/notice": '{"by": "tenant", "at": "2027-03-01"}',
        "/v1/agreements/{key}/availability": '{"period": "2027-02", "availability_ratio": "0.5"}',
        "/v1/invoices/{number}/credit-notes": '{"amount": "1.00", "reason": "refund"}',
        "/v1/billing/close": '{"period": "2027-02"}',
        "/v1/api-keys": '{"role": "admin"}',
        "/v1/webhooks": '{"url": "https://hooks.example.com/neocloud", "tenant": "lab-b"}',
    }


def operations(world: World) -> Iterator[tuple[str, str, str]]:
    """(method, path template, the path aimed at lab-b's objects), from /openapi.json."""
    document = world.client.get("/openapi.json").json()
    assert document["openapi"].startswith("3.1")
    b_key = world.keys["lab-b"].split("_")[1]
    values = {
        "key": "deal-b",
        "number": world.invoices["deal-b"][0],
        "site": "test-1",
        "kind": "slurm",
        "key_id": b_key,
        "event_id": str(world.events["lab-b"][0]),
        "webhook_id": str(world.webhooks["lab-b"]),
    }
    for template, methods in document["paths"].items():
        path = template
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        assert "{" not in path, template
        for method in methods:
            yield method.upper(), template, path


def call(world: World, method: str, template: str, path: str, who: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if who is not None:
        headers |= world.as_(who)
    body = bodies().get(template) if method == "POST" else None
    response: httpx.Response = world.client.request(
        method, path, params=QUERY.get(template), content=body, headers=headers
    )
    return response


def guard_of(world: World, method: str, template: str) -> tuple[Verb, Area, Any, bool]:
    pending = list(world.client.app.routes)  # type: ignore[attr-defined]
    while pending:
        route = pending.pop()
        if getattr(route, "original_router", None) is not None:
            pending.extend(route.original_router.routes)
        elif getattr(route, "path", None) == template and method in route.methods:
            declared = declared_guard(route)
            assert declared is not None, f"{method} {template} has no guard"
            return declared
    raise AssertionError(f"no route {method} {template}")


def lab_b_state(world: World) -> object:
    uow = world.app.uow
    deal = agreement_views.agreement_details(uow(), "deal-b")
    notes = [(i.number, i.total) for i in billing.list_invoices(uow(), "deal-b")]
    hooks = webhooks.list_webhooks(uow(), tenant="lab-b", removed=True)
    sent = webhooks.list_deliveries(uow(), tenant="lab-b", limit=1000)
    return (
        hooks,
        sent,
        deal.agreement.history,
        deal.agreement.notice,
        len(deal.agreement.versions),
        deal.availability,
        notes,
        agreement_views.list_agreements(uow(), tenant="lab-b"),
    )


def shown(response: httpx.Response, path: str) -> str:
    """What the answer tells: a refusal (problem) may echo what the caller sent in the path
    (its ``instance``, the key in ``not_found``), which tells it nothing; the rest counts."""
    if response.headers.get("content-type") != "application/problem+json":
        return response.text
    told = str({k: v for k, v in response.json().items() if k != "instance"})
    for sent in path.split("/"):
        told = told.replace(f"'{sent}'", "'?'")
    return told


def test_another_tenants_object_reads_exactly_like_a_missing_one(world: World) -> None:
    a = world.as_("lab-a")
    for foreign, missing in (
        ("/v1/agreements/deal-b", "/v1/agreements/deal-z"),
        ("/v1/agreements/deal-b/value", "/v1/agreements/deal-z/value"),
        (f"/v1/invoices/{world.invoices['deal-b'][0]}", "/v1/invoices/INV-neocloud-999999"),
    ):
        one, other = world.client.get(foreign, headers=a), world.client.get(missing, headers=a)
        assert one.status_code == other.status_code == 404
        words = (
            one.json()["detail"].replace("deal-b", "?").replace(world.invoices["deal-b"][0], "?")
        )
        assert words == other.json()["detail"].replace("deal-z", "?").replace(
            "INV-neocloud-999999", "?"
        )


def traces_of_lab_b(world: World) -> list[str]:
    return ["lab-b", "deal-b", *world.invoices["deal-b"], world.keys["lab-b"].split("_")[1]]


EVENTS_USAGE = {
    ("GET", "/v1/events"),
    ("GET", "/v1/events/{event_id}"),
    ("POST", "/v1/webhooks"),
    ("GET", "/v1/webhooks"),
    ("GET", "/v1/webhooks/{webhook_id}"),
    ("DELETE", "/v1/webhooks/{webhook_id}"),
    ("GET", "/v1/webhooks/{webhook_id}/deliveries"),
    ("GET", "/v1/agreements/{key}/usage"),
    ("GET", "/v1/agreements/{key}/metering"),
}
"""Routes added with events, webhooks and usage: the matrix reaches them from the document."""


def test_every_data_route_is_guarded_and_401_without_a_key(world: World) -> None:
    seen = set()
    for method, template, path in operations(world):
        guard_of(world, method, template)
        response = call(world, method, template, path, None)
        assert response.status_code == 401, (method, path, response.text)
        assert response.headers["www-authenticate"].startswith("Bearer")
        seen.add((method, template))
    assert len(seen) >= 34  # every operation of the document (a new route joins the matrix)
    assert seen >= EVENTS_USAGE


def test_tenant_a_never_sees_or_changes_tenant_b(world: World) -> None:
    before = lab_b_state(world)
    traces = traces_of_lab_b(world)
    for method, template, path in operations(world):
        verb, area, ref, _ = guard_of(world, method, template)
        response = call(world, method, template, path, "lab-a")
        assert response.status_code < 500, (method, path, response.text)
        leaked = [t for t in traces if t in shown(response, path)]
        assert leaked == [], (method, path, response.text)
        if ref is not None or not PERMISSIONS[Role.TENANT][area] >= {verb}:
            assert response.status_code in (403, 404), (method, path, response.status_code)
        if verb is Verb.WRITE:
            assert response.status_code in (403, 404), (method, path, response.status_code)
    assert lab_b_state(world) == before


def test_tenant_a_listings_hold_its_own_objects_only(world: World) -> None:
    a = world.as_("lab-a")
    agreements = world.client.get("/v1/agreements", headers=a).json()["items"]
    assert [x["key"] for x in agreements] == ["deal-a"]
    assert world.client.get("/v1/agreements?tenant=lab-b", headers=a).json()["items"] == []
    invoices = world.client.get("/v1/invoices", headers=a).json()["items"]
    assert [i["number"] for i in invoices] == world.invoices["deal-a"]
    assert world.client.get("/v1/invoices?agreement=deal-b", headers=a).json()["items"] == []
    held = world.client.get("/v1/sites/test-1/holdings", headers=a).json()["items"]
    assert {h["holder"] for h in held} == {"deal-a"} and len(held) == 2  # one rack, two nodes
    staff = world.client.get("/v1/sites/test-1/holdings", headers=world.as_("auditor")).json()
    assert {h["holder"] for h in staff["items"]} == {"deal-a", "deal-b"}
    own = world.client.get("/v1/agreements/deal-a", headers=a)
    assert own.status_code == 200 and own.json()["tenant"] == "lab-a"


def test_each_staff_role_gets_the_areas_the_policy_gives_it(world: World) -> None:
    for role in ROLES:
        for method, template, path in operations(world):
            verb, area, _, _ = guard_of(world, method, template)
            response = call(world, method, template, path, role)
            assert response.status_code < 500, (role, method, path, response.text)
            allowed = verb in PERMISSIONS[Role(role)][area]
            assert (response.status_code == 403) == (not allowed), (
                role,
                method,
                path,
                response.text,
            )
            assert response.status_code != 401
