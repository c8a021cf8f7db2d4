"""Availability of an agreement's capacity, as rules written as data (docs/METERING.md).

The agreement's *units* are GPUs, or nodes when its SLA says ``measured_per: node``, on the
nodes it holds (the allocation history). In the billing period, each unit's time is:

* **excluded** inside maintenance announced at least the SLA's ``maintenance_notice_hours``
  before it began: counted neither as available nor as required;
* **down, failed** from a failure recorded by ``allocation fail-node --failed-at`` to the
  swap, whatever telemetry says;
* otherwise judged by telemetry, minute by minute (``node_minutes``): **down, xid** while
  a GPU reports a critical Xid (the list is configuration); **down, missing** while its
  node reports but it does not; **down, silent** while its node reports nothing, past a
  grace of a few minutes (the first minutes of a silence count as up: exporters and
  scrapes skip); up otherwise. A node, as a unit, is up only when all its GPUs are.

availability = available / (held - excluded), truncated to millionths (never rounded up
into a better tier). It counts only when telemetry *covers* the period: reported, or
explained by a failure, for at least ``coverage_min_ratio`` of the required time (a
silence's grace is not telemetry); below that, a silent fleet would read as an outage.

Everything here is exact: unit-seconds are Decimals of whole microseconds.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval

CRITICAL_XIDS = frozenset({48, 63, 64, 74, 79, 92, 94, 95})
"""Xids that make a GPU unavailable (DOMAIN.md §4: memory, bus, NVLink, fallen off the bus,
contained and uncontained ECC errors)."""
MILLIONTH = Decimal("0.000001")


class Unit(enum.StrEnum):
    GPU = "gpu"
    NODE = "node"


class Cause(enum.StrEnum):
    XID = "xid"
    MISSING = "missing"
    SILENT = "silent"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class AvailabilityRules:
    """The rules' parameters; the defaults are documented in docs/METERING.md."""

    critical_xids: frozenset[int] = CRITICAL_XIDS
    silence_grace_s: int = 300
    coverage_min_ratio: Decimal = Decimal("0.95")

    def __post_init__(self) -> None:
        if not 0 <= self.silence_grace_s <= 3600:
            raise InvalidInput.single("silence_grace_s", self.silence_grace_s, "must be 0 to 3600")
        if not Decimal(0) < self.coverage_min_ratio <= 1:
            raise InvalidInput.single(
                "coverage_min_ratio", str(self.coverage_min_ratio), "must be above 0, at most 1"
            )


@dataclass(frozen=True, slots=True)
class Held:
    """A node the agreement holds during ``[start, end)`` (``end`` None: still held)."""

    node: str
    gpus: int
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class Window:
    """Maintenance of ``nodes`` during ``interval``, announced at ``announced_at``."""

    nodes: frozenset[str]
    interval: Interval
    announced_at: datetime
    reason: str = ""

    def qualifies(self, notice_hours: int) -> bool:
        """Announced long enough before it began to be excluded under the SLA."""
        return self.interval.start - self.announced_at >= timedelta(hours=notice_hours)


@dataclass(frozen=True, slots=True)
class Failure:
    """A node failed at ``interval.start`` and was swapped at ``interval.end``."""

    node: str
    interval: Interval


@dataclass(frozen=True, slots=True)
class Segment:
    """A stretch of one held node that telemetry judges (not excluded, not failed)."""

    node: str
    gpus: int
    interval: Interval


@dataclass(frozen=True, slots=True)
class Stretch:
    """Unit time of one node set aside before telemetry: excluded or failed."""

    node: str
    interval: Interval
    units: int
    why: str  # "maintenance: <reason>" or "failed"


@dataclass(frozen=True)
class UnitPlan:
    """What the agreement's units were in the period, before telemetry is read."""

    unit: Unit
    period: Interval
    segments: tuple[Segment, ...]
    excluded: tuple[Stretch, ...]
    failed: tuple[Stretch, ...]
    held_unit_s: Decimal
    held_gpu_s: Decimal = Decimal(0)

    @property
    def excluded_unit_s(self) -> Decimal:
        return sum((unit_seconds(s.interval, s.units) for s in self.excluded), Decimal(0))

    @property
    def failed_unit_s(self) -> Decimal:
        return sum((unit_seconds(s.interval, s.units) for s in self.failed), Decimal(0))

    def units_of(self, gpus: int) -> int:
        return 1 if self.unit is Unit.NODE else gpus


