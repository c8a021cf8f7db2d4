"""The telemetry store: append-only Parquet files under one directory, read with DuckDB.

    <root>/samples/site=<site>/day=<YYYY-MM-DD>/<id>.parquet        raw rows (schema.SAMPLES)
    <root>/node_minutes/site=<site>/day=<YYYY-MM-DD>/<id>.parquet   rollup (schema.NODE_MINUTES)

A partition is a site and a UTC day. Files are never changed once written. A write is
atomic: the file is written under a hidden temporary name in its partition, flushed to
disk (fsync), renamed into place, and the directory is synced; a crash leaves either the
whole file or nothing visible (a hidden ``.*.tmp`` that the next writer removes). Writers
take an exclusive lock on ``<root>/.lock``, so the check for what is already stored and
the write that follows see the same store.

Deduplication is per sample (site, node, gpu, metric, instant): a row's metric that the
store already holds at that key is not written again (a duplicate; a *conflict* where the
value differs: the stored one stays), nor is one repeated within the batch. Ingesting the
same input twice therefore writes nothing the second time.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from neocloud.adapters.telemetry.schema import METRIC_COLUMNS, NODE_MINUTES, SAMPLES
from neocloud.adapters.telemetry.sources import Batch
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.metering.report import Partition, PartitionStatus, WriteReport

if TYPE_CHECKING:
    import duckdb

SAMPLES_DIR, ROLLUP_DIR, HOURS_DIR = "samples", "node_minutes", "node_hours"
US_PER_DAY = 86_400 * 1_000_000
EPOCH = date(1970, 1, 1)
ROW_GROUP_ROWS = 1 << 20
# energy counters and timestamps are sorted runs: delta encoding beats dictionaries there
ENCODINGS = {"ts": "DELTA_BINARY_PACKED", "energy_mj": "DELTA_BINARY_PACKED"}


def day_text(day_number: int) -> str:
    return (EPOCH + timedelta(days=day_number)).isoformat()


def parquet_options(schema: pa.Schema) -> dict[str, object]:
    delta = [
        c for c in ENCODINGS if c in schema.names and not pa.types.is_floating(schema.field(c).type)
    ]
    return {
        "compression": "zstd",
        "use_dictionary": [n for n in schema.names if n not in delta],
        "column_encoding": {c: ENCODINGS[c] for c in delta},
        "write_statistics": True,
    }


class ParquetStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    # ---- layout -------------------------------------------------------------------
    def partition(self, kind: str, site: str, day: str) -> Path:
        return self.root / kind / f"site={site}" / f"day={day}"

    def files(
        self, kind: str = SAMPLES_DIR, site: str | None = None, days: list[str] | None = None
    ) -> list[Path]:
        """Visible files, in partition then name order."""
        base = self.root / kind
        if not base.is_dir():
            return []
        sites = [base / f"site={site}"] if site else sorted(base.glob("site=*"))
        found: list[Path] = []
        for site_dir in sites:
            day_dirs = (
                [site_dir / f"day={d}" for d in days] if days else sorted(site_dir.glob("day=*"))
            )
            for day_dir in day_dirs:
                found.extend(sorted(day_dir.glob("[!.]*.parquet")))
        return found

    def sites(self, kind: str = SAMPLES_DIR) -> list[str]:
        base = self.root / kind
        if not base.is_dir():
            return []
        return sorted(p.name.removeprefix("site=") for p in base.glob("site=*"))

    # ---- writing ------------------------------------------------------------------
    def writable(self) -> None:
        """The store's directory exists or can be made, and takes files; else InvalidInput."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe = self.root / f".probe-{uuid.uuid4().hex}"
            probe.write_bytes(b"")
            probe.unlink()
        except OSError as exc:
            raise InvalidInput.single(
                "NEOCLOUD_TELEMETRY_DIR",
                str(self.root),
                f"the telemetry store cannot be written: {exc.strerror or exc}",
            ) from None

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """The writer's lock: one writer at a time decides what is new and writes it."""
        self.writable()
        with open(self.root / ".lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def write_file(
        self, kind: str, site: str, day: str, table: pa.Table, name: str | None = None
    ) -> Path:
        """Write ``table`` as one new file of the partition, atomically; returns its path."""
        directory = self.partition(kind, site, day)
        final = directory / (name or f"{uuid.uuid4().hex}.parquet")
        temporary = directory / f".{final.name}.tmp"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            with open(temporary, "wb") as handle:
                pq.write_table(
                    table, handle, row_group_size=ROW_GROUP_ROWS, **parquet_options(table.schema)
                )
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
            _sync_directory(directory)
        except OSError as exc:
            temporary.unlink(missing_ok=True)
            raise InvalidInput.single(
                "NEOCLOUD_TELEMETRY_DIR",
                str(self.root),
                f"the telemetry store cannot be written: {exc.strerror or exc}",
            ) from None
        return final

    def remove_leftovers(self, kind: str, site: str, day: str) -> None:
        """Temporary files a crashed writer left (called under the lock)."""
        for stale in self.partition(kind, site, day).glob(".*.tmp"):
            stale.unlink(missing_ok=True)

    def append(self, batch: Batch | pa.Table, known: dict[str, frozenset[str]]) -> WriteReport:
        """Write what ``batch`` adds to the store, partition by partition (site, UTC day).

        ``known`` gives each site's node names: kept samples for other hosts are counted
        as unmatched (and kept)."""
        report = WriteReport()
        rows = batch.table if isinstance(batch, Batch) else batch
        if rows.num_rows == 0:
            self.writable()
            return report
        batch = rows.cast(SAMPLES)
        with self.locked():
            for site, day, part in _partitions(batch):
                self.remove_leftovers(SAMPLES_DIR, site, day)
                report.merge(self._append_partition(site, day, part, known.get(site, frozenset())))
        return report

    def _append_partition(
        self, site: str, day: str, part: pa.Table, known: frozenset[str]
    ) -> WriteReport:
        existing = self.files(SAMPLES_DIR, site, [day])
        with duckdb_session() as con:
            con.register("batch", part)
            con.register("known", pa.table({"node": pa.array(sorted(known), pa.string())}))
            con.register("stored", _stored(con, existing, part))
            con.sql(f"CREATE TEMP TABLE merged AS {_merge_sql()}")
            counts = con.sql(_count_sql()).fetchall()[0]
            new = con.sql(
                "SELECT * EXCLUDE (dup, clash, repeated, differing) FROM merged "
                f"WHERE {' OR '.join(f'{m} IS NOT NULL' for m in METRIC_COLUMNS)} "
                "ORDER BY node, gpu NULLS FIRST, ts"
            ).to_arrow_table()
            hosts = [r[0] for r in con.sql(_unmatched_hosts_sql()).fetchall()]
        assert counts is not None
        kept, dup, clash, repeated, differing, unmatched = (int(c or 0) for c in counts)
        report = WriteReport(
            kept=kept,
            duplicate=dup + repeated,
            conflicting=clash + differing,
            unmatched=unmatched,
            unmatched_hosts=set(hosts),
        )
        if new.num_rows:
            path = self.write_file(SAMPLES_DIR, site, day, _conform(new))
            first, last = pc.min_max(new.column("ts")).values()
            report.partitions.append(
                Partition(
                    site,
                    day,
                    new.num_rows,
                    str(path.relative_to(self.root)),
                    frozenset(pc.unique(new.column("node")).to_pylist()),
                    first.as_py(),
                    last.as_py(),
                )
            )
        return report

    # ---- reading ------------------------------------------------------------------
    def connect(self) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection (UTC) with views ``samples`` and ``node_minutes`` over every
        file of the store (empty views where there are none)."""
        con = connect_duckdb()
        for view, kind, schema in (
            ("samples", SAMPLES_DIR, SAMPLES),
            ("node_minutes", ROLLUP_DIR, NODE_MINUTES),
        ):
            files = self.files(kind)
            if files:
                listed = ", ".join(quote(str(f)) for f in files)
                con.sql(f"CREATE VIEW {view} AS SELECT * FROM read_parquet([{listed}])")
            else:
                con.register(f"{view}_empty", schema.empty_table())
                con.sql(f"CREATE VIEW {view} AS SELECT * FROM {view}_empty")
        return con

    def status(self, kind: str = SAMPLES_DIR) -> list[PartitionStatus]:
        """Per site and day: files, rows, distinct nodes, first and last sample, bytes."""
        result = []
        time_column = {SAMPLES_DIR: "ts", ROLLUP_DIR: "minute", HOURS_DIR: "hour"}[kind]
        for site in self.sites(kind):
            site_dir = self.root / kind / f"site={site}"
            for day_dir in sorted(site_dir.glob("day=*")):
                files = sorted(day_dir.glob("[!.]*.parquet"))
                if not files:
                    continue
                listed = ", ".join(quote(str(f)) for f in files)
                with duckdb_session() as con:
                    row = con.sql(
                        f"SELECT count(*), count(DISTINCT node), min({time_column}), "
                        f"max({time_column}) FROM read_parquet([{listed}])"
                    ).fetchall()[0]
                assert row is not None
                result.append(
                    PartitionStatus(
                        site=site,
                        day=day_dir.name.removeprefix("day="),
                        files=len(files),
                        rows=int(row[0]),
                        nodes=int(row[1]),
                        first=row[2],
                        last=row[3],
                        bytes=sum(f.stat().st_size for f in files),
                    )
                )
        return result


def _partitions(batch: pa.Table) -> Iterator[tuple[str, str, pa.Table]]:
    ts = batch.column("ts").cast(pa.int64()).to_numpy()
    days = np.floor_divide(ts, US_PER_DAY)
    sites = batch.column("site").combine_chunks()
    site_codes = sites.indices.to_numpy(zero_copy_only=False)
    site_names = sites.dictionary.to_pylist()
    key = site_codes.astype(np.int64) * (1 << 40) + (days - days.min())
    for value in np.unique(key).tolist():
        rows = np.flatnonzero(key == value)
        site = site_names[int(site_codes[rows[0]])]
        yield site, day_text(int(days[rows[0]])), batch.take(pa.array(rows))


def _stored(con: duckdb.DuckDBPyConnection, files: list[Path], part: pa.Table) -> pa.Table:
    """What the partition already holds in the batch's time range, one row per key."""
    if not files:
        return SAMPLES.empty_table()
    listed = ", ".join(quote(str(f)) for f in files)
    ts = part.column("ts")
    aggregates = ", ".join(f"max({m}) AS {m}" for m in METRIC_COLUMNS)
    return con.sql(
        f"SELECT ts, node, gpu, {aggregates} FROM read_parquet([{listed}]) "
        "WHERE ts BETWEEN $lo AND $hi GROUP BY ts, node, gpu",
        params={"lo": _min(ts), "hi": _max(ts)},
    ).to_arrow_table()


