"""Optimistic concurrency on agreements: GET gives an ETag; a change with a stale If-Match
is 412 and changes nothing; with the current one it goes through and the ETag moves."""

from __future__ import annotations

from decimal import Decimal

from neocloud.services import agreement_views, audit
from tests import factories
from tests.api.conftest import World, as_json


def test_a_stale_if_match_is_412_and_changes_nothing(world: World) -> None:
    admin = world.as_("admin")
    read = world.client.get("/v1/agreements/deal-a", headers=admin)
    tag = read.headers["etag"]
    assert tag == read.json()["etag"] and tag.startswith('"')
    first = world.client.post(
        "/v1/agreements/deal-a/notice",
        json={"by": "operator", "at": "2027-03-01"},
        headers={**admin, "If-Match": tag},
    )
    assert first.status_code == 200, first.text
    moved = first.headers["etag"]
    assert moved != tag
    before = agreement_views.get_agreement(world.app.uow(), "deal-a")
    entries = len(audit.audit_entries(world.app.uow()))
    stale = world.client.post(
        "/v1/agreements/deal-a/notice",
        json={"by": "operator", "at": "2027-03-02"},
        headers={**admin, "If-Match": tag},
    )
    assert stale.status_code == 412
    assert stale.json()["code"] == "precondition_failed"
    after = agreement_views.get_agreement(world.app.uow(), "deal-a")
    assert after.notice == before.notice and after.history == before.history
    assert len(audit.audit_entries(world.app.uow())) == entries
    assert world.client.get("/v1/agreements/deal-a", headers=admin).headers["etag"] == moved


def test_if_match_star_and_no_if_match_are_taken(world: World) -> None:
    response = world.client.post(
        "/v1/agreements/deal-b/notice",
        json={"by": "tenant"},
        headers={**world.as_("lab-b"), "If-Match": "*"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["notice"]["given_by"] == "tenant"


def test_an_amendment_with_the_current_etag_makes_version_2(world: World) -> None:
    admin = world.as_("admin")
    tag = world.client.get("/v1/agreements/deal-a", headers=admin).headers["etag"]
    terms = factories.agreement_document(
        "deal-a",
        tenant="lab-a",
        capacity={"gpus": 16, "gpu_model": "H100"},
        monthly_fee=Decimal("1100000.00"),
    )
    body = as_json({"terms": terms, "effective_from": "2027-06-01", "note": "more"})
    response = world.client.post(
        "/v1/agreements/deal-a/amend", content=body, headers={**admin, "If-Match": tag}
    )
    assert response.status_code == 200, response.text
    versions = response.json()["agreement"]["versions"]
    assert [(v["number"], v["monthly_fee"]) for v in versions] == [
        (1, "1000000.00"), (2, "1100000.00")
    ]  # fmt: skip
    again = world.client.post(
        "/v1/agreements/deal-a/amend", content=body, headers={**admin, "If-Match": tag}
    )
    assert again.status_code == 412