@dataclass(frozen=True)
class Observed:
    """What telemetry says of the plan's segments, in unit-seconds (the SQL's answer)."""

    reported_unit_s: Decimal = Decimal(0)
    up_unit_s: Decimal = Decimal(0)
    down_unit_s: dict[Cause, Decimal] = field(default_factory=dict)
    grace_unit_s: Decimal = Decimal(0)  # silent, within the grace: counted up


@dataclass(frozen=True)
class Availability:
    plan: UnitPlan
    observed: Observed
    rules: AvailabilityRules

    @property
    def required_unit_s(self) -> Decimal:
        return self.plan.held_unit_s - self.plan.excluded_unit_s

    @property
    def available_unit_s(self) -> Decimal:
        return self.observed.up_unit_s + self.observed.grace_unit_s

    @property
    def down_unit_s(self) -> dict[Cause, Decimal]:
        down = {cause: self.observed.down_unit_s.get(cause, Decimal(0)) for cause in Cause}
        down[Cause.FAILED] += self.plan.failed_unit_s
        return down

    @property
    def ratio(self) -> Decimal | None:
        """available / required, truncated to millionths; None with nothing required."""
        if self.required_unit_s <= 0:
            return None
        return (self.available_unit_s / self.required_unit_s).quantize(MILLIONTH, ROUND_DOWN)

    @property
    def coverage_ratio(self) -> Decimal:
        """Share of the required time telemetry reported or the rules explain."""
        if self.required_unit_s <= 0:
            return Decimal(1)
        covered = self.observed.reported_unit_s + self.plan.failed_unit_s
        return (covered / self.required_unit_s).quantize(MILLIONTH, ROUND_DOWN)

    @property
    def covered(self) -> bool:
        return self.coverage_ratio >= self.rules.coverage_min_ratio


def unit_seconds(interval: Interval, units: int) -> Decimal:
    """Unit-seconds of ``units`` over ``interval``, exact to the microsecond."""
    span = interval.duration
    micros = (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds
    return Decimal(micros) / 1_000_000 * units


def plan_units(
    held: Iterable[Held],
    *,
    period: Interval,
    unit: Unit,
    windows: Sequence[Window] = (),
    failures: Sequence[Failure] = (),
    notice_hours: int = 48,
) -> UnitPlan:
    """Split each held stretch of the period into excluded (qualifying maintenance),
    failed, and segments for telemetry to judge; maintenance wins over a failure."""
    segments: list[Segment] = []
    excluded: list[Stretch] = []
    failed: list[Stretch] = []
    total = gpu_total = Decimal(0)
    qualifying = [w for w in windows if w.qualifies(notice_hours)]
    for h in held:
        stretch = _within(h, period)
        if stretch is None:
            continue
        units = 1 if unit is Unit.NODE else h.gpus
        total += unit_seconds(stretch, units)
        gpu_total += unit_seconds(stretch, h.gpus)
        away = [
            (i, f"maintenance: {w.reason}" if w.reason else "maintenance")
            for w in qualifying
            if h.node in w.nodes and (i := w.interval.intersection(stretch))
        ]
        taken: list[Interval] = []  # windows may overlap: each instant is excluded once
        for i, why in away:
            excluded += [Stretch(h.node, piece, units, why) for piece in _minus([i], taken)]
            taken.append(i)
        rest = _minus([stretch], [i for i, _ in away])
        broken = [
            i
            for f in failures
            if f.node == h.node
            for r in rest
            if (i := f.interval.intersection(r))
        ]
        failed += [Stretch(h.node, i, units, "failed") for i in broken]
        segments += [Segment(h.node, h.gpus, i) for i in _minus(rest, broken)]
    return UnitPlan(unit, period, tuple(segments), tuple(excluded), tuple(failed), total, gpu_total)


def _within(h: Held, period: Interval) -> Interval | None:
    end = period.end if h.end is None else min(h.end, period.end)
    start = max(h.start, period.start)
    return Interval(start, end) if start < end else None


def _minus(pieces: list[Interval], holes: Sequence[Interval]) -> list[Interval]:
    """``pieces`` without the instants of ``holes`` (all half-open)."""
    for hole in sorted(holes, key=lambda i: i.start):
        kept = []
        for p in pieces:
            if not p.overlaps(hole):
                kept.append(p)
                continue
            if p.start < hole.start:
                kept.append(Interval(p.start, hole.start))
            if hole.end < p.end:
                kept.append(Interval(hole.end, p.end))
        pieces = kept
    return pieces
