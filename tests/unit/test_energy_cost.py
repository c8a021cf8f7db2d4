"""What facility energy costs at a site's tariff and emits at its grid's intensity, by hand
(DOMAIN.md §6: Tennessee industrial USD 67.90/MWh; TVA 2023 283.47 kg CO2/MWh)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money
from neocloud.domain.metering.metered import (
    SiteEnergy,
    carbon_kg,
    energy_cost,
    utc_hours_starting_in,
)

TARIFF = Money(Decimal("67.90"), "USD")


def test_300_mw_for_a_30_day_month() -> None:
    """300 MW x 720 h = 216,000 MWh; x 67.90 = USD 14,666,400.00; x 283.47 kg = 61,229,520 kg."""
    kwh = Decimal(300_000) * 24 * 30
    assert energy_cost(kwh, TARIFF) == Money(Decimal("14666400.00"), "USD")
    assert carbon_kg(kwh, Decimal("283.47")) == Decimal("61229520.000")


def test_small_amounts_round_to_the_cent_and_the_gram() -> None:
    assert energy_cost(Decimal(1), TARIFF) == Money(Decimal("0.07"), "USD")  # 0.0679
    assert energy_cost(Decimal("0.073"), TARIFF) == Money(Decimal("0.00"), "USD")  # 0.0049567
    assert carbon_kg(Decimal("0.0017"), Decimal("283.47")) == Decimal("0.000")  # 0.48 g
    assert carbon_kg(Decimal("0.0018"), Decimal("283.47")) == Decimal("0.001")  # 0.51 g


def test_site_facility_energy_uses_each_nodes_server_overhead() -> None:
    """An H100 node (overhead 1.3) with 3,600,000,000 mJ (1 kWh) of GPU energy and a GB300
    tray (1.15) with 7,200,000,000 mJ (2 kWh): IT 1.3 + 2.3 = 3.6 kWh; x PUE 1.1 = 3.96 kWh."""
    energy = SiteEnergy({"h": Decimal(3_600_000_000), "g": Decimal(7_200_000_000)}, 24, 24)
    overhead = {"h": Decimal("1.3"), "g": Decimal("1.15")}
    assert energy.facility_kwh(overhead, Decimal("1.1")) == Decimal("3.960")
    assert energy.covered
    assert not SiteEnergy({}, 23, 24).covered and not SiteEnergy({}, 0, 0).covered


def test_the_utc_hours_a_month_holds() -> None:
    """June 2027 in Chicago: 720 hours; November 2026 (DST ends): 721; a month in Kolkata
    (+05:30) starts and ends on the half hour: the 744 hours that start inside March."""
    june = BillingPeriod(2027, 6, "America/Chicago").interval
    assert utc_hours_starting_in(june) == 720
    assert utc_hours_starting_in(BillingPeriod(2026, 11, "America/Chicago").interval) == 721
    march = BillingPeriod(2027, 3, "Asia/Kolkata").interval
    assert utc_hours_starting_in(march) == 744
    start = datetime(2027, 6, 1, 0, 30, tzinfo=UTC)
    assert utc_hours_starting_in(Interval(start, start + timedelta(hours=1))) == 1  # 01:00
    assert utc_hours_starting_in(Interval(start, start + timedelta(minutes=20))) == 0
