"""The deal desk's arithmetic, worked by hand to the cent."""

from __future__ import annotations

from decimal import Decimal

import pytest

from neocloud.domain.economics.quote import (
    discount_factors,
    fee_floor,
    fee_for_margin,
    lease_or_keep,
    margin_of,
    running_shares,
)
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval, local_midnight
from tests.factories import usd


def test_fee_floor_of_a_small_block_to_the_cent() -> None:
    """10 MW facility for a 30-day month (720 h) at USD 67.90/MWh: 7,200 MWh = 488,880.00;
    opex USD 1 M per MW-year: 10 / 12 M = 833,333.333...; depreciation given, 1,500,000.00;
    1,000 GPUs of own demand displaced at USD 2.00 an hour: 1,000 x 720 x 2 = 1,440,000.00.
    Total 4,262,213.333... -> 4,262,213.33."""
    floor = fee_floor(
        facility_kw=Decimal(10000), hours=Decimal(720), price_per_mwh=usd("67.90"),
        opex_per_mw_year=usd("1000000"), depreciation=usd("1500000.00"),
        displaced_gpus=Decimal(1000), shadow_price_per_gpu_hour=usd("2.00"),
    )  # fmt: skip
    assert floor.energy.rounded() == usd("488880.00")
    assert floor.opex.rounded() == usd("833333.33")
    assert floor.displaced_own_use.rounded() == usd("1440000.00")
    assert floor.total.rounded() == usd("4262213.33")
    # a 20 % margin: 4,262,213.333... / 0.8 = 5,327,766.666... -> 5,327,766.67
    assert fee_for_margin(floor.total, Decimal("0.2")).rounded() == usd("5327766.67")
    assert margin_of(usd("5327766.67"), floor.total).quantize(Decimal("0.0001")) == Decimal("0.2")
    with pytest.raises(InvalidInput):
        fee_for_margin(floor.total, Decimal(1))


def test_lease_or_keep_without_and_with_a_certain_walk_away() -> None:
    """June and July 2027 in UTC (30 and 31 days); lease nets 100 a month, own use 40; no
    discounting. No hazard: lease 200, keep 80. Hazard 1: notice on 1 June, 15 days on:
    June runs half leased (50 + 20), July is own use (40): 110, P5 = P95 = 110."""
    months = [Interval(local_midnight(2027, m, 1, "UTC"), local_midnight(2027, m + 1, 1, "UTC"))
              for m in (6, 7)]  # fmt: skip
    shares = running_shares(months, 15, "UTC")
    assert shares[0] == (Decimal(1) / 2, Decimal(0)) and shares[2] == (Decimal(1), Decimal(1))
    common = {"lease_net": [usd("100")] * 2, "keep_net": [usd("40")] * 2, "shares": shares,
              "discount": (Decimal(1), Decimal(1))}  # fmt: skip
    never = lease_or_keep(hazard_per_month=Decimal(0), **common)  # type: ignore[arg-type]
    assert (never.lease_expected, never.keep, never.advantage) == (usd("200"), usd("80"),
                                                                   usd("120"))  # fmt: skip
    assert never.lease_p5 == never.lease_p95 == usd("200")
    sure = lease_or_keep(hazard_per_month=Decimal(1), **common)  # type: ignore[arg-type]
    assert sure.lease_expected == sure.lease_p5 == sure.lease_p95 == usd("110")
    # h = 0.5: outcomes 110 (p 0.5); notice 1 July, running to 16 July, 15 of July's 31
    # days leased: 100 + (15 x 100 + 16 x 40) / 31 = 100 + 2,140 / 31 (p 0.25); none: 200
    # (p 0.25). Mean 55 + (100 + 2,140 / 31) / 4 + 50 = 147.258...; P5 110; P95 200.
    half = lease_or_keep(hazard_per_month=Decimal("0.5"), **common)  # type: ignore[arg-type]
    mean = 55 + (100 + Decimal(2140) / 31) / 4 + 50
    assert half.lease_expected.amount == pytest.approx(mean, abs=Decimal("1e-20"))
    assert (half.lease_p5, half.lease_p95) == (usd("110"), usd("200"))


def test_discounting_and_a_negative_rate() -> None:
    # 8 %/yr over 12 months: the last factor is exactly 1 / 1.08
    assert discount_factors(12, Decimal("0.08"))[-1] == pytest.approx(Decimal(1) / Decimal("1.08"))
    with pytest.raises(InvalidInput) as caught:
        discount_factors(12, Decimal("-0.02"))
    assert caught.value.problems[0].field == "discount_rate"
