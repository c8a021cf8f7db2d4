"""The site's GPU-hours hour by hour, worked by hand: four nodes of 8 GPUs (32 GPUs), two
hours from 10:00 UTC, one rollup row a minute:

* n1 in the pool at 50 % utilisation: internal (busy, the threshold is 5 %);
* n2 in the pool at 1 %: idle;
* n3 in the pool, silent: unreported; kept spare from 11:00 to 11:45 (6 GPU-hours);
* n4 at 90 %, leased from 10:30: 4 GPU-hours leased and 4 internal in the first hour.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from neocloud.adapters.telemetry.metering import DuckDbMeter, ensure_hour_rollups
from neocloud.adapters.telemetry.store import HOURS_DIR, ROLLUP_DIR, ParquetStore
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.site_use import SiteHour, split_by_hour
from tests.integration.metering_case import table_of

TEN = datetime(2027, 3, 1, 10, tzinfo=UTC)
NODES = [("n1", 8), ("n2", 8), ("n3", 8), ("n4", 8)]
UTIL = {"n1": 0.5, "n2": 0.01, "n4": 0.9}


def minutes(store: ParquetStore) -> None:
    rows = [(TEN + timedelta(minutes=m), n) for m in range(120) for n in UTIL]
    table = table_of([t for t, _ in rows], [n for _, n in rows], [0xFF] * len(rows),
                     [0] * len(rows), [8 * 60_000_000] * len(rows), site="s-1")  # fmt: skip
    util = pa.array([UTIL[n] for _, n in rows], pa.float32())
    table = table.set_column(table.schema.get_field_index("util_ratio"), "util_ratio", util)
    store.write_file(ROLLUP_DIR, "s-1", "2027-03-01", table, name="hand.parquet")


def test_each_hour_adds_up_to_what_is_installed(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "telemetry")
    minutes(store)
    period = Interval(TEN, TEN + timedelta(hours=2))
    holdings = [
        ("n4", "agreement", TEN + timedelta(minutes=30), None),
        ("n3", "spare", TEN + timedelta(hours=1), TEN + timedelta(hours=1, minutes=45)),
    ]
    pool = DuckDbMeter(store).site_use(
        "s-1", period, NODES, [(n, a, b) for n, _, a, b in holdings], Decimal("0.05")
    )
    hours = split_by_hour(period, NODES, holdings, pool)
    d = Decimal
    assert hours == [
        # installed, leased, spare, maintenance, internal, idle, unreported
        SiteHour(TEN, d(32), d(4), d(0), d(0), d(12), d(8), d(8)),
        SiteHour(TEN + timedelta(hours=1), d(32), d(8), d(6), d(0), d(8), d(8), d(2)),
    ]


def test_node_hours_are_written_once_and_remade_when_the_minutes_change(
    tmp_path: Path,
) -> None:
    store = ParquetStore(tmp_path / "telemetry")
    minutes(store)
    assert ensure_hour_rollups(store, "s-1", ["2027-03-01"]) == ["2027-03-01"]
    (made,) = store.files(HOURS_DIR, "s-1", ["2027-03-01"])
    hours = pq.read_table(made).to_pylist()
    assert len(hours) == 3 * 2  # three reporting nodes, two hours
    n1 = [h for h in hours if h["node"] == "n1"]
    assert [h["reported_gpu_s"] for h in n1] == [8 * 3600, 8 * 3600]
    assert [h["energy_mj"] for h in n1] == [8 * 60_000_000 * 60] * 2
    assert ensure_hour_rollups(store, "s-1", ["2027-03-01"]) == []  # reused
    # a day-long reading (a coarse simulation) is spread evenly over its 24 hours
    day = table_of([datetime(2027, 3, 1, tzinfo=UTC)], ["n9"], [0xFF], [0], [24_000], site="s-1")
    day = day.set_column(1, "span_s", pa.array([86_400], pa.int32()))
    store.write_file(ROLLUP_DIR, "s-1", "2027-03-01", day, name="later.parquet")
    assert ensure_hour_rollups(store, "s-1", ["2027-03-01"]) == ["2027-03-01"]
    (remade,) = store.files(HOURS_DIR, "s-1", ["2027-03-01"])
    n9 = [h for h in pq.read_table(remade).to_pylist() if h["node"] == "n9"]
    assert len(n9) == 24
    assert {h["energy_mj"] for h in n9} == {1000.0}
    assert {h["reported_gpu_s"] for h in n9} == {8 * 3600}
