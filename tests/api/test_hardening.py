"""What a security review of the API found, each closed by a test: secrets shown once are
never kept for a replay, a retry with a fresher If-Match is another request, a header that
counts once may be sent once, a body must say it is JSON, idempotency keys are forgotten
after a day and a reservation abandoned by a dead process is taken over."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import text

from neocloud.domain.access.idempotency import NOT_KEPT, StoredResponse
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.services import idempotency
from tests.api.conftest import World, new_deal


def _post(world: World, path: str, body: str, key: str, **extra: str) -> httpx.Response:
    headers = {**world.as_("admin"), "Idempotency-Key": key, **extra}
    response: httpx.Response = world.client.post(path, content=body, headers=headers)
    return response


def _stored_bodies(world: World) -> list[str]:
    with world.app.engine.connect() as conn:
        return [r[0] for r in conn.execute(text("SELECT response_body FROM idempotency_keys"))]


def test_a_new_api_key_is_never_kept_for_a_replay(world: World) -> None:
    body = '{"role": "auditor", "label": "books"}'
    first = _post(world, "/v1/api-keys", body, "new-auditor")
    assert first.status_code == 201
    shown = first.json()["key"]
    assert shown.startswith("nck_")
    assert not any(shown in stored for stored in _stored_bodies(world))
    again = _post(world, "/v1/api-keys", body, "new-auditor")
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["key"] == NOT_KEPT
    assert again.json()["key_id"] == first.json()["key_id"]  # one key made, not two
    listed = world.client.get("/v1/api-keys", headers=world.as_("admin")).json()["items"]
    assert sum(k["label"] == "books" for k in listed) == 1


def test_a_webhook_secret_is_never_kept_for_a_replay(world: World) -> None:
    body = '{"url": "https://hooks.example.com/neocloud", "kinds": []}'
    first = _post(world, "/v1/webhooks", body, "hook-1")
    assert first.status_code == 201
    secret = first.json()["secret"]
    assert len(secret) >= 32
    assert not any(secret in stored for stored in _stored_bodies(world))
    assert _post(world, "/v1/webhooks", body, "hook-1").json()["secret"] == NOT_KEPT


def test_a_retry_with_a_fresher_if_match_is_another_request(world: World) -> None:
    stale = _post(world, "/v1/agreements/deal-a/notice", '{"by": "operator"}', "n1",
                  **{"If-Match": '"stale"'})  # fmt: skip
    assert stale.status_code == 412
    current = world.client.get("/v1/agreements/deal-a", headers=world.as_("admin"))
    fresher = _post(world, "/v1/agreements/deal-a/notice", '{"by": "operator"}', "n1",
                    **{"If-Match": current.headers["etag"]})  # fmt: skip
    assert fresher.status_code == 422  # not a replay of the 412
    assert fresher.json()["errors"][0]["field"] == "Idempotency-Key"


def test_a_header_that_counts_once_is_refused_when_sent_twice(world: World) -> None:
    for name, first, second in (
        ("Authorization", f"Bearer {world.keys['admin']}", "Bearer nck_junk"),
        ("Authorization", "Bearer nck_junk", f"Bearer {world.keys['admin']}"),
    ):
        response = world.client.get("/v1/sites", headers=[(name, first), (name, second)])
        assert response.status_code == 400
        assert response.headers["content-type"] == "application/problem+json"
        assert "authorization header is sent more than once" in response.json()["detail"]


def test_a_body_that_does_not_say_it_is_json_is_415(world: World) -> None:
    auth = {"Authorization": f"Bearer {world.keys['admin']}"}
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded"):
        headers = auth if content_type is None else {**auth, "Content-Type": content_type}
        response = world.client.post("/v1/agreements", content=new_deal("deal-x"), headers=headers)
        assert response.status_code == 415, response.text
        assert response.json()["code"] == "unsupported_media_type"
    assert world.client.get("/v1/agreements/deal-x", headers=auth).status_code == 404
    merged = {**auth, "Content-Type": "application/merge-patch+json; charset=utf-8"}
    assert (
        world.client.post("/v1/agreements", content=new_deal("deal-x"), headers=merged).status_code
        == 201
    )


def test_keys_are_forgotten_after_a_day_and_abandoned_reservations_taken_over(
    world: World,
) -> None:
    t0 = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
    pending = StoredResponse("a" * 64, 0, "", "", t0)
    assert not pending.expired(t0 + timedelta(minutes=9, seconds=59))
    assert pending.expired(t0 + timedelta(minutes=10))
    done = StoredResponse("a" * 64, 201, "{}", "application/json", t0)
    assert not done.expired(t0 + timedelta(hours=23, minutes=59, seconds=59))
    assert done.expired(t0 + timedelta(hours=24))
    key_id = world.keys["admin"].split("_")[1]
    uow = world.app.uow
    assert idempotency.recall_or_reserve(uow(), key_id, "k", "a" * 64, t0) is None
    # a process died holding the key: ten minutes on, the same request runs again
    assert (
        idempotency.recall_or_reserve(uow(), key_id, "k", "a" * 64, t0 + timedelta(minutes=10))
        is None
    )
    # a day after an answer, the key is free for another request
    answer = StoredResponse("a" * 64, 201, "{}", "application/json", t0 + timedelta(minutes=10))
    idempotency.remember(uow(), key_id, "k", answer)
    within = t0 + timedelta(minutes=10, hours=23)
    with pytest.raises(InvalidInput, match="another request"):  # within the day: refused
        idempotency.recall_or_reserve(uow(), key_id, "k", "b" * 64, within)
    later = t0 + timedelta(minutes=10, hours=24)
    assert idempotency.recall_or_reserve(uow(), key_id, "k", "b" * 64, later) is None


def test_money_in_exponent_form_is_refused_naming_the_field(world: World) -> None:
    number = world.invoices["deal-a"][0]
    for amount in ("1E2", "1e+2", "-100.00", "+100"):
        response = world.client.post(
            f"/v1/invoices/{number}/credit-notes",
            content=f'{{"amount": "{amount}", "reason": "goodwill"}}',
            headers=world.as_("finance"),
        )
        assert response.status_code == 422, amount
        (error,) = response.json()["errors"]
        assert (error["field"], error["value"]) == ("amount", amount)
    notes = world.client.get("/v1/invoices", headers=world.as_("finance")).json()["items"]
    assert not any(n["kind"] == "credit_note" for n in notes)


def test_a_bare_date_in_whatif_is_midnight_where_the_site_is(world: World) -> None:
    ask = {"gpus": "16", "model": "H100", "months": "3"}
    bare = world.client.get("/v1/sites/test-1/whatif", params={**ask, "from": "2027-06-01"},
                            headers=world.as_("operator"))  # fmt: skip
    # test-1 is in America/Chicago: midnight on 1 June 2027 is 05:00 UTC (CDT)
    explicit = world.client.get(
        "/v1/sites/test-1/whatif", params={**ask, "from": "2027-06-01T00:00:00-05:00"},
        headers=world.as_("operator"),
    )  # fmt: skip
    assert bare.status_code == explicit.status_code == 200, bare.text
    assert bare.json() == explicit.json()


def test_an_api_key_error_names_the_request_field(world: World) -> None:
    response = world.client.post(
        "/v1/api-keys",
        content='{"role": "auditor", "label": "x", "expires_at": "2020-01-01"}',
        headers=world.as_("admin"),
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "expires_at"
    unknown = world.client.post(
        "/v1/api-keys",
        content='{"role": "tenant", "tenant": "nobody-corp", "label": "x"}',
        headers=world.as_("admin"),
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["value"] == "nobody-corp"


def test_closing_a_month_that_has_not_ended_is_refused(world: World) -> None:
    before = world.client.get("/v1/invoices", headers=world.as_("finance")).json()["items"]
    response = world.client.post(
        "/v1/billing/close", content='{"period": "2027-03"}', headers=world.as_("finance")
    )  # the business clock is at 2 March 2027
    assert 400 <= response.status_code < 500, response.text
    body = response.json()
    assert body["detail"].startswith("nothing invoiced for 2027-03: deal-a: ")
    assert "deal-b: " in body["detail"]
    after = world.client.get("/v1/invoices", headers=world.as_("finance")).json()["items"]
    assert after == before
    # a month already closed is still answered 200: nothing new, nothing failed
    again = world.client.post(
        "/v1/billing/close", content='{"period": "2027-02"}', headers=world.as_("finance")
    )
    assert again.status_code == 200
    assert sorted(again.json()["already_issued"]) == ["deal-a", "deal-b"]


def test_a_missing_field_is_named_with_no_value(world: World) -> None:
    number = world.invoices["deal-a"][0]
    response = world.client.post(
        f"/v1/invoices/{number}/credit-notes", content='{"reason": "goodwill"}',
        headers=world.as_("finance"),
    )  # fmt: skip
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (error["field"], error["value"], error["location"]) == ("amount", None, "body")


def test_a_webhook_url_with_a_malformed_host_is_422_not_500(world: World) -> None:
    for who in ("admin", "lab-b"):
        response = world.client.post(
            "/v1/webhooks", content='{"url": "http://[::1/", "kinds": []}', headers=world.as_(who)
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "url"
