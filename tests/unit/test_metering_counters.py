"""Energy from the counter (resets as Prometheus increase() reads them) and from power."""

from __future__ import annotations

import csv
import random
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.metering.counters import (
    EnergyMethod,
    Reading,
    counter_energy,
    counter_increase,
    gpu_energy,
    power_integral,
)
from tests.factories import shared_fixture

FIXTURE = shared_fixture("nvml-h200")
S = 1_000_000  # microseconds in a second


def test_a_drop_is_a_restart_from_zero():
    # 100 -> 150 (+50), -> 30 (driver reload: +30 counted since), -> 80 (+50)
    readings = [Reading(0, 100), Reading(10 * S, 150), Reading(20 * S, 30), Reading(30 * S, 80)]
    assert counter_increase(readings) == 130


def test_an_interval_gets_the_share_of_each_pair_inside_it():
    readings = [Reading(0, 100), Reading(10 * S, 150), Reading(20 * S, 30)]
    # [5 s, 15 s): half of the first pair's 50 and half of the reset pair's 30
    found = counter_energy(readings, 5 * S, 15 * S)
    assert found.energy_mj == 25 + 15
    assert found.method is EnergyMethod.COUNTER
    assert found.resets == 1
    assert found.covered_us == 10 * S


def test_same_instant_twice_counts_once_but_two_values_are_refused():
    assert counter_increase([Reading(0, 1), Reading(0, 1), Reading(S, 4)]) == 3
    with pytest.raises(InvalidInput, match="differs"):
        counter_increase([Reading(0, 1), Reading(0, 2)])


def test_power_integral_is_trapezoids_in_millijoules_and_flagged():
    # 100 W for 10 s then a ramp to 200 W over 10 s: 1,000 J + 1,500 J = 2,500,000 mJ
    power = [Reading(0, 100.0), Reading(10 * S, 100.0), Reading(20 * S, 200.0)]
    found = gpu_energy([], power, 0, 20 * S)
    assert found.method is EnergyMethod.POWER_INTEGRAL
    assert found.energy_mj == 2_500_000
    # clipped: [15 s, 20 s) of the ramp, 150 W -> 200 W: 875 J
    assert power_integral(power, 15 * S, 20 * S).energy_mj == 875_000


def test_no_readings_around_the_interval_is_none():
    found = gpu_energy([Reading(0, 5)], [], 10 * S, 20 * S)
    assert found.method is EnergyMethod.NONE and found.energy_mj == 0


series = st.lists(
    st.tuples(st.integers(1, 10 * S), st.integers(0, 10**9), st.booleans()), min_size=1, max_size=40
)


def _build(steps: list[tuple[int, int, bool]]) -> tuple[list[Reading], int]:
    """Readings with gaps, increases and resets; and their true total increase."""
    at, value, truth = 0, 5_000, 0
    readings = [Reading(at, value)]
    for gap, rise, reset in steps:
        at += gap
        value = rise if reset else value + rise
        truth += rise
        readings.append(Reading(at, value))
    return readings, truth


@given(series, st.randoms(use_true_random=False), st.integers(0, 3))
def test_duplicates_and_order_change_nothing(steps, rnd: random.Random, copies: int):
    readings, truth = _build(steps)
    shuffled = readings + [rnd.choice(readings) for _ in range(copies)]
    rnd.shuffle(shuffled)
    # a reset that restarts at a value above the one before cannot be seen as one
    seen = counter_increase(readings)
    assert counter_increase(shuffled) == seen
    assert seen <= truth


@given(series, st.integers(0, 100))
def test_split_intervals_add_up_exactly(steps, cut_share: int):
    readings, _ = _build(steps)
    start, end = readings[0].at_us, readings[-1].at_us
    cut = start + (end - start) * cut_share // 100
    whole = counter_energy(readings, start, end).energy_mj
    if start < cut < end:
        parts = counter_energy(readings, start, cut).energy_mj
        parts += counter_energy(readings, cut, end).energy_mj
        assert parts == whole
    assert whole == counter_increase(readings)


def _capture() -> list[dict[str, str]]:
    with open(FIXTURE / "samples.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def _us(text: str) -> int:
    whole, _, part = text.partition(".")
    return int(whole) * S + int((part + "000000")[:6])


def test_the_h200_capture_meters_its_counter_and_power_agrees_to_0_02_percent():
    rows = _capture()
    energy = [Reading(_us(r["ts"]), int(r["energy_mj"])) for r in rows]
    power = [Reading(_us(r["ts"]), int(r["power_mw"]) / 1000) for r in rows]
    start, end = energy[0].at_us, energy[-1].at_us
    delta = int(rows[-1]["energy_mj"]) - int(rows[0]["energy_mj"])  # the counter's own delta
    assert delta == 11_901_304
    metered = counter_energy(energy, start, end)
    assert abs(metered.energy_mj - delta) <= Fraction(delta, 1000)  # within 0.1 %
    integral = power_integral(power, start, end).energy_mj
    assert abs(integral - delta) / delta < Fraction(2, 10_000)  # 0.02 %, as the README says
