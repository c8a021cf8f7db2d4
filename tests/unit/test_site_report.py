"""A month of the reference site's economics and its backlog, every figure worked by hand.

The site (examples/fleet.yaml, header comment): 300 MW of facility capacity, USD 67.90/MWh,
283.47 kg CO2/MWh, 108,800 H100, 99,200 H200 and 8,640 GB200 installed. The assumptions are
DOMAIN.md §6's defaults: opex USD 1 M per MW-year; the facility USD 11.5 M per MW over 20
years; servers USD 50,000 per H100 or H200 and USD 41,666.67 per GB200, over 5 years. The
deal (tests/unit/test_recognition.py): USD 45.0 B over 1,127 days from 1 May 2026, Chicago.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.adapters.yamlfile import parse_document
from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import CapacityAgreement, Party
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.billing.recognition import revenue_schedule
from neocloud.domain.economics.assumptions import DEFAULTS
from neocloud.domain.economics.backlog import agreement_backlog, site_backlog
from neocloud.domain.economics.site_report import (
    MonthInputs,
    SiteFacts,
    SiteMonth,
    Use,
    months_between,
    planned_facility_kwh,
    site_month,
)
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money
from tests.conftest import EXAMPLES
from tests.unit.test_billing import reference

CHICAGO = "America/Chicago"
B = Decimal(1_000_000_000)
MEMPHIS = SiteFacts(
    name="memphis-1",
    timezone=CHICAGO,
    facility_capacity_kw=Decimal(300_000),
    electricity_price_per_mwh=Money(Decimal("67.90"), "USD"),
    grid_carbon_kg_per_mwh=Decimal("283.47"),
    gpus_by_model={"H100": 108_800, "H200": 99_200, "GB200": 8_640},
)


def september(inputs: MonthInputs | None = None) -> SiteMonth:
    period = BillingPeriod(2026, 9, CHICAGO)
    revenue = [m for m in revenue_schedule(reference()) if m.period.label == "2026-09"]
    return site_month(MEMPHIS, DEFAULTS, inputs or MonthInputs(period), revenue)


def test_september_2026_costs_worked_by_hand() -> None:
    month = september()
    # opex: 300 MW x USD 1,000,000 / 12
    assert month.opex.amount == Decimal("25000000.00")
    # facility: 300 MW x 11,500,000 / (20 x 12) = 3,450,000,000 / 240
    assert month.depreciation_facility.amount == Decimal("14375000.00")
    # servers: 108,800 x 50,000 / 60 = 5,440,000,000 / 60 = 90,666,666.666... -> .67
    #          99,200 x 50,000 / 60 = 4,960,000,000 / 60 = 82,666,666.666... -> .67
    #          8,640 x 41,666.67 / 60 = 360,000,028.80 / 60 = 6,000,000.48
    assert {m: x.amount for m, x in month.depreciation_servers.items()} == {
        "GB200": Decimal("6000000.48"),
        "H100": Decimal("90666666.67"),
        "H200": Decimal("82666666.67"),
    }
    assert month.depreciation.amount == Decimal("193708333.82")  # 14,375,000 + 179,333,333.82
    # no telemetry: the planned draw, 300,000 kW x 30 days x 24 h = 216,000,000 kWh
    assert month.energy_basis == "planned"
    assert month.facility_kwh == Decimal(216_000_000)
    assert month.energy_cost.amount == Decimal("14666400.00")  # 216,000 MWh x 67.90
    assert month.carbon_kg == Decimal("61229520.000")  # 216,000 MWh x 283.47 kg


def test_september_2026_revenue_and_margin_worked_by_hand() -> None:
    month = september()
    # recognized to 1 Oct (153 days) less to 1 Sep (123 days), each rounded to the cent:
    # 45 B x 153 / 1127 = 6,109,139,307.8970... -> 6,109,139,307.90
    # 45 B x 123 / 1127 = 4,911,268,855.3682... -> 4,911,268,855.37
    recognized = Decimal("6109139307.90") - Decimal("4911268855.37")
    assert month.recognized.amount == recognized == Decimal("1197870452.53")
    assert month.billed.amount == month.recognized_notice.amount == Decimal("1.25") * B
    # balance: 6,109,139,307.90 recognized - (2 x 0.625 + 3 x 1.25 = 5.0 B) billed
    assert month.balance.amount == Decimal("1109139307.90")
    costs = Decimal("14666400.00") + Decimal("25000000.00") + Decimal("193708333.82")
    assert month.margin.amount == recognized - costs == Decimal("964495718.71")
    assert month.margin_notice.amount == Decimal("1250000000") - costs


def test_metered_energy_and_internal_use_at_the_shadow_price() -> None:
    period = BillingPeriod(2026, 9, CHICAGO)
    use = {
        "H100": Use(installed=Decimal(1000), internal=Decimal("100.5"), idle=Decimal("899.5")),
        "H200": Use(installed=Decimal(500), internal=Decimal(40), leased=Decimal(460)),
    }
    month = september(MonthInputs(period, Decimal("1000.5"), use))
    assert month.energy_basis == "metered" and month.facility_kwh == Decimal("1000.5")
    # 1.0005 MWh x 67.90 = 67.93395 -> 67.93; x 283.47 kg = 283.611735 kg
    assert month.energy_cost.amount == Decimal("67.93")
    assert month.carbon_kg == Decimal("283.612")
    # 100.5 h x USD 2.00 + 40 h x USD 2.50 = 201.00 + 100.00
    assert month.internal_value.amount == Decimal("301.00")
    assert (month.use.installed, month.use.internal, month.use.leased) == (
        Decimal(1500),
        Decimal("140.5"),
        Decimal(460),
    )


def test_a_month_with_a_dst_change_plans_its_real_hours() -> None:
    # November 2026 in Chicago: DST ends 1 Nov, so 30 x 24 + 1 = 721 hours
    assert planned_facility_kwh(MEMPHIS, BillingPeriod(2026, 11, CHICAGO)) == 300_000 * 721


def test_months_between_refuses_from_after_to() -> None:
    labels = [p.label for p in months_between(BillingPeriod(2026, 11, CHICAGO),
                                              BillingPeriod(2027, 2, CHICAGO))]  # fmt: skip
    assert labels == ["2026-11", "2026-12", "2027-01", "2027-02"]
    with pytest.raises(InvalidInput, match="2027-01"):
        months_between(BillingPeriod(2027, 1, CHICAGO), BillingPeriod(2026, 1, CHICAGO))


def test_backlog_at_the_end_of_october_2026() -> None:
    """1 Nov 2026 00:00 Chicago (05:00 UTC). Billed by then: 2 x 0.625 B + 4 x 1.25 B =
    6.25 B, so 45 - 6.25 = 38.75 B headline. Notice then ends service 30 Jan 2027 00:00:
    November and December whole, and 29/31 of January: 2.5 B + 1.25 B x 29 / 31 =
    2,500,000,000 + 1,169,354,838.709... = 3,669,354,838.71."""
    at = datetime(2026, 11, 1, 5, tzinfo=UTC)
    deal = reference()
    rows = site_backlog([deal], at, "USD")
    assert [r.key for r in rows] == ["memphis-lease", "total"]
    for row in rows:
        assert row.headline.amount == Decimal("38750000000.00")
        assert row.enforceable.amount == Decimal("3669354838.71")


def test_backlog_before_the_start_mid_month_and_after_the_end() -> None:
    deal = reference()
    # signed 3 May 2026: before that there is no contract, so no backlog either way
    assert deal.signed_at is not None
    before = agreement_backlog(deal, deal.signed_at - timedelta(microseconds=1))
    assert before.headline.amount == before.enforceable.amount == 0
    assert agreement_backlog(deal, datetime(2026, 4, 1, tzinfo=UTC)).headline.amount == 0
    # 16 Nov 2026 00:00 Chicago (06:00 UTC, CST). November has 721 hours (DST ends on the
    # 1st); 361 of them are billed by then (15 days + the extra hour):
    # 38.75 B - 1.25 B x 361 / 721 = 38,124,133,148.4049... -> 38,124,133,148.40.
    # Notice then takes effect 14 Feb 2027 00:00: the other 360 hours of November, December
    # and January whole, 13 of February's 28 days:
    # 1.25 B x 360 / 721 + 2.5 B + 1.25 B x 13 / 28 = 3,704,490,291.2621... -> .26
    mid = agreement_backlog(deal, datetime(2026, 11, 16, 6, tzinfo=UTC))
    assert mid.headline.amount == Decimal("38124133148.40")
    assert mid.enforceable.amount == Decimal("3704490291.26")
    after = agreement_backlog(deal, datetime(2029, 6, 1, 5, tzinfo=UTC))
    assert after.headline.amount == after.enforceable.amount == 0


NOTICE_AT = datetime(2026, 11, 1, 5, tzinfo=UTC)  # 1 Nov 2026 00:00 Chicago
NOTICE_ENDS = datetime(2027, 1, 30, 6, tzinfo=UTC)  # 90 days on: 30 Jan 2027 00:00 CST


def with_fee(key: str = "memphis-lease", signed: datetime | None = None) -> CapacityAgreement:
    """The reference deal with a USD 300 M termination fee (the tenant's notice owes it)."""
    text = (EXAMPLES / "agreements" / "memphis-lease.yaml").read_text()
    text = text.replace("fee: 0", "fee: 300000000.00").replace("memphis-lease", key)
    terms = parse_terms(parse_document(text, "fee.yaml"))
    signed = signed or datetime(2026, 5, 3, 19, tzinfo=UTC)
    deal = CapacityAgreement.draft(terms, at=signed - timedelta(days=1), actor="t")
    deal.sign(signed)
    return deal


def test_backlog_at_the_instant_notice_is_given_and_after_it() -> None:
    """The tenant gives notice at 1 Nov 2026 00:00 Chicago. At that very instant the contract
    still runs the whole term (a notice counts strictly after it was given): 45 - 6.25 B
    billed = 38.75 B headline; notice then would owe November, December, 29/31 of January
    (3,669,354,838.71, as above) and the 300 M fee."""
    deal = with_fee()
    deal.give_notice(by=Party.TENANT, at=NOTICE_AT)
    at_notice = agreement_backlog(deal, NOTICE_AT)
    assert at_notice.headline.amount == Decimal("38750000000.00")
    assert at_notice.enforceable.amount == Decimal("3969354838.71")
    # 1 Dec 2026 00:00 Chicago (06:00 UTC): 7.5 B billed of 6.25 B + 2.5 B + 1.25 B x 29/31
    # + 0.3 B = 10,219,354,838.709... consideration; notice fixed, so both ways the same:
    # December whole, 29/31 of January and the fee = 2,719,354,838.71
    december = agreement_backlog(deal, datetime(2026, 12, 1, 6, tzinfo=UTC))
    assert december.headline.amount == december.enforceable.amount == Decimal("2719354838.71")
    # a day before the notice ends service: 1.25 B / 31 = 40,322,580.645... and the fee
    last_day = agreement_backlog(deal, NOTICE_ENDS - timedelta(days=1))
    assert last_day.headline.amount == Decimal("340322580.65")
    # when service ends the fee is billed with the rest: nothing left, at the end or later
    for at in (NOTICE_ENDS, datetime(2027, 3, 1, 6, tzinfo=UTC)):
        ended = agreement_backlog(deal, at)
        assert ended.headline.amount == ended.enforceable.amount == 0


def test_backlog_at_the_instant_of_signature_and_before_the_term() -> None:
    deal = with_fee()
    assert deal.signed_at == datetime(2026, 5, 3, 19, tzinfo=UTC)
    # signed 3 May 2026 14:00 Chicago: 62 of May's 744 hours billed, in rounded lines: the
    # fee 1.25 B x 62 / 744 = 104,166,666.666... -> .67 less the half-price commissioning
    # discount 52,083,333.333... -> .33, so 52,083,333.34: 45 B - that = 44,947,916,666.66
    at_signature = agreement_backlog(deal, deal.signed_at)
    assert at_signature.headline.amount == Decimal("44947916666.66")
    assert at_signature.enforceable.amount > 0
    # signed in April, before the term: at its start nothing is billed yet, 45 B headline;
    # notice then ends service 30 Jul 2026 00:00: May and June at half price (1.25 B) and
    # 29/31 of July's 1.25 B (1,169,354,838.709...) = 2,419,354,838.71, and the fee
    early = with_fee(signed=datetime(2026, 4, 15, tzinfo=UTC))
    start = datetime(2026, 5, 1, 5, tzinfo=UTC)
    for at in (datetime(2026, 4, 20, tzinfo=UTC), start):
        row = agreement_backlog(early, at)
        assert row.headline.amount == Decimal("45000000000.00")
    assert agreement_backlog(early, start).enforceable.amount == Decimal("2719354838.71")


def test_site_backlog_orders_by_key_and_totals() -> None:
    """Two deals listed out of key order, and a draft never signed (no backlog): at 1 Nov
    2026 00:00 Chicago each signed deal has 38.75 B headline and 3,669,354,838.71 + the
    300 M fee enforceable."""
    b = with_fee("b-lease")
    a = with_fee("a-lease")
    text = (EXAMPLES / "agreements" / "memphis-lease.yaml").read_text()
    draft = CapacityAgreement.draft(
        parse_terms(parse_document(text.replace("memphis-lease", "c-draft"), "c.yaml")),
        at=datetime(2026, 5, 1, tzinfo=UTC),
        actor="t",
    )
    rows = site_backlog([b, draft, a], NOTICE_AT, "USD")
    assert [r.key for r in rows] == ["a-lease", "b-lease", "c-draft", "total"]
    assert all(r.at == NOTICE_AT for r in rows)
    assert [r.headline.amount for r in rows] == [
        Decimal("38750000000.00"),
        Decimal("38750000000.00"),
        0,
        Decimal("77500000000.00"),
    ]
    assert [r.enforceable.amount for r in rows] == [
        Decimal("3969354838.71"),
        Decimal("3969354838.71"),
        0,
        Decimal("7938709677.42"),
    ]
    assert rows[-1].headline.currency == "USD"
    assert site_backlog([], NOTICE_AT, "EUR")[0].headline == Money.zero("EUR")


def test_september_2026_backlog_and_two_agreements_summed() -> None:
    """At the end of September 2026 (1 Oct 00:00 Chicago): headline = 45 B less the 5.0 B
    billed by then (2 x 0.625 + 3 x 1.25); notice then would end service 30 Dec 2026: October
    and November whole and 29/31 of December = 3,669,354,838.71. The same month twice (two
    agreements alike) doubles every revenue figure and leaves the costs alone."""
    one = september()
    assert one.agreements == 1
    assert one.headline_backlog.amount == Decimal("40000000000.00")
    assert one.enforceable_backlog.amount == Decimal("3669354838.71")
    period = BillingPeriod(2026, 9, CHICAGO)
    [revenue] = [m for m in revenue_schedule(reference()) if m.period.label == "2026-09"]
    two = site_month(MEMPHIS, DEFAULTS, MonthInputs(period), [revenue, revenue])
    assert two.agreements == 2
    assert two.billed.amount == two.recognized_notice.amount == Decimal("2.5") * B
    assert two.recognized.amount == Decimal("2395740905.06")  # 2 x 1,197,870,452.53
    assert two.balance.amount == Decimal("2218278615.80")  # 2 x 1,109,139,307.90
    assert two.headline_backlog.amount == Decimal("80000000000.00")
    assert two.enforceable_backlog.amount == Decimal("7338709677.42")
    assert two.costs == one.costs and two.costs.amount == Decimal("233374733.82")
    assert two.period == period and two.energy_telemetry_hours is None


def test_a_month_without_agreements_has_only_costs() -> None:
    """No revenue at all: every revenue figure is USD 0 and the margin is minus the costs
    (14,666,400.00 energy + 25,000,000.00 opex + 193,708,333.82 depreciation)."""
    month = site_month(MEMPHIS, DEFAULTS, MonthInputs(BillingPeriod(2026, 9, CHICAGO)), [])
    zero = Money.zero("USD")
    assert month.agreements == 0
    assert (month.billed, month.recognized, month.balance, month.recognized_notice) == (
        zero, zero, zero, zero)  # fmt: skip
    assert (month.headline_backlog, month.enforceable_backlog) == (zero, zero)
    assert month.internal_value == zero and month.use == Use()
    assert month.margin.amount == month.margin_notice.amount == Decimal("-233374733.82")


def test_a_tariff_in_another_currency_is_refused() -> None:
    site = SiteFacts("berlin-1", "Europe/Berlin", Decimal(1000), Money(Decimal(80), "EUR"),
                     Decimal(300), {})  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        site_month(site, DEFAULTS, MonthInputs(BillingPeriod(2026, 9, "Europe/Berlin")), [])
    [problem] = caught.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "currency", "USD",
        "differs from site berlin-1's tariff currency EUR; give figures in that currency",
    )  # fmt: skip


