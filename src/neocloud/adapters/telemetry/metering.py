"""Metering queries over the node-minute rollup, in SQL that DuckDB and Spark both run.

``observe`` judges a plan's segments (``domain/metering/availability.py``) minute by minute;
``usage`` adds up GPU energy and utilisation over what an agreement held; ``explain`` says
which node was down when and why. Each takes the rollup rows of the period's UTC days as
``nm(node, t0, span, reported_mask, critical_xid_mask, energy_mj, gpus_reported,
util_ratio)`` (instants as integer microseconds, so the same SQL runs on both engines) and
small tables registered from the plan. ``site_use`` (the pool hour by hour) and
``site_energy`` (the site's GPU energy in a period, and the hours telemetry covers) read the
node-hour rollup, ``hours(node, t0, reported_gpu_s, util_gpu_s, energy_mj)``.

``ensure_rollups`` writes the rollup of a day from its raw samples when it is missing or
older than the samples (the simulator writes its own): derived files, rebuilt whole.
"""

from __future__ import annotations

import abc
import contextlib
import hashlib
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa
import pyarrow.compute as pc

from neocloud.adapters.telemetry.schema import NODE_HOURS, NODE_MINUTES
from neocloud.adapters.telemetry.store import (
    HOURS_DIR,
    ROLLUP_DIR,
    SAMPLES_DIR,
    ParquetStore,
    connect_duckdb,
    day_text,
    duckdb_session,
    quote,
)
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import Cause, Observed, Unit, UnitPlan
from neocloud.domain.metering.metered import DownRun, SiteEnergy, Usage, utc_hours_starting_in

if TYPE_CHECKING:
    pass

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


def rollup_name(sample_files: Iterable[Path], critical_xids: frozenset[int]) -> str:
    """Named after the sample files it is made from (the day's and the day before's) and
    the critical Xids it marks: made again when either changes."""
    names = [*sorted(f.name for f in sample_files), ",".join(map(str, sorted(critical_xids)))]
    return "from-" + hashlib.sha256("\n".join(names).encode()).hexdigest()[:16] + ".parquet"


def fresh(store: ParquetStore, site: str, day: str, critical_xids: frozenset[int]) -> bool:
    """The day's rollup describes exactly its samples: the simulator's own file beside its
    samples (it marks the default critical Xids), or one built from the current sample
    files with these critical Xids."""
    samples = store.files(SAMPLES_DIR, site, [day])
    rollups = [f.name for f in store.files(ROLLUP_DIR, site, [day])]
    if not samples:
        return True
    if [f.name for f in samples] == rollups and samples[0].name.startswith("sim-"):
        return True
    return rollups == [rollup_name(_sources(store, site, day), critical_xids)]


def _sources(store: ParquetStore, site: str, day: str) -> list[Path]:
    """The sample files a day's rollup is made from: the day's, and the day before's (its
    last readings start the day's counter increases and silences)."""
    before = day_text(_day_number(day) - 1)
    return store.files(SAMPLES_DIR, site, [before]) + store.files(SAMPLES_DIR, site, [day])


def ensure_rollups(
    store: ParquetStore, site: str, days: Sequence[str], critical_xids: frozenset[int]
) -> list[str]:
    """Build the rollup of every day whose rollup is missing or stale; returns those days."""
    built = []
    with store.locked(), unreadable_files(store):
        for day in days:
            if fresh(store, site, day, critical_xids):
                continue
            sources = _sources(store, site, day)
            table = _rollup_from(sources, site, day, critical_xids)
            old = store.files(ROLLUP_DIR, site, [day])
            name = rollup_name(sources, critical_xids)
            store.write_file(ROLLUP_DIR, site, day, table, name=name)
            for stale in old:
                if stale.name != name:
                    stale.unlink()
            built.append(day)
    return built


def _day_number(day: str) -> int:
    return (datetime.fromisoformat(day).replace(tzinfo=UTC) - datetime(1970, 1, 1, tzinfo=UTC)).days


