"""``/v1/events`` and ``/v1/webhooks``: a tenant sees and manages its own tenant's only;
its webhooks are bound to it and must name a public host; the secret is shown once; the
delivery log per webhook; cursor pagination in id order."""

from __future__ import annotations

import pytest

from neocloud.services import events
from tests.api.conftest import World

PUBLIC = "https://hooks.lab-a.example/neocloud"


def walk(world: World, path: str, who: str) -> list[dict[str, object]]:
    """Every item of a list, page by page along ``next``."""
    items: list[dict[str, object]] = []
    link: str | None = path
    while link is not None:
        response = world.client.get(link, headers=world.as_(who))
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        link = response.json()["next"]
    return items


def test_a_tenant_lists_its_own_events_page_by_page(world: World) -> None:
    own = [e.id for e in events.list_events(world.app.uow(), tenant="lab-a", limit=1000)]
    assert own == world.events["lab-a"] and len(own) >= 3  # signed, ramp, two invoices
    paged = walk(world, "/v1/events?limit=1", "lab-a")
    assert [e["id"] for e in paged] == own
    assert {e["tenant"] for e in paged} == {"lab-a"}
    every = walk(world, "/v1/events?limit=2", "auditor")
    assert [e["id"] for e in every] == sorted(world.events["lab-a"] + world.events["lab-b"])
    after = walk(world, f"/v1/events?since={own[0]}", "lab-a")
    assert [e["id"] for e in after] == own[1:]
    issued = walk(world, "/v1/events?kind=invoice.issued", "lab-a")
    assert [e["data"]["number"] for e in issued] == world.invoices["deal-a"]  # type: ignore[index]
    assert walk(world, "/v1/events?agreement=deal-b", "lab-a") == []


def test_bad_event_filters_are_named(world: World) -> None:
    a = world.as_("lab-a")
    for query, field in (
        ("kind=invoice.paid", "kind"),
        ("since=-1", "since"),
        ("cursor=x", "cursor"),
    ):
        response = world.client.get(f"/v1/events?{query}", headers=a)
        assert response.status_code == 422, (query, response.text)
        assert response.json()["errors"][0]["field"] == field


def test_another_tenants_event_and_webhook_read_like_missing_ones(world: World) -> None:
    a = world.as_("lab-a")
    b_event, b_hook = world.events["lab-b"][0], world.webhooks["lab-b"]
    for foreign, missing in (
        (f"/v1/events/{b_event}", "/v1/events/999999"),
        (f"/v1/webhooks/{b_hook}", "/v1/webhooks/999999"),
        (f"/v1/webhooks/{b_hook}/deliveries", "/v1/webhooks/999999/deliveries"),
        (f"/v1/webhooks/{world.webhooks['operator']}", "/v1/webhooks/999999"),
    ):
        one, other = world.client.get(foreign, headers=a), world.client.get(missing, headers=a)
        assert one.status_code == other.status_code == 404, (foreign, one.text)
        number = foreign.split("/")[3]
        assert one.json()["detail"].replace(number, "?") == other.json()["detail"].replace(
            "999999", "?"
        )
    gone = world.client.delete(f"/v1/webhooks/{b_hook}", headers=a)
    assert gone.status_code == 404
    mine = world.client.get(f"/v1/events/{world.events['lab-a'][0]}", headers=a)
    assert mine.status_code == 200 and mine.json()["tenant"] == "lab-a"
    staff = world.client.get(f"/v1/events/{b_event}", headers=world.as_("auditor"))
    assert staff.status_code == 200 and staff.json()["tenant"] == "lab-b"


def test_a_tenants_webhook_is_its_own_and_its_secret_shown_once(world: World) -> None:
    a = world.as_("lab-a")
    made = world.client.post("/v1/webhooks", json={"url": PUBLIC, "kinds": ["credit_note.issued"]},
                             headers=a)  # fmt: skip
    assert made.status_code == 201, made.text
    hook = made.json()
    assert hook["tenant"] == "lab-a" and hook["kinds"] == ["credit_note.issued"]
    assert hook["secret"].startswith("whsec_")
    assert made.headers["location"] == f"/v1/webhooks/{hook['id']}"
    read = world.client.get(f"/v1/webhooks/{hook['id']}", headers=a).json()
    assert "secret" not in read and read["url"] == PUBLIC
    listed = world.client.get("/v1/webhooks", headers=a).json()["items"]
    assert [h["id"] for h in listed] == [hook["id"]]
    staff = world.client.get("/v1/webhooks", headers=world.as_("auditor")).json()["items"]
    assert {h["id"] for h in staff} == {hook["id"], *world.webhooks.values()}

    other = world.client.post("/v1/webhooks", json={"url": PUBLIC, "tenant": "lab-b"}, headers=a)
    assert other.status_code == 403, other.text

    # a credit note on its invoice: one delivery queued to its webhook, in its log
    number = world.invoices["deal-a"][0]
    note = world.client.post(f"/v1/invoices/{number}/credit-notes", headers=world.as_("finance"),
                             json={"amount": "10.00", "reason": "goodwill"})  # fmt: skip
    assert note.status_code == 201, note.text
    log = walk(world, f"/v1/webhooks/{hook['id']}/deliveries", "lab-a")
    (event,) = walk(world, "/v1/events?kind=credit_note.issued", "lab-a")
    assert [(d["event_id"], d["status"], d["attempts"]) for d in log] == [
        (event["id"], "pending", 0)
    ]

    removed = world.client.delete(f"/v1/webhooks/{hook['id']}", headers=a)
    assert removed.status_code == 200, removed.text
    assert removed.json()["abandoned_deliveries"] == 1 and removed.json()["removed_at"]
    again = world.client.delete(f"/v1/webhooks/{hook['id']}", headers=a)
    assert again.status_code == 409
    assert world.client.get("/v1/webhooks", headers=a).json()["items"] == []
    (gave_up,) = walk(world, f"/v1/webhooks/{hook['id']}/deliveries?status=failed", "lab-a")
    assert gave_up["last_error"] == "webhook removed"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8900/hook",
        "http://127.1/hook",
        "http://2130706433/hook",
        "http://0x7f000001/hook",
        "http://[::1]/hook",
        "http://[::ffff:10.0.0.7]/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://localhost:8080/hook",
        "http://api.localhost/hook",
    ],
)
def test_a_tenant_may_not_aim_a_webhook_inside_the_network(world: World, url: str) -> None:
    refused = world.client.post("/v1/webhooks", json={"url": url}, headers=world.as_("lab-a"))
    assert refused.status_code == 422, refused.text
    (problem,) = refused.json()["errors"]
    assert problem["field"] == "url" and problem["value"] == url
    assert "loopback" in problem["message"] or "non-public address" in problem["message"]


def test_staff_may_aim_a_webhook_at_loopback(world: World) -> None:
    for who in ("admin", "operator"):
        made = world.client.post(
            "/v1/webhooks", json={"url": "http://127.0.0.1:8900/hook"}, headers=world.as_(who)
        )
        assert made.status_code == 201, made.text
        assert made.json()["tenant"] is None
    public = world.client.post(
        "/v1/webhooks", json={"url": "https://93.184.216.34/hook"}, headers=world.as_("lab-a")
    )
    assert public.status_code == 201, public.text
