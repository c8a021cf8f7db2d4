"""How a month's invoice is drafted (docs/AGREEMENT_FORMAT.md, "How an invoice is computed"):
proration at every instant the rate changes (amendments, ramp phases, anniversaries inside a
month), the escalator's anniversaries, the prepayment (billed on the first invoice, drawn
down by the charges net of the SLA credit, capped by the balance, the rest swept on the
final invoice), the lines' descriptions, and what is final. Every figure is worked out here
from the fee, the days and the shares; months are in Chicago unless said otherwise (January
2027 has 31 days, June 30)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest

from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import CapacityAgreement, Party
from neocloud.domain.billing.drafts import (
    InvoiceDraft,
    InvoiceLine,
    LineKind,
    charges_between,
    draft_invoice,
    escalation_factor,
    headline_total,
    prepaid_amount,
    seconds,
)
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money
from tests import factories

CHICAGO = "America/Chicago"
CENT = Decimal("0.01")
FEE = Decimal("1000000.00")  # the factory deal's monthly fee
YEAR = 12 * FEE  # the factory deal: all of 2027
JANUARY_1 = datetime(2027, 1, 1, 6, tzinfo=UTC)  # midnight CST
APRIL_16 = datetime(2027, 4, 16, 5, tzinfo=UTC)  # midnight CDT
MICROSECOND = timedelta(microseconds=1)


def cents(x: Decimal) -> Decimal:
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


def draft(
    deal: CapacityAgreement,
    label: str,
    *,
    availability: str | None = None,
    drawn: str = "0",
    tz: str = CHICAGO,
) -> InvoiceDraft:
    invoice = draft_invoice(
        deal,
        BillingPeriod.parse(label, tz),
        availability_ratio=Decimal(availability) if availability else None,
        prepaid_drawn=Decimal(drawn),
    )
    assert invoice is not None
    return invoice


def amounts(invoice: InvoiceDraft) -> list[tuple[LineKind, Decimal]]:
    return [(x.kind, x.amount) for x in invoice.lines]


def of_kind(invoice: InvoiceDraft, kind: LineKind) -> InvoiceLine:
    (found,) = [x for x in invoice.lines if x.kind is kind]
    return found


def phase(start: str, end: str, price: str, share: str = "0.5") -> dict[str, object]:
    return {
        "start": start,
        "end": end,
        "capacity_share": Decimal(share),
        "price_factor": Decimal(price),
    }


def amended(deal: CapacityAgreement, effective_from: datetime, **changes: object) -> None:
    doc = factories.agreement_document(**changes)
    terms = parse_terms(SourceDocument("amend.yaml", doc))
    deal.amend(terms, effective_from=effective_from, at=JANUARY_1, actor="tester")


SLA = {
    "availability_target": Decimal("0.99"),
    "credit_tiers": [
        {"below": Decimal("0.99"), "credit_share": Decimal("0.10")},
        {"below": Decimal("0.95"), "credit_share": Decimal("0.30")},
    ],
    "cap_share": Decimal("0.25"),
}


def test_seconds_are_exact_to_the_microsecond() -> None:
    assert seconds(timedelta(days=1, seconds=1, microseconds=500_000)) == Decimal("86401.5")
    assert seconds(MICROSECOND) == Decimal("0.000001")


# -- one month, every line ------------------------------------------------------------------


def test_the_first_month_line_by_line() -> None:
    deal = factories.signed_agreement(
        ramp=[phase("2027-01-01", "2027-02-01", "0.5")],
        sla=SLA,
        prepayment={"share_of_value": Decimal("0.2")},
    )
    invoice = draft(deal, "2027-01", availability="0.985")
    # value as signed: January at half price + 11 full months = 11,500,000.00; 20 % of it
    prepaid = Decimal("0.2") * (FEE / 2 + 11 * FEE)
    assert prepaid == Decimal("2300000.00")
    # charges 1,000,000.00 - 500,000.00; availability 98.5 % earns 10 % of them back;
    # the drawdown is 20 % of the charges net of that credit
    credit = Decimal("0.10") * (FEE - FEE / 2)
    drawdown = Decimal("0.2") * (FEE / 2 - credit)
    assert [(x.kind, x.description, x.amount) for x in invoice.lines] == [
        (LineKind.CAPACITY_FEE, "Capacity fee 2027-01: 31.000 of 31.000 days in service", FEE),
        (
            LineKind.RAMP_DISCOUNT,
            "Commissioning ramp discount (2027-01-01..2027-02-01, price factor 0.5)",
            -FEE / 2,
        ),
        (
            LineKind.SLA_CREDIT,
            "SLA credit 2027-01: availability 98.5 % < target 99 %, 10 % of the period's charges",
            -credit,
        ),
        (LineKind.PREPAYMENT, "Prepayment: 20 % of contract value", prepaid),
        (
            LineKind.PREPAYMENT_DRAWDOWN,
            "Prepayment drawn down (balance before 2,300,000.00)",
            -drawdown,
        ),
    ]
    assert of_kind(invoice, LineKind.PREPAYMENT).precise == prepaid
    assert invoice.charges() == FEE / 2  # fee and ramp discount; not the credit or prepayment
    assert invoice.total.amount == FEE / 2 - credit + prepaid - drawdown
    assert (invoice.agreement_key, invoice.operator, invoice.tenant) == (
        "deal-1",
        "neocloud",
        "lab-a",
    )
    assert (invoice.period, invoice.currency, invoice.final) == (
        BillingPeriod(2027, 1, CHICAGO),
        "USD",
        False,
    )


def test_the_sla_credit_is_capped_and_says_so() -> None:
    deal = factories.signed_agreement(sla=SLA)
    invoice = draft(deal, "2027-06", availability="0.9")  # the 30 % tier, capped at 25 %
    credit = of_kind(invoice, LineKind.SLA_CREDIT)
    assert credit.amount == -FEE / 4
    assert credit.description == (
        "SLA credit 2027-06: availability 90 % < target 99 %, 25 % of the period's charges"
    )


def test_the_month_that_ends_the_service_is_final() -> None:
    deal = factories.signed_agreement()  # the term ends at the end of December
    assert not draft(deal, "2027-11").final
    assert draft(deal, "2027-12").final


# -- the deal's totals ------------------------------------------------------------------------


def test_the_headline_total_ignores_a_notice_and_the_contracted_total_does_not() -> None:
    deal = factories.signed_agreement()
    deal.give_notice(by=Party.OPERATOR, at=datetime(2027, 3, 18, 5, tzinfo=UTC))
    july = Interval(datetime(2027, 7, 1, 5, tzinfo=UTC), datetime(2027, 8, 1, 5, tzinfo=UTC))
    assert deal.service_end == datetime(2027, 6, 16, 5, tzinfo=UTC)  # 90 days later
    assert headline_total(deal) == Money(YEAR, "USD")
    # five months, then 15 of June's 30 days
    assert charges_between(deal, deal.service_window) == Money(5 * FEE + FEE / 2, "USD")
    assert charges_between(deal, july) == Money(Decimal(0), "USD")  # after the service
    assert charges_between(deal, july, service=deal.terms.term) == Money(FEE, "USD")


def test_the_prepayment_is_a_share_of_the_value_as_signed() -> None:
    assert prepaid_amount(factories.signed_agreement()) == 0
    deal = factories.signed_agreement(prepayment={"share_of_value": Decimal("0.2")})
    amended(deal, APRIL_16, monthly_fee=Decimal("2000000.00"))
    assert headline_total(deal).amount > YEAR  # the amendment raised the value...
    assert prepaid_amount(deal) == Decimal("0.2") * YEAR  # ...not the prepayment


# -- prepayment drawn down ------------------------------------------------------------------


def prepaid_deal(**changes: object) -> CapacityAgreement:
    return factories.signed_agreement(prepayment={"share_of_value": Decimal("0.2")}, **changes)


PREPAID = Decimal("0.2") * YEAR  # 2,400,000.00


def test_the_prepayment_is_billed_on_the_first_invoice_only() -> None:
    deal = prepaid_deal()
    january, february = draft(deal, "2027-01"), draft(deal, "2027-02", drawn="200000.00")
    assert amounts(january) == [
        (LineKind.CAPACITY_FEE, FEE),
        (LineKind.PREPAYMENT, PREPAID),
        (LineKind.PREPAYMENT_DRAWDOWN, -Decimal("0.2") * FEE),
    ]
    assert amounts(february) == [
        (LineKind.CAPACITY_FEE, FEE),
        (LineKind.PREPAYMENT_DRAWDOWN, -Decimal("0.2") * FEE),
    ]
    assert of_kind(february, LineKind.PREPAYMENT_DRAWDOWN).description == (
        "Prepayment drawn down (balance before 2,200,000.00)"
    )


def test_the_drawdown_is_a_share_of_the_charges_net_of_the_sla_credit() -> None:
    invoice = draft(prepaid_deal(sla=SLA), "2027-06", availability="0.985", drawn="1000000.00")
    # 1,000,000.00 - 10 % = 900,000.00 net; 20 % of it drawn
    assert of_kind(invoice, LineKind.PREPAYMENT_DRAWDOWN).amount == -Decimal("180000.00")


@pytest.mark.parametrize(
    ("drawn", "drawdown"),
    [
        ("2300000.00", "100000.00"),  # less left than 20 % of the month: what is left
        ("2399999.00", "1.00"),  # one dollar left
        ("2399999.99", "0.01"),  # one cent left
    ],
)
def test_the_drawdown_is_capped_by_the_balance(drawn: str, drawdown: str) -> None:
    invoice = draft(prepaid_deal(), "2027-06", drawn=drawn)
    assert of_kind(invoice, LineKind.PREPAYMENT_DRAWDOWN).amount == -Decimal(drawdown)
    assert invoice.total.amount == FEE - Decimal(drawdown)


def test_nothing_is_drawn_once_the_balance_is_used() -> None:
    invoice = draft(prepaid_deal(), "2027-06", drawn=str(PREPAID))
    assert amounts(invoice) == [(LineKind.CAPACITY_FEE, FEE)]


def test_the_final_invoice_draws_down_what_is_left() -> None:
    deal = prepaid_deal()
    deal.give_notice(by=Party.OPERATOR, at=datetime(2027, 3, 18, 5, tzinfo=UTC))  # to June 16
    # January to May drew 200,000.00 each; June bills 15 of 30 days and returns the rest
    invoice = draft(deal, "2027-06", drawn="1000000.00")
    assert invoice.final
    assert amounts(invoice) == [
        (LineKind.CAPACITY_FEE, FEE / 2),
        (LineKind.PREPAYMENT_DRAWDOWN, -(PREPAID - Decimal("1000000.00"))),
    ]
    assert invoice.total.amount == Decimal("-900000.00")


# -- the escalator's anniversaries ----------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "anniversary"),
    [
        ("2027-01-01", datetime(2028, 1, 1, 6, tzinfo=UTC)),
        ("2027-01-31", datetime(2028, 1, 31, 6, tzinfo=UTC)),  # not moved to the 28th
        ("2027-03-31", datetime(2028, 3, 31, 5, tzinfo=UTC)),  # midnight CDT
        ("2028-02-29", datetime(2029, 2, 28, 6, tzinfo=UTC)),  # no February 29th in 2029
    ],
)
def test_a_contract_year_starts_exactly_on_the_anniversary(
    start: str, anniversary: datetime
) -> None:
    end = f"{int(start[:4]) + 3}-04-01"
    deal = factories.signed_agreement(
        term={"start": start, "end": end}, escalator={"annual_rate": Decimal("0.03")}
    )
    assert escalation_factor(deal.terms, anniversary - MICROSECOND) == 1
    assert escalation_factor(deal.terms, anniversary) == Decimal("1.03")


def test_a_leap_day_start_has_its_anniversaries_on_february_28th() -> None:
    deal = factories.signed_agreement(
        term={"start": "2028-02-29", "end": "2031-03-01"},
        escalator={"annual_rate": Decimal("0.03")},
    )
    second = datetime(2030, 2, 28, 6, tzinfo=UTC)
    assert escalation_factor(deal.terms, second - MICROSECOND) == Decimal("1.03")
    assert escalation_factor(deal.terms, second) == Decimal("1.03") ** 2


def test_anniversaries_are_in_the_billing_time_zone() -> None:
    # midnight in Tokyo (UTC+9) is 15:00Z the day before: the second contract year starts
    # 2027-12-31T15:00Z, and December 2027 in Tokyo has no day of it
    deal = factories.signed_agreement(
        billing_timezone="Asia/Tokyo",
        term={"start": "2027-01-01", "end": "2029-01-01"},
        escalator={"annual_rate": Decimal("0.03")},
        ramp=[phase("2027-01-01", "2027-02-01", "0.5")],
    )
    new_year = datetime(2027, 12, 31, 15, tzinfo=UTC)
    assert escalation_factor(deal.terms, new_year - MICROSECOND) == 1
    assert escalation_factor(deal.terms, new_year) == Decimal("1.03")
    assert amounts(draft(deal, "2027-12", tz="Asia/Tokyo")) == [(LineKind.CAPACITY_FEE, FEE)]
    assert amounts(draft(deal, "2028-01", tz="Asia/Tokyo")) == [
        (LineKind.CAPACITY_FEE, FEE),
        (LineKind.ESCALATOR, Decimal("30000.00")),
    ]
    # the ramp phase is named by its dates in Tokyo too
    discount = of_kind(draft(deal, "2027-01", tz="Asia/Tokyo"), LineKind.RAMP_DISCOUNT)
    assert discount.description == (
        "Commissioning ramp discount (2027-01-01..2027-02-01, price factor 0.5)"
    )


def test_an_anniversary_inside_a_month_splits_it() -> None:
    deal = factories.signed_agreement(
        term={"start": "2027-01-16", "end": "2029-07-01"},
        escalator={"annual_rate": Decimal("0.03")},
    )
    # January 2027: service from the 16th, 16 of 31 days; the fee of the days before the
    # start, round(1,000,000.00 x 15 / 31), is not billed
    first = draft(deal, "2027-01")
    assert first.lines[0].description == "Capacity fee 2027-01: 16.000 of 31.000 days in service"
    assert amounts(first) == [(LineKind.CAPACITY_FEE, FEE - cents(FEE * 15 / 31))]
    # January 2028: 3 % on the 16 days from the first anniversary
    january_2028 = draft(deal, "2028-01")
    assert amounts(january_2028) == [
        (LineKind.CAPACITY_FEE, FEE),
        (LineKind.ESCALATOR, cents(FEE * Decimal("0.03") * 16 / 31)),
    ]
    assert cents(FEE * Decimal("0.03") * 16 / 31) == Decimal("15483.87")
    assert of_kind(january_2028, LineKind.ESCALATOR).description == (
        "Escalator 3 % a contract year"
    )
    # January 2029: 3 % on the first 15 days, 1.03^2 - 1 = 6.09 % on the last 16
    escalator = of_kind(draft(deal, "2029-01"), LineKind.ESCALATOR)
    expected = FEE * (Decimal("0.03") * 15 + Decimal("0.0609") * 16) / 31
    assert escalator.amount == cents(expected) == Decimal("45948.39")


# -- proration at every change of rate --------------------------------------------------------


@pytest.mark.parametrize("escalator", [None, {"annual_rate": Decimal("0.03")}])
def test_a_ramp_phase_ending_inside_a_month(escalator: dict[str, Decimal] | None) -> None:
    changes: dict[str, object] = {"ramp": [phase("2027-01-01", "2027-01-16", "0.5")]}
    if escalator:
        changes["escalator"] = escalator
    invoice = draft(factories.signed_agreement(**changes), "2027-01")
    # 15 of January's 31 days at half price
    assert amounts(invoice) == [
        (LineKind.CAPACITY_FEE, FEE),
        (LineKind.RAMP_DISCOUNT, -cents(FEE * 15 / 31 / 2)),
    ]
    assert cents(FEE * 15 / 31 / 2) == Decimal("241935.48")


def test_two_ramp_phases_in_one_month_are_two_lines() -> None:
    ramp = [phase("2027-01-01", "2027-01-16", "0.5"), phase("2027-01-16", "2027-02-01", "0.8")]
    invoice = draft(factories.signed_agreement(ramp=ramp), "2027-01")
    assert [(x.description, x.amount) for x in invoice.lines[1:]] == [
        (
            "Commissioning ramp discount (2027-01-01..2027-01-16, price factor 0.5)",
            -cents(FEE * 15 / 31 * Decimal("0.5")),
        ),
        (
            "Commissioning ramp discount (2027-01-16..2027-02-01, price factor 0.8)",
            -cents(FEE * 16 / 31 * Decimal("0.2")),
        ),
    ]


def test_a_phase_at_full_price_has_no_discount_line() -> None:
    deal = factories.signed_agreement(ramp=[phase("2027-01-01", "2027-02-01", "1")])
    assert amounts(draft(deal, "2027-01")) == [(LineKind.CAPACITY_FEE, FEE)]


def test_an_amendment_inside_a_month_of_a_deal_with_a_ramp() -> None:
    ramp = [phase("2027-01-01", "2027-02-01", "0.5")]
    deal = factories.signed_agreement(ramp=ramp)
    amended(deal, APRIL_16, monthly_fee=Decimal("2000000.00"), ramp=ramp)
    # April has 30 days: 15 at 1,000,000.00 a month, 15 at 2,000,000.00
    assert amounts(draft(deal, "2027-04")) == [(LineKind.CAPACITY_FEE, FEE / 2 + FEE)]


# -- faults found while writing these tests, now fixed ---------------------------------------


def test_the_escalator_line_names_the_rate_it_bills() -> None:
    deal = factories.signed_agreement(
        term={"start": "2027-01-01", "end": "2029-01-01"},
        escalator={"annual_rate": Decimal("0.03")},
    )
    # recorded in advance: 5 % from July 2028
    amended(
        deal,
        datetime(2028, 7, 1, 5, tzinfo=UTC),
        term={"start": "2027-01-01", "end": "2029-01-01"},
        escalator={"annual_rate": Decimal("0.05")},
    )
    escalator = of_kind(draft(deal, "2028-02"), LineKind.ESCALATOR)
    assert escalator.amount == Decimal("30000.00")  # 3 % is what February bills
    assert escalator.description == "Escalator 3 % a contract year"


def test_the_termination_fee_dates_the_notice_in_the_billing_time_zone() -> None:
    termination = {"notice_days": 90, "may_give_notice": ["tenant"], "fee": Decimal("250000")}
    deal = factories.signed_agreement(termination=termination)
    # 22:00 CDT on March 17th is 03:00Z on March 18th; effective June 15th 22:00 CDT
    deal.give_notice(by=Party.TENANT, at=datetime(2027, 3, 18, 3, tzinfo=UTC))
    fee = of_kind(draft(deal, "2027-06"), LineKind.TERMINATION_FEE)
    assert fee.description == "Termination fee (notice by the tenant 2027-03-17)"


def test_the_termination_fee_line_dates_the_notice() -> None:
    termination = {"notice_days": 90, "may_give_notice": ["tenant"], "fee": Decimal("250000")}
    deal = factories.signed_agreement(termination=termination)
    deal.give_notice(by=Party.TENANT, at=datetime(2027, 3, 18, 15, tzinfo=UTC))  # 10:00 CDT
    fee = of_kind(draft(deal, "2027-06"), LineKind.TERMINATION_FEE)
    assert (fee.description, fee.amount) == (
        "Termination fee (notice by the tenant 2027-03-18)",
        Decimal("250000.00"),
    )
