"""How a held node's time in the period is split before telemetry is read: excluded
(maintenance announced long enough ahead), failed (from the failure to the swap), and the
segments telemetry judges. Worked in hours by hand; one node of 8 GPUs held all day."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import (
    Availability,
    AvailabilityRules,
    Cause,
    Failure,
    Held,
    Observed,
    Segment,
    Stretch,
    Unit,
    Window,
    plan_units,
    unit_seconds,
)

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


GPU_HOUR = Decimal(3600)


def observed(up_h: str, grace_h: str, reported_h: str) -> Observed:
    return Observed(
        reported_unit_s=Decimal(reported_h) * GPU_HOUR,
        up_unit_s=Decimal(up_h) * GPU_HOUR,
        down_unit_s={Cause.XID: 2 * GPU_HOUR, Cause.MISSING: GPU_HOUR, Cause.SILENT: GPU_HOUR},
        grace_unit_s=Decimal(grace_h) * GPU_HOUR,
    )


def test_availability_is_available_over_held_less_excluded_truncated() -> None:
    """Held 24 h x 8 GPUs = 192 GPU-h, 2 h excluded (16), failed 1 h (8): required 176.
    Up 170 + grace 0.5 = 170.5 available: 170.5 / 176 = 0.96875. Reported 160 + failed 8
    = 168 of 176 = 0.954545... -> 0.954545, covered (>= 0.95)."""
    plan = plan_units(HELD, period=DAY, unit=Unit.GPU, windows=[window(2, 4, 72)],
                      failures=[Failure("n1", Interval(at(5), at(6)))])  # fmt: skip
    a = Availability(plan, observed("170", "0.5", "160"), AvailabilityRules())
    assert a.required_unit_s == 176 * GPU_HOUR
    assert a.available_unit_s == Decimal("170.5") * GPU_HOUR
    assert a.ratio == Decimal("0.96875")
    assert a.coverage_ratio == Decimal("0.954545") and a.covered
    assert a.down_unit_s == {Cause.XID: 2 * GPU_HOUR, Cause.MISSING: GPU_HOUR,
                             Cause.SILENT: GPU_HOUR, Cause.FAILED: 8 * GPU_HOUR}  # fmt: skip
    # 175.9999 / 176 = 0.99999943...: truncated, never rounded up into a better tier
    nearly = Availability(plan, observed("175.9999", "0", "176"), AvailabilityRules())
    assert nearly.ratio == Decimal("0.999999")
    # reported 158 + 8 = 166 / 176 = 0.943181...: too little telemetry to meter
    thin = Availability(plan, observed("150", "0", "158"), AvailabilityRules())
    assert thin.coverage_ratio == Decimal("0.943181") and not thin.covered
    lax = Availability(plan, observed("150", "0", "158"),
                       AvailabilityRules(coverage_min_ratio=Decimal("0.943181")))  # fmt: skip
    assert lax.covered  # at the threshold counts


def test_nothing_required_has_no_ratio_and_full_coverage() -> None:
    plan = plan_units(HELD, period=DAY, unit=Unit.GPU, windows=[window(0, 24, 72)])
    a = Availability(plan, Observed(), AvailabilityRules())
    assert a.required_unit_s == 0
    assert a.ratio is None and a.coverage_ratio == 1


def test_a_window_qualifies_from_exactly_the_notice() -> None:
    exact = Window(frozenset({"n1"}), Interval(at(10), at(12)), at(10) - timedelta(hours=48))
    late = Window(frozenset({"n1"}), Interval(at(10), at(12)),
                  at(10) - timedelta(hours=48) + timedelta(microseconds=1))  # fmt: skip
    assert exact.qualifies(48) and not late.qualifies(48)


@pytest.mark.parametrize(
    ("grace_s", "coverage", "ok"),
    [(0, "1", True), (3600, "0.000001", True), (-1, "0.95", False), (3601, "0.95", False),
     (300, "0", False), (300, "1.000001", False)],
)  # fmt: skip
def test_rules_refuse_what_cannot_be_meant(grace_s: int, coverage: str, ok: bool) -> None:
    def make() -> AvailabilityRules:
        return AvailabilityRules(silence_grace_s=grace_s, coverage_min_ratio=Decimal(coverage))

    if ok:
        assert make().silence_grace_s == grace_s
    else:
        with pytest.raises(InvalidInput):
            make()


def test_unit_seconds_are_exact_to_the_microsecond() -> None:
    span = Interval(at(0), at(0) + timedelta(seconds=1, microseconds=1))
    assert unit_seconds(span, 8) == Decimal("8.000008")
    node_plan = plan_units(HELD, period=DAY, unit=Unit.NODE)
    assert node_plan.held_unit_s == 24 * 3600 and node_plan.held_gpu_s == 8 * 24 * 3600
    assert (
        node_plan.units_of(8) == 1 and plan_units(HELD, period=DAY, unit=Unit.GPU).units_of(8) == 8
    )


def test_every_holding_is_cut_to_the_period_and_keeps_its_node_gpus_and_reasons() -> None:
    """n0 ended as the day began (nothing), n1 8 GPUs until 20:00, n2 4 GPUs from 06:00,
    n3 2 GPUs past the day's end. Maintenance announced exactly 48 h ahead (the default
    notice): n1 02-04 without a reason, n2 10-12 "firmware"; failures n1 05-06, n2 14-15."""
    held = [Held("n0", 8, at(-48), at(0)), Held("n1", 8, at(-24), at(20)),
            Held("n2", 4, at(6), None), Held("n3", 2, at(0), at(48))]  # fmt: skip
    windows = [window(2, 4, 48), window(10, 12, 48, nodes="n2")]
    windows[1] = Window(windows[1].nodes, windows[1].interval, windows[1].announced_at, "firmware")
    failures = [Failure("n1", Interval(at(5), at(6))), Failure("n2", Interval(at(14), at(15)))]
    plan = plan_units(held, period=DAY, unit=Unit.GPU, windows=windows, failures=failures)

    def span(a: int, b: int) -> Interval:
        return Interval(at(a), at(b))

    assert plan.period == DAY
    assert plan.excluded == (Stretch("n1", span(2, 4), 8, "maintenance"),
                             Stretch("n2", span(10, 12), 4, "maintenance: firmware"))  # fmt: skip
    assert plan.failed == (Stretch("n1", span(5, 6), 8, "failed"),
                           Stretch("n2", span(14, 15), 4, "failed"))  # fmt: skip
    assert plan.segments == (
        Segment("n1", 8, span(0, 2)), Segment("n1", 8, span(4, 5)), Segment("n1", 8, span(6, 20)),
        Segment("n2", 4, span(6, 10)), Segment("n2", 4, span(12, 14)),
        Segment("n2", 4, span(15, 24)), Segment("n3", 2, span(0, 24)),
    )  # fmt: skip
    # GPU-hours held: n1 20 x 8 + n2 18 x 4 + n3 24 x 2 = 160 + 72 + 48
    assert hours(plan.held_unit_s) == hours(plan.held_gpu_s) == 280
    nodes = plan_units(held, period=DAY, unit=Unit.NODE, windows=windows, failures=failures)
    assert hours(nodes.held_unit_s) == 20 + 18 + 24 and hours(nodes.held_gpu_s) == 280
    assert [s.units for s in nodes.excluded + nodes.failed] == [1, 1, 1, 1]
    # an SLA asking 49 hours of notice: announced 48 ahead, nothing is excluded
    strict = plan_units(held, period=DAY, unit=Unit.GPU, windows=windows, notice_hours=49)
    assert strict.excluded == ()


@pytest.mark.parametrize(
    ("grace_s", "coverage", "field", "value", "message"),
    [(-1, "0.95", "silence_grace_s", -1, "must be 0 to 3600"),
     (300, "1.5", "coverage_min_ratio", "1.5", "must be above 0, at most 1")],
)  # fmt: skip
def test_a_refused_rule_names_its_field_value_and_bounds(
    grace_s: int, coverage: str, field: str, value: object, message: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        AvailabilityRules(silence_grace_s=grace_s, coverage_min_ratio=Decimal(coverage))
    (problem,) = caught.value.problems
    assert (problem.field, problem.value, problem.message) == (field, value, message)
