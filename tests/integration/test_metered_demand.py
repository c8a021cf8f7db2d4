"""Own demand from the metered internal pool (services/planning.metered_demand), on each
database, with the real meter (``App.meter()``: DuckDB over the Parquet store) reading
node-minute rollup rows written by hand into the store.

Site test-1 (America/Chicago) has two nodes of 8 H100 (16 GPUs) and nobody holds them.
Where telemetry is reported, it is one row per node and UTC hour (``span_s`` 3600, the
rollup the simulator writes at ``--resolution 1h``: each row is exactly one node-hour of
the hour rollup, so a month is 1,500 rows, not 90,000): r0001-n01 at 50 % utilisation
(busy, the threshold is 5 %), r0001-n02 at 1 % (idle). The meter builds one hour rollup per
UTC day with telemetry (tens of ms each), so as few days are reported as each case needs.

A month is recorded when its pool telemetry covers at least half of the pool's GPU-time
(both nodes report together, so: half of the month's hours). A recorded month's own demand
is its busy GPU-µs / its µs.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from neocloud.adapters.telemetry.store import ROLLUP_DIR, ParquetStore
from neocloud.bootstrap import App
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.planning.forecast import DemandPoint
from neocloud.services.planning import metered_demand
from tests import factories
from tests.integration.metering_case import table_of

CHICAGO = ZoneInfo("America/Chicago")
UTIL = {"r0001-n01": 0.5, "r0001-n02": 0.01}  # busy, idle
HOUR_MJ = 8 * 3_600_000_000  # 8 GPUs at 1 kW for an hour
FEB, MAR, APR = date(2027, 2, 1), date(2027, 3, 1), date(2027, 4, 1)


def utc_hours(first: date, end: date) -> list[datetime]:
    """Every UTC hour from local midnight (Chicago) on ``first`` to local midnight on ``end``."""
    lo = datetime(first.year, first.month, first.day, tzinfo=CHICAGO).astimezone(UTC)
    hi = datetime(end.year, end.month, end.day, tzinfo=CHICAGO).astimezone(UTC)
    return [lo + timedelta(hours=h) for h in range((hi - lo) // timedelta(hours=1))]


def report(store: ParquetStore, *stretches: tuple[date, date]) -> None:
    """Both nodes' rows for every hour of the stretches (local days, end excluded), one
    file per UTC day."""
    rows = [(at, node) for a, b in stretches for at in utc_hours(a, b) for node in UTIL]
    count = len(rows)
    table = table_of([at for at, _ in rows], [n for _, n in rows], [0xFF] * count,
                     [0] * count, [HOUR_MJ] * count)  # fmt: skip
    span = pa.array([3600] * count, pa.int32())
    table = table.set_column(table.schema.get_field_index("span_s"), "span_s", span)
    util = pa.array([UTIL[n] for _, n in rows], pa.float32())
    table = table.set_column(table.schema.get_field_index("util_ratio"), "util_ratio", util)
    days = [at.date().isoformat() for at, _ in rows]
    for day in sorted(set(days)):
        chosen = table.filter(pa.array([d == day for d in days]))
        store.write_file(ROLLUP_DIR, "test-1", day, chosen, name="hand.parquet")


@pytest.fixture
def site_app(app: App) -> App:
    doc = factories.site_document("test-1", racks=1)
    doc["halls"][0]["rack_groups"][0]["nodes_per_rack"] = 2  # type: ignore[index]
    (site,) = parse_fleet(factories.fleet(doc))
    with app.uow().write() as uow:
        uow.sites.add(site)
        uow.commit()
    return app


def test_the_hand_worked_stretches_have_the_hours_said() -> None:
    # March from 2027-03-01 06:00Z (CST) to 2027-04-01 05:00Z (CDT from 14 March): 743 hours
    march = utc_hours(MAR, APR)
    assert (len(march), march[0], march[-1]) == (
        31 * 24 - 1,
        datetime(2027, 3, 1, 6, tzinfo=UTC),
        datetime(2027, 4, 1, 4, tzinfo=UTC),
    )
    assert len(utc_hours(FEB, MAR)) == 28 * 24
    assert len(utc_hours(date(2027, 2, 14), MAR)) == 15 * 24
    assert len(utc_hours(APR, date(2027, 4, 17))) == 16 * 24


def test_the_months_metered_give_their_mean_busy_gpus(site_app: App) -> None:
    """March reported every hour: 8 busy GPUs x 743 h / 743 h = 8.0 GPUs (the month's own
    length, not 31 x 24 h: 8 x 743 / 744 would be 7.989; nor a UTC month: it would miss 6
    of the hours and count 5 it has not)."""
    report(site_app.telemetry_store(), (MAR, APR))
    found = metered_demand(site_app.uow(), site_app.meter(), "test-1", first=FEB, last=APR)
    # February and April reported nothing: left out before and after the recorded month
    assert found == (DemandPoint(MAR, "H100", 8.0),)


def test_a_month_unreported_between_two_recorded_ones_is_refused(site_app: App) -> None:
    """February reported from the 14th (360 of its 672 hours, 53.6 %), April to the 16th
    (384 of 720, 53.3 %): both recorded; March nothing. Were February or April not
    recorded, March would not be between two recorded months."""
    report(site_app.telemetry_store(), (date(2027, 2, 14), MAR), (APR, date(2027, 4, 17)))
    with pytest.raises(InvalidInput) as caught:
        metered_demand(site_app.uow(), site_app.meter(), "test-1", first=FEB, last=APR)
    assert (caught.value.problems[0].field, caught.value.problems[0].value) == (
        "telemetry",
        "2027-03",
    )


def test_no_telemetry_at_all_says_to_give_a_file(site_app: App) -> None:
    with pytest.raises(InvalidInput, match="--demand") as caught:
        metered_demand(site_app.uow(), site_app.meter(), "test-1", first=FEB, last=APR)
    assert (caught.value.problems[0].field, caught.value.problems[0].value) == (
        "telemetry",
        "test-1",
    )
