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
from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.planning.forecast import DemandForecast, DemandPoint, MonthForecast
from neocloud.domain.planning.surplus import (
    ModelCapacity,
    check_reserve_share,
    committed_gpus,
    sellable_surplus,
)

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


# -- committed GPUs, one rule at a time: window [1 January, 1 February 2027) -------------

DEC = datetime(2026, 12, 1, tzinfo=UTC)
JAN10, JAN20 = datetime(2027, 1, 10, tzinfo=UTC), datetime(2027, 1, 20, tzinfo=UTC)
FEB = datetime(2027, 2, 1, tzinfo=UTC)


def hold(node: str, start: datetime, end: datetime | None, kind: HolderKind = HolderKind.AGREEMENT,
         model: str = "H100") -> Holding:  # fmt: skip
    return Holding("hall-1", "r1", node, model, kind, "deal", start, end)


def in_january(*holdings: Holding) -> dict[str, int]:
    return committed_gpus(holdings, GPUS_OF, JAN, FEB)


def test_committed_is_the_most_held_at_one_instant_not_the_sum() -> None:
    # n01 (8) to 10 January, then n02 + n03 (16) from 10 January: never both, so 16
    assert in_january(hold("n01", DEC, JAN10), hold("n02", JAN10, FEB),
                      hold("n03", JAN10, FEB)) == {"H100": 16}  # fmt: skip
    # n01 (8) held over the whole month and n02 + n03 from 20 January: 24 from then on
    assert in_january(hold("n01", DEC, None), hold("n02", JAN20, FEB),
                      hold("n03", JAN20, None)) == {"H100": 24}  # fmt: skip


def test_committed_leaves_out_what_ends_at_the_start_or_starts_at_the_end() -> None:
    # n01-n03 end on 1 January and n04-n06 start on 1 February: neither is in January;
    # n07 is held from 20 January to the end: 8
    assert in_january(*(hold(f"n0{i}", DEC, JAN) for i in (1, 2, 3)),
                      *(hold(f"n0{i}", FEB, None) for i in (4, 5, 6)),
                      hold("n07", JAN20, FEB)) == {"H100": 8}  # fmt: skip


def test_committed_counts_spares_per_model_and_not_maintenance() -> None:
    # H100: agreement n01 and spare n02 from 10 January (16); n03 in maintenance all month;
    # GB200: nodes g1, g2 of 4 GPUs from 20 January (8); a node of no known size counts 0
    gpus_of = {"n01": 8, "n02": 8, "n03": 8, "g1": 4, "g2": 4}
    holdings = [hold("n01", JAN10, None), hold("n02", JAN10, None, HolderKind.SPARE),
                hold("n03", DEC, None, HolderKind.MAINTENANCE),
                hold("g1", JAN20, None, model="GB200"), hold("g2", JAN20, FEB, model="GB200"),
                hold("x1", JAN10, None, model="MI300X")]  # fmt: skip
    found = committed_gpus(holdings, gpus_of, JAN, FEB)
    assert found == {"H100": 16, "GB200": 8, "MI300X": 0}


def test_nothing_committed_is_an_empty_map() -> None:
    assert in_january() == {}
    assert in_january(hold("n01", DEC, JAN, HolderKind.AGREEMENT)) == {}


# -- reserve, order of models, refusals --------------------------------------------------


def one_month(healthy: int, held: int, share: str = "0.05", **kw: object) -> tuple[int, ...]:
    args: dict[str, object] = {"demand": {}, "quantile": 0.9, "pue": Decimal("1.5")} | kw
    [r] = sellable_surplus([ModelCapacity("H100", healthy, Decimal("0.91"))], [MONTHS[0]],
                           committed=lambda _: {"H100": held}, reserve_share=Decimal(share),
                           **args)  # type: ignore[arg-type]  # fmt: skip
    return r.committed_gpus, r.own_demand_gpus, r.reserve_gpus, r.surplus_gpus


