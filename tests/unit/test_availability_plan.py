"""How a held node's time in the period is split before telemetry is read: excluded
(maintenance announced long enough ahead), failed (from the failure to the swap), and the
segments telemetry judges. Worked in hours by hand; one node of 8 GPUs held all day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import Failure, Held, Unit, Window, plan_units

DAY = Interval(datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 2, tzinfo=UTC))
HELD = [Held("n1", 8, datetime(2027, 2, 1, tzinfo=UTC), None)]


def at(hour: int) -> datetime:
    return DAY.start + timedelta(hours=hour)


def window(start: int, end: int, announced_hours_ahead: int, nodes: str = "n1") -> Window:
    return Window(frozenset({nodes}), Interval(at(start), at(end)),
                  at(start) - timedelta(hours=announced_hours_ahead))  # fmt: skip


def hours(seconds: Decimal) -> Decimal:
    return seconds / 3600


def test_maintenance_announced_in_time_is_excluded_and_late_maintenance_is_not() -> None:
    plan = plan_units(HELD, period=DAY, unit=Unit.GPU, notice_hours=48,
                      windows=[window(2, 4, 72), window(10, 12, 24)])  # fmt: skip
    assert [(x.interval.start, x.interval.end) for x in plan.excluded] == [(at(2), at(4))]
    assert hours(plan.excluded_unit_s) == 2 * 8  # GPU-hours
    assert [(s.interval.start, s.interval.end) for s in plan.segments] == [
        (at(0), at(2)),
        (at(4), at(24)),
    ]
    assert hours(plan.held_unit_s) == 24 * 8


def test_overlapping_windows_exclude_each_hour_once() -> None:
    """Windows 2-6 h and 4-8 h: 6 hours excluded, not 8."""
    plan = plan_units(HELD, period=DAY, unit=Unit.NODE,
                      windows=[window(2, 6, 72), window(4, 8, 72)])  # fmt: skip
    assert hours(plan.excluded_unit_s) == 6  # node-hours
    assert [(s.interval.start, s.interval.end) for s in plan.segments] == [
        (at(0), at(2)),
        (at(8), at(24)),
    ]


def test_a_failure_is_down_until_the_swap_and_maintenance_wins_over_it() -> None:
    """Failed 5-9 h, maintenance 8-10 h: failed 5-8 (3 h), excluded 8-10 (2 h)."""
    failure = Failure("n1", Interval(at(5), at(9)))
    plan = plan_units(HELD, period=DAY, unit=Unit.GPU, windows=[window(8, 10, 72)],
                      failures=[failure])  # fmt: skip
    assert hours(plan.failed_unit_s) == 3 * 8
    assert hours(plan.excluded_unit_s) == 2 * 8
    judged = sum((s.interval.duration for s in plan.segments), timedelta())
    assert judged == timedelta(hours=24 - 3 - 2)


def test_a_window_for_another_node_or_outside_the_holding_changes_nothing() -> None:
    held = [Held("n1", 8, at(12), None)]  # held from noon
    plan = plan_units(held, period=DAY, unit=Unit.GPU,
                      windows=[window(2, 4, 72), window(14, 15, 72, nodes="n2")])  # fmt: skip
    assert plan.excluded == ()
    assert hours(plan.held_unit_s) == 12 * 8
    assert hours(plan.held_gpu_s) == 12 * 8
