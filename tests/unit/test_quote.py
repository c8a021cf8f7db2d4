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
from neocloud.domain.kernel.money import Money
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


def refusal(caught: pytest.ExceptionInfo[InvalidInput]) -> tuple[object, ...]:
    (problem,) = caught.value.problems
    return (problem.field, problem.value, problem.message)


def test_fee_floor_parts_each_from_its_own_inputs() -> None:
    """2 MW for 744 h (a 31-day month) at USD 50.00/MWh: 1,488 MWh = 74,400.00; opex USD
    600,000 per MW-year: 2 x 600,000 / 12 = 100,000.00; depreciation 30,000.00; 10 GPUs at
    USD 3.00 an hour: 10 x 744 x 3 = 22,320.00. Total 226,720.00. Nothing displaced: the
    floor is the block's own cost, 204,400.00."""
    common = {
        "facility_kw": Decimal(2000),
        "hours": Decimal(744),
        "price_per_mwh": usd("50.00"),
        "opex_per_mw_year": usd("600000"),
        "depreciation": usd("30000.00"),
        "shadow_price_per_gpu_hour": usd("3.00"),
    }
    floor = fee_floor(displaced_gpus=Decimal(10), **common)  # type: ignore[arg-type]
    assert (floor.energy, floor.opex, floor.depreciation, floor.displaced_own_use) == (
        usd("74400.00"),
        usd("100000.00"),
        usd("30000.00"),
        usd("22320.00"),
    )
    assert floor.total == usd("226720.00")
    alone = fee_floor(displaced_gpus=Decimal(0), **common)  # type: ignore[arg-type]
    assert alone.total == usd("204400.00")


def test_fee_for_a_margin_at_its_bounds() -> None:
    """Margin 0: the fee is the floor; 0.5: twice it; 0.75: four times. The margin of a fee
    is (fee - floor) / fee: 400 over 100 is 0.75, 100 over 100 is 0, 50 over 100 is -1."""
    floor = usd("1000.00")
    assert fee_for_margin(floor, Decimal(0)) == floor
    assert fee_for_margin(floor, Decimal("0.5")) == usd("2000.00")
    assert fee_for_margin(floor, Decimal("0.75")) == usd("4000.00")
    assert margin_of(usd("400"), usd("100")) == Decimal("0.75")
    assert margin_of(usd("100"), usd("100")) == 0
    assert margin_of(usd("50"), usd("100")) == -1
    assert margin_of(usd("0.01"), usd("0")) == 1
    message = "must be a share of the fee, at least 0 and below 1"
    for bad in ("1", "-0.01", "1.5"):
        with pytest.raises(InvalidInput) as caught:
            fee_for_margin(floor, Decimal(bad))
        assert refusal(caught) == ("target_margin", bad, message)
    for fee in ("0", "-5"):
        with pytest.raises(InvalidInput) as caught:
            margin_of(usd(fee), floor)
        assert refusal(caught) == ("fee", fee, "must be greater than 0")


def test_discount_factors_at_100_percent_a_year() -> None:
    """At r = 1 (the largest rate allowed) money halves in a year: month m's factor is
    2^-(m+1)/12, so month 12's is exactly 1/2, month 6's 1/sqrt(2) = 0.70710678118654752...
    and month 1's the twelfth root of 1/2, 0.94387431268169349... At r = 0 every factor
    is 1."""
    factors = discount_factors(12, Decimal(1))
    assert len(factors) == 12
    assert factors[11] == Decimal("0.5")
    assert factors[5] == pytest.approx(Decimal("0.70710678118654752"), abs=Decimal("1e-16"))
    assert factors[0] == pytest.approx(Decimal("0.94387431268169349"), abs=Decimal("1e-16"))
    assert discount_factors(3, Decimal(0)) == (Decimal(1),) * 3
    assert discount_factors(0, Decimal("0.08")) == ()
    with pytest.raises(InvalidInput) as caught:
        discount_factors(12, Decimal("1.01"))
    assert refusal(caught)[:2] == ("discount_rate", "1.01")


def test_running_shares_in_chicago_across_the_clock_change() -> None:
    """March and April 2027 in Chicago: March has 743 hours (clocks go forward on 14
    March), April 720. A 10-day notice on 1 March runs to local midnight of 11 March, 240
    hours: 240/743 of March, none of April. On 1 April it runs to 11 April: all of March,
    240/720 = 1/3 of April. No notice: both whole. A 31-day notice on 1 March ends exactly
    at the end of March: all of it, none of April."""
    tz = "America/Chicago"
    months = [
        Interval(local_midnight(2027, 3, 1, tz), local_midnight(2027, 4, 1, tz)),
        Interval(local_midnight(2027, 4, 1, tz), local_midnight(2027, 5, 1, tz)),
    ]
    shares = running_shares(months, 10, tz)
    assert shares == [
        (Decimal(240) / 743, Decimal(0)),
        (Decimal(1), Decimal(1) / 3),
        (Decimal(1), Decimal(1)),
    ]
    assert running_shares(months, 31, tz)[0] == (Decimal(1), Decimal(0))
    # a notice that ends before a month starts leaves none of it: 0 days on 1 April
    assert running_shares(months, 0, tz)[1] == (Decimal(1), Decimal(0))