def _min(ts: pa.ChunkedArray) -> datetime:
    import pyarrow.compute as pc

    value: datetime = pc.min(ts).as_py()
    return value.astimezone(UTC)


def _max(ts: pa.ChunkedArray) -> datetime:
    import pyarrow.compute as pc

    value: datetime = pc.max(ts).as_py()
    return value.astimezone(UTC)


def _merge_sql() -> str:
    """The batch collapsed to one row per key (first value of each metric, in batch order),
    joined to what is stored: a metric is kept only where the store has none."""
    first = ", ".join(
        f"first({m} ORDER BY seq) FILTER (WHERE {m} IS NOT NULL) AS {m}, "
        f"count({m}) AS {m}__n, count(DISTINCT {m}) AS {m}__d"
        for m in METRIC_COLUMNS
    )
    kept = ", ".join(f"CASE WHEN s.{m} IS NULL THEN b.{m} END AS {m}" for m in METRIC_COLUMNS)
    dup = " + ".join(f"(b.{m} IS NOT NULL AND s.{m} IS NOT NULL)::INT" for m in METRIC_COLUMNS)
    clash = " + ".join(f"coalesce((b.{m} <> s.{m})::INT, 0)" for m in METRIC_COLUMNS)
    repeated = " + ".join(f"greatest(b.{m}__n - 1, 0)" for m in METRIC_COLUMNS)
    differing = " + ".join(f"greatest(b.{m}__d - 1, 0)" for m in METRIC_COLUMNS)
    return f"""
        WITH numbered AS (SELECT *, row_number() OVER () AS seq FROM batch),
        b AS (
            SELECT ts, site, node, gpu,
                   first(uuid ORDER BY seq) FILTER (WHERE uuid IS NOT NULL) AS uuid, {first}
            FROM numbered GROUP BY ts, site, node, gpu
        )
        SELECT b.ts, b.site, b.node, b.gpu, b.uuid, {kept},
               {dup} AS dup, {clash} AS clash,
               {repeated} AS repeated, {differing} AS differing
        FROM b LEFT JOIN stored s
          ON b.ts = s.ts AND b.node = s.node AND b.gpu IS NOT DISTINCT FROM s.gpu
    """