def _rollup_from(files: list[Path], site: str, day: str, critical_xids: frozenset[int]) -> pa.Table:
    """Per node and minute of ``day``, from GPU rows; an energy increase belongs to the
    minute of its later reading, and the silence before a row runs from the node's previous
    minute with samples (the previous day's samples start both; before them: unknown)."""
    lo = _day_number(day) * US_PER_DAY
    xids = ", ".join(str(x) for x in sorted(critical_xids)) or "NULL"
    listed = ", ".join(quote(str(f)) for f in files)
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
            FROM r GROUP BY node, gpu, t0
        ), m AS (
            SELECT t0, node, count(*) AS gpus_reported,
                   bit_or(CAST(pow(2, gpu) AS INTEGER)) AS reported_mask,
                   bit_or(CASE WHEN critical THEN CAST(pow(2, gpu) AS INTEGER) ELSE 0 END)
                       AS critical_xid_mask,
                   max(xid_max) AS xid_max, sum(inc) AS energy_mj,
                   sum(resets) AS energy_resets, sum(power_w) AS power_w,
                   avg(util) AS util_ratio, sum(n) AS samples
            FROM g GROUP BY node, t0
        )
        SELECT make_timestamp(t0) AS minute, 60 AS span_s, * EXCLUDE (t0),
               (t0 - lag(t0) OVER (PARTITION BY node ORDER BY t0) - 60000000) // 1000000
                   AS silence_before_s
        FROM m QUALIFY t0 >= {lo} ORDER BY node, t0
    """
    with duckdb_session() as con:
        table = con.sql(sql).to_arrow_table()
    site_column = pa.DictionaryArray.from_arrays(
        pa.array([0] * table.num_rows, pa.int32()), pa.array([site])
    )
    table = table.append_column("site", site_column)
    return table.select(NODE_MINUTES.names).cast(NODE_MINUTES)


def hours_name(minute_files: Iterable[Path]) -> str:
    """The node-hour rollup's name: made from these node-minute files (names and sizes)."""
    listed = sorted(f"{f.name}:{f.stat().st_size}" for f in minute_files)
    return "from-" + hashlib.sha256("\n".join(listed).encode()).hexdigest()[:16] + ".parquet"


def ensure_hour_rollups(store: ParquetStore, site: str, days: Sequence[str]) -> list[str]:
    """Write the node-hour rollup of every day whose node-minute files changed since it was
    made (written once per state of the minutes, then reused); returns the days built."""
    built = []
    with store.locked(), unreadable_files(store):
        for day in days:
            minutes = store.files(ROLLUP_DIR, site, [day])
            old = store.files(HOURS_DIR, site, [day])
            name = hours_name(minutes)
            if not minutes or [f.name for f in old] == [name]:
                continue
            store.write_file(HOURS_DIR, site, day, _hours_from(minutes, site), name=name)
            for stale in old:
                if stale.name != name:
                    stale.unlink()
            built.append(day)
    return built


def _hours_from(files: list[Path], site: str) -> pa.Table:
    """Per node and UTC hour; a row spanning more than an hour (a coarse simulation) is
    spread evenly over its hours."""
    listed = ", ".join(quote(str(f)) for f in files)
    sql = f"""
        WITH m AS (
            SELECT CAST(node AS VARCHAR) AS node, epoch_us(minute) AS t, span_s,
                   gpus_reported, bit_count(reported_mask & ~critical_xid_mask) AS up,
                   util_ratio, energy_mj
            FROM read_parquet([{listed}])
        ), spread AS (
            SELECT node, t + CAST(k AS BIGINT) * 1000000 AS t, least(span_s - k, 3600) AS s,
                   span_s, gpus_reported, up, util_ratio, energy_mj
            FROM m, unnest(range(0, span_s, 3600)) AS r(k)
        )
        SELECT make_timestamp(t // 3600000000 * 3600000000) AS hour, node,
               sum(gpus_reported * s) AS reported_gpu_s, sum(up * s) AS up_gpu_s,
               sum(util_ratio * gpus_reported * s) AS util_gpu_s,
               sum(energy_mj * CAST(s AS DOUBLE) / span_s) AS energy_mj,
               count(*) AS minute_rows
        FROM spread GROUP BY ALL ORDER BY node, hour
    """
    with duckdb_session() as con:
        table = con.sql(sql).to_arrow_table()
    site_column = pa.DictionaryArray.from_arrays(
        pa.array([0] * table.num_rows, pa.int32()), pa.array([site])
    )
    return table.append_column("site", site_column).select(NODE_HOURS.names).cast(NODE_HOURS)


