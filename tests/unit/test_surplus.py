"""Sellable surplus (domain/planning/surplus.py), worked by hand on a small site.

One model, H100: 20 nodes of 8 GPUs = 160 healthy GPUs; 700 W x 1.3 = 0.91 kW IT per GPU;
PUE 1.2. An agreement ramps: nodes n01-n04 from 1 January 2027, n05-n08 from 15 February,
both to 1 May (half-open: not held on 1 May), and spare node n09 kept for it over the same
term. Own demand forecast by hand (mean, sigma per month); quantile 0.9 is mean + 1.28155
sigma (z from a normal table), rounded up. Reserve 5 % of the uncommitted GPUs, rounded up.

    month  committed       own demand (q 0.9)             reserve          surplus
    Jan    32 + 8 = 40     40 + 1.28155 x 10 = 52.8 -> 53  120 x .05 = 6    160-40-53-6  =  61
    Feb    64 + 8 = 72     60, sigma 0            -> 60     88 x .05 = 4.4->5 160-72-60-5 =  23
    Mar    72              70 + 1.28155 x 5 = 76.4 -> 77    5               160-72-77-5  =   6
    Apr    72              100 + 1.28155 x 20 = 125.6 -> 126 5              160-72-126-5 = -43
    May    0               10 + 1.28155 x 10 = 22.8 -> 23  160 x .05 = 8    160-0-23-8   = 129

MW: Jan 61 x 0.91 kW = 55.51 kW = 0.05551 MW IT, x 1.2 = 0.066612 MW facility;
Apr -43 x 0.91 = -39.13 kW: -0.03913 MW IT, -0.046956 MW facility (a shortfall).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.planning.forecast import DemandForecast, DemandPoint, MonthForecast
from neocloud.domain.planning.surplus import ModelCapacity, committed_gpus, sellable_surplus

JAN, FEB15, MAY = (datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 15, tzinfo=UTC),
                   datetime(2027, 5, 1, tzinfo=UTC))  # fmt: skip
MONTHS = [date(2027, m, 1) for m in range(1, 6)]


def held(node: str, kind: HolderKind, start: datetime) -> Holding:
    return Holding("hall-1", "r1", node, "H100", kind, "deal", start, MAY)


HOLDINGS = [
    *(held(f"n0{i}", HolderKind.AGREEMENT, JAN) for i in range(1, 5)),
    *(held(f"n0{i}", HolderKind.AGREEMENT, FEB15) for i in range(5, 9)),
    held("n09", HolderKind.SPARE, JAN),
    Holding("hall-1", "r2", "n10", "H100", HolderKind.MAINTENANCE, "", JAN, None),  # not sold
]
GPUS_OF = {f"n{i:02d}": 8 for i in range(1, 21)}
FORECAST = DemandForecast(
    site="small",
    gpu_model="H100",
    history=(DemandPoint(date(2026, 12, 1), "H100", 50.2),),
    months=tuple(MonthForecast(m, mean, sigma) for m, (mean, sigma) in zip(
        MONTHS, [(40, 10), (60, 0), (70, 5), (100, 20), (10, 10)], strict=True)),
    method="by hand",
)  # fmt: skip


def committed(month: date) -> dict[str, int]:
    end = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return committed_gpus(HOLDINGS, GPUS_OF, datetime(month.year, month.month, 1, tzinfo=UTC),
                          datetime(end.year, end.month, 1, tzinfo=UTC))  # fmt: skip


def rows(months: list[date] = MONTHS, **overrides: object) -> list[tuple[object, ...]]:
    args: dict[str, object] = {"quantile": 0.9, "reserve_share": Decimal("0.05")} | overrides
    found = sellable_surplus([ModelCapacity("H100", 160, Decimal("0.91"))], months,
                             committed=committed, demand={"H100": FORECAST},
                             pue=Decimal("1.2"), **args)  # type: ignore[arg-type]  # fmt: skip
    return [(r.month.month, r.committed_gpus, r.own_demand_gpus, r.reserve_gpus, r.surplus_gpus,
             r.shortfall) for r in found]  # fmt: skip


def test_the_small_site_month_by_month() -> None:
    assert rows() == [
        (1, 40, 53, 6, 61, False),
        (2, 72, 60, 5, 23, False),
        (3, 72, 77, 5, 6, False),
        (4, 72, 126, 5, -43, True),
        (5, 0, 23, 8, 129, False),
    ]


def test_megawatts_it_and_facility() -> None:
    found = sellable_surplus([ModelCapacity("H100", 160, Decimal("0.91"))], MONTHS,
                             committed=committed, demand={"H100": FORECAST}, quantile=0.9,
                             reserve_share=Decimal("0.05"), pue=Decimal("1.2"))  # fmt: skip
    jan, apr = found[0], found[3]
    assert (jan.surplus_it_mw, jan.surplus_facility_mw) == (Decimal("0.05551"),
                                                            Decimal("0.066612"))  # fmt: skip
    assert (apr.surplus_it_mw, apr.surplus_facility_mw) == (Decimal("-0.03913"),
                                                            Decimal("-0.046956"))  # fmt: skip


def test_a_recorded_month_uses_what_was_recorded_and_no_demand_counts_zero() -> None:
    december = [date(2026, 12, 1)]  # 50.2 recorded -> 51; nothing held; 160 x .05 = 8
    assert rows(december) == [(12, 0, 51, 8, 160 - 51 - 8, False)]
    found = sellable_surplus([ModelCapacity("GB200", 72, Decimal("1.56"))], december,
                             committed=lambda _: {}, demand={}, quantile=0.9,
                             reserve_share=Decimal(0), pue=Decimal("1.2"))  # fmt: skip
    assert [(r.own_demand_gpus, r.surplus_gpus) for r in found] == [(0, 72)]


def test_a_higher_quantile_sells_less() -> None:
    # q 0.5: the mean itself: Jan 160 - 40 - 40 - 6 = 74
    assert rows(quantile=0.5)[0] == (1, 40, 40, 6, 74, False)


@pytest.mark.parametrize("q", [0, 1, 1.5, -0.1, True])
def test_a_quantile_outside_0_1_is_refused(q: object) -> None:
    with pytest.raises(InvalidInput, match="quantile"):
        rows(quantile=q)


@pytest.mark.parametrize("share", [Decimal(-1), Decimal(1), Decimal("NaN")])
def test_a_reserve_share_outside_0_1_is_refused(share: Decimal) -> None:
    with pytest.raises(InvalidInput, match="reserve_share"):
        rows(reserve_share=share)
