"""Webhook deliveries on each database, to a real HTTP receiver on loopback that verifies
every signature: a receiver down for an hour of the worker's (injected) clock loses
nothing and gets each event once; a slow one is retried and never holds billing up; a
tenant's webhook gets only that tenant's events. Nothing here sleeps: the clock is stepped
(the slow receiver's test lets a real 0.2 s timeout run out, which is not a sleep)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.adapters.webhooks import HttpxWebhookSender
from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.domain.events.webhooks import DeliveryStatus
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import Conflict, InvalidInput
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreements, billing, events, webhooks
from neocloud.services.context import Context
from tests import factories
from tests.conftest import EXAMPLES
from tests.scenarios.test_deal_life import site
from tests.webhook_receiver import Receiver

T0 = datetime(2026, 6, 2, 12, tzinfo=UTC)
SIGNED = datetime(2026, 5, 3, 19, tzinfo=UTC)
STEP = timedelta(seconds=30)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


@pytest.fixture
def receiver(clock: FixedClock) -> Iterator[Receiver]:
    found = Receiver(now=clock.now)
    found.start()
    yield found
    found.release.set()
    found.stop()


@pytest.fixture
def sender() -> Iterator[HttpxWebhookSender]:
    made = HttpxWebhookSender(timeout_s=5.0)
    yield made
    made.close()


def memphis(app: App, ctx: Context) -> None:
    """The reference deal signed on 2026-05-03; at T0 (June 2) that writes three events:
    signed, and the tranches of May 1 and June 1."""
    site(app, "memphis-1")
    doc = read_document(EXAMPLES / "agreements" / "memphis-lease.yaml")
    agreements.create_agreement(app.uow(), ctx, doc)
    agreements.sign_agreement(app.uow(), ctx, "memphis-lease", SIGNED)


def hook(app: App, ctx: Context, receiver: Receiver, path: str, **options: object) -> int:
    made, secret = webhooks.add_webhook(
        app.uow(),
        ctx,
        url=receiver.base + path,
        **options,  # type: ignore[arg-type]
    )
    receiver.secrets[path] = secret
    return made.id


def deliver(app: App, sender: HttpxWebhookSender, clock: FixedClock) -> webhooks.DeliveryPass:
    return webhooks.deliver_due(app.uow(), sender, clock)


def test_a_receiver_down_for_an_hour_loses_no_event(
    app: App, clock: FixedClock, receiver: Receiver, sender: HttpxWebhookSender
) -> None:
    """Four events (signed, two tranches, May's invoice), the receiver's port closed from
    T0 to T0 + 1 h. Attempts at 0, 30, 90, 210, 450, 930 and 1890 s are refused (the waits
    double from 30 s); the 8th is due at 1890 + 1920 = 3810 s, after the receiver is back
    at 3600 s: each event arrives then, once, signed."""
    ctx = Context("finance", clock, wall=clock)
    hook_id = hook(app, ctx, receiver, "/ops")
    receiver.stop()
    memphis(app, ctx)
    billing.close_month(app.uow(), ctx, "2026-05")
    ids = [str(e.id) for e in events.list_events(app.uow())]
    assert len(ids) == 4
    while clock.now() < T0 + timedelta(hours=1):
        done = deliver(app, sender, clock)
        assert done.delivered == 0 and done.failed == 0
        clock.advance(STEP)
    log = webhooks.list_deliveries(app.uow(), webhook_id=hook_id)
    assert [(d.status, d.attempts) for d in log] == [(DeliveryStatus.PENDING, 7)] * 4
    assert {d.last_attempt_at for d in log} == {T0 + timedelta(seconds=1890)}
    assert {d.next_attempt_at for d in log} == {T0 + timedelta(seconds=3810)}
    assert all(d.last_status_code is None and "ConnectError" in str(d.last_error) for d in log)

    receiver.start()  # the same port, an hour after it went down
    while clock.now() < T0 + timedelta(hours=3):
        deliver(app, sender, clock)
        clock.advance(STEP)
    assert sorted(receiver.event_ids()) == sorted(ids)  # each event once, none lost
    assert all(r.verified for r in receiver.received)
    assert [r.attempt for r in receiver.received] == ["8"] * 4
    assert {r.document["id"] for r in receiver.received} == {int(i) for i in ids}
    log = webhooks.list_deliveries(app.uow(), webhook_id=hook_id)
    assert {(d.status, d.attempts, d.last_status_code) for d in log} == {
        (DeliveryStatus.DELIVERED, 8, 204)
    }
    assert {d.delivered_at for d in log} == {T0 + timedelta(seconds=3810)}
    assert webhooks.list_deliveries(app.uow(), status=DeliveryStatus.PENDING) == []


def test_a_receiver_that_answers_500_is_given_up_after_a_day(
    app: App, clock: FixedClock, receiver: Receiver, sender: HttpxWebhookSender
) -> None:
    """31 attempts, the last 86,610 s after the first (domain rule), then failed."""
    ctx = Context("finance", clock, wall=clock)
    receiver.status = 500
    hook(app, ctx, receiver, "/ops", kinds=["agreement.signed"])
    memphis(app, ctx)
    passes = 0
    while (due := webhooks.list_deliveries(app.uow())[0].next_attempt_at) is not None:
        clock.instant = due  # straight to the next attempt: 31 passes, not 3,000
        deliver(app, sender, clock)
        passes += 1
    assert passes == 31
    (log,) = webhooks.list_deliveries(app.uow())
    assert (log.status, log.attempts, log.last_status_code) == (DeliveryStatus.FAILED, 31, 500)
    assert log.last_attempt_at == T0 + timedelta(seconds=86610)
    assert len(receiver.received) == 31 and all(r.verified for r in receiver.received)


def test_a_slow_receiver_is_retried(app: App, clock: FixedClock, receiver: Receiver) -> None:
    """It holds the first request past the sender's 0.2 s timeout: the attempt is logged as
    timed out and retried 30 s later; the receiver sees the event id twice (it dedupes)."""
    ctx = Context("finance", clock, wall=clock)
    hook(app, ctx, receiver, "/slow", kinds=["agreement.signed"])
    memphis(app, ctx)
    receiver.hold = True
    quick = HttpxWebhookSender(timeout_s=0.2)
    try:
        first = deliver(app, quick, clock)
        (attempt,) = first.attempted
        assert attempt.status is DeliveryStatus.PENDING and "timed out" in str(attempt.last_error)
        assert attempt.next_attempt_at == T0 + STEP
        receiver.hold = False
        receiver.release.set()
        assert deliver(app, quick, clock).attempted == []  # not due yet
        clock.advance(STEP)
        (second,) = deliver(app, quick, clock).attempted
    finally:
        quick.close()
    assert (second.status, second.attempts) == (DeliveryStatus.DELIVERED, 2)
    assert receiver.event_ids() == ["1", "1"] and all(r.verified for r in receiver.received)


def test_a_delivery_in_flight_never_holds_billing_up(
    app: App, clock: FixedClock, receiver: Receiver, sender: HttpxWebhookSender
) -> None:
    """While the worker waits on a receiver that does not answer, May is closed and its
    invoice issued; the worker then finishes."""
    ctx = Context("finance", clock, wall=clock)
    hook(app, ctx, receiver, "/slow")
    memphis(app, ctx)
    receiver.hold = True
    worker = threading.Thread(target=deliver, args=(app, sender, clock))
    worker.start()
    try:
        assert receiver.arrived.wait(10)
        report = billing.close_month(app.uow(), ctx, "2026-05")
        assert [i.number for i in report.issued] == ["INV-neocloud-000001"]
        assert worker.is_alive()  # still waiting on the receiver
    finally:
        receiver.release.set()
        worker.join(10)
    assert not worker.is_alive()
    receiver.hold = False
    deliver(app, sender, clock)  # the invoice's delivery, queued with it
    assert [d.status for d in webhooks.list_deliveries(app.uow())] == [DeliveryStatus.DELIVERED] * 4


def two_tenants(app: App, ctx: Context) -> None:
    (built,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=4)))
    with app.uow().write() as uow:
        uow.sites.add(built)
        uow.commit()
    for key, tenant in (("deal-a", "lab-a"), ("deal-b", "lab-b")):
        doc = factories.agreement_document(
            key,
            tenant=tenant,
            capacity={"facility_mw": Decimal(1)},
            term={"start": "2026-05-01", "end": "2027-05-01"},
        )
        agreements.create_agreement(app.uow(), ctx, SourceDocument(f"{key}.yaml", doc))


def test_a_tenants_webhook_gets_only_that_tenants_events(
    app: App, clock: FixedClock, receiver: Receiver, sender: HttpxWebhookSender
) -> None:
    ctx = Context("ops", clock, wall=clock)
    two_tenants(app, ctx)
    a = hook(app, ctx, receiver, "/a", tenant="lab-a")
    b = hook(app, ctx, receiver, "/b", tenant="lab-b")
    hook(app, ctx, receiver, "/ops")
    b_invoices = hook(app, ctx, receiver, "/b-invoices", tenant="lab-b", kinds=["invoice.issued"])
    agreements.sign_agreement(app.uow(), ctx, "deal-a", SIGNED)  # signed, May's start
    deliver(app, sender, clock)
    a_events = [str(e.id) for e in events.list_events(app.uow(), tenant="lab-a")]
    assert len(a_events) == 2
    assert receiver.event_ids("/a") == a_events and receiver.event_ids("/ops") == a_events
    assert receiver.event_ids("/b") == [] and receiver.event_ids("/b-invoices") == []

    agreements.sign_agreement(app.uow(), ctx, "deal-b", SIGNED)
    billing.close_month(app.uow(), ctx, "2026-05")  # one invoice each
    deliver(app, sender, clock)
    b_events = events.list_events(app.uow(), tenant="lab-b")
    assert [e.event.kind.value for e in b_events] == [
        "agreement.signed", "agreement.ramp_milestone", "invoice.issued",
    ]  # fmt: skip
    assert receiver.event_ids("/b") == [str(e.id) for e in b_events]
    assert receiver.event_ids("/b-invoices") == [str(b_events[-1].id)]
    a_events = [str(e.id) for e in events.list_events(app.uow(), tenant="lab-a")]
    assert receiver.event_ids("/a") == a_events and len(a_events) == 3
    assert sorted(receiver.event_ids("/ops"), key=int) == sorted(
        a_events + receiver.event_ids("/b"), key=int
    )
    for r in receiver.received:
        assert r.verified
        assert r.document["tenant"] == {"/a": "lab-a", "/ops": r.document["tenant"]}.get(
            r.path, "lab-b"
        )
    # the delivery log, read for a tenant, shows only its webhooks' deliveries
    b_log = webhooks.list_deliveries(app.uow(), tenant="lab-b")
    assert {d.webhook_id for d in b_log} == {b, b_invoices} and len(b_log) == 4
    assert {d.webhook_id for d in webhooks.list_deliveries(app.uow(), tenant="lab-a")} == {a}


def test_webhook_add_list_remove(
    app: App, clock: FixedClock, receiver: Receiver, sender: HttpxWebhookSender
) -> None:
    ctx = Context("ops", clock, wall=clock)
    made, secret = webhooks.add_webhook(
        app.uow(), ctx, url="https://hooks.example.com/n", tenant="lab-a", kinds=["invoice.issued"]
    )
    assert secret.startswith("whsec_") and len(secret) == 6 + 43
    assert webhooks.list_webhooks(app.uow()) == [made]
    assert webhooks.list_webhooks(app.uow(), tenant="lab-b") == []
    for bad in (
        {"url": "https://u:p@example.com/"},
        {"url": "ftp://example.com/"},
        {"url": "https://example.com/", "kinds": ["invoice.paid"]},
        {"url": "https://example.com/", "tenant": "bad tenant"},
    ):
        with pytest.raises(InvalidInput):
            webhooks.add_webhook(app.uow(), ctx, **bad)
    assert len(webhooks.list_webhooks(app.uow())) == 1  # nothing else written
    # a removed webhook's pending deliveries are given up, and it gets nothing more
    ops = hook(app, ctx, receiver, "/ops")
    memphis(app, ctx)
    removed = webhooks.remove_webhook(app.uow(), ctx, ops)
    assert removed.abandoned == 3 and removed.webhook.removed_at == T0
    assert deliver(app, sender, clock).attempted == []
    assert {d.status for d in webhooks.list_deliveries(app.uow())} == {DeliveryStatus.FAILED}
    with pytest.raises(Conflict):
        webhooks.remove_webhook(app.uow(), ctx, ops)
    assert [h.id for h in webhooks.list_webhooks(app.uow(), removed=True)] == [made.id, ops]
    with app.uow() as uow:
        actions = [e.action for e in uow.audit.entries("webhook")]
    assert actions == ["webhook.add", "webhook.add", "webhook.remove"]