# -- the queries ------------------------------------------------------------------------

NM_DUCKDB = """
    SELECT CAST(node AS VARCHAR) AS node, epoch_us(minute) AS t0,
           CAST(span_s AS BIGINT) * 1000000 AS span, reported_mask, critical_xid_mask,
           energy_mj, gpus_reported, util_ratio, power_w,
           CAST(silence_before_s AS BIGINT) * 1000000 AS gap_us
    FROM read_parquet([{files}], union_by_name = true)
"""

# Every rollup row a piece of the plan overlaps, cut to the piece (a, b) and judged: GPUs up
# (reported, no critical Xid), with a critical Xid, and missing (not reported).
_ROWS = """
r AS (
    SELECT p.seg_id, p.node, p.counted, p.gpus, p.units,
           greatest(m.t0, p.lo) AS a, least(m.t0 + m.span, p.hi) AS b, m.span,
           m.reported_mask & p.full_mask AS rep, m.critical_xid_mask & p.full_mask AS crit,
           m.energy_mj, m.gpus_reported, m.util_ratio, m.power_w
    FROM pieces p JOIN nm m ON m.node = p.node AND m.t0 < p.hi AND m.t0 + m.span > p.lo
), j AS (
    SELECT seg_id, node, counted, gpus, units, a, b, b - a AS d, span, energy_mj,
           gpus_reported, util_ratio, power_w, bit_count(rep & ~crit) AS up_g,
           bit_count(rep & crit) AS xid_g, gpus - bit_count(rep) AS miss_g
    FROM r
)"""

# One pass, one row per piece: a hash aggregate whatever the rows (no sort, no window),
# as few columns and sums as the answer needs (reported time is units x covered, missing
# what is reported neither up nor with a critical Xid: worked out per piece afterwards).
# Energy: the rows' whole readings less the share of those a piece cuts (at its ends).
# Silence is what the rows leave uncovered: before the first, after the last, and inside
# (covered < last - first); the few rows after a silence, and the rarer rows without a
# counter reading, are read by SILENCES and POWER, whose filters the scan applies.
MEASURE = """
WITH r AS (
    SELECT p.seg_id, p.gpus, greatest(m.t0, p.lo) AS a, least(m.t0 + m.span, p.hi) AS b,
           m.span, m.reported_mask & p.full_mask AS rep,
           m.critical_xid_mask & p.full_mask AS crit, m.energy_mj, m.gpus_reported,
           m.util_ratio
    FROM pieces p JOIN nm m ON m.node = p.node AND m.t0 < p.hi AND m.t0 + m.span > p.lo
), j AS (
    SELECT seg_id, gpus, a, b, b - a AS d, span, energy_mj, gpus_reported, util_ratio,
           bit_count(rep & ~crit) AS up_g, bit_count(rep & crit) AS xid_g
    FROM r
)
SELECT seg_id, sum(d) AS covered_us, min(a) AS first_us, max(b) AS last_us,
       sum({up}) AS up_us, sum({xid}) AS xid_us, sum(energy_mj) AS energy_mj,
       sum(energy_mj * CAST(span - d AS DOUBLE) / span) FILTER (WHERE d < span) AS cut_mj,
       sum(util_ratio * gpus_reported * d) AS util_gpu_us,
       sum(gpus_reported * d) FILTER (WHERE util_ratio IS NOT NULL) AS gpu_us,
       count(*) - count(energy_mj) AS rows_without_energy, count(*) AS rows_read
FROM j GROUP BY seg_id
"""

