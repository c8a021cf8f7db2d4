"""The outbox on each database: every event kind is written in the transaction of its
change, and a change refused or rolled back writes none; the scan is idempotent. Amounts
and dates worked by hand from the reference deal (memphis-lease)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.domain.agreements.model import Party
from neocloud.domain.events.model import EventKind, RecordedEvent
from neocloud.domain.events.schedule import due
from neocloud.domain.kernel.errors import InvalidInput, InvalidTransition
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreement_views, agreements, billing, events, webhooks
from neocloud.services.context import Context
from tests import factories
from tests.conftest import EXAMPLES
from tests.scenarios.test_deal_life import site

SIGNED = datetime(2026, 5, 3, 19, tzinfo=UTC)  # 14:00 CDT
JUNE_2 = datetime(2026, 6, 2, 12, tzinfo=UTC)


def setup(app: App, clock: FixedClock) -> Context:
    ctx = Context("finance", clock, wall=clock)
    site(app, "memphis-1")
    agreements.create_agreement(
        app.uow(), ctx, read_document(EXAMPLES / "agreements" / "memphis-lease.yaml")
    )
    return ctx


def kinds(app: App, since: int = 0) -> list[str]:
    return [e.event.kind.value for e in events.list_events(app.uow(), since=since)]


def last_id(app: App) -> int:
    found = events.list_events(app.uow(), limit=1000)
    return found[-1].id if found else 0


def one(app: App, kind: EventKind) -> RecordedEvent:
    (found,) = events.list_events(app.uow(), kind=kind)
    return found


def test_every_kind_is_written_with_its_change(app: App) -> None:
    clock = FixedClock(datetime(2026, 5, 3, 20, tzinfo=UTC))
    ctx = setup(app, clock)
    assert kinds(app) == []  # a draft reports nothing
    agreements.sign_agreement(app.uow(), ctx, "memphis-lease", SIGNED)
    assert kinds(app) == ["agreement.signed", "agreement.ramp_milestone"]
    signed = one(app, EventKind.AGREEMENT_SIGNED)
    assert signed.event.occurred_at == SIGNED and signed.recorded_at == clock.now()
    assert signed.event.tenant == "frontier-lab" and signed.event.payload["monthly_fee"] == (
        "1250000000.00"
    )

    clock.instant = JUNE_2
    mark = last_id(app)
    billing.close_month(app.uow(), ctx, "2026-05")
    # May at the ramp's half price: 1,250,000,000.00 x 0.5; the close also finds June's tranche
    assert kinds(app, mark) == ["agreement.ramp_milestone", "invoice.issued"]
    invoice = one(app, EventKind.INVOICE_ISSUED)
    assert invoice.event.payload == {
        "number": "INV-neocloud-000001",
        "period": "2026-05",
        "refers_to": None,
        "total": "625000000.00",
        "currency": "USD",
        "final": False,
    }

    mark = last_id(app)
    billing.issue_credit_note(
        app.uow(), ctx, "INV-neocloud-000001", factories.usd("1000.00"), "goodwill"
    )
    assert kinds(app, mark) == ["credit_note.issued"]
    assert one(app, EventKind.CREDIT_NOTE_ISSUED).event.payload["total"] == "-1000.00"

    # 97 % in May: below 99 %, a 10 % credit of 625,000,000.00 re-billed by a note
    mark = last_id(app)
    agreements.record_availability(app.uow(), ctx, "memphis-lease", "2026-05", Decimal("0.97"))
    assert kinds(app, mark) == ["agreement.sla_breached", "credit_note.issued"]
    new = events.list_events(app.uow(), since=mark)
    assert new[1].event.payload["total"] == "-62500000.00"
    assert new[0].event.payload == {
        "period": "2026-05",
        "availability_ratio": "0.97",
        "availability_target": "0.99",
        "credit_share": "0.10",
        "source": "manual",
    }
    # back up to 99.5 %: no breach, and the credit is billed back by a debit note
    mark = last_id(app)
    agreements.record_availability(app.uow(), ctx, "memphis-lease", "2026-05", Decimal("0.995"))
    assert kinds(app, mark) == ["debit_note.issued"]
    assert events.list_events(app.uow(), since=mark)[0].event.payload["total"] == "62500000.00"

    mark = last_id(app)
    given = datetime(2026, 6, 2, 11, tzinfo=UTC)
    agreements.give_notice(app.uow(), ctx, "memphis-lease", by=Party.TENANT, at=given)
    # 90 days' notice: effective 2026-08-31 06:00 CDT (11:00Z); "in 90 days" is due at once
    assert kinds(app, mark) == ["agreement.notice_given", "agreement.notice_effective_soon"]
    notice = one(app, EventKind.NOTICE_GIVEN)
    assert notice.event.payload == {
        "given_by": "tenant",
        "given_at": "2026-06-02T11:00:00Z",
        "effective_at": "2026-08-31T11:00:00Z",
    }


def test_a_refused_change_writes_no_event(app: App) -> None:
    clock = FixedClock(JUNE_2)
    ctx = setup(app, clock)
    with pytest.raises(InvalidInput):  # signed tomorrow: refused
        agreements.sign_agreement(app.uow(), ctx, "memphis-lease", datetime(2026, 6, 3, tzinfo=UTC))
    assert kinds(app) == []
    agreements.sign_agreement(app.uow(), ctx, "memphis-lease", SIGNED)
    mark = last_id(app)
    with pytest.raises(InvalidTransition):
        agreements.sign_agreement(app.uow(), ctx, "memphis-lease", SIGNED)
    billing.close_month(app.uow(), ctx, "2026-05")
    mark = last_id(app)
    with pytest.raises(InvalidInput):  # more than the invoice's 625,000,000.00
        billing.issue_credit_note(
            app.uow(), ctx, "INV-neocloud-000001", factories.usd("700000000.00"), "too much"
        )
    with pytest.raises(InvalidInput):  # availability above 1
        agreements.record_availability(app.uow(), ctx, "memphis-lease", "2026-05", Decimal("2"))
    report = billing.close_month(app.uow(), ctx, "2026-06")  # June has not ended
    assert "memphis-lease" in report.failed
    assert last_id(app) == mark


def test_an_event_is_undone_with_its_transaction(app: App) -> None:
    """Written, with its delivery, then the unit fails before commit: neither stays."""
    clock = FixedClock(JUNE_2)
    ctx = setup(app, clock)
    webhooks.add_webhook(app.uow(), ctx, url="http://127.0.0.1:9/hook")
    agreements.sign_agreement(app.uow(), ctx, "memphis-lease", SIGNED)
    before = last_id(app), len(webhooks.list_deliveries(app.uow()))
    assert before[1] == before[0] == 3  # signed, tranches of May 1 and June 1
    deal = agreement_views.get_agreement(app.uow(), "memphis-lease")
    fact = due(deal, datetime(2026, 7, 2, tzinfo=UTC))[-1]  # July's tranche, not yet recorded
    with pytest.raises(RuntimeError), app.uow().write() as uow:
        assert events.record(uow, ctx, fact) is not None
        raise RuntimeError("the change fails after its event was written")
    assert (last_id(app), len(webhooks.list_deliveries(app.uow()))) == before


def test_the_scan_is_idempotent(app: App) -> None:
    """Scanned at the term's end: three tranches (the first recorded at signature), the
    term ending in 90, 30 and 7 days, and ended. Scanned again: nothing new."""
    clock = FixedClock(datetime(2026, 5, 3, 20, tzinfo=UTC))
    ctx = setup(app, clock)
    agreements.sign_agreement(app.uow(), ctx, "memphis-lease", SIGNED)
    clock.instant = datetime(2029, 6, 1, 5, tzinfo=UTC)
    new = events.scan(app.uow(), ctx)
    assert [(e.event.kind.value, e.event.occurred_at) for e in new] == [
        ("agreement.ramp_milestone", datetime(2026, 6, 1, 5, tzinfo=UTC)),
        ("agreement.ramp_milestone", datetime(2026, 7, 1, 5, tzinfo=UTC)),
        ("agreement.term_ending", datetime(2029, 3, 3, 6, tzinfo=UTC)),
        ("agreement.term_ending", datetime(2029, 5, 2, 5, tzinfo=UTC)),
        ("agreement.term_ending", datetime(2029, 5, 25, 5, tzinfo=UTC)),
        ("agreement.term_ended", datetime(2029, 6, 1, 5, tzinfo=UTC)),
    ]
    assert events.scan(app.uow(), ctx) == []
    assert len(events.list_events(app.uow())) == 8  # with signed and the May tranche


def test_filters(app: App) -> None:
    clock = FixedClock(JUNE_2)
    ctx = setup(app, clock)
    agreements.sign_agreement(app.uow(), ctx, "memphis-lease", SIGNED)
    all_ = events.list_events(app.uow())
    assert [e.id for e in all_] == [1, 2, 3]
    assert [e.id for e in events.list_events(app.uow(), since=1, limit=1)] == [2]
    assert events.list_events(app.uow(), tenant="other-lab") == []
    assert len(events.list_events(app.uow(), tenant="frontier-lab")) == 3
    assert len(events.list_events(app.uow(), kind=EventKind.RAMP_MILESTONE)) == 2
    assert events.get_event(app.uow(), 2) == all_[1]
    for bad in ({"limit": 0}, {"limit": 1001}, {"since": -1}):
        with pytest.raises(InvalidInput):
            events.list_events(app.uow(), **bad)  # type: ignore[arg-type]
