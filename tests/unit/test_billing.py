"""Invoices to the cent. Expected figures are computed here from the contract's words
(fee, months, factor, seconds), never taken from the code under test."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.adapters.yamlfile import parse_document, read_document
from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import (
    CapacityAgreement,
    CreditTier,
    Party,
    SlaTerms,
    Status,
)
from neocloud.domain.billing.drafts import (
    CHARGES,
    LineKind,
    draft_invoice,
    headline_total,
    prorate,
)
from neocloud.domain.billing.periods import BillingPeriod, periods_overlapping
from neocloud.domain.billing.value import deal_value
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money
from tests import factories
from tests.conftest import EXAMPLES

CHICAGO = "America/Chicago"
CHICAGO_TZ = ZoneInfo(CHICAGO)
FEE = Decimal("1250000000.00")
CENT = Decimal("0.01")


def reference() -> CapacityAgreement:
    terms = parse_terms(read_document(EXAMPLES / "agreements" / "memphis-lease.yaml"))
    agreement = CapacityAgreement.draft(terms, at=datetime(2026, 5, 3, tzinfo=UTC), actor="t")
    agreement.sign(datetime(2026, 5, 3, 19, tzinfo=UTC))
    return agreement


def chicago_month_start(year: int, month: int) -> datetime:
    # Local midnight on the 1st: CDT (UTC-5) from April 1 to November 1 (DST ends at 2 am
    # on the first Sunday of November, after midnight), CST (UTC-6) December to March.
    offset = 5 if 4 <= month <= 11 else 6
    return datetime(year, month, 1, offset, tzinfo=UTC)


def invoice_for(agreement: CapacityAgreement, label: str, availability: str | None = None):
    period = BillingPeriod.parse(label, CHICAGO)
    return draft_invoice(
        agreement,
        period,
        prepaid_drawn=Decimal(0),
        availability_ratio=Decimal(availability) if availability else None,
    )


def test_reference_deal_month_by_month() -> None:
    deal = reference()
    assert deal.terms.term.start == chicago_month_start(2026, 5)
    assert deal.terms.term.end == chicago_month_start(2029, 6)
    totals = {}
    for period in periods_overlapping(deal.terms.term, CHICAGO):
        invoice = draft_invoice(deal, period, availability_ratio=None, prepaid_drawn=Decimal(0))
        assert invoice is not None
        totals[period.label] = invoice.total.amount
    assert len(totals) == 37
    assert list(totals)[-1] == "2029-05"  # the last invoiced month
    assert totals["2026-05"] == totals["2026-06"] == FEE * Decimal("0.5")  # assumed factor
    full = {label: total for label, total in totals.items() if label not in ("2026-05", "2026-06")}
    assert len(full) == 35 and set(full.values()) == {FEE}
    assert invoice_for(deal, "2029-06") is None  # nothing after the term


def test_reference_headline_total() -> None:
    expected = 35 * FEE + 2 * FEE * Decimal("0.5")
    assert headline_total(reference()) == Money(expected, "USD")
    assert expected == Decimal("45000000000.00") > Decimal(40_000_000_000)


def test_first_month_lines() -> None:
    invoice = invoice_for(reference(), "2026-05")
    assert [(x.kind, x.amount) for x in invoice.lines] == [
        (LineKind.CAPACITY_FEE, FEE),
        (LineKind.RAMP_DISCOUNT, -FEE / 2),
    ]


def half_up(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


term_instants = st.datetimes(  # from the signature (2026-05-03 19:00Z) on
    min_value=datetime(2026, 5, 3, 19), max_value=datetime(2029, 3, 1), timezones=st.just(UTC)
)


@given(at=term_instants, by=st.sampled_from([Party.OPERATOR, Party.TENANT]))
def test_notice_on_any_date(at: datetime, by: Party) -> None:
    deal = reference()
    notice = deal.give_notice(by=by, at=at)
    # 90 calendar days later in Chicago, at the same wall-clock time (unless that time is
    # skipped that day by the switch to daylight time: then one hour later on the clock)
    given, effective = at.astimezone(CHICAGO_TZ), notice.effective_at.astimezone(CHICAGO_TZ)
    assert effective.date() - given.date() == timedelta(days=90)
    skipped = (
        effective.dst() != given.dst()
        and given.replace(year=effective.year, month=effective.month, day=effective.day)
        .astimezone(UTC)
        .astimezone(CHICAGO_TZ)
        .time()
        != given.time()
    )
    assert effective.time() == given.time() or skipped
    assert deal.status is Status.NOTICE_GIVEN
    final_period = BillingPeriod.containing(notice.effective_at, CHICAGO)
    final = invoice_for(deal, final_period.label)
    # by hand: the fee x seconds in service / seconds in the month, rounded half up
    start = chicago_month_start(final_period.year, final_period.month)
    nxt = final_period.next()
    end = chicago_month_start(nxt.year, nxt.month)
    served = Decimal((notice.effective_at - start) // timedelta(microseconds=1))
    month = Decimal((end - start) // timedelta(microseconds=1))
    fee = next(x for x in final.lines if x.kind is LineKind.CAPACITY_FEE)
    assert fee.amount == half_up(FEE * served / month)
    assert final.final
    assert invoice_for(deal, nxt.label) is None  # nothing billed after it
    # and the contract's total is every month before plus that fraction
    months_before = (
        list(periods_overlapping(Interval(deal.terms.term.start, start), CHICAGO))
        if start > deal.terms.term.start
        else []
    )
    discounted = sum(1 for p in months_before if p.label in ("2026-05", "2026-06"))
    factor = Decimal("0.5") if final_period.label in ("2026-05", "2026-06") else 1
    expected = (
        (len(months_before) - discounted) * FEE
        + discounted * FEE / 2
        + half_up(fee.amount * factor)
    )
    value = deal_value(deal, deal.terms.term.start, [])
    assert value.contracted_total.amount == expected


def test_notice_rules() -> None:
    deal = factories.signed_agreement(
        termination={"notice_days": 90, "may_give_notice": ["tenant"]}
    )
    with pytest.raises(Forbidden):
        deal.give_notice(by=Party.OPERATOR, at=datetime(2027, 2, 1, tzinfo=UTC))
    with pytest.raises(Conflict, match="expires first"):
        deal.give_notice(by=Party.TENANT, at=datetime(2027, 10, 15, tzinfo=UTC))
    deal.give_notice(by=Party.TENANT, at=datetime(2027, 2, 1, tzinfo=UTC))
    with pytest.raises(InvalidTransition):
        deal.give_notice(by=Party.TENANT, at=datetime(2027, 3, 1, tzinfo=UTC))


def test_lifecycle_follows_the_table() -> None:
    deal = factories.signed_agreement(
        ramp=[
            {
                "start": "2027-01-01",
                "end": "2027-02-01",
                "capacity_share": Decimal("0.5"),
                "price_factor": Decimal("0.5"),
            }
        ]
    )
    with pytest.raises(InvalidTransition, match="signed; cannot become expired"):
        deal.transition(Status.EXPIRED, datetime(2027, 1, 1, tzinfo=UTC))
    assert deal.advance_to(datetime(2027, 1, 15, tzinfo=UTC)) == [Status.COMMISSIONING]
    assert deal.advance_to(datetime(2027, 3, 1, tzinfo=UTC)) == [Status.ACTIVE]
    assert deal.advance_to(datetime(2028, 1, 2, tzinfo=UTC)) == [Status.EXPIRED]
    with pytest.raises(InvalidTransition):
        deal.sign(datetime(2028, 2, 1, tzinfo=UTC))


def test_dst_month_is_an_hour_short() -> None:
    # March 2027 in Chicago: DST starts March 14, so the month has 31 x 24 - 1 = 743 hours.
    period = BillingPeriod.parse("2027-03", CHICAGO)
    assert period.interval.duration == timedelta(hours=743)
    # half the month's seconds in service = half the fee
    half = Interval(period.interval.start, period.interval.start + timedelta(hours=371.5))
    assert prorate(Money(Decimal("1000000.00"), "USD"), period.interval, half)[1] == Decimal(
        "500000.00"
    )


months = st.tuples(st.integers(2026, 2030), st.integers(1, 12))
fees = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("9999999999.99"), places=2)


@given(month=months, fee=fees, cuts=st.lists(st.floats(0.001, 0.999), max_size=6))
def test_prorated_pieces_add_up_to_the_fee(
    month: tuple[int, int], fee: Decimal, cuts: list[float]
) -> None:
    period = BillingPeriod(month[0], month[1], CHICAGO).interval
    points = sorted({period.start + (period.end - period.start) * c for c in cuts})
    edges = [period.start, *points, period.end]
    pieces = [
        prorate(Money(fee, "USD"), period, Interval(a, b))[1]
        for a, b in itertools.pairwise(edges)
        if a < b
    ]
    assert sum(pieces) == fee


@given(
    availability=st.decimals(0, 1, places=4),
    tiers=st.lists(st.tuples(st.decimals(0, 1, places=3), st.decimals(0, 2, places=2)), max_size=4),
    cap=st.decimals(0, 1, places=2),
)
def test_credits_never_exceed_their_cap(
    availability: Decimal, tiers: list[tuple[Decimal, Decimal]], cap: Decimal
) -> None:
    sla = SlaTerms(Decimal("0.99"), "gpu", tuple(CreditTier(b, s) for b, s in tiers), cap)
    share = sla.credit_share(availability)
    assert 0 <= share <= cap
    earned = [s for b, s in tiers if availability < b]
    assert share == min(max(earned, default=Decimal(0)), cap)


@given(
    fee=fees,
    factor=st.decimals(0, 1, places=2),
    rate=st.decimals(0, "0.1", places=3),
    availability=st.decimals("0.5", 1, places=4),
    prepay=st.decimals(0, "0.3", places=2),
    label=st.sampled_from(["2027-01", "2027-02", "2027-03", "2027-07", "2027-12"]),
)
def test_every_line_is_rounded_once_and_credits_stay_capped(
    fee: Decimal, factor: Decimal, rate: Decimal, availability: Decimal, prepay: Decimal, label: str
) -> None:
    deal = factories.signed_agreement(
        monthly_fee=fee,
        escalator={"annual_rate": rate},
        prepayment={"share_of_value": prepay},
        term={"start": "2026-06-15", "end": "2028-01-01"},
        ramp=[
            {
                "start": "2027-01-10",
                "end": "2027-03-20",
                "capacity_share": Decimal("0.5"),
                "price_factor": factor,
            }
        ],
        sla={
            "availability_target": Decimal("0.99"),
            "credit_tiers": [
                {"below": Decimal("0.99"), "credit_share": Decimal("0.1")},
                {"below": Decimal("0.95"), "credit_share": Decimal("0.3")},
            ],
            "cap_share": Decimal("0.25"),
        },
    )
    invoice = invoice_for(deal, label, str(availability))
    for line in invoice.lines:
        assert line.amount == line.amount.quantize(CENT)
        assert abs(line.amount - line.precise) <= CENT
    charges = sum(x.amount for x in invoice.lines if x.kind in CHARGES)
    credit = sum(x.amount for x in invoice.lines if x.kind is LineKind.SLA_CREDIT)
    assert -credit <= half_up(charges * Decimal("0.25"))
    if not invoice.final:  # the final invoice returns what is left of the prepayment
        assert invoice.total.amount >= 0  # neither a credit nor a drawdown goes below zero


def test_escalator_by_hand() -> None:
    # 3 % a contract year from 2027-01-01: 2027 at 1,000,000.00, 2028 at 1,030,000.00
    deal = factories.signed_agreement(
        term={"start": "2027-01-01", "end": "2029-01-01"},
        escalator={"annual_rate": Decimal("0.03")},
    )
    assert invoice_for(deal, "2027-12").total.amount == Decimal("1000000.00")
    assert invoice_for(deal, "2028-01").total.amount == Decimal("1030000.00")
    assert headline_total(deal).amount == 12 * Decimal("1000000.00") + 12 * Decimal("1030000.00")


def test_prepayment_is_billed_once_and_drawn_down_to_zero() -> None:
    deal = factories.signed_agreement(prepayment={"share_of_value": Decimal("0.2")})
    prepaid = Decimal("0.2") * 12 * Decimal("1000000.00")  # 2,400,000.00
    drawn, total = Decimal(0), Decimal(0)
    for period in periods_overlapping(deal.terms.term, CHICAGO):
        invoice = draft_invoice(deal, period, availability_ratio=None, prepaid_drawn=drawn)
        assert invoice is not None
        kinds = {x.kind: x.amount for x in invoice.lines}
        assert (LineKind.PREPAYMENT in kinds) == (period.label == "2027-01")
        drawn -= kinds.get(LineKind.PREPAYMENT_DRAWDOWN, Decimal(0))
        total += invoice.total.amount
    assert drawn == prepaid
    assert total == 12 * Decimal("1000000.00")  # the prepayment is money early, not more


def test_amendment_splits_the_month_by_seconds() -> None:
    deal = factories.signed_agreement()
    raised = parse_terms(
        SourceDocument(
            "amend.yaml", factories.agreement_document(monthly_fee=Decimal("2000000.00"))
        )
    )
    # from local midnight on April 16th (CDT): half of April's 30 days at each price
    deal.amend(
        raised,
        effective_from=datetime(2027, 4, 16, 5, tzinfo=UTC),
        at=datetime(2027, 4, 1, tzinfo=UTC),
        actor="tester",
        note="more capacity",
    )
    invoice = invoice_for(deal, "2027-04")
    assert invoice.total.amount == Decimal("500000.00") + Decimal("1000000.00")
    assert invoice_for(deal, "2027-05").total.amount == Decimal("2000000.00")
    assert invoice_for(deal, "2027-03").total.amount == Decimal("1000000.00")
    assert len(deal.versions) == 2 and deal.versions[0].terms.monthly_fee.amount == Decimal(
        "1000000.00"
    )


BAD_DEAL = """\
version: 1
agreement:
  key: bad-deal
  operator: neocloud
  tenant: frontier-lab
  site: memphis-1
  capacity: {facility_mw: 300}
  term: {start: 2029-06-01, end: 2026-05-01}
  billing_timezone: America/Chicago
  currency: USX
  monthly_fee: -1250000000.00
  ramp:
    - {start: 2026-05-01T00:00:00, end: 2026-06-01, capacity_share: 0.5, price_factor: 0.5}
    - {start: 2026-06-01, end: 2026-07-01, capacity_share: 0.8, price_factor: 0.5}
    - {start: 2026-06-20, end: 2026-08-01, capacity_share: 0.9, price_factor: 0.8}
  termination: {notice_days: 90, may_give_notice: [operator, tenant]}
