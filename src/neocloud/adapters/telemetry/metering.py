"""Metering queries over the node-minute rollup, in SQL that DuckDB and Spark both run.

``observe`` judges a plan's segments (``domain/metering/availability.py``) minute by minute;
``usage`` adds up GPU energy and utilisation over what an agreement held; ``explain`` says
which node was down when and why. Each takes the rollup rows of the period's UTC days as
``nm(node, t0, span, reported_mask, critical_xid_mask, energy_mj, gpus_reported,
util_ratio)`` (instants as integer microseconds, so the same SQL runs on both engines) and
small tables registered from the plan.

``ensure_rollups`` writes the rollup of a day from its raw samples when it is missing or
older than the samples (the simulator writes its own): derived files, rebuilt whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from neocloud.adapters.telemetry.schema import NODE_MINUTES
from neocloud.adapters.telemetry.store import ROLLUP_DIR, SAMPLES_DIR, ParquetStore, day_text
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import Cause, Held, Observed, Unit, UnitPlan
from neocloud.domain.metering.metered import DownRun, Usage

if TYPE_CHECKING:
    import duckdb

US = 1_000_000
US_PER_DAY = 86_400 * US


def us(instant: datetime) -> int:
    delta = instant - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def days_of(period: Interval) -> list[str]:
    """The UTC days a period touches (the store's partitions)."""
    first, last = us(period.start) // US_PER_DAY, (us(period.end) - 1) // US_PER_DAY
    return [day_text(d) for d in range(first, last + 1)]


# -- rollups -------------------------------------------------------------------------


def rollup_name(sample_files: Iterable[Path]) -> str:
    names = sorted(f.name for f in sample_files)
    return "from-" + hashlib.sha256("\n".join(names).encode()).hexdigest()[:16] + ".parquet"


def fresh(store: ParquetStore, site: str, day: str) -> bool:
    """The day's rollup describes exactly its samples: the simulator's own file beside its
    samples, or one built from the current sample files."""
    samples = store.files(SAMPLES_DIR, site, [day])
    rollups = [f.name for f in store.files(ROLLUP_DIR, site, [day])]
    if not samples:
        return True
    if [f.name for f in samples] == rollups and samples[0].name.startswith("sim-"):
        return True
    return rollups == [rollup_name(samples)]


def ensure_rollups(
    store: ParquetStore, site: str, days: Sequence[str], critical_xids: frozenset[int]
) -> list[str]:
    """Build the rollup of every day whose rollup is missing or stale; returns those days."""
    built = []
    with store.locked():
        for day in days:
            if fresh(store, site, day):
                continue
            samples = store.files(SAMPLES_DIR, site, [day])
            before = day_text(_day_number(day) - 1)
            sources = store.files(SAMPLES_DIR, site, [before]) + samples
            table = _rollup_from(sources, site, day, critical_xids)
            old = store.files(ROLLUP_DIR, site, [day])
            store.write_file(ROLLUP_DIR, site, day, table, name=rollup_name(samples))
            for stale in old:
                if stale.name != rollup_name(samples):
                    stale.unlink()
            built.append(day)
    return built


def _day_number(day: str) -> int:
    return (datetime.fromisoformat(day).replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days


def _rollup_from(files: list[Path], site: str, day: str, critical_xids: frozenset[int]) -> pa.Table:
    """Per node and minute of ``day``, from GPU rows; an energy increase belongs to the
    minute of its later reading (the previous day's last readings start the first ones)."""
    lo = _day_number(day) * US_PER_DAY
    xids = ", ".join(str(x) for x in sorted(critical_xids)) or "NULL"
    listed = ", ".join(_quote(str(f)) for f in files)
    sql = f"""
        WITH r AS (
            SELECT node, gpu, epoch_us(ts) AS t, energy_mj, power_w, util_ratio, xid,
                   lag(energy_mj) OVER (PARTITION BY node, gpu ORDER BY ts) AS prev_e
            FROM read_parquet([{listed}])
            WHERE gpu IS NOT NULL AND epoch_us(ts) < {lo + US_PER_DAY}
        ), g AS (
            SELECT node, gpu, (t // 60000000) * 60000000 AS t0, count(*) AS n,
                   sum(CASE WHEN prev_e IS NULL OR energy_mj IS NULL THEN NULL
                            WHEN energy_mj >= prev_e THEN energy_mj - prev_e
                            ELSE energy_mj END) AS inc,
                   count(*) FILTER (WHERE energy_mj < prev_e) AS resets,
                   avg(power_w) AS power_w, avg(util_ratio) AS util,
                   bool_or(xid IN ({xids})) AS critical, max(nullif(xid, 0)) AS xid_max
            FROM r WHERE t >= {lo}
            GROUP BY node, gpu, t0
        )
        SELECT make_timestamp(t0) AS minute, 60 AS span_s, node,
               count(*) AS gpus_reported,
               bit_or(CAST(pow(2, gpu) AS INTEGER)) AS reported_mask,
               bit_or(CASE WHEN critical THEN CAST(pow(2, gpu) AS INTEGER) ELSE 0 END)
                   AS critical_xid_mask,
               max(xid_max) AS xid_max, sum(inc) AS energy_mj, sum(resets) AS energy_resets,
               sum(power_w) AS power_w, avg(util) AS util_ratio, sum(n) AS samples
        FROM g GROUP BY node, t0 ORDER BY node, t0
    """
    with _duckdb() as con:
        table = con.sql(sql).arrow()
    site_column = pa.DictionaryArray.from_arrays(
        pa.array([0] * table.num_rows, pa.int32()), pa.array([site])
    )
    table = table.append_column("site", site_column)
    return table.select(NODE_MINUTES.names).cast(NODE_MINUTES)


# -- the queries ------------------------------------------------------------------------

NM_DUCKDB = """
    SELECT CAST(node AS VARCHAR) AS node, epoch_us(minute) AS t0,
           CAST(span_s AS BIGINT) * 1000000 AS span, reported_mask, critical_xid_mask,
           energy_mj, gpus_reported, util_ratio
    FROM read_parquet([{files}])
"""

OBSERVE = """
WITH seg_rows AS (
    SELECT s.seg_id, s.gpus, s.units, s.lo, s.hi,
           greatest(m.t0, s.lo) AS a, least(m.t0 + m.span, s.hi) AS b,
           m.reported_mask & s.full_mask AS rep, m.critical_xid_mask & s.full_mask AS crit
    FROM segments s JOIN nm m
      ON m.node = s.node AND m.t0 < s.hi AND m.t0 + m.span > s.lo
), judged AS (
    SELECT seg_id, gpus, units, b - a AS d,
           bit_count(rep & ~crit) AS up_g, bit_count(rep & crit) AS xid_g,
           gpus - bit_count(rep) AS miss_g,
           a - coalesce(lag(b) OVER (PARTITION BY seg_id ORDER BY a), lo) AS gap
    FROM seg_rows
), tails AS (
    SELECT s.seg_id, s.units, s.hi - coalesce(max(r.b), s.lo) AS gap
    FROM segments s LEFT JOIN seg_rows r ON r.seg_id = s.seg_id
    GROUP BY s.seg_id, s.units, s.hi, s.lo
), gaps AS (
    SELECT units, gap FROM judged WHERE gap > 0
    UNION ALL SELECT units, gap FROM tails WHERE gap > 0
)
SELECT 'reported' AS what, sum(units * d) AS unit_us FROM judged
UNION ALL SELECT 'up', sum({up}) FROM judged
UNION ALL SELECT 'xid', sum({xid}) FROM judged
UNION ALL SELECT 'missing', sum({missing}) FROM judged
UNION ALL SELECT 'silent', sum(units * greatest(gap - {grace}, 0)) FROM gaps
UNION ALL SELECT 'grace', sum(units * least(gap, {grace})) FROM gaps
"""
GPU_TERMS = {"up": "up_g * d", "xid": "xid_g * d", "missing": "miss_g * d"}
NODE_TERMS = {
    "up": "CASE WHEN up_g = gpus THEN d ELSE 0 END",
    "xid": "CASE WHEN xid_g > 0 THEN d ELSE 0 END",
    "missing": "CASE WHEN up_g < gpus AND xid_g = 0 THEN d ELSE 0 END",
}

USAGE = """
SELECT sum(m.energy_mj * CAST(least(m.t0 + m.span, h.hi) - greatest(m.t0, h.lo) AS DOUBLE)
           / m.span) AS energy_mj,
       sum(m.util_ratio * m.gpus_reported * (least(m.t0 + m.span, h.hi) - greatest(m.t0, h.lo)))
           / sum(m.gpus_reported * (least(m.t0 + m.span, h.hi) - greatest(m.t0, h.lo)))
           AS util_ratio,
       sum(CASE WHEN m.energy_mj IS NULL THEN 1 ELSE 0 END) AS rows_without_energy,
       count(*) AS rows_read
FROM held h JOIN nm m ON m.node = h.node AND m.t0 < h.hi AND m.t0 + m.span > h.lo
"""

EXPLAIN = """
WITH seg_rows AS (
    SELECT s.seg_id, s.node, s.gpus, s.units, s.lo, s.hi,
           greatest(m.t0, s.lo) AS a, least(m.t0 + m.span, s.hi) AS b,
           m.reported_mask & s.full_mask AS rep, m.critical_xid_mask & s.full_mask AS crit
    FROM segments s JOIN nm m
      ON m.node = s.node AND m.t0 < s.hi AND m.t0 + m.span > s.lo
), judged AS (
    SELECT node, gpus, units, a, b, b - a AS d,
           bit_count(rep & ~crit) AS up_g, bit_count(rep & crit) AS xid_g,
           gpus - bit_count(rep) AS miss_g,
           a - coalesce(lag(b) OVER (PARTITION BY seg_id ORDER BY a), lo) AS gap
    FROM seg_rows
), down AS (
    SELECT node, 'xid' AS cause, a, b, {xid} AS unit_us FROM judged WHERE xid_g > 0
    UNION ALL SELECT node, 'missing', a, b, {missing} FROM judged WHERE up_g + xid_g < gpus
    UNION ALL SELECT node, 'silent', a - gap + {grace}, a, units * (gap - {grace})
        FROM judged WHERE gap > {grace}
    UNION ALL SELECT s.node, 'silent', coalesce(max(r.b), s.lo) + {grace}, s.hi,
           s.units * (s.hi - coalesce(max(r.b), s.lo) - {grace})
        FROM segments s LEFT JOIN seg_rows r ON r.seg_id = s.seg_id
        GROUP BY s.seg_id, s.node, s.units, s.hi, s.lo
        HAVING s.hi - coalesce(max(r.b), s.lo) > {grace}
)
SELECT node, cause, min(a) AS first_us, max(b) AS last_us, sum(unit_us) AS unit_us
FROM down WHERE unit_us > 0 GROUP BY node, cause ORDER BY node, cause
"""


def observe_sql(plan: UnitPlan, grace_s: int) -> str:
    terms = NODE_TERMS if plan.unit is Unit.NODE else GPU_TERMS
    return OBSERVE.format(grace=grace_s * US, **terms)


def explain_sql(plan: UnitPlan, grace_s: int) -> str:
    terms = NODE_TERMS if plan.unit is Unit.NODE else GPU_TERMS
    return EXPLAIN.format(grace=grace_s * US, xid=terms["xid"], missing=terms["missing"])


def segments_table(plan: UnitPlan) -> pa.Table:
    rows = [(i, s.node, s.gpus, plan.units_of(s.gpus), us(s.interval.start), us(s.interval.end))
            for i, s in enumerate(plan.segments)]  # fmt: skip
    return pa.table(
        {
            "seg_id": pa.array([r[0] for r in rows], pa.int64()),
            "node": pa.array([r[1] for r in rows], pa.string()),
            "gpus": pa.array([r[2] for r in rows], pa.int64()),
            "units": pa.array([r[3] for r in rows], pa.int64()),
            "lo": pa.array([r[4] for r in rows], pa.int64()),
            "hi": pa.array([r[5] for r in rows], pa.int64()),
            "full_mask": pa.array([2 ** r[2] - 1 for r in rows], pa.int64()),
        }
    )


def held_table(held: Iterable[Held], period: Interval) -> pa.Table:
    rows = []
    for h in held:
        lo = max(h.start, period.start)
        hi = period.end if h.end is None else min(h.end, period.end)
        if lo < hi:
            rows.append((h.node, us(lo), us(hi)))
    return pa.table(
        {
            "node": pa.array([r[0] for r in rows], pa.string()),
            "lo": pa.array([r[1] for r in rows], pa.int64()),
            "hi": pa.array([r[2] for r in rows], pa.int64()),
        }
    )


def observed_from(rows: Iterable[tuple[object, object]]) -> Observed:
    """The OBSERVE query's rows as exact unit-seconds."""
    got = {str(what): Decimal(int(value or 0)) / US for what, value in rows}  # type: ignore[call-overload]
    return Observed(
        reported_unit_s=got["reported"],
        up_unit_s=got["up"],
        down_unit_s={
            Cause.XID: got["xid"],
            Cause.MISSING: got["missing"],
            Cause.SILENT: got["silent"],
        },
        grace_unit_s=got["grace"],
    )


class DuckDbMeter:
    """The metering queries on DuckDB over the store's rollup files."""

    engine = "duckdb"

    def __init__(self, store: ParquetStore) -> None:
        self.store = store

    def _connection(self, site: str, period: Interval) -> duckdb.DuckDBPyConnection:
        files = self.store.files(ROLLUP_DIR, site, days_of(period))
        con = _connect()
        if files:
            listed = ", ".join(_quote(str(f)) for f in files)
            con.sql(f"CREATE VIEW nm AS {NM_DUCKDB.format(files=listed)}")
        else:
            empty = pa.table({"node": pa.array([], pa.string()), "t0": pa.array([], pa.int64()),
                              "span": pa.array([], pa.int64()),
                              "reported_mask": pa.array([], pa.int32()),
                              "critical_xid_mask": pa.array([], pa.int32()),
                              "energy_mj": pa.array([], pa.int64()),
                              "gpus_reported": pa.array([], pa.int16()),
                              "util_ratio": pa.array([], pa.float32())})  # fmt: skip
            con.register("nm", empty)
        return con

    def prepare(self, site: str, during: Interval, critical_xids: frozenset[int]) -> None:
        ensure_rollups(self.store, site, days_of(during), critical_xids)

    def observe(self, site: str, plan: UnitPlan, grace_s: int) -> Observed:
        con = self._connection(site, plan.period)
        try:
            con.register("segments", segments_table(plan))
            return observed_from(con.sql(observe_sql(plan, grace_s)).fetchall())
        finally:
            con.close()

    def usage(self, site: str, held: Sequence[Held], period: Interval) -> Usage:
        con = self._connection(site, period)
        try:
            con.register("held", held_table(held, period))
            energy, util, without, read = con.sql(USAGE).fetchall()[0]
        finally:
            con.close()
        return Usage(
            Decimal(str(energy or 0)).quantize(Decimal(1)),
            None if util is None else Decimal(str(util)).quantize(Decimal("0.0001")),
            int(read or 0),
            int(without or 0),
        )

    def explain(self, site: str, plan: UnitPlan, grace_s: int) -> list[DownRun]:
        con = self._connection(site, plan.period)
        try:
            con.register("segments", segments_table(plan))
            rows = con.sql(explain_sql(plan, grace_s)).fetchall()
        finally:
            con.close()
        return [
            DownRun(
                str(node),
                Cause(str(cause)),
                instant_of(int(first)),
                instant_of(int(last)),
                Decimal(int(unit_us)) / US,
            )
            for node, cause, first, last, unit_us in rows
        ]


def instant_of(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    return con


class _duckdb:  # noqa: N801 - a context manager used like a function
    def __enter__(self) -> duckdb.DuckDBPyConnection:
        self.con = _connect()
        return self.con

    def __exit__(self, *exc: object) -> None:
        self.con.close()
