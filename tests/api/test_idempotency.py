"""Idempotency-Key on POST: the same request again replays the first answer and creates
nothing; another request under the same key is refused; two at once create one object."""

from __future__ import annotations

import threading

import httpx

from neocloud.services import agreement_views, billing
from tests.api.conftest import World, new_deal


def _post(world: World, path: str, body: str, key: str, who: str = "admin") -> httpx.Response:
    headers = {**world.as_(who), "Idempotency-Key": key, "Content-Type": "application/json"}
    response: httpx.Response = world.client.post(path, content=body, headers=headers)
    return response


def test_the_same_post_twice_creates_one_agreement(world: World) -> None:
    first = _post(world, "/v1/agreements", new_deal("deal-c"), "create-deal-c")
    again = _post(world, "/v1/agreements", new_deal("deal-c"), "create-deal-c")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    keys = [a.key for a in agreement_views.list_agreements(world.app.uow())]
    assert keys == ["deal-a", "deal-b", "deal-c"]


def test_without_a_key_the_second_post_is_a_conflict(world: World) -> None:
    headers = world.as_("admin")
    assert (
        world.client.post("/v1/agreements", content=new_deal(), headers=headers).status_code == 201
    )
    assert (
        world.client.post("/v1/agreements", content=new_deal(), headers=headers).status_code == 409
    )


def test_another_request_under_the_same_key_is_422_and_runs_nothing(world: World) -> None:
    assert _post(world, "/v1/agreements", new_deal("deal-c"), "k1").status_code == 201
    other = _post(world, "/v1/agreements", new_deal("deal-d"), "k1")
    assert other.status_code == 422
    (error,) = other.json()["errors"]
    assert (error["field"], error["value"]) == ("Idempotency-Key", "k1")
    assert not any(a.key == "deal-d" for a in agreement_views.list_agreements(world.app.uow()))
    # the same body to another path is another request too
    assert _post(world, "/v1/agreements/deal-a/notice", new_deal("deal-c"), "k1").status_code == 422


def test_keys_belong_to_the_api_key_that_used_them(world: World) -> None:
    body = '{"amount": "10.00", "reason": "goodwill"}'
    number = world.invoices["deal-a"][0]
    path = f"/v1/invoices/{number}/credit-notes"
    first = _post(world, path, body, "same", who="admin")
    second = _post(world, path, body, "same", who="finance")
    assert first.status_code == second.status_code == 201
    assert first.json()["number"] != second.json()["number"]  # two callers, two notes


def test_a_refusal_is_replayed_too(world: World) -> None:
    body = '{"amount": "99999999999.00", "reason": "too much"}'
    path = f"/v1/invoices/{world.invoices['deal-a'][0]}/credit-notes"
    first, again = _post(world, path, body, "big"), _post(world, path, body, "big")
    assert first.status_code == again.status_code == 422
    assert first.content == again.content


def test_a_malformed_key_is_422(world: World) -> None:
    response = _post(world, "/v1/agreements", new_deal(), "x" * 201)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "Idempotency-Key"


def test_two_posts_at_once_with_one_key_create_one_credit_note(world: World) -> None:
    """Eight threads send the same credit note under one key through a real connection
    pool: one note is issued; the others replay it or are told it is still running."""
    number = world.invoices["deal-b"][0]
    path = f"/v1/invoices/{number}/credit-notes"
    body = '{"amount": "1.00", "reason": "one cent of goodwill"}'
    barrier = threading.Barrier(8)
    answers: list[httpx.Response] = []

    def send() -> None:
        barrier.wait()
        answers.append(_post(world, path, body, "together"))

    threads = [threading.Thread(target=send) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    created = {a.json()["number"] for a in answers if a.status_code == 201}
    assert len(created) == 1
    assert {a.status_code for a in answers} <= {201, 409}
    notes = [i for i in billing.list_invoices(world.app.uow()) if i.refers_to == number]
    assert [n.number for n in notes] == list(created)
