"""The planner's rules one at a time, on small sites worked by hand: fill order, whole racks
and halls, half-open busy intervals, refusals in words, spare racks, and demand_of."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from neocloud.domain.allocation.planner import (
    Busy,
    Demand,
    HolderKind,
    PlannedStep,
    RackCapacity,
    SiteMeasure,
    Tranche,
    demand_of,
    plan_allocation,
    plan_in_halls,
)
from neocloud.domain.kernel.errors import InsufficientCapacity, InvalidInput, Problem
from tests import factories

BEFORE = datetime(2025, 1, 1, tzinfo=UTC)
MAY = datetime(2026, 5, 1, 5, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, 5, tzinfo=UTC)
END = datetime(2029, 6, 1, 5, tzinfo=UTC)
AGREEMENT, MAINTENANCE = HolderKind.AGREEMENT, HolderKind.MAINTENANCE

# capacity = typical draw, PUE 1: a rack counts for its typical kW (GPU demands count GPUs)
MEASURE = SiteMeasure(Decimal(1), Decimal(1), Decimal(1))


def h100(rack: str, gpus: int = 64) -> RackCapacity:
    """An H100 rack named hall-rN: ``b-r2`` is in hall b."""
    return RackCapacity(rack.partition("-")[0], rack, "H100", 8, gpus, Decimal("58.24"))


def gb200(rack: str) -> RackCapacity:
    return RackCapacity(rack.partition("-")[0], rack, "GB200", 18, 72, Decimal("112.32"))


def site() -> list[RackCapacity]:
    """Hall a: 4 H100 racks; hall b: 4 H100 racks; hall c: 2 GB200 racks (site order)."""
    return [h100(f"{h}-r{i}") for h in "ab" for i in range(1, 5)] + [gb200("c-r1"), gb200("c-r2")]


def gpus(n: int, *tranches: tuple[datetime, str], model: str = "H100") -> Demand:
    steps = tuple(Tranche(t, Decimal(s)) for t, s in tranches) or (Tranche(MAY, Decimal(1)),)
    return Demand(END, steps, gpus=n, gpu_model=model)


# --- what a plan records ---------------------------------------------------------------


def test_the_plan_names_its_holder_end_demand_and_each_step() -> None:
    demand = gpus(320, (MAY, "0.4"), (JUNE, "1"))
    plan = plan_allocation("deal", demand, site(), [], MEASURE)
    assert (plan.holder, plan.end, plan.demand) == ("deal", END, demand)
    # 0.4 x 320 = 128 GPUs = 2 racks of 64 in May; 320 = 5 racks from June (3 more)
    assert plan.steps == [
        PlannedStep(MAY, Decimal(128), ("a-r1", "a-r2"), Decimal(128)),
        PlannedStep(JUNE, Decimal(320), ("a-r3", "a-r4", "b-r1"), Decimal(320)),
    ]


def test_a_demand_for_no_gpus_takes_no_rack() -> None:
    plan = plan_allocation("deal", gpus(0), site(), [], MEASURE)
    assert plan.steps == [PlannedStep(MAY, Decimal(0), (), Decimal(0))]
    assert plan.halls == {}


# --- fill order and whole racks --------------------------------------------------------


def test_one_hall_is_filled_before_the_next_whatever_the_order_racks_are_listed_in() -> None:
    # halls a and b tie on free capacity (128 GPUs each); a comes first in site order
    racks = [h100("a-r1"), h100("b-r1"), h100("a-r2"), h100("b-r2")]
    plan = plan_allocation("deal", gpus(128), racks, [], MEASURE)
    assert plan.racks == ["a-r1", "a-r2"] and plan.halls == {"a": 2}


def test_a_rack_of_another_model_is_not_taken_even_in_the_hall_being_filled() -> None:
    racks = [gb200("a-r1"), h100("a-r2")]
    plan = plan_allocation("deal", gpus(64), racks, [], MEASURE)
    assert plan.racks == ["a-r2"] and plan.halls == {"a": 1}


def test_a_rack_of_one_gpu_counts() -> None:
    plan = plan_allocation("deal", gpus(1), [h100("a-r1", gpus=1)], [], MEASURE)
    assert plan.steps == [PlannedStep(MAY, Decimal(1), ("a-r1",), Decimal(1))]


# --- refusals --------------------------------------------------------------------------


def test_the_refusal_names_only_holders_that_overlap_the_demand() -> None:
    racks = [h100(f"a-r{i}") for i in range(1, 5)]
    busy = [
        Busy("a-r1", AGREEMENT, "other", MAY, END),  # overlaps [MAY, END)
        Busy("a-r2", MAINTENANCE, "", END, None),  # begins as the demand ends: not in the way
    ]
    with pytest.raises(InsufficientCapacity) as no:
        plan_allocation("deal", gpus(256), racks, busy, MEASURE)
    # a-r2, a-r3, a-r4 are free: 3 x 64 = 192 of the 256 GPUs
    assert no.value.message == (
        "cannot allocate 256 H100 GPUs: from 2026-05-01T05:00:00+00:00 to "
        "2029-06-01T05:00:00+00:00 the site has free racks of H100 for only 192 H100 GPUs; "
        "the rest is held by agreement other. The largest amount that fits is 192 H100 GPUs."
    )


# --- spare racks -----------------------------------------------------------------------


def test_a_spare_share_of_zero_or_below_keeps_no_spare() -> None:
    for share in ("0", "-0.5"):
        plan = plan_allocation("deal", gpus(128), site(), [], MEASURE, spare_share=Decimal(share))
        assert plan.racks == ["a-r1", "a-r2"] and plan.spares == (), share


def test_a_demand_without_tranches_plans_nothing_and_keeps_no_spare() -> None:
    demand = Demand(END, (), gpus=64, gpu_model="H100")
    plan = plan_allocation("deal", demand, site(), [], MEASURE, spare_share=Decimal("0.5"))
    assert (plan.steps, plan.spares, plan.halls) == ([], (), {})


def test_a_busy_rack_is_no_spare_but_one_busy_only_outside_the_plan_is() -> None:
    # one hall of 4 racks; 128 GPUs = a-r1, a-r2; 2 x 0.5 = 1 spare rack wanted in hall a
    racks, share = [h100(f"a-r{i}") for i in range(1, 5)], Decimal("0.5")
    busy = [Busy("a-r3", AGREEMENT, "other", JUNE, END)]
    plan = plan_allocation("deal", gpus(128), racks, busy, MEASURE, spare_share=share)
    assert plan.racks == ["a-r1", "a-r2"] and plan.spares == ("a-r4",)
    for outside in (
        Busy("a-r3", AGREEMENT, "old", BEFORE, MAY),  # ends as the plan starts
        Busy("a-r3", MAINTENANCE, "", END, None),  # begins as the plan ends
    ):
        plan = plan_allocation("deal", gpus(128), racks, [outside], MEASURE, spare_share=share)
        assert plan.spares == ("a-r3",), outside


def test_too_few_spares_is_refused_naming_every_hall() -> None:
    # 320 GPUs = 5 racks: a-r1..a-r4, b-r1; 5 x 0.8 = 4 spares wanted in halls a and b, of
    # the same model (H100: not c's GB200); only b-r2, b-r3, b-r4 are free there
    with pytest.raises(InsufficientCapacity) as no:
        plan_allocation("deal", gpus(320), site(), [], MEASURE, spare_share=Decimal("0.8"))
    assert no.value.message == (
        "4 spare racks (80% of 5) are wanted in a, b but only 3 are free there; keep a smaller "
        "share of spare racks with the allocation (spare share) or free racks there"
    )


# --- whole halls -----------------------------------------------------------------------


def test_whole_halls_keep_the_holder_and_no_spares_unless_asked() -> None:
    plan = plan_in_halls("deal", gpus(200), site(), [], MEASURE)
    assert (plan.holder, plan.racks, plan.spares) == ("deal", ["a-r1", "a-r2", "a-r3", "a-r4"], ())


def test_a_hall_is_busy_only_while_a_rack_of_it_is() -> None:
    busy = [Busy("a-r2", AGREEMENT, "old", BEFORE, MAY)]  # over as the demand begins
    assert plan_in_halls("deal", gpus(200), site(), busy, MEASURE).halls == {"a": 4}


def test_the_hall_refusal_names_who_holds_the_busy_hall() -> None:
    busy = [Busy("a-r3", AGREEMENT, "other", MAY, END)]  # hall a is busy; b has 4 x 64 = 256
    with pytest.raises(InsufficientCapacity) as no:
        plan_in_halls("deal", gpus(300), site(), busy, MEASURE)
    assert no.value.message == (
        "cannot allocate 300 H100 GPUs: from 2026-05-01T05:00:00+00:00 to "
        "2029-06-01T05:00:00+00:00 the site has free racks of H100 for only 256 H100 GPUs; "
        "the rest is held by agreement other. The largest amount that fits is 256 H100 GPUs."
    )


def test_a_hall_of_several_models_counts_for_no_models_gpus() -> None:
    # hall m holds 64 H100 and 72 GB200 GPUs: neither an H100 nor a GB200 hall
    racks = [h100("a-r1"), h100("m-r1"), gb200("m-r2")]
    with pytest.raises(InsufficientCapacity, match="largest amount that fits is 64 H100 GPUs"):
        plan_in_halls("deal", gpus(128), racks, [], MEASURE)
    with pytest.raises(InsufficientCapacity, match="largest amount that fits is 0 GB200 GPUs"):
        plan_in_halls("deal", gpus(72, model="GB200"), racks, [], MEASURE)


def test_whole_halls_with_spares_and_no_free_hall_are_refused() -> None:
    # 300 GPUs take halls a and b (2 x 256); no third H100 hall is left to keep as spare
    refusal = r"1 spare halls \(50% of 2\) are wanted on the site but only 0 are free"
    with pytest.raises(InsufficientCapacity, match=refusal):
        plan_in_halls("deal", gpus(300), site(), [], MEASURE, spare_share=Decimal("0.5"))


def test_whole_halls_keep_a_free_hall_of_the_model_as_spare() -> None:
    # 200 GPUs take hall a; hall b (H100, free) can be kept whole as the spare
    plan = plan_in_halls("deal", gpus(200), site(), [], MEASURE, spare_share=Decimal("0.5"))
    assert plan.spares == ("b-r1", "b-r2", "b-r3", "b-r4")


def test_a_hall_of_several_models_is_no_gpus_of_a_model_called_mixed() -> None:
    racks = [h100("m-r1"), gb200("m-r2")]  # 64 + 72 = 136 GPUs of two models
    with pytest.raises(InsufficientCapacity):
        plan_in_halls("deal", gpus(136, model="mixed"), racks, [], MEASURE)


# --- demand_of -------------------------------------------------------------------------

# the factory's term is 2027-01-01 .. 2028-01-01 in Chicago: midnight CST is 06:00 UTC
TERM_START = datetime(2027, 1, 1, 6, tzinfo=UTC)
RAMP_END = datetime(2027, 2, 1, 6, tzinfo=UTC)
TERM_END = datetime(2028, 1, 1, 6, tzinfo=UTC)
HALF_IN_JANUARY = {
    "start": "2027-01-01",
    "end": "2027-02-01",
    "capacity_share": Decimal("0.5"),
    "price_factor": Decimal("0.5"),
}


def test_demand_of_follows_the_ramp_until_the_service_ends() -> None:
    counted = factories.signed_agreement(
        capacity={"gpus": 256, "gpu_model": "H100"}, ramp=[HALF_IN_JANUARY]
    )
    ramp = (Tranche(TERM_START, Decimal("0.5")), Tranche(RAMP_END, Decimal(1)))
    assert demand_of(counted) == Demand(TERM_END, ramp, gpus=256, gpu_model="H100")
    power = factories.signed_agreement(capacity={"facility_mw": Decimal(10)})
    assert demand_of(power) == Demand(
        TERM_END, (Tranche(TERM_START, Decimal(1)),), facility_kw=Decimal(10_000)
    )


def test_demand_of_refuses_it_power_naming_the_capacity() -> None:
    with pytest.raises(InvalidInput) as no:
        demand_of(factories.signed_agreement(capacity={"it_mw": Decimal(10)}))
    assert no.value.problems == (
        Problem(
            "capacity",
            "10.000 MW IT",
            "allocation takes facility MW; convert IT MW with the site's PUE first",
        ),
    )
