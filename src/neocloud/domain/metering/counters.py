"""Energy per GPU over a half-open interval, from the NVML/DCGM total-energy counter.

The counter counts millijoules since the driver loaded and starts again from 0 when the
driver reloads. Increases follow Prometheus ``increase()`` reset handling: a reading lower
than the one before means the counter restarted, so the increase across the reset is the
new reading itself (what it counted since the restart). Unlike ``increase()`` nothing is
extrapolated past the first and last readings: the increase between two consecutive
readings is spread evenly over the time between them, and an interval gets the share of
each pair that lies inside it. So the energy of adjacent intervals adds up exactly to the
energy of their union, and splitting a month into days changes no total.

Readings may come in any order and more than once: they are sorted by time; the same
reading twice counts once. Two different values at one instant are a conflict, refused.

Time is integer microseconds since the Unix epoch (the store's ``ts``), energy integer
millijoules; results are exact (``Fraction``). The power integral (trapezoids between
power samples, watts x seconds = joules) is the fallback where the counter is missing, and
is flagged as such (:class:`EnergyMethod`).
"""

from __future__ import annotations

import enum
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from neocloud.domain.kernel.errors import InvalidInput, Problem

US_PER_S = 1_000_000


@dataclass(frozen=True, slots=True)
class Reading:
    """One reading of a counter or gauge: ``at_us`` microseconds since the epoch (UTC)."""

    at_us: int
    value: int | float


class EnergyMethod(enum.StrEnum):
    COUNTER = "counter"  # the energy counter: the billing truth
    POWER_INTEGRAL = "power_integral"  # fallback: integrated power samples, flagged
    NONE = "none"  # neither: too few readings around the interval


@dataclass(frozen=True, slots=True)
class GpuEnergy:
    """Energy of one GPU over ``[start_us, end_us)``, how it was found, and the resets met."""

    energy_mj: Fraction
    method: EnergyMethod
    resets: int = 0
    readings: int = 0
    covered_us: int = 0  # how much of the interval lies between two readings


def ordered(readings: Iterable[Reading], field: str = "energy_mj") -> list[Reading]:
    """Readings by time, each instant once; two values at one instant are refused."""
    by_time: dict[int, Reading] = {}
    problems: list[Problem] = []
    for reading in readings:
        seen = by_time.setdefault(reading.at_us, reading)
        if seen.value != reading.value:
            problems.append(
                Problem(field, reading.value, f"differs from {seen.value} at the same instant")
            )
    if problems:
        raise InvalidInput(problems)
    return [by_time[t] for t in sorted(by_time)]


def increases(readings: Sequence[Reading]) -> list[tuple[int, int, int, bool]]:
    """``(from_us, to_us, increase, reset)`` for each consecutive pair of ordered readings."""
    steps = []
    for before, after in itertools.pairwise(readings):
        reset = after.value < before.value
        rise = after.value if reset else after.value - before.value
        steps.append((before.at_us, after.at_us, int(rise), reset))
    return steps


def counter_increase(readings: Iterable[Reading]) -> int:
    """The whole increase from the first reading to the last, resets included (mJ)."""
    return sum(rise for _, _, rise, _ in increases(ordered(readings)))


def _share(start_us: int, end_us: int, pair_from: int, pair_to: int) -> Fraction:
    """The part of ``[pair_from, pair_to)`` inside ``[start_us, end_us)``, as a fraction."""
    overlap = min(end_us, pair_to) - max(start_us, pair_from)
    if overlap <= 0:
        return Fraction(0)
    return Fraction(overlap, pair_to - pair_from)


def counter_energy(readings: Iterable[Reading], start_us: int, end_us: int) -> GpuEnergy:
    """Energy in ``[start_us, end_us)`` from counter readings (any order, duplicates once).

    The readings should include the last one before the interval and the first one after
    it, so that the edges are covered; an interval not covered by any pair of readings
    gets :attr:`EnergyMethod.NONE`."""
    _check_interval(start_us, end_us)
    series = ordered(readings)
    total, resets, covered = Fraction(0), 0, 0
    for pair_from, pair_to, rise, reset in increases(series):
        share = _share(start_us, end_us, pair_from, pair_to)
        if share:
            covered += min(end_us, pair_to) - max(start_us, pair_from)
            total += rise * share
            resets += reset
    method = EnergyMethod.COUNTER if covered else EnergyMethod.NONE
    return GpuEnergy(total, method, resets, len(series), covered)


def power_integral(readings: Iterable[Reading], start_us: int, end_us: int) -> GpuEnergy:
    """Energy in ``[start_us, end_us)`` integrating power samples in watts (trapezoids,
    the line between two samples clipped to the interval), in millijoules."""
    _check_interval(start_us, end_us)
    series = ordered(readings, "power_w")
    total, covered = Fraction(0), 0
    for before, after in itertools.pairwise(series):
        lo, hi = max(start_us, before.at_us), min(end_us, after.at_us)
        if lo >= hi:
            continue
        covered += hi - lo
        p0, p1 = Fraction(before.value), Fraction(after.value)
        span = after.at_us - before.at_us
        at_lo = p0 + (p1 - p0) * Fraction(lo - before.at_us, span)
        at_hi = p0 + (p1 - p0) * Fraction(hi - before.at_us, span)
        # W x us = uJ; / 1000 = mJ
        total += (at_lo + at_hi) / 2 * (hi - lo) / 1000
    method = EnergyMethod.POWER_INTEGRAL if covered else EnergyMethod.NONE
    return GpuEnergy(total, method, 0, len(series), covered)


def gpu_energy(
    counter: Iterable[Reading], power: Iterable[Reading], start_us: int, end_us: int
) -> GpuEnergy:
    """Energy from the counter where it covers the interval, else the flagged power
    integral, else :attr:`EnergyMethod.NONE` with 0 mJ."""
    from_counter = counter_energy(counter, start_us, end_us)
    if from_counter.method is EnergyMethod.COUNTER:
        return from_counter
    return power_integral(power, start_us, end_us)


def _check_interval(start_us: int, end_us: int) -> None:
    if end_us <= start_us:
        raise InvalidInput.single("end", end_us, "must be after start (half-open [start, end))")