def test_one_uncommitted_gpu_keeps_one_spare() -> None:
    # 41 - 40 = 1 GPU left: 1 x 0.05 = 0.05 -> 1 spare; 41 - 40 - 0 - 1 = 0
    assert one_month(41, 40) == (40, 0, 1, 0)
    # 60 left: 60 x 0.05 = 3 exactly, not rounded up to 4
    assert one_month(100, 40) == (40, 0, 3, 57)
    # 61 left at 2 %: 1.22 -> 2
    assert one_month(101, 40, "0.02") == (40, 0, 2, 59)


def test_no_reserve_when_nothing_is_left_or_the_share_is_zero() -> None:
    assert one_month(40, 40) == (40, 0, 0, 0)
    # committed beyond what is healthy (a node gone to maintenance): no negative reserve
    assert one_month(100, 120) == (120, 0, 0, -20)
    assert one_month(100, 40, "0") == (40, 0, 0, 60)


def test_a_recorded_whole_number_is_not_rounded_up() -> None:
    recorded = DemandForecast("small", "H100", (DemandPoint(MONTHS[0], "H100", 50.0),), (), "x")
    # 160 - 0 - 50 - 8 = 102
    assert one_month(160, 0, demand={"H100": recorded}) == (0, 50, 8, 102)


def test_models_come_in_name_order_each_month_with_their_own_power() -> None:
    # GB200: 72 healthy, nothing held or used, no reserve: 72 x 1.56 kW = 0.11232 MW IT,
    # x PUE 1.5 = 0.16848 MW; H100: 16 x 0.91 kW = 0.01456 MW IT, 0.02184 MW facility
    found = sellable_surplus([ModelCapacity("H100", 16, Decimal("0.91")),
                              ModelCapacity("GB200", 72, Decimal("1.56"))], MONTHS[:2],
                             committed=lambda _: {}, demand={}, quantile=0.5,
                             reserve_share=Decimal(0), pue=Decimal("1.5"))  # fmt: skip
    assert [(r.month, r.gpu_model, r.healthy_gpus, r.surplus_gpus, r.surplus_it_mw,
             r.surplus_facility_mw) for r in found] == [
        (MONTHS[0], "GB200", 72, 72, Decimal("0.11232"), Decimal("0.16848")),
        (MONTHS[0], "H100", 16, 16, Decimal("0.01456"), Decimal("0.02184")),
        (MONTHS[1], "GB200", 72, 72, Decimal("0.11232"), Decimal("0.16848")),
        (MONTHS[1], "H100", 16, 16, Decimal("0.01456"), Decimal("0.02184")),
    ]  # fmt: skip


def test_a_bad_quantile_is_refused_without_any_forecast() -> None:
    with pytest.raises(InvalidInput) as caught:
        one_month(160, 0, quantile=1.5)
    assert [p.field for p in caught.value.problems] == ["quantile"]


@pytest.mark.parametrize("share", [Decimal("0"), Decimal("0.02"), Decimal("0.999")])
def test_a_reserve_share_from_0_to_below_1_is_taken(share: Decimal) -> None:
    assert check_reserve_share(share) == share


@pytest.mark.parametrize(
    ("share", "shown"),
    [(0.05, "0.05"), (Decimal("-0.01"), "-0.01"), (Decimal(1), "1"), (Decimal("Infinity"),
     "Infinity"), (Decimal("NaN"), "NaN")],
)  # fmt: skip
def test_a_reserve_share_refusal_word_for_word(share: object, shown: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        check_reserve_share(share)  # type: ignore[arg-type]
    assert caught.value.problems == (
        Problem("reserve_share", shown, "must be 0 or more, below 1 (e.g. 0.05 for 5 % of GPUs "
                "kept as spares)"),
    )  # fmt: skip


@pytest.mark.parametrize("peak", [0, 1, 2])
def test_committed_is_the_peak_wherever_it_falls_in_the_month(peak: int) -> None:
    # three stretches, [1, 10), [10, 20), [20, 31] January (the first held since December):
    # two nodes (16 GPUs) in the peak stretch, one (8) in each other
    stretches = [(DEC, JAN10), (JAN10, JAN20), (JAN20, FEB)]
    holdings = [hold(f"n0{i}", start, end) for i, (start, end) in enumerate(stretches, 1)]
    holdings.append(hold("n09", *stretches[peak]))
    assert in_january(*holdings) == {"H100": 16}