# The silences inside each piece, from the rows after one (``silence_before_s``: the
# rollup's writer knew the node's previous row): all of them, and what is past the grace.
# Used when those add up to what the rows leave uncovered; else (a writer that did not
# know) the pieces with more silence inside than the grace go to GAPS.
SILENCES = """
WITH j AS (
    SELECT p.seg_id, p.lo, greatest(m.t0, p.lo) AS a, m.gap_us
    FROM pieces p JOIN nm m ON m.node = p.node AND m.t0 < p.hi AND m.t0 + m.span > p.lo
    WHERE m.gap_us > 0
)
SELECT seg_id, sum(gap_us) FILTER (WHERE a - gap_us >= lo) AS silence_inside_us,
       sum(gap_us - {grace}) FILTER (WHERE gap_us > {grace} AND a - gap_us >= lo)
           AS silent_inside_us
FROM j GROUP BY seg_id
"""

# Rows without a counter reading: their board power x their time (a flagged fallback).
POWER = """
SELECT p.seg_id,
       sum(m.power_w * CAST(least(m.t0 + m.span, p.hi) - greatest(m.t0, p.lo) AS DOUBLE)
           / 1000) AS power_mj
FROM pieces p JOIN nm m ON m.node = p.node AND m.t0 < p.hi AND m.t0 + m.span > p.lo
WHERE m.energy_mj IS NULL
GROUP BY p.seg_id
"""

# Each silence inside a piece (between two rows), for the pieces MEASURE found one in.
GAPS = """
WITH r AS (
    SELECT p.seg_id, p.node, p.units, greatest(m.t0, p.lo) AS a,
           least(m.t0 + m.span, p.hi) AS b
    FROM pieces p JOIN nm m ON m.node = p.node AND m.t0 < p.hi AND m.t0 + m.span > p.lo
), g AS (
    SELECT seg_id, node, units, a, lag(b) OVER (PARTITION BY seg_id ORDER BY a) AS before
    FROM r
)
SELECT seg_id, node, units, before AS gap_lo, a AS gap_hi FROM g WHERE a > before
"""

# Which nodes had GPUs with critical Xids or missing, when first and last, how much.
DOWN = f"""
WITH {_ROWS}
SELECT node, 'xid' AS cause, min(a) AS first_us, max(b) AS last_us, sum({{xid}}) AS unit_us
FROM j WHERE counted = 1 AND xid_g > 0 GROUP BY node
UNION ALL
SELECT node, 'missing', min(a), max(b), sum({{missing}})
FROM j WHERE counted = 1 AND up_g + xid_g < gpus GROUP BY node
"""

# The site's unheld nodes hour by hour: busy when their GPUs' mean utilisation reached the
# threshold, idle otherwise (reporting); the hours a holding takes are not theirs.
SITE_USE = """
WITH nh AS (
    SELECT node, t0, reported_gpu_s, util_gpu_s FROM hours WHERE t0 >= {lo} AND t0 < {hi}
), taken AS (
    SELECT n.node, n.t0, sum(least(n.t0 + 3600000000, h.hi) - greatest(n.t0, h.lo)) AS held_us
    FROM nh n JOIN holdings h ON h.node = n.node AND h.lo < n.t0 + 3600000000 AND h.hi > n.t0
    GROUP BY n.node, n.t0
), judged AS (
    SELECT n.t0, g.gpus * (3600000000 - coalesce(t.held_us, 0)) AS pool_gpu_us,
           CASE WHEN n.reported_gpu_s > 0 AND n.util_gpu_s >= {busy} * n.reported_gpu_s
                THEN 1 ELSE 0 END AS busy
    FROM nh n JOIN nodes g ON g.node = n.node
    LEFT JOIN taken t ON t.node = n.node AND t.t0 = n.t0
)
SELECT t0, sum(busy * pool_gpu_us) AS busy_gpu_us, sum((1 - busy) * pool_gpu_us) AS idle_gpu_us
FROM judged GROUP BY t0
"""