def test_telemetry_hours_and_internal_use_rounded_per_model() -> None:
    """A month telemetry covered 700 of its 720 hours is planned whole and says so. Own use
    is valued per model, each rounded to the cent: 0.005 H100-hours x 2.00 = 0.01 and 0.001
    H200-hours x 2.50 = 0.0025 -> 0.00; a model without own use (Z1, with no shadow price)
    is not looked up."""
    period = BillingPeriod(2026, 9, CHICAGO)
    use = {
        "Z1": Use(installed=Decimal(10), idle=Decimal(10)),
        "H200": Use(installed=Decimal(1), internal=Decimal("0.001")),
        "H100": Use(installed=Decimal(1), internal=Decimal("0.005")),
    }
    month = september(MonthInputs(period, None, use, 700))
    assert month.energy_basis == "planned" and month.facility_kwh == Decimal(216_000_000)
    assert month.energy_telemetry_hours == 700
    assert month.internal_value == Money(Decimal("0.01"), "USD")
    assert month.use == Use(installed=Decimal(12), internal=Decimal("0.006"), idle=Decimal(10))


def test_use_adds_every_field() -> None:
    a = Use(*(Decimal(n) for n in (1, 2, 3, 4, 5, 6, 7)))
    b = Use(*(Decimal(n) for n in (10, 20, 30, 40, 50, 60, 70)))
    total = a + b
    assert total == Use(*(Decimal(n) for n in (11, 22, 33, 44, 55, 66, 77)))


def test_facility_mw_and_a_month_when_daylight_saving_starts() -> None:
    assert MEMPHIS.facility_mw == Decimal(300)
    # March 2027 in Chicago: DST starts 14 Mar, so 31 x 24 - 1 = 743 hours
    assert planned_facility_kwh(MEMPHIS, BillingPeriod(2027, 3, CHICAGO)) == 300_000 * 743


def test_months_between_one_month_ten_years_and_no_more() -> None:
    jan = BillingPeriod(2026, 1, CHICAGO)
    assert months_between(jan, jan) == [jan]
    ten_years = months_between(jan, BillingPeriod(2035, 12, CHICAGO))
    assert len(ten_years) == 120 and ten_years[-1].label == "2035-12"
    with pytest.raises(InvalidInput) as caught:
        months_between(jan, BillingPeriod(2036, 1, CHICAGO))
    [problem] = caught.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "--to", "2036-01",
        "makes 121 months; a report covers at most 120 (ten years): split the range",
    )  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        months_between(BillingPeriod(2026, 2, CHICAGO), jan)
    [problem] = caught.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "--from", "2026-02", "is after --to 2026-01")  # fmt: skip