"""


def test_five_mistakes_in_an_agreement_file() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_terms(parse_document(BAD_DEAL, "bad-deal.yaml"))
    found = {(p.field, p.location, str(p.value)) for p in err.value.problems}
    assert found == {
        ("agreement.term.end", "bad-deal.yaml:8", "2026-05-01"),
        ("agreement.currency", "bad-deal.yaml:10", "USX"),
        ("agreement.monthly_fee", "bad-deal.yaml:11", "-1250000000.00"),
        ("agreement.ramp[0].start", "bad-deal.yaml:13", "2026-05-01T00:00:00"),
        ("agreement.ramp[2]", "bad-deal.yaml:15", "2026-06-20T05:00:00+00:00.."),
    }
    naive = next(p for p in err.value.problems if p.field == "agreement.ramp[0].start")
    assert "naive" in naive.message


def test_late_delivery_right_only_where_written() -> None:
    deal = factories.signed_agreement()
    with pytest.raises(Forbidden, match="late delivery"):
        deal.terminate_for_late_delivery(
            tranche_start=deal.terms.term.start,
            at=datetime(2027, 3, 1, tzinfo=UTC),
            delivered_share=Decimal(0),
        )
    deal = factories.signed_agreement(
        termination={
            "notice_days": 90,
            "may_give_notice": ["tenant"],
            "late_delivery_grace_days": 10,
        }
    )
    start = deal.terms.term.start
    with pytest.raises(InvalidInput, match="no tranche starts then"):
        deal.terminate_for_late_delivery(
            tranche_start=start + timedelta(days=1),
            at=start + timedelta(days=20),
            delivered_share=Decimal(0),
        )
    notice = deal.terminate_for_late_delivery(
        tranche_start=start, at=start + timedelta(days=10), delivered_share=Decimal("0.99")
    )
    assert notice.effective_at == start + timedelta(days=10)
    assert deal.service_end == notice.effective_at
    # billed to the instant: January 2027 in Chicago is 31 days, 10 of them in service
    invoice = invoice_for(deal, "2027-01")
    assert invoice.total.amount == (Decimal("1000000.00") * 10 / 31).quantize(CENT)
