"""What facility energy costs at a site's tariff and emits at its grid's intensity, by hand
(DOMAIN.md §6: Tennessee industrial USD 67.90/MWh; TVA 2023 283.47 kg CO2/MWh)."""

from decimal import Decimal

from neocloud.domain.kernel.money import Money
from neocloud.domain.metering.metered import carbon_kg, energy_cost

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