# The site's GPU energy over a period from the node-hour rollup: per node of the site (the
# ``nodes`` table), and, in one more row (node ''), how many of the period's hours have a
# row of any of them. A node-hour belongs to the period its hour starts in.
SITE_ENERGY = """
WITH nh AS (
    SELECT h.node, h.t0, h.energy_mj FROM hours h JOIN nodes n ON n.node = h.node
    WHERE h.t0 >= {lo} AND h.t0 < {hi}
)
SELECT node, sum(energy_mj) AS energy_mj, count(*) AS node_hours FROM nh GROUP BY node
UNION ALL
SELECT '', NULL, count(DISTINCT t0) FROM nh
"""

GPU_TERMS = {"up": "up_g * d", "xid": "xid_g * d", "missing": "miss_g * d"}
NODE_TERMS = {
    "up": "CASE WHEN up_g = gpus THEN d ELSE 0 END",
    "xid": "CASE WHEN xid_g > 0 THEN d ELSE 0 END",
    "missing": "CASE WHEN up_g < gpus AND xid_g = 0 THEN d ELSE 0 END",
}


def terms(plan: UnitPlan) -> dict[str, str]:
    return NODE_TERMS if plan.unit is Unit.NODE else GPU_TERMS


def pieces_table(plan: UnitPlan) -> pa.Table:
    """The plan's pieces: its segments (counted: judged by telemetry), then its excluded
    and failed stretches (read for energy and utilisation only); together what was held."""
    rows = [(s.node, s.gpus, plan.units_of(s.gpus), s.interval, 1) for s in plan.segments]
    rows += [(x.node, 0, 0, x.interval, 0) for x in (*plan.excluded, *plan.failed)]
    return pa.table(
        {
            "seg_id": pa.array(range(len(rows)), pa.int64()),
            "node": pa.array([r[0] for r in rows], pa.string()),
            "gpus": pa.array([r[1] for r in rows], pa.int64()),
            "units": pa.array([r[2] for r in rows], pa.int64()),
            "lo": pa.array([us(r[3].start) for r in rows], pa.int64()),
            "hi": pa.array([us(r[3].end) for r in rows], pa.int64()),
            "full_mask": pa.array([2 ** r[1] - 1 for r in rows], pa.int64()),
            "counted": pa.array([r[4] for r in rows], pa.int64()),
        }
    )


