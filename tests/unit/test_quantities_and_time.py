from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import FixedClock, Interval, require_utc
from neocloud.domain.kernel.quantities import Energy, GpuHours, Power, PowerBasis, check_pue

IT, FAC = PowerBasis.IT, PowerBasis.FACILITY


def test_power_times_duration_is_energy() -> None:
    # 700 W for 90 minutes = 1.05 kWh
    assert Power.from_w(700, IT) * timedelta(minutes=90) == Energy(Decimal("1.05"), IT)


def test_it_and_facility_power_do_not_mix() -> None:
    with pytest.raises(InvalidInput):
        Power(Decimal(1), IT) + Power(Decimal(1), FAC)


def test_pue_converts_between_it_and_facility() -> None:
    it = Power.from_mw(10, IT)
    assert it.to_facility(Decimal("1.2")) == Power(Decimal(12000), FAC)
    assert it.to_facility(Decimal("1.2")).to_it(Decimal("1.2")) == it


@pytest.mark.parametrize("bad", ["0.9", "6", "x"])
def test_implausible_pue_is_refused(bad: str) -> None:
    with pytest.raises(InvalidInput):
        check_pue(bad)


def test_gpu_hours() -> None:
    assert GpuHours.of(8, timedelta(hours=2, minutes=30)).value == Decimal(20)


def test_naive_datetime_is_refused_with_a_clear_message() -> None:
    with pytest.raises(InvalidInput) as err:
        require_utc(datetime(2026, 5, 1), "start")
    problem = err.value.problems[0]
    assert problem.field == "start"
    assert "naive" in problem.message


def test_aware_datetime_is_normalised_to_utc() -> None:
    chicago_summer = timezone(timedelta(hours=-5))
    assert require_utc(datetime(2026, 5, 1, tzinfo=chicago_summer), "t") == datetime(
        2026, 5, 1, 5, tzinfo=UTC
    )


def test_interval_is_half_open() -> None:
    a = Interval(datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC))
    b = Interval(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    assert a.contains(a.start) and not a.contains(a.end)
    assert not a.overlaps(b) and a.intersection(b) is None
    assert a.duration == timedelta(days=31)


def test_empty_or_inverted_interval_is_refused() -> None:
    t = datetime(2026, 5, 1, tzinfo=UTC)
    with pytest.raises(InvalidInput):
        Interval(t, t)


def test_fixed_clock_moves_only_when_told() -> None:
    clock = FixedClock(datetime(2026, 5, 1, tzinfo=UTC))
    clock.advance(timedelta(days=1))
    assert clock.now() == datetime(2026, 5, 2, tzinfo=UTC)
