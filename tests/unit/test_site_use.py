"""The site's hours split by use, worked by hand (the pool's busy/idle GPU-µs given): four
nodes of 8 GPUs, two hours from 10:00 UTC; n4 leased from 10:30, n3 spare 11:00-11:45,
n2 in maintenance 10:15-10:45; the pool busy 12 GPU-hours in hour one, 8 in hour two,
idle 4 and 8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.site_use import HOUR_US, Hours, SiteHour, split_by_hour, us

TEN = datetime(2027, 3, 1, 10, tzinfo=UTC)
NODES = [("n1", 8), ("n2", 8), ("n3", 8), ("n4", 8)]
HOLDINGS = [
    ("n4", "agreement", TEN + timedelta(minutes=30), None),
    ("n3", "spare", TEN + timedelta(hours=1), TEN + timedelta(hours=1, minutes=45)),
    ("n2", "maintenance", TEN + timedelta(minutes=15), TEN + timedelta(minutes=45)),
    ("n1", "agreement", TEN - timedelta(days=2), TEN - timedelta(days=1)),  # before: nothing
]


def test_each_hour_adds_up_to_what_is_installed() -> None:
    period = Interval(TEN, TEN + timedelta(hours=2))
    t0 = us(TEN)
    pool = {t0: (12 * HOUR_US, 4 * HOUR_US), t0 + HOUR_US: (8 * HOUR_US, 8 * HOUR_US)}
    d = Decimal
    assert split_by_hour(period, NODES, HOLDINGS, pool) == [
        # installed, leased (n4 half), spare, maintenance (n2 half), internal, idle, rest
        SiteHour(TEN, d(32), d(4), d(0), d(4), d(12), d(4), d(8)),
        # leased n4 whole, spare n3 45 min = 6, no maintenance
        SiteHour(TEN + timedelta(hours=1), d(32), d(8), d(6), d(0), d(8), d(8), d(2)),
    ]
    hour = split_by_hour(period, NODES, HOLDINGS, pool)[0]
    assert hour.pool == hour.internal + hour.idle + hour.unreported == 24


def test_a_holding_longer_than_a_day_fills_every_hour_between() -> None:
    period = Interval(TEN, TEN + timedelta(hours=30))
    held = [("n1", "agreement", TEN + timedelta(minutes=20), TEN + timedelta(hours=29, minutes=10))]
    hours = split_by_hour(period, [("n1", 8)], held, {})
    leased = [h.leased for h in hours]
    assert leased[0] == Decimal(8) * 40 / 60  # from 10:20
    assert leased[1:29] == [Decimal(8)] * 28
    assert leased[29] == Decimal(8) * 10 / 60  # to 15:10 the next day
    micro = Decimal("0.000001")  # thirds of a GPU-hour do not end in Decimal
    assert sum(leased, Decimal(0)).quantize(micro) == (Decimal(8) * (29 * 60 - 10) / 60).quantize(
        micro
    )


def test_a_period_off_the_hour_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        split_by_hour(Interval(TEN + timedelta(minutes=1), TEN + timedelta(hours=1)), NODES, [], {})
    assert caught.value.problems[0].field == "from"


def test_an_hour_the_pool_did_not_report_is_all_unreported() -> None:
    period = Interval(TEN, TEN + timedelta(hours=1))
    (hour,) = split_by_hour(period, NODES, HOLDINGS, {})
    # n4 leased half the hour (4), n2 in maintenance half (4): the 24 others unreported
    assert (hour.internal, hour.idle, hour.unreported) == tuple(map(Decimal, (0, 0, 24)))


def test_the_refusal_names_the_end_off_the_hour_and_its_value() -> None:
    end = TEN + timedelta(hours=1, seconds=1)
    with pytest.raises(InvalidInput) as caught:
        split_by_hour(Interval(TEN, end), NODES, [], {})
    (problem,) = caught.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "to", "2027-03-01T11:00:01+00:00", "must be on the hour (UTC)")  # fmt: skip


def test_instants_count_to_the_microsecond() -> None:
    assert us(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005


def test_hours_add_interval_by_interval_exactly() -> None:
    """Three hours from 0: an empty interval on an hour adds nothing; two 10-minute pieces
    of hour 0 add up (2 x 8 x 10 min = 160 GPU-min); 0:30-2:00 + 1 µs and 0:45-2:00 by 8
    GPUs each: hour 0 gets 30 + 15 min, hour 1 both whole, hour 2 the one microsecond; then
    1:30-2:00 + 2 µs: 30 more minutes in hour 1, 2 more µs in hour 2."""
    minute = 60 * 1_000_000
    hours = Hours(0, 3)
    hours.add(8, HOUR_US, HOUR_US)
    hours.add(8, 10 * minute, 20 * minute)
    hours.add(8, 20 * minute, 30 * minute)
    hours.add(8, 30 * minute, 2 * HOUR_US + 1)
    hours.add(8, 45 * minute, 2 * HOUR_US)
    hours.add(8, HOUR_US + 30 * minute, 2 * HOUR_US + 2)
    assert hours.totals() == [8 * (10 + 10 + 30 + 15) * minute,
                              2 * 8 * HOUR_US + 8 * 30 * minute, 8 * (1 + 2)]  # fmt: skip