@dataclass
class _Tally:
    """MEASURE's rows added up: unit-microseconds by kind, silences judged against the
    grace (the runs past it kept for ``explain``), energy and utilisation."""

    grace_us: int
    runs_wanted: bool = False
    unit_us: dict[str, int] = field(
        default_factory=lambda: dict.fromkeys(("reported", "up", "xid", "missing"), 0)
    )
    silent_unit_us: int = 0
    grace_unit_us: int = 0
    runs: list[tuple[str, str, int, int, int]] = field(default_factory=list)
    energy_mj: int = 0
    cut_mj: float = 0.0
    power_mj: float = 0.0
    util_gpu_us: float = 0.0
    gpu_us: int = 0
    rows_read: int = 0
    rows_without_energy: int = 0

    def gap(self, node: str, units: int, lo: int, hi: int) -> None:
        """A silence of ``[lo, hi)``: up within the grace, down past it."""
        length = hi - lo
        self.grace_unit_us += units * min(length, self.grace_us)
        past = length - self.grace_us
        if past > 0:
            self.silent_unit_us += units * past
            self.runs.append((node, "silent", lo + self.grace_us, hi, units * past))

    def piece(
        self,
        node: str,
        units: int,
        lo: int,
        hi: int,
        counted: int,
        row: tuple[Any, ...] | None,
        silences: tuple[Any, ...] = (0, 0),
    ) -> bool:
        """Add a piece's MEASURE row (None: no rows) and its SILENCES; True when it has
        more silence inside than the grace that they do not account for (only GAPS can
        tell which minutes)."""
        if row is None:
            if counted:
                self.gap(node, units, lo, hi)
            return False
        _, covered, first, last, up, xid, energy, cut, util, gpu, without, read = row
        self.energy_mj += int(energy or 0)
        self.cut_mj += float(cut or 0)
        self.util_gpu_us += float(util or 0)
        self.gpu_us += int(gpu or 0)
        self.rows_without_energy += int(without)
        self.rows_read += int(read)
        if not counted:
            return False
        reported, up, xid = units * int(covered), int(up or 0), int(xid or 0)
        for kind, value in zip(self.unit_us, (reported, up, xid, reported - up - xid), strict=True):
            self.unit_us[kind] += value
        for a, b in ((lo, int(first)), (int(last), hi)):
            if a < b:
                self.gap(node, units, a, b)
        inside = int(last) - int(first) - int(covered)
        silence, silent = (int(x or 0) for x in silences)
        # the rollup knew every silence inside when they add up to what the rows leave
        # uncovered (a row that did not know its silence makes them fall short)
        if inside and silence == inside and not self.runs_wanted:
            self.silent_unit_us += units * silent
            self.grace_unit_us += units * (silence - silent)
            return False
        if inside > self.grace_us:
            return True
        self.grace_unit_us += units * inside  # each silence inside is within the grace
        return False

    def observed(self) -> Observed:
        return Observed(
            reported_unit_s=Decimal(self.unit_us["reported"]) / US,
            up_unit_s=Decimal(self.unit_us["up"]) / US,
            down_unit_s={
                Cause.XID: Decimal(self.unit_us["xid"]) / US,
                Cause.MISSING: Decimal(self.unit_us["missing"]) / US,
                Cause.SILENT: Decimal(self.silent_unit_us) / US,
            },
            grace_unit_s=Decimal(self.grace_unit_us) / US,
        )

    def usage(self) -> Usage:
        energy = Decimal(self.energy_mj) - Decimal(repr(self.cut_mj))
        util = self.util_gpu_us / self.gpu_us if self.gpu_us else None
        return Usage(
            energy.quantize(Decimal(1)),
            None if util is None else Decimal(repr(util)).quantize(Decimal("0.0001")),
            self.rows_read,
            self.rows_without_energy,
            Decimal(repr(self.power_mj)).quantize(Decimal(1)),
        )


