"""Instants, intervals and clocks: the errors users see and the edges of calendar arithmetic.

Chicago offsets used below: CST is UTC-6, CDT is UTC-5. In 2026 daylight saving time starts
at 2 am on Sunday March 8 and ends at 2 am on Sunday November 1.
"""

from datetime import UTC, datetime, timedelta, timezone, tzinfo

import pytest

from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.instants import (
    FixedClock,
    Interval,
    SystemClock,
    add_months,
    local_midnight,
    parse_instant,
    require_utc,
    zone,
)

CHICAGO = "America/Chicago"
NAIVE = "naive date-time (no UTC offset); write it with an offset, e.g. 2026-05-01T05:00:00Z"
MAY_1 = datetime(2026, 5, 1, tzinfo=UTC)


def only_problem(err: pytest.ExceptionInfo[InvalidInput]) -> Problem:
    (problem,) = err.value.problems
    return problem


class NoOffset(tzinfo):
    """A tzinfo that does not know its offset: Python counts such a datetime as naive."""

    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_require_utc_refuses_what_is_not_a_datetime() -> None:
    with pytest.raises(InvalidInput) as err:
        require_utc("2026-05-01", "start")
    message = "must be a date and time with a UTC offset"
    assert only_problem(err) == Problem("start", "2026-05-01", message)


@pytest.mark.parametrize("tz", [None, NoOffset()])  # type: ignore[abstract]
def test_require_utc_refuses_naive_datetimes(tz: tzinfo | None) -> None:
    with pytest.raises(InvalidInput) as err:
        require_utc(datetime(2026, 5, 1, tzinfo=tz), "start")
    assert only_problem(err) == Problem("start", "2026-05-01T00:00:00", NAIVE)


def test_require_utc_returns_the_utc_zone_itself() -> None:
    # 00:00 at UTC-5 is 05:00 UTC; the result carries datetime.UTC, never the machine's zone.
    result = require_utc(datetime(2026, 5, 1, tzinfo=timezone(timedelta(hours=-5))), "t")
    assert result.tzinfo is UTC
    assert result.isoformat() == "2026-05-01T05:00:00+00:00"


def test_parse_instant_reads_iso_8601_with_z_or_an_offset() -> None:
    noon = datetime(2026, 9, 15, 12, tzinfo=UTC)
    assert parse_instant("2026-09-15T12:00:00Z", "at") == noon
    # 07:00 at UTC-5 is 12:00 UTC; a space may stand for the T
    parsed = parse_instant("2026-09-15 07:00:00-05:00", "at")
    assert parsed == noon
    assert parsed.tzinfo is UTC
    for padded in (" 2026-09-15 07:00:00-05:00", "2026-09-15T07:00:00-05:00\n"):
        with pytest.raises(InvalidInput):  # the whole text must be the instant
            parse_instant(padded, "at")


