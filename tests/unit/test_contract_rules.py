"""Contract rules where a convention decides the money: calendar-day notice across DST,
end-of-day and end-of-month notice, rounding exactly on ties, SLA tiers exactly on their
bounds, a 100 % credit, the termination fee, what the notice clause makes enforceable.
Each expected value is worked out here by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.adapters.yamlfile import parse_document
from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import CapacityAgreement, Party
from neocloud.domain.billing.drafts import LineKind, draft_invoice
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.billing.value import deal_value
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import Forbidden, InvalidInput
from neocloud.domain.kernel.instants import add_calendar_days, parse_instant, parse_moment
from neocloud.domain.kernel.money import to_decimal
from neocloud.domain.kernel.names import is_name
from tests import factories
from tests.unit.test_billing import reference

CHICAGO = "America/Chicago"
CENT = Decimal("0.01")


def june(deal: CapacityAgreement, availability: str | None = None):
    return draft_invoice(
        deal,
        BillingPeriod.parse("2027-06", CHICAGO),
        availability_ratio=Decimal(availability) if availability else None,
        prepaid_drawn=Decimal(0),
    )


def test_notice_counts_calendar_days_across_the_start_of_daylight_time() -> None:
    deal = reference()
    given = datetime(2027, 2, 10, 21, 30, tzinfo=UTC)  # 15:30 CST (UTC-6)
    notice = deal.give_notice(by=Party.TENANT, at=given)
    assert notice.effective_at == datetime(2027, 5, 11, 20, 30, tzinfo=UTC)  # 15:30 CDT
    # 90 x 24 h would end an hour later, billing USD 1,250,000,000 x 3,600 / 2,678,400
    # = 1,680,107.53 too much for May 2027
    assert given + timedelta(days=90) - notice.effective_at == timedelta(hours=1)


def test_a_wall_clock_time_skipped_by_daylight_time_moves_an_hour_later() -> None:
    # 02:30 CST on 2026-12-14; 90 days later is 2027-03-14, when 02:00-03:00 does not exist
    given = datetime(2026, 12, 14, 8, 30, tzinfo=UTC)
    assert add_calendar_days(given, 90, CHICAGO) == datetime(2027, 3, 14, 8, 30, tzinfo=UTC)
    # 08:30Z on March 14 is 03:30 CDT: the clock had moved on an hour


@pytest.mark.parametrize(
    ("effect", "expected"),
    [
        ("same_local_time", datetime(2027, 5, 11, 20, 30, tzinfo=UTC)),  # 15:30 CDT
        ("end_of_day", datetime(2027, 5, 12, 5, tzinfo=UTC)),  # midnight after May 11, CDT
        ("end_of_month", datetime(2027, 6, 1, 5, tzinfo=UTC)),  # midnight June 1, CDT
    ],
)
def test_notice_may_take_effect_at_the_end_of_the_day_or_month(
    effect: str, expected: datetime
) -> None:
    termination = {
        "notice_days": 90,
        "notice_effective": effect,
        "may_give_notice": ["operator", "tenant"],
    }
    deal = factories.signed_agreement(termination=termination)
    notice = deal.give_notice(by=Party.TENANT, at=datetime(2027, 2, 10, 21, 30, tzinfo=UTC))
    assert notice.effective_at == expected


def test_an_unknown_notice_convention_is_refused_with_the_field() -> None:
    doc = factories.agreement_document(
        termination={"notice_days": 90, "notice_effective": "eventually", "may_give_notice": []}
    )
    with pytest.raises(InvalidInput) as err:
        parse_terms(SourceDocument("x.yaml", doc))
    (problem,) = err.value.problems
    assert (problem.field, problem.value) == (
        "agreement.termination.notice_effective",
        "eventually",
    )


def test_notice_before_the_term_starts_is_refused() -> None:
    deal = factories.signed_agreement()  # term from 2027-01-01 Chicago
    with pytest.raises(InvalidInput, match="within the term"):
        deal.give_notice(by=Party.TENANT, at=datetime(2026, 12, 31, 12, tzinfo=UTC))


def test_the_grace_period_counts_calendar_days() -> None:
    termination = {
        "notice_days": 90,
        "may_give_notice": ["tenant"],
        "late_delivery_grace_days": 30,
    }
    deal = factories.signed_agreement(
        term={"start": "2027-02-15", "end": "2028-01-01"}, termination=termination
    )
    # midnight CST Feb 15 + 30 calendar days = midnight CDT March 17 (05:00Z, not 06:00Z)
    assert deal.grace_deadline(deal.terms.term.start) == datetime(2027, 3, 17, 5, tzinfo=UTC)
    with pytest.raises(Forbidden):
        factories.signed_agreement().grace_deadline(deal.terms.term.start)


def test_proration_rounds_half_up_exactly_on_a_tie() -> None:
    # 1,000,000.01 a month, service ends at midnight CDT June 16: 15 of June's 30 days =
    # 500,000.005 -> 500,000.01 half up (half-even would give 500,000.00)
    deal = factories.signed_agreement(monthly_fee=Decimal("1000000.01"))
    deal.give_notice(by=Party.OPERATOR, at=datetime(2027, 3, 18, 5, tzinfo=UTC))
    assert deal.service_end == datetime(2027, 6, 16, 5, tzinfo=UTC)
    (fee,) = june(deal).lines
    assert (fee.precise, fee.amount) == (Decimal("500000.005"), Decimal("500000.01"))


def sla_deal(**changes: object) -> CapacityAgreement:
    sla = {
        "availability_target": Decimal("0.99"),
        "credit_tiers": [
            {"below": Decimal("0.99"), "credit_share": Decimal("0.10")},
            {"below": Decimal("0.95"), "credit_share": Decimal("0.30")},
            {"below": Decimal("0.90"), "credit_share": Decimal("1.00")},
        ],
    }
    return factories.signed_agreement(sla=sla, **changes)


@pytest.mark.parametrize(
    ("availability", "credit"),
    [
        ("1", "0"),
        ("0.99", "0"),  # exactly the target: strictly below earns a credit
        ("0.9899", "-100000.00"),
        ("0.95", "-100000.00"),  # exactly on the 30 % bound: still 10 %
        ("0.9499", "-300000.00"),
        ("0.90", "-300000.00"),
        ("0.8999", "-1000000.00"),
    ],
)
def test_sla_tiers_exactly_on_their_bounds(availability: str, credit: str) -> None:
    invoice = june(sla_deal(), availability)
    got = sum(x.amount for x in invoice.lines if x.kind is LineKind.SLA_CREDIT)
    assert got == Decimal(credit)


def test_a_full_credit_leaves_exactly_zero() -> None:
    # A term starting at midnight CDT June 16 with 1,000,000.01 a month bills
    # round(1,000,000.01) - round(500,000.005) = 500,000.00 for June, while the precise
    # amount is 500,000.005: a 100 % credit must cancel the 500,000.00 billed, not
    # round(500,000.005) = 500,000.01.
    deal = sla_deal(
        monthly_fee=Decimal("1000000.01"), term={"start": "2027-06-16", "end": "2028-01-01"}
    )
    invoice = june(deal, "0.5")
    assert [(x.kind, x.amount) for x in invoice.lines] == [
        (LineKind.CAPACITY_FEE, Decimal("500000.00")),
        (LineKind.SLA_CREDIT, Decimal("-500000.00")),
    ]
    assert invoice.total.amount == 0


@pytest.mark.parametrize(("by", "fee"), [(Party.TENANT, "250000.00"), (Party.OPERATOR, None)])
def test_the_termination_fee_is_charged_only_on_the_tenants_notice(
    by: Party, fee: str | None
) -> None:
    termination = {
        "notice_days": 90,
        "may_give_notice": ["operator", "tenant"],
        "fee": Decimal("250000.00"),
    }
    deal = factories.signed_agreement(termination=termination)
    deal.give_notice(by=by, at=datetime(2027, 3, 18, 5, tzinfo=UTC))  # effective June 16
    invoice = june(deal)
    assert invoice.final
    fees = [x.amount for x in invoice.lines if x.kind is LineKind.TERMINATION_FEE]
    assert fees == ([Decimal(fee)] if fee else [])


def test_what_the_notice_clause_makes_enforceable() -> None:
    deal = reference()
    as_of = datetime(2026, 11, 1, 5, tzinfo=UTC)  # midnight CDT
    value = deal_value(deal, as_of, [])
    # notice given now would take effect 90 calendar days later: midnight CST 2027-01-30;
    # owed until then: November, December, and 29 of January's 31 days
    assert value.enforceable_until == datetime(2027, 1, 30, 6, tzinfo=UTC)
    fee = Decimal("1250000000.00")
    january = (fee * 29 / 31).quantize(CENT)
    assert value.enforceable_remaining.amount == 2 * fee + january
    # earned: May and June at half price, July to October in full
    assert value.earned_to_date.amount == fee + 4 * fee
    assert value.remaining.amount == value.contracted_total.amount - 5 * fee


@pytest.mark.parametrize("bad", ["memphis-1\n", "memphis-1\r\n", "Memphis", "-a", "a" * 64])
def test_a_name_must_be_the_whole_text(bad: str) -> None:
    assert not is_name(bad)
    assert is_name("memphis-1") and is_name("a" * 63)


def test_a_trailing_newline_in_a_file_name_or_date_is_refused() -> None:
    text = (
        'version: 1\nagreement: {key: "deal-1\\n", operator: neocloud, tenant: lab-a,\n'
        '  site: test-1, capacity: {facility_mw: 1}, term: {start: "2027-01-01\\n",\n'
        "  end: 2028-01-01}, billing_timezone: America/Chicago, currency: USD,\n"
        "  monthly_fee: 1, termination: {notice_days: 90, may_give_notice: [tenant]}}\n"
    )
    with pytest.raises(InvalidInput) as err:
        parse_terms(parse_document(text, "nl.yaml"))
    fields = {p.field for p in err.value.problems}
    assert fields == {"agreement.key", "agreement.term.start"}


def test_a_period_with_a_trailing_newline_is_refused() -> None:
    with pytest.raises(InvalidInput):
        BillingPeriod.parse("2026-08\n", CHICAGO)


def test_a_bare_date_is_a_moment_and_an_instant_needs_an_offset() -> None:
    assert parse_moment("2027-02-10", "at") == datetime(2027, 2, 10).date()
    assert parse_moment("2027-02-10T15:30:00-06:00", "at") == datetime(
        2027, 2, 10, 21, 30, tzinfo=UTC
    )
    with pytest.raises(InvalidInput, match="naive"):
        parse_moment("2027-02-10T15:30:00", "at")
    with pytest.raises(InvalidInput, match="naive"):
        parse_instant("2027-02-10", "at")  # where only an instant will do


@pytest.mark.parametrize("text", ["0000-01", "1999-12", "2200-01", "9999-12"])
def test_a_period_must_be_a_month_a_bill_can_be_for(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        BillingPeriod.parse(text, CHICAGO)
    (problem,) = err.value.problems
    assert (problem.field, problem.value) == ("period", text)
    assert problem.message == "must be in the years 2000 to 2199"
    assert BillingPeriod.parse("2199-12", CHICAGO).next().label == "2200-01"
    assert BillingPeriod.parse("2000-01", CHICAGO).label == "2000-01"


@pytest.mark.parametrize("text", ["9e12", "-9e12", "1e40", "-99999999999999999999999999.99"])
def test_a_number_past_what_can_be_stored_is_refused_naming_the_field(text: str) -> None:
    doc = factories.agreement_document(monthly_fee=Decimal(text))
    with pytest.raises(InvalidInput) as err:
        parse_terms(SourceDocument("x.yaml", doc))
    (problem,) = err.value.problems
    assert problem.field == "agreement.monthly_fee"


def test_too_large_names_field_value_and_the_limit() -> None:
    with pytest.raises(InvalidInput) as err:
        to_decimal("1e40", "monthly_fee")
    (problem,) = err.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "monthly_fee",
        "1e40",
        "must be less than 9,000,000,000,000",
    )
    assert to_decimal("8999999999999.999999", "monthly_fee") == Decimal("8999999999999.999999")
