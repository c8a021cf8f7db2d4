"""A month of the reference site's economics and its backlog, every figure worked by hand.

The site (examples/fleet.yaml, header comment): 300 MW of facility capacity, USD 67.90/MWh,
283.47 kg CO2/MWh, 108,800 H100, 99,200 H200 and 8,640 GB200 installed. The assumptions are
DOMAIN.md §6's defaults: opex USD 1 M per MW-year; the facility USD 11.5 M per MW over 20
years; servers USD 50,000 per H100 or H200 and USD 41,666.67 per GB200, over 5 years. The
deal (tests/unit/test_recognition.py): USD 45.0 B over 1,127 days from 1 May 2026, Chicago.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

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
    before = agreement_backlog(deal, datetime(2026, 4, 1, tzinfo=UTC))
    assert before.headline.amount == 45 * B
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
