"""Moments (a bare date or an instant) and calendar arithmetic in a time zone, by hand."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import (
    add_calendar_days,
    end_of_local_day,
    end_of_local_month,
    parse_moment,
    resolve,
)

CHICAGO = "America/Chicago"
NAIVE = datetime(2027, 3, 1, 12)


def only(err: pytest.ExceptionInfo[InvalidInput]) -> tuple[str, object, str]:
    (problem,) = err.value.problems
    return problem.field, problem.value, problem.message


def test_parse_moment_reads_a_date_or_an_instant_with_its_offset() -> None:
    assert parse_moment("2027-02-10", "at") == date(2027, 2, 10)
    for padded in (" 2027-02-10", "2027-02-10 ", "2027-02-10\n"):
        with pytest.raises(InvalidInput):  # the whole text must be the date
            parse_moment(padded, "at")
    for outside in ("1999-12-31", "2200-01-01", "0001-01-01", "9999-12-31"):
        with pytest.raises(InvalidInput, match="must be in the years 2000 to 2199"):
            parse_moment(outside, "at")
    # a space may stand for the T; 15:30 at UTC-6 is 21:30 UTC
    got = parse_moment("2027-02-10 15:30:00-06:00", "at")
    assert isinstance(got, datetime) and got.tzinfo is UTC
    assert got == datetime(2027, 2, 10, 21, 30, tzinfo=UTC)


def test_parse_moment_names_the_field_and_the_text() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_moment("10/02/2027", "effective_from")
    assert only(err) == (
        "effective_from",
        "10/02/2027",
        "not a date (2026-09-15) or an ISO 8601 date-time with an offset",
    )
    with pytest.raises(InvalidInput) as err:
        parse_moment("2027-02-10T15:30:00", "effective_from")
    assert only(err)[:2] == ("effective_from", "2027-02-10T15:30:00")


def test_resolve_a_date_is_local_midnight_an_instant_stays() -> None:
    # midnight on 2027-03-15 in Chicago is CDT (daylight time began on the 14th): 05:00Z
    assert resolve(date(2027, 3, 15), CHICAGO, "at") == datetime(2027, 3, 15, 5, tzinfo=UTC)
    assert resolve(date(2027, 3, 13), CHICAGO, "at") == datetime(2027, 3, 13, 6, tzinfo=UTC)
    instant = datetime(2027, 3, 15, 12, tzinfo=UTC)
    assert (
        resolve(instant, CHICAGO, "at") is not None and resolve(instant, CHICAGO, "at") == instant
    )
    with pytest.raises(InvalidInput) as err:
        resolve(NAIVE, CHICAGO, "as_of")
    assert only(err)[0] == "as_of"
    with pytest.raises(InvalidInput) as err:
        resolve("2027-03-15", CHICAGO, "as_of")  # type: ignore[arg-type]
    assert only(err) == (
        "as_of",
        "2027-03-15",
        "must be a date or a date and time with an offset",
    )


@pytest.mark.parametrize("function", [end_of_local_day, end_of_local_month])
def test_calendar_ends_refuse_a_naive_instant_naming_it(function: object) -> None:
    with pytest.raises(InvalidInput) as err:
        function(NAIVE, CHICAGO)  # type: ignore[operator]
    assert only(err)[0] == "instant"
    with pytest.raises(InvalidInput) as err:
        add_calendar_days(NAIVE, 1, CHICAGO)
    assert only(err)[0] == "instant"


def test_calendar_days_are_counted_in_the_zone_and_come_back_in_utc() -> None:
    # 22:00 CST on 2027-01-31 is 04:00Z on Feb 1: one day later is 22:00 CST on Feb 1
    got = add_calendar_days(datetime(2027, 2, 1, 4, tzinfo=UTC), 1, CHICAGO)
    assert got == datetime(2027, 2, 2, 4, tzinfo=UTC) and got.tzinfo is UTC


def test_the_end_of_a_local_day_and_month() -> None:
    # 22:00 CDT on March 17 is 03:00Z on March 18: that day ends at midnight CDT, 05:00Z
    late = datetime(2027, 3, 18, 3, tzinfo=UTC)
    assert end_of_local_day(late, CHICAGO) == datetime(2027, 3, 18, 5, tzinfo=UTC)
    # 22:00 CDT on April 30 (03:00Z May 1) is still April: the month ends May 1 05:00Z
    april = datetime(2027, 5, 1, 3, tzinfo=UTC)
    assert end_of_local_month(april, CHICAGO) == datetime(2027, 5, 1, 5, tzinfo=UTC)
    # December ends at midnight CST on January 1 of the next year
    december = datetime(2027, 12, 15, 12, tzinfo=UTC)
    assert end_of_local_month(december, CHICAGO) == datetime(2028, 1, 1, 6, tzinfo=UTC)
    november = datetime(2027, 11, 15, 12, tzinfo=UTC)
    assert end_of_local_month(november, CHICAGO) == datetime(2027, 12, 1, 6, tzinfo=UTC)