@pytest.mark.parametrize(
    "text", ["1999-12-31T23:59:59Z", "2200-01-01T00:00:00Z", "0001-01-01T00:00:00+05:00"]
)
def test_an_instant_outside_the_years_neocloud_takes_is_refused(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        parse_instant(text, "at")
    assert only_problem(err).message == "must be in the years 2000 to 2199"
    assert parse_instant("2000-01-01T00:00:00Z", "at") == datetime(2000, 1, 1, tzinfo=UTC)
    last = parse_instant("2199-12-31T23:59:59.999999Z", "at")
    assert last == datetime(2199, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)
    with pytest.raises(InvalidInput):  # 2199-12-31 18:00 at UTC-6 is 2200-01-01 00:00 UTC
        parse_instant("2199-12-31T18:00:00-06:00", "at")


def test_parse_instant_names_the_field() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_instant("15/09/2026", "effective_from")
    message = "not an ISO 8601 date-time, e.g. 2026-09-15T12:00:00Z"
    assert only_problem(err) == Problem("effective_from", "15/09/2026", message)
    with pytest.raises(InvalidInput) as err:
        parse_instant("2026-09-15T12:00:00", "effective_from")
    assert only_problem(err) == Problem("effective_from", "2026-09-15T12:00:00", NAIVE)


@pytest.mark.parametrize("name", ["Mars/Olympus_Mons", ""])
def test_unknown_time_zone_is_refused(name: str) -> None:
    message = "not an IANA time zone (e.g. America/Chicago)"
    with pytest.raises(InvalidInput) as err:
        zone(name)
    assert only_problem(err) == Problem("billing_timezone", name, message)
    with pytest.raises(InvalidInput) as err:
        zone(name, "timezone")
    assert only_problem(err) == Problem("timezone", name, message)


def test_local_midnight_follows_daylight_saving_time() -> None:
    # Midnight on March 8 is still CST (the change is at 2 am); on March 9 it is CDT.
    march_8 = local_midnight(2026, 3, 8, CHICAGO)
    assert march_8 == datetime(2026, 3, 8, 6, tzinfo=UTC)
    assert march_8.tzinfo is UTC
    assert local_midnight(2026, 3, 9, CHICAGO) == datetime(2026, 3, 9, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, 9, tzinfo=UTC), 1, datetime(2026, 2, 28, 9, tzinfo=UTC)),
        (datetime(2028, 1, 31, 9, tzinfo=UTC), 1, datetime(2028, 2, 29, 9, tzinfo=UTC)),
        (datetime(2026, 12, 15, tzinfo=UTC), 1, datetime(2027, 1, 15, tzinfo=UTC)),
        (datetime(2026, 11, 30, tzinfo=UTC), 3, datetime(2027, 2, 28, tzinfo=UTC)),
        (datetime(2026, 1, 15, tzinfo=UTC), -1, datetime(2025, 12, 15, tzinfo=UTC)),
        (datetime(2026, 5, 1, tzinfo=UTC), 36, datetime(2029, 5, 1, tzinfo=UTC)),
    ],
)
def test_add_months_keeps_the_day_or_takes_the_last(
    start: datetime, months: int, expected: datetime
) -> None:
    result = add_months(start, months)
    assert result == expected
    assert result.tzinfo is UTC


def test_add_months_keeps_local_midnight_across_daylight_saving_time() -> None:
    # Local midnight March 1 (CST, 06:00 UTC) plus a month is local midnight April 1 (CDT,
    # 05:00 UTC): 31 days less an hour later.
    march_1 = datetime(2026, 3, 1, 6, tzinfo=UTC)
    april_1 = add_months(march_1, 1, CHICAGO)
    assert april_1 == datetime(2026, 4, 1, 5, tzinfo=UTC)
    assert april_1 - march_1 == timedelta(days=31, hours=-1)


def test_interval_names_the_naive_bound() -> None:
    with pytest.raises(InvalidInput) as err:
        Interval(datetime(2026, 5, 1), MAY_1)
    assert only_problem(err) == Problem("start", "2026-05-01T00:00:00", NAIVE)
    with pytest.raises(InvalidInput) as err:
        Interval(MAY_1, datetime(2026, 6, 1))
    assert only_problem(err) == Problem("end", "2026-06-01T00:00:00", NAIVE)


@pytest.mark.parametrize("end", [MAY_1, MAY_1 - timedelta(seconds=1)])
def test_interval_end_must_be_after_start(end: datetime) -> None:
    with pytest.raises(InvalidInput) as err:
        Interval(MAY_1, end)
    assert only_problem(err) == Problem("end", end.isoformat(), "must be after start")


def test_intervals_that_touch_do_not_overlap_either_way() -> None:
    may = Interval(MAY_1, datetime(2026, 6, 1, tzinfo=UTC))
    june = Interval(datetime(2026, 6, 1, tzinfo=UTC), datetime(2026, 7, 1, tzinfo=UTC))
    assert not may.overlaps(june) and not june.overlaps(may)
    # one second more of May reaches into June, seen from either side
    late_may = Interval(datetime(2026, 5, 31, tzinfo=UTC), june.start + timedelta(seconds=1))
    assert late_may.overlaps(june) and june.overlaps(late_may)
    assert june.intersection(late_may) == Interval(june.start, june.start + timedelta(seconds=1))


def test_fixed_clock_refuses_a_naive_instant() -> None:
    with pytest.raises(InvalidInput) as err:
        FixedClock(datetime(2026, 5, 1))
    assert only_problem(err) == Problem("instant", "2026-05-01T00:00:00", NAIVE)


def test_system_clock_reads_aware_utc_time() -> None:
    before = datetime.now(UTC)
    now = SystemClock().now()
    assert before <= now <= datetime.now(UTC)
    assert now.tzinfo is UTC