def test_lease_or_keep_discounted_in_euros() -> None:
    """Two months, factors 0.9 and 0.8; lease nets EUR 100 a month, own use 40. Keep:
    0.9 x 40 + 0.8 x 40 = 68. Lease, no notice: 0.9 x 100 + 0.8 x 100 = 170. A notice in
    month 0 leaving half of it leased: 0.9 x (50 + 20) + 0.8 x 40 = 95. A notice in month 1
    leaving a quarter of it: 90 + 0.8 x (25 + 30) = 134. Hazard 0.05: notice in month 0 with
    p 0.05, in month 1 with 0.05 x 0.95 = 0.0475, none with 0.95^2 = 0.9025. Expected:
    4.75 + 6.365 + 153.425 = 164.54. P5: the cumulative probability reaches 0.05 exactly at
    the lowest outcome, 95; P95: 0.05 + 0.0475 = 0.0975, then 1 at 170."""

    def eur(amount: str) -> Money:
        return Money(Decimal(amount), "EUR")

    shares = [(Decimal("0.5"), Decimal(0)), (Decimal(1), Decimal("0.25")), (Decimal(1), Decimal(1))]
    result = lease_or_keep(
        lease_net=[eur("100")] * 2,
        keep_net=[eur("40")] * 2,
        shares=shares,
        hazard_per_month=Decimal("0.05"),
        discount=(Decimal("0.9"), Decimal("0.8")),
    )
    assert result.keep == eur("68")
    assert result.lease_expected == eur("164.54")
    assert (result.lease_p5, result.lease_p95) == (eur("95"), eur("170"))
    assert result.p_no_notice == Decimal("0.9025")
    assert result.advantage == eur("96.54")


def test_lease_or_keep_quantiles_and_a_hazard_outside_0_1() -> None:
    """One month; walk-away outcome 10 (p h), full term 30 (p 1 - h). At h = 0.04 the
    cumulative probability at 10 is 0.04, below 0.05: P5 and P95 are 30. At h = 0.95 it is
    0.95: P5 and P95 are 10. Where own use nets more (50) than the lease (30), the walk-away
    is the better outcome and comes last in order: at h = 0.5, P5 30 and P95 50."""
    one = {
        "keep_net": [usd("10")],
        "discount": (Decimal(1),),
        "shares": [(Decimal(0),), (Decimal(1),)],
    }
    low = lease_or_keep(lease_net=[usd("30")], hazard_per_month=Decimal("0.04"), **one)  # type: ignore[arg-type]
    assert (low.lease_p5, low.lease_p95) == (usd("30"), usd("30"))
    high = lease_or_keep(lease_net=[usd("30")], hazard_per_month=Decimal("0.95"), **one)  # type: ignore[arg-type]
    assert (high.lease_p5, high.lease_p95) == (usd("10"), usd("10"))
    assert high.lease_expected == usd("11.0")  # 0.95 x 10 + 0.05 x 30
    for bad in ("-0.01", "1.01"):
        with pytest.raises(InvalidInput) as caught:
            lease_or_keep(lease_net=[usd("30")], hazard_per_month=Decimal(bad), **one)  # type: ignore[arg-type]
        assert refusal(caught) == ("hazard", bad, "must be between 0 and 1")
    better = lease_or_keep(
        lease_net=[usd("30")],
        keep_net=[usd("50")],
        hazard_per_month=Decimal("0.5"),
        shares=[(Decimal(0),), (Decimal(1),)],
        discount=(Decimal(1),),
    )
    assert (better.lease_p5, better.lease_p95, better.keep) == (usd("30"), usd("50"), usd("50"))


def test_lease_or_keep_p95_below_the_full_term() -> None:
    """The outcomes of the euro test (95, 134, 170) at h = 0.8: notice in month 0 with p
    0.8, in month 1 with 0.8 x 0.2 = 0.16, none with 0.2^2 = 0.04. The cumulative
    probability is 0.8 at 95 (P5) and 0.96 at 134, past 0.95: P95 is 134, not the full
    term. Expected: 76 + 21.44 + 6.8 = 104.24."""
    shares = [(Decimal("0.5"), Decimal(0)), (Decimal(1), Decimal("0.25")), (Decimal(1), Decimal(1))]
    result = lease_or_keep(
        lease_net=[usd("100")] * 2,
        keep_net=[usd("40")] * 2,
        shares=shares,
        hazard_per_month=Decimal("0.8"),
        discount=(Decimal("0.9"), Decimal("0.8")),
    )
    assert (result.lease_p5, result.lease_p95) == (usd("95"), usd("134"))
    assert result.lease_expected == usd("104.24")
    assert result.p_no_notice == Decimal("0.04")


def test_lease_or_keep_refuses_months_that_do_not_line_up() -> None:
    """A discount table, or a row of shares, shorter than the months would drop the last
    months' money without a word: refused."""
    nets = {
        "lease_net": [usd("100")] * 2,
        "keep_net": [usd("40")] * 2,
        "hazard_per_month": Decimal("0.5"),
    }
    # one discount factor for two months (rows of one share, as if for one month)
    with pytest.raises(ValueError, match="zip"):
        lease_or_keep(shares=[(Decimal(1),)] * 2, discount=(Decimal(1),), **nets)  # type: ignore[arg-type]
    # two factors for two months, but rows of one share
    with pytest.raises(ValueError, match="zip"):
        lease_or_keep(shares=[(Decimal(1),)] * 3, discount=(Decimal(1),) * 2, **nets)  # type: ignore[arg-type]