class SqlMeter(abc.ABC):
    """The metering queries, answered by an engine's ``_query`` (the same SQL on each)."""

    engine: str
    store: ParquetStore

    @abc.abstractmethod
    def _query(
        self,
        site: str,
        period: Interval,
        sql: str,
        tables: dict[str, pa.Table],
        kind: str = ROLLUP_DIR,
    ) -> list[tuple[Any, ...]]:
        """``sql`` over view ``nm`` (node-minutes) or ``hours`` (node-hours: ``kind``) of the
        period's days, with ``tables`` registered by name."""

    def prepare(self, site: str, during: Interval, critical_xids: frozenset[int]) -> None:
        ensure_rollups(self.store, site, days_of(during), critical_xids)

    def measure(self, site: str, plan: UnitPlan, grace_s: int) -> tuple[Observed, Usage]:
        tally = self._tally(site, plan, grace_s)
        return tally.observed(), tally.usage()

    def explain(self, site: str, plan: UnitPlan, grace_s: int) -> list[DownRun]:
        runs = self._tally(site, plan, grace_s, runs=True).runs
        runs += self._query(
            site, plan.period, DOWN.format(**terms(plan)), {"pieces": pieces_table(plan)}
        )
        down: dict[tuple[str, str], tuple[int, int, int]] = {}
        for node, cause, *figures in runs:
            first, last, unit_us = (int(f) for f in figures)
            if was := down.get((str(node), str(cause))):
                first, last, unit_us = min(was[0], first), max(was[1], last), was[2] + unit_us
            down[(str(node), str(cause))] = (first, last, unit_us)
        return [
            DownRun(node, Cause(cause), instant_of(a), instant_of(b), Decimal(u) / US)
            for (node, cause), (a, b, u) in sorted(down.items())
            if u > 0
        ]

    def _tally(self, site: str, plan: UnitPlan, grace_s: int, *, runs: bool = False) -> _Tally:
        """MEASURE added up, with SILENCES and POWER where its rows call for them;
        ``runs``: each silence past the grace listed (from GAPS)."""
        pieces, tally = pieces_table(plan), _Tally(grace_s * US, runs_wanted=runs)
        sql = MEASURE.format(**terms(plan))
        rows = {int(r[0]): r for r in self._query(site, plan.period, sql, {"pieces": pieces})}
        silences: dict[int, tuple[Any, ...]] = {}
        gapped = any(last - first > covered for _, covered, first, last, *_ in rows.values())
        if gapped and not runs:  # some piece's rows leave time uncovered inside it
            sql = SILENCES.format(grace=grace_s * US)
            got = self._query(site, plan.period, sql, {"pieces": pieces})
            silences = {int(r[0]): r[1:] for r in got}
        if any(without for *_, without, _read in rows.values()):  # rows without a counter
            got = self._query(site, plan.period, POWER, {"pieces": pieces})
            tally.power_mj = sum(float(power or 0) for _, power in sorted(got))
        names = ("seg_id", "node", "units", "lo", "hi", "counted")
        columns = (pieces[c].to_pylist() for c in names)
        inside = [
            seg_id
            for seg_id, node, units, lo, hi, counted in zip(*columns, strict=True)
            if tally.piece(
                node, units, lo, hi, counted, rows.get(seg_id), silences.get(seg_id, (0, 0))
            )
        ]
        if inside:
            chosen = pieces.filter(pc.is_in(pieces["seg_id"], pa.array(inside, pa.int64())))
            gaps = self._query(site, plan.period, GAPS, {"pieces": chosen})
            for _, node, units, gap_lo, gap_hi in gaps:
                tally.gap(str(node), int(units), int(gap_lo), int(gap_hi))
        return tally

    def site_use(
        self,
        site: str,
        period: Interval,
        nodes: Sequence[tuple[str, int]],
        holdings: Sequence[tuple[str, datetime, datetime | None]],
        busy_util_ratio: Decimal,
    ) -> dict[int, tuple[int, int]]:
        """Per UTC hour (microseconds since the epoch) of ``period``: GPU-microseconds of
        the nodes nobody holds (``holdings``: node, start, end) that were busy (mean
        utilisation at least ``busy_util_ratio``) and that reported but were idle."""
        ensure_hour_rollups(self.store, site, days_of(period))
        tables = {
            "nodes": pa.table({"node": pa.array([n for n, _ in nodes], pa.string()),
                               "gpus": pa.array([g for _, g in nodes], pa.int64())}),
            "holdings": pa.table({
                "node": pa.array([n for n, _, _ in holdings], pa.string()),
                "lo": pa.array([us(max(a, period.start)) for _, a, _ in holdings], pa.int64()),
                "hi": pa.array([us(period.end if b is None else min(b, period.end))
                                for _, _, b in holdings], pa.int64()),
            }),
        }  # fmt: skip
        sql = SITE_USE.format(lo=us(period.start), hi=us(period.end), busy=busy_util_ratio)
        rows = self._query(site, period, sql, tables, kind=HOURS_DIR)
        return {int(t0): (int(busy or 0), int(idle or 0)) for t0, busy, idle in rows}

    def site_energy(self, site: str, period: Interval, nodes: Sequence[str]) -> SiteEnergy:
        """The GPU board energy of each of ``nodes`` (the site's) in the UTC hours starting
        inside ``period``, from the node-hour rollup, and the hours any of them reported."""
        ensure_hour_rollups(self.store, site, days_of(period))
        tables = {"nodes": pa.table({"node": pa.array(sorted(set(nodes)), pa.string())})}
        sql = SITE_ENERGY.format(lo=us(period.start), hi=us(period.end))
        rows = self._query(site, period, sql, tables, kind=HOURS_DIR)
        by_node = {
            str(node): Decimal(repr(float(energy or 0))).quantize(Decimal(1))
            for node, energy, _ in rows
            if node != ""
        }
        covered = sum(int(n) for node, _, n in rows if node == "")
        return SiteEnergy(by_node, covered, utc_hours_starting_in(period))


