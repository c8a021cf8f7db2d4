"""The walk-away Monte Carlo (numpy adapter; no I/O) against closed forms worked here."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import numpy as np

from neocloud.adapters.risk import SAMPLE, _ranks, _Sim, notice_months, select, simulate, tables
from neocloud.domain.economics.risk import Exposure, RiskInputs, exposure
from tests.factories import signed_agreement

MONTHS = tuple(date(2027, m, 1) for m in range(1, 13))
FEE = Decimal("1000000.00")


def inputs(*exposures: Exposure, months: tuple[date, ...] = MONTHS) -> RiskInputs:
    n = len(months)
    return RiskInputs("USD", months, (Decimal(720),) * n, Decimal(20000), exposures, (),
                      Decimal("0.0679"), Decimal("0.3"), Decimal("0.12"),
                      (Decimal("100000.00"),) * n)  # fmt: skip


def deal(h: str, **changes: object) -> Exposure:
    """USD 1,000,000.00 a month for 2027, 10 MW; ``h`` a month."""
    return exposure(signed_agreement(**changes), MONTHS, contracted_kw=Decimal(10000),
                    hazard_per_month=Decimal(h))  # fmt: skip


def test_zero_hazard_every_band_is_the_contracted_value() -> None:
    result = simulate(inputs(deal("0"), deal("0")), paths=5000, seed=1)
    for m in result.months:
        assert m.contracted_revenue == Decimal("2000000.00")
        assert m.revenue.p5 == m.revenue.p50 == m.revenue.p95 == Decimal("2000000.00")
        assert m.revenue.mean == Decimal("2000000.00") and m.revenue.stderr == 0
        # 20 MW leased of 20 MW: nothing idle
        assert m.idle_mw.p5 == m.idle_mw.p95 == 0
    assert result.total_revenue.p5 == result.total_revenue.p95 == Decimal("24000000.00")


def test_constant_hazard_mean_within_3_standard_errors_of_the_closed_form() -> None:
    """Notice at a month's start, 20 days, effective at the end of that month: month m is
    paid iff no notice in months 0..m-1, P = (1 - h)^m, so E[revenue_m] = F (1 - h)^m."""
    h = 0.05
    clause = {"notice_days": 20, "may_give_notice": ["tenant"], "notice_effective": "end_of_month"}
    result = simulate(inputs(deal(str(h), termination=clause)), paths=200_000, seed=11)
    for m, month in enumerate(result.months):
        expected = 1_000_000 * (1 - h) ** m
        assert abs(float(month.revenue.mean) - expected) <= 3 * float(month.revenue.stderr)
        assert month.revenue.stderr > 0 or m == 0
    total = sum(1_000_000 * (1 - h) ** m for m in range(12))  # 9,191,059.5 (geometric sum)
    assert abs(float(result.total_revenue.mean) - total) <= 3 * float(result.total_revenue.stderr)


def test_90_days_notice_may_by_hand() -> None:
    """90 days from 1 Feb is 2 May (28 + 31 + 30 = 89 days to 1 May), from 1 Mar it is
    30 May (31 + 30 = 61 days to 1 May): May is paid in full iff no notice in Jan, Feb or
    Mar, (1-h)^3; 29 days of 31 if notice came in March, h (1-h)^2; one day if it came in
    February, h (1-h); nothing if in January (effective 1 Apr)."""
    h = 0.1
    result = simulate(inputs(deal(str(h))), paths=200_000, seed=5)
    may = result.months[4]
    expected = 1_000_000 * ((1 - h) ** 3 + h * (1 - h) ** 2 * 29 / 31 + h * (1 - h) / 31)
    assert abs(float(may.revenue.mean) - expected) <= 3 * float(may.revenue.stderr)


def test_notice_months_follow_the_geometric_law() -> None:
    u = np.array([[0.0, 0.0, 0.5, 0.999999]])
    k = notice_months(u, np.array([0.0, 1.0, 0.5, 0.5]), 12)
    assert k.tolist() == [[12, 0, 1, 12]]  # log(0.5)/log(0.5) = 1


def test_the_scatter_of_losses_equals_the_plain_table() -> None:
    """Revenue and kW that change month to month (steps) and partial months."""
    m = 8
    ex = Exposure("x", Decimal("0.2"), tuple(Decimal(100 * (i + 1)) for i in range(m)),
                  tuple(Decimal(10 + (i % 3)) for i in range(m)),
                  tuple(min(k + 2, m) for k in range(m)), (Decimal(7),) * m,
                  (Decimal("0.5"),) * m)  # fmt: skip
    ins = inputs(ex, ex, months=MONTHS[:m])
    sim = _Sim(ins)
    k = notice_months(np.random.default_rng(0).random((400, 2)), sim.hazard, m)
    lost_rev, lost_kw = sim.losses(k)
    table = tables(ins)
    plain = table[0][k[:, 0]] + table[1][k[:, 1]]
    assert np.allclose(sim.base_revenue[:, None] - lost_rev, plain[:, :m].T, atol=1e-9)
    assert np.allclose(sim.base_kw[:, None] - lost_kw, plain[:, m:].T, atol=1e-9)


def test_same_seed_same_result_other_seed_other_result() -> None:
    ins = inputs(deal("0.03"), deal("0.08"))
    a, b = simulate(ins, paths=30_000, seed=3), simulate(ins, paths=30_000, seed=3)
    assert a == b
    assert simulate(ins, paths=30_000, seed=4) != a


def test_select_gives_exact_order_statistics() -> None:
    """Against a full sort: smooth values, heavy ties (revenue: most paths at the contract;
    a few totals, P50 on the edge of a run), a sorted column, and one whose strided sample
    is all one value (the whole-array fallback)."""
    rng = np.random.default_rng(9)
    ties = np.where(rng.random(300_000) < 0.93, 1.25e9, rng.random(300_000) * 1e9)
    totals = np.repeat([1.0e9, 1.1e9, 1.2e9, 1.25e9], [150_000, 1, 99_999, 50_000])
    ordered = np.concatenate((np.zeros(150_000), np.arange(150_000.0)))
    misled = rng.random(300_000)
    misled[:: misled.size // SAMPLE] = 2.0
    for values in (rng.standard_normal(300_001), ties, rng.permutation(totals), ordered,
                   misled, rng.random(1000)):  # fmt: skip
        ranks = _ranks(values.size)
        assert select(values, ranks) == [float(np.sort(values)[r]) for r in ranks]
