"""Billing periods: local calendar months as half-open UTC intervals.

Chicago offsets: CST is UTC-6, CDT is UTC-5. In 2026 daylight saving time starts at 2 am on
Sunday March 8 and ends at 2 am on Sunday November 1, so local midnight on March 1 is CST,
on April 1 and November 1 CDT, on December 1 and January 1 CST again.
"""

from datetime import UTC, datetime, timedelta

import pytest

from neocloud.domain.billing.periods import BillingPeriod, periods_overlapping
from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.instants import Interval

CHICAGO = "America/Chicago"


def test_a_period_is_written_yyyy_mm() -> None:
    period = BillingPeriod.parse("2026-03", CHICAGO)
    assert period == BillingPeriod(2026, 3, CHICAGO)
    assert period.label == str(period) == "2026-03"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-3", "26-03", "2026-03-01", ""])
def test_other_spellings_are_refused_with_the_text(text: str) -> None:
    with pytest.raises(InvalidInput) as err:
        BillingPeriod.parse(text, CHICAGO)
    assert err.value.problems == (Problem("period", text, "must be a month written YYYY-MM"),)


@pytest.mark.parametrize(
    ("label", "start", "end", "hours"),
    [
        # March: 31 days from CST midnight to CDT midnight, one hour short: 31 x 24 - 1
        ("2026-03", datetime(2026, 3, 1, 6), datetime(2026, 4, 1, 5), 743),
        # November: 30 days from CDT midnight to CST midnight, one hour long: 30 x 24 + 1
        ("2026-11", datetime(2026, 11, 1, 5), datetime(2026, 12, 1, 6), 721),
        # December into the next year, CST throughout: 31 x 24
        ("2026-12", datetime(2026, 12, 1, 6), datetime(2027, 1, 1, 6), 744),
    ],
)
def test_chicago_months_are_local_midnight_to_local_midnight(
    label: str, start: datetime, end: datetime, hours: int
) -> None:
    interval = BillingPeriod.parse(label, CHICAGO).interval
    assert interval == Interval(start.replace(tzinfo=UTC), end.replace(tzinfo=UTC))
    assert interval.duration == timedelta(hours=hours)


def test_december_is_followed_by_january() -> None:
    assert BillingPeriod(2026, 12, CHICAGO).next() == BillingPeriod(2027, 1, CHICAGO)
    assert BillingPeriod(2026, 11, "UTC").next() == BillingPeriod(2026, 12, "UTC")


def test_the_period_containing_an_instant_uses_local_time() -> None:
    # 04:59:59 UTC on April 1 is 23:59:59 CDT on March 31; one second later is April.
    april_1 = datetime(2026, 4, 1, 5, tzinfo=UTC)
    before = april_1 - timedelta(seconds=1)
    assert BillingPeriod.containing(before, CHICAGO) == BillingPeriod(2026, 3, CHICAGO)
    assert BillingPeriod.containing(april_1, CHICAGO) == BillingPeriod(2026, 4, CHICAGO)
    assert BillingPeriod.containing(before, "UTC") == BillingPeriod(2026, 4, "UTC")


def test_periods_overlapping_stop_before_the_exclusive_end() -> None:
    march_15 = datetime(2026, 3, 15, tzinfo=UTC)
    april_1 = datetime(2026, 4, 1, 5, tzinfo=UTC)  # local midnight, CDT
    labels = [p.label for p in periods_overlapping(Interval(march_15, april_1), CHICAGO)]
    assert labels == ["2026-03"]
    one_more = Interval(march_15, april_1 + timedelta(seconds=1))
    assert [p.label for p in periods_overlapping(one_more, CHICAGO)] == ["2026-03", "2026-04"]
    # starting in the last second of February, local time, takes in February too
    late_feb = datetime(2026, 3, 1, 6, tzinfo=UTC) - timedelta(seconds=1)
    labels = [p.label for p in periods_overlapping(Interval(late_feb, april_1), CHICAGO)]
    assert labels == ["2026-02", "2026-03"]