class DuckDbMeter(SqlMeter):
    """The metering queries on DuckDB over the store's rollup files."""

    engine = "duckdb"

    def __init__(self, store: ParquetStore) -> None:
        self.store = store

    def _query(
        self,
        site: str,
        period: Interval,
        sql: str,
        tables: dict[str, pa.Table],
        kind: str = ROLLUP_DIR,
    ) -> list[tuple[Any, ...]]:
        files = self.store.files(kind, site, days_of(period))
        view, select, empty = VIEWS[kind]
        con = connect_duckdb()
        with unreadable_files(self.store):
            if files:
                listed = ", ".join(quote(str(f)) for f in files)
                con.sql(f"CREATE VIEW {view} AS {select.format(files=listed)}")
            else:
                con.register(view, empty)
            for name, table in tables.items():
                # a table, not a view of Arrow: its statistics let a small range of piece
                # numbers be grouped by a perfect hash (no hashing, no probing)
                con.register(f"{name}_arrow", table)
                con.sql(f"CREATE TEMP TABLE {name} AS FROM {name}_arrow")
            con.sql(f"SET perfect_ht_threshold = {PERFECT_HASH_BITS}")
            try:
                return con.sql(sql).fetchall()
            finally:
                con.close()


PERFECT_HASH_BITS = 18  # up to 262,144 pieces in a perfect hash table (~60 MB a thread)

NH_DUCKDB = """
    SELECT CAST(node AS VARCHAR) AS node, epoch_us(hour) AS t0, reported_gpu_s, util_gpu_s,
           energy_mj
    FROM read_parquet([{files}])
"""
EMPTY_NH = pa.table(
    {
        "node": pa.array([], pa.string()),
        "t0": pa.array([], pa.int64()),
        "reported_gpu_s": pa.array([], pa.int64()),
        "util_gpu_s": pa.array([], pa.float64()),
        "energy_mj": pa.array([], pa.float64()),
    }
)
EMPTY_NM = pa.table(
    {
        "node": pa.array([], pa.string()),
        "t0": pa.array([], pa.int64()),
        "span": pa.array([], pa.int64()),
        "reported_mask": pa.array([], pa.int32()),
        "critical_xid_mask": pa.array([], pa.int32()),
        "energy_mj": pa.array([], pa.int64()),
        "gpus_reported": pa.array([], pa.int16()),
        "util_ratio": pa.array([], pa.float32()),
        "power_w": pa.array([], pa.float32()),
        "gap_us": pa.array([], pa.int64()),
    }
)


VIEWS = {ROLLUP_DIR: ("nm", NM_DUCKDB, EMPTY_NM), HOURS_DIR: ("hours", NH_DUCKDB, EMPTY_NH)}


def instant_of(micros: int) -> datetime:
    return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)


@contextlib.contextmanager
def unreadable_files(store: ParquetStore) -> Iterator[None]:
    """A store file DuckDB cannot read (truncated, not Parquet, another schema) refused in
    words naming it, not a traceback; nothing is written."""
    import duckdb

    try:
        yield
    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
        reason = str(exc).splitlines()[0]
        raise InvalidInput.single(
            "NEOCLOUD_TELEMETRY_DIR",
            str(store.root),
            f"holds a file that cannot be read ({reason}); move it out of the store and "
            "ingest its source again",
        ) from None