def _count_sql() -> str:
    cells = " + ".join(f"({m} IS NOT NULL)::INT" for m in METRIC_COLUMNS)
    return f"""
        SELECT sum({cells}), sum(dup), sum(clash), sum(repeated), sum(differing),
               sum(CASE WHEN node NOT IN (SELECT node FROM known) THEN {cells} ELSE 0 END)
        FROM merged
    """


def _unmatched_hosts_sql() -> str:
    cells = " OR ".join(f"{m} IS NOT NULL" for m in METRIC_COLUMNS)
    return (
        "SELECT DISTINCT node FROM merged WHERE node NOT IN (SELECT node FROM known) "
        f"AND ({cells}) ORDER BY node"
    )


def _conform(table: pa.Table) -> pa.Table:
    """DuckDB's result in the store's schema (dictionary names, UTC micro-seconds)."""
    return table.select(SAMPLES.names).cast(SAMPLES)


def quote(text: str) -> str:
    """A SQL string literal (file paths in DuckDB queries)."""
    return "'" + text.replace("'", "''") + "'"


def connect_duckdb() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection whose time zone is UTC."""
    import duckdb

    con = duckdb.connect()
    con.sql("SET TimeZone = 'UTC'")
    return con


@contextlib.contextmanager
def duckdb_session() -> Iterator[duckdb.DuckDBPyConnection]:
    """``connect_duckdb``, closed at the end of the block."""
    con = connect_duckdb()
    try:
        yield con
    finally:
        con.close()


def _sync_directory(directory: Path) -> None:
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
