"""A deal's life, walked month by month on each database the way finance lives it: sign,
commission along a ramp, bill with prepayment and SLA credits, amend, give notice (on time
and backdated), terminate. Every cent is worked out here from the contract's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from neocloud.adapters.yamlfile import read_document
from neocloud.bootstrap import App
from neocloud.domain.agreements.model import Party, Status
from neocloud.domain.billing.drafts import LineKind
from neocloud.domain.billing.invoices import DocumentKind, IssuedInvoice
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreement_views, agreements, billing
from neocloud.services.context import Context
from tests import factories
from tests.conftest import EXAMPLES

CENT = Decimal("0.01")
FEE = Decimal("1250000000.00")


def site(app: App, name: str) -> None:
    site_300_mw = factories.site_document(name, facility_capacity_mw=Decimal(300))
    (built,) = parse_fleet(factories.fleet(site_300_mw))
    with app.uow().write() as uow:
        uow.sites.add(built)
        uow.commit()


def lines(invoice: IssuedInvoice) -> dict[LineKind, Decimal]:
    out: dict[LineKind, Decimal] = {}
    for line in invoice.lines:
        out[line.kind] = out.get(line.kind, Decimal(0)) + line.amount
    return out


def test_reference_deal_with_the_tenants_notice_on_2027_02_10(app: App) -> None:
    """Notice at 15:30 Chicago time on 2027-02-10 (CST, UTC-6) takes effect at 15:30 Chicago
    time 90 calendar days later, 2027-05-11, in daylight time (CDT, UTC-5): 20:30Z, not
    21:30Z (which 90 x 24 h would give, billing an hour too much)."""
    clock = FixedClock(datetime(2027, 2, 11, 12, tzinfo=UTC))
    ctx = Context("finance", clock)
    site(app, "memphis-1")
    agreements.create_agreement(
        app.uow(), ctx, read_document(EXAMPLES / "agreements" / "memphis-lease.yaml")
    )
    agreements.sign_agreement(app.uow(), ctx, "memphis-lease", datetime(2026, 5, 3, 14, tzinfo=UTC))
    billing.close_month(app.uow(), ctx, "2027-01")
    given = datetime(2027, 2, 10, 21, 30, tzinfo=UTC)  # 15:30 CST
    notice = agreements.give_notice(app.uow(), ctx, "memphis-lease", by=Party.TENANT, at=given)
    assert notice.corrections == []  # nothing invoiced lies after the effective instant
    assert notice.notice.effective_at == datetime(2027, 5, 11, 20, 30, tzinfo=UTC)  # 15:30 CDT
    assert notice.notice.effective_at == given + timedelta(days=90) - timedelta(hours=1)
    clock.instant = datetime(2027, 7, 2, tzinfo=UTC)
    billing.close_month(app.uow(), ctx, "2027-06")
    invoices = billing.list_invoices(app.uow())
    assert [i.period for i in invoices][-1] == "2027-05" and invoices[-1].final
    assert len(invoices) == 13  # May 2026 to May 2027
    # May and June 2026 at the assumed half price; July 2026 to April 2027 in full (10
    # months); May 2027 from May 1 00:00 CDT to May 11 15:30 CDT: 10 days 15.5 hours of 31
    # days, i.e. 919,800 of 2,678,400 seconds: 1,250,000,000 x 919,800 / 2,678,400 =
    # 429,267,473.118... -> 429,267,473.12
    may_2027 = Decimal("429267473.12")
    assert invoices[-1].total.amount == may_2027
    expected = 2 * FEE / 2 + 10 * FEE + may_2027
    assert expected == Decimal("14179267473.12")
    assert sum(i.total.amount for i in invoices) == expected
    value = agreement_views.value_agreement(app.uow(), ctx, "memphis-lease")
    assert value.billed_to_date.amount == value.contracted_total.amount == expected
    assert agreement_views.get_agreement(app.uow(), "memphis-lease").status is Status.TERMINATED


def deal_document() -> dict[str, object]:
    """USD 2,000,000.00 a month for 2027-2028: January at half price while half the capacity
    is commissioned, 3 % a contract year, 10 % prepaid, a 99 % SLA, a termination fee of
    USD 5,000,000.00 if the tenant gives notice."""
    return factories.agreement_document(
        "life",
        monthly_fee=Decimal("2000000.00"),
        term={"start": "2027-01-01", "end": "2029-01-01"},
        ramp=[
            {
                "start": "2027-01-01",
                "end": "2027-02-01",
                "capacity_share": Decimal("0.5"),
                "price_factor": Decimal("0.5"),
            }
        ],
        escalator={"annual_rate": Decimal("0.03")},
        prepayment={"share_of_value": Decimal("0.10")},
        sla={
            "availability_target": Decimal("0.99"),
            "credit_tiers": [
                {"below": Decimal("0.99"), "credit_share": Decimal("0.10")},
                {"below": Decimal("0.95"), "credit_share": Decimal("0.30")},
            ],
        },
        termination={
            "notice_days": 90,
            "may_give_notice": ["operator", "tenant"],
            "fee": Decimal("5000000.00"),
        },
    )


def test_a_deal_from_ramp_to_a_backdated_notice(app: App) -> None:
    clock = FixedClock(datetime(2027, 2, 2, tzinfo=UTC))
    ctx = Context("finance", clock)
    site(app, "test-1")
    doc = deal_document()
    agreements.create_agreement(app.uow(), ctx, SourceDocument("life.yaml", doc))
    agreements.sign_agreement(app.uow(), ctx, "life", datetime(2026, 12, 1, tzinfo=UTC))

    # January: the ramp month. Contract value as signed: 2027 = 11 x 2,000,000 + 1,000,000
    # (January at half price) = 23,000,000; 2028 = 12 x 2,060,000 (3 %) = 24,720,000; total
    # 47,720,000.00, so the prepayment is 4,772,000.00. The drawdown is 10 % of the charges.
    (jan,) = billing.close_month(app.uow(), ctx, "2027-01").issued
    assert lines(jan) == {
        LineKind.CAPACITY_FEE: Decimal("2000000.00"),
        LineKind.RAMP_DISCOUNT: Decimal("-1000000.00"),
        LineKind.PREPAYMENT: Decimal("4772000.00"),
        LineKind.PREPAYMENT_DRAWDOWN: Decimal("-100000.00"),
    }
    assert jan.total.amount == Decimal("5672000.00")
    # closing January takes the dated steps up to its end: the ramp ended with it
    history = agreement_views.get_agreement(app.uow(), "life").history
    assert [(s, at) for s, at in history[2:]] == [
        (Status.COMMISSIONING, datetime(2027, 1, 1, 6, tzinfo=UTC)),
        (Status.ACTIVE, datetime(2027, 2, 1, 6, tzinfo=UTC)),
    ]

    # February: 98.5 % available, below 99 %: 10 % of the charges credited; the drawdown is
    # 10 % of the charges net of that credit: 10 % of 1,800,000.
    clock.instant = datetime(2027, 3, 2, tzinfo=UTC)
    agreements.record_availability(app.uow(), ctx, "life", "2027-02", Decimal("0.985"))
    (feb,) = billing.close_month(app.uow(), ctx, "2027-02").issued
    assert lines(feb) == {
        LineKind.CAPACITY_FEE: Decimal("2000000.00"),
        LineKind.SLA_CREDIT: Decimal("-200000.00"),
        LineKind.PREPAYMENT_DRAWDOWN: Decimal("-180000.00"),
    }

    # March: the fee rises to 2,500,000.00 from local midnight on March 16. March in Chicago
    # has 743 hours (DST from March 14); March 1 00:00 CST to March 16 00:00 CDT is 359 h.
    # Fee = round(2,000,000 x 359/743) + round(2,500,000) - round(2,500,000 x 359/743)
    #     = 966,352.62 + 2,500,000.00 - 1,207,940.78 = 2,258,411.84; drawdown 225,841.18.
    raised = deal_document()
    raised["agreement"]["monthly_fee"] = Decimal("2500000.00")  # type: ignore[index]
    amended = agreements.amend_agreement(
        app.uow(), ctx, "life", SourceDocument("raise.yaml", raised),
        effective_from=datetime(2027, 3, 16, 5, tzinfo=UTC), note="second hall",
    )  # fmt: skip
    assert amended.corrections == []  # nothing invoiced changes: the rise starts later
    clock.instant = datetime(2027, 7, 2, tzinfo=UTC)
    mar, apr, may, jun = billing.close_month(app.uow(), ctx, "2027-06").issued
    assert lines(mar) == {
        LineKind.CAPACITY_FEE: Decimal("2258411.84"),
        LineKind.PREPAYMENT_DRAWDOWN: Decimal("-225841.18"),
    }
    for month in (apr, may, jun):
        assert month.total.amount == Decimal("2250000.00")  # 2,500,000 less 10 % drawn

    # The tenant's notice, dated March 20 09:00 CDT but recorded in July: effective
    # June 18 09:00 CDT. June's invoice is corrected in the same transaction: the fee for
    # June 1 00:00 to June 18 09:00 (417 of 720 hours) = 1,447,916.67 instead of
    # 2,500,000.00; June is now the final month, so it carries the termination fee and
    # draws down what is left of the prepayment: 4,772,000.00 - (100,000.00 + 180,000.00 +
    # 225,841.18 + 3 x 250,000.00 before June) = 3,516,158.82 + 250,000.00 drawn in June.
    given = agreements.give_notice(
        app.uow(), ctx, "life", by=Party.TENANT, at=datetime(2027, 3, 20, 14, tzinfo=UTC)
    )
    assert given.notice.effective_at == datetime(2027, 6, 18, 14, tzinfo=UTC)
    (note,) = given.corrections
    assert note.kind is DocumentKind.DEBIT_NOTE and note.refers_to == jun.number
    assert lines(note) == {
        LineKind.CAPACITY_FEE: Decimal("1447916.67") - Decimal("2500000.00"),
        LineKind.PREPAYMENT_DRAWDOWN: Decimal("-3766158.82") - Decimal("-250000.00"),
        LineKind.TERMINATION_FEE: Decimal("5000000.00"),
    }
    assert note.total.amount == Decimal("431757.85")
    assert agreement_views.get_agreement(app.uow(), "life").status is Status.TERMINATED

    # What was billed in all: the charges, less the SLA credit, plus the termination fee;
    # the prepayment is money early, fully drawn down.
    charges = [
        Decimal("1000000.00"), Decimal("2000000.00"), Decimal("2258411.84"),
        Decimal("2500000.00"), Decimal("2500000.00"), Decimal("1447916.67"),
    ]  # fmt: skip
    expected = sum(charges) - Decimal("200000.00") + Decimal("5000000.00")
    documents = billing.list_invoices(app.uow())
    assert sum(d.total.amount for d in documents) == expected == Decimal("16506328.51")
    value = agreement_views.value_agreement(app.uow(), ctx, "life")
    assert value.billed_to_date.amount == expected
    # contracted: the charges and the fee the tenant's notice makes due; what was billed is
    # that less the SLA credit
    assert value.contracted_total.amount == sum(charges) + Decimal("5000000.00")
    assert value.contracted_total.amount - value.billed_to_date.amount == Decimal("200000.00")
    clock.instant = datetime(2027, 8, 2, tzinfo=UTC)
    assert billing.close_month(app.uow(), ctx, "2027-07").nothing_to_bill == ["life"]
    with app.uow() as uow:
        audited = [e.action for e in uow.audit.entries()]
    assert audited.count("invoice.issue") == 6 and audited.count("invoice.debit_note") == 1
    assert audited[-3:] == ["agreement.status", "invoice.debit_note", "agreement.notice"]


def test_a_backdated_notice_credits_months_billed_after_it(app: App) -> None:
    """Months invoiced after the effective instant are credited in full, the month it falls
    in down to the instant; credits already given are not given twice."""
    clock = FixedClock(datetime(2027, 7, 2, tzinfo=UTC))
    ctx = Context("finance", clock)
    site(app, "test-1")
    doc = factories.agreement_document("deal-1", monthly_fee=Decimal("1000000.37"))
    agreements.create_agreement(app.uow(), ctx, SourceDocument("d.yaml", doc))
    agreements.sign_agreement(app.uow(), ctx, "deal-1", datetime(2026, 12, 1, tzinfo=UTC))
    issued = billing.close_month(app.uow(), ctx, "2027-06").issued
    may, june = issued[4], issued[5]
    manual = billing.issue_credit_note(
        app.uow(), ctx, june.number, factories.usd("1000.00"), "outage on June 3"
    )
    given = agreements.give_notice(
        app.uow(), ctx, "deal-1", by=Party.OPERATOR, at=datetime(2027, 2, 1, 18, tzinfo=UTC)
    )  # 12:00 CST Feb 1 -> 12:00 CDT May 2 = 17:00Z
    assert given.notice.effective_at == datetime(2027, 5, 2, 17, tzinfo=UTC)
    may_note, june_note = given.corrections
    # May: 36 of 744 hours in service: round(1,000,000.37 x 36 / 744) = 48,387.11
    due_may = (Decimal("1000000.37") * 36 / 744).quantize(CENT)
    assert due_may == Decimal("48387.11")
    assert (may_note.refers_to, may_note.total.amount) == (may.number, due_may - may.total.amount)
    # June: nothing is due; 1,000.00 was credited by hand already, so 999,000.37 more
    assert june_note.refers_to == june.number
    assert june_note.total.amount == Decimal("-999000.37")
    assert june.total.amount + manual.total.amount + june_note.total.amount == 0
    billed = sum(d.total.amount for d in billing.list_invoices(app.uow()))
    assert billed == 4 * Decimal("1000000.37") + due_may  # January to April, and May 1-2
    value = agreement_views.value_agreement(app.uow(), ctx, "deal-1")
    assert value.billed_to_date.amount == value.contracted_total.amount == billed
