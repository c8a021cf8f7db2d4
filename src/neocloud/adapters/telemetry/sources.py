"""Reading telemetry sources into one batch of store rows: DCGM exporter pages (Prometheus
text), and bulk CSV or Parquet files in the store's own columns.

Every source is read before anything is written: a source that cannot be read at all (a
missing or unreadable file, a truncated Parquet file, a CSV without the key columns) makes
the whole command refuse with one problem per such source, and nothing is stored. Inside a
readable source a bad line or row is rejected with its number and reason; the rest is kept.

Bulk files: columns ``ts`` (instant with a UTC offset; naive refused), ``node``, ``gpu``
(empty: a node-level row), optional ``site`` (else ``--site``) and ``uuid``, and any metric
columns of ``domain.metering.samples.METRICS``; other columns are counted as ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from neocloud.adapters.telemetry import dcgm
from neocloud.adapters.telemetry.schema import METRIC_COLUMNS, SAMPLES
from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.metering.report import ReadReport
from neocloud.domain.metering.samples import BY_COLUMN, MAX_GPUS_PER_NODE

FORMATS = ("dcgm", "csv", "parquet")
KEY = ("ts", "node")


@dataclass
class Batch:
    """Rows for the store (``schema.SAMPLES``) and what reading them found."""

    table: pa.Table = field(default_factory=SAMPLES.empty_table)
    report: ReadReport = field(default_factory=ReadReport)

    @property
    def sites(self) -> list[str]:
        if self.table.num_rows == 0:
            return []
        return sorted(set(pc.unique(self.table.column("site").cast(pa.string())).to_pylist()))

    def extend(self, table: pa.Table, report: ReadReport) -> None:
        self.table = pa.concat_tables([self.table, table.cast(SAMPLES)])
        self.report.merge(report)


def format_of(path: Path, given: str | None) -> str:
    if given:
        if given not in FORMATS:
            raise InvalidInput.single("--format", given, f"must be one of {', '.join(FORMATS)}")
        return given
    suffix = path.suffix.lower()
    return suffix[1:] if suffix in (".csv", ".parquet") else "dcgm"


def read_sources(
    paths: list[Path], *, site: str | None, at_us: int | None, format: str | None = None
) -> Batch:
    """All sources into one batch; InvalidInput (nothing read) if any cannot be read."""
    batch, problems = Batch(), list[Problem]()
    for path in paths:
        try:
            table, report = read_one(path, site=site, at_us=at_us, format=format_of(path, format))
        except InvalidInput as exc:
            problems.extend(exc.problems)
            continue
        batch.extend(table, report)
    if problems:
        summary = f"{len(problems)} source(s) cannot be read; nothing was stored"
        raise InvalidInput(problems, summary if len(problems) > 1 else "")
    return batch


def read_one(
    path: Path, *, site: str | None, at_us: int | None, format: str
) -> tuple[pa.Table, ReadReport]:
    if format == "dcgm":
        if site is None:
            raise InvalidInput.single("--site", None, "DCGM pages need the site they come from")
        return dcgm.read_page(_text(path), source=str(path), site=site, default_ts_us=at_us)
    table = _csv(path) if format == "csv" else _parquet(path)
    return conform(table, source=str(path), site=site, first_line=2 if format == "csv" else 1)


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="strict")
    except UnicodeDecodeError as exc:
        raise InvalidInput.single("FILE", str(path), f"is not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise InvalidInput.single("FILE", str(path), f"cannot be read: {_why(exc)}") from None


def _why(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def _csv(path: Path) -> pa.Table:
    from pyarrow import csv

    options = csv.ConvertOptions(
        column_types={
            "ts": pa.string(),
            "node": pa.string(),
            "site": pa.string(),
            "uuid": pa.string(),
        }
    )
    try:
        return csv.read_csv(path, convert_options=options)
    except OSError as exc:
        raise InvalidInput.single("FILE", str(path), f"cannot be read: {_why(exc)}") from None
    except pa.ArrowInvalid as exc:
        raise InvalidInput.single("FILE", str(path), f"is not a readable CSV file: {exc}") from None


def _parquet(path: Path) -> pa.Table:
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except OSError as exc:  # pyarrow raises ArrowInvalid (an OSError?) or OSError
        if isinstance(exc, pa.ArrowException):
            raise InvalidInput.single(
                "FILE", str(path), f"is not a readable Parquet file: {exc}"
            ) from None
        raise InvalidInput.single("FILE", str(path), f"cannot be read: {_why(exc)}") from None
    except pa.ArrowException as exc:
        raise InvalidInput.single(
            "FILE", str(path), f"is not a readable Parquet file: {exc}"
        ) from None


def conform(
    table: pa.Table, *, source: str, site: str | None, first_line: int
) -> tuple[pa.Table, ReadReport]:
    """A bulk table in the store's columns: bad rows rejected with their line number."""
    missing = [c for c in KEY if c not in table.column_names]
    if "site" not in table.column_names and site is None:
        missing.append("site (or --site)")
    if missing:
        raise InvalidInput.single("FILE", source, f"has no column {', '.join(missing)}")
    report = ReadReport(sources=[source])
    rows = table.num_rows
    reasons: list[str | None] = [None] * rows
    ts = _instants(table.column("ts"), reasons)
    columns: dict[str, pa.Array] = {"ts": ts}
    columns["site"] = _names(table, "site", site, reasons, required=True)
    columns["node"] = _names(table, "node", None, reasons, required=True)
    columns["uuid"] = _names(table, "uuid", None, reasons, required=False)
    columns["gpu"] = _gpus(table, reasons)
    for column in METRIC_COLUMNS:
        columns[column] = _metric(table, column, reasons)
    for name in table.column_names:
        if name not in SAMPLES.names:
            report.ignored[f"column {name}"] += rows - table.column(name).null_count
    bad = np.array([r is not None for r in reasons], dtype=bool)
    for k in np.flatnonzero(bad).tolist():
        report.reject(source, k + first_line, str(reasons[k]))
    good = pa.array(~bad)
    conformed = pa.table({n: columns[n].filter(good) for n in SAMPLES.names}, schema=_loose()).cast(
        SAMPLES
    )
    cells = sum(conformed.num_rows - conformed.column(m).null_count for m in METRIC_COLUMNS)
    report.samples = cells
    return conformed, report


def _loose() -> pa.Schema:
    return pa.schema([pa.field(f.name, f.type) for f in SAMPLES])


def _note(reasons: list[str | None], failed: np.ndarray, reason: str) -> None:
    for k in np.flatnonzero(failed).tolist():
        if reasons[k] is None:
            reasons[k] = reason


def _instants(column: pa.ChunkedArray, reasons: list[str | None]) -> pa.Array:
    target = SAMPLES.field("ts").type
    values = column.combine_chunks()
    if pa.types.is_timestamp(values.type):
        if values.type.tz is None:
            _note(reasons, np.ones(len(values), bool), "ts is naive (no UTC offset)")
            return pa.nulls(len(values), target)
        return values.cast(target)
    text = values.cast(pa.string())
    aware = pc.match_substring_regex(text, r"(Z|[+-][0-9]{2}:?[0-9]{2})$")
    aware_np = aware.fill_null(False).to_numpy(zero_copy_only=False)
    _note(reasons, ~aware_np, "ts must be a date-time with a UTC offset, e.g. 2026-06-01T00:00:00Z")
    from datetime import datetime

    parsed: list[datetime | None] = []
    for k, item in enumerate(text.to_pylist()):
        if not aware_np[k]:
            parsed.append(None)
            continue
        try:
            parsed.append(datetime.fromisoformat(item.replace("Z", "+00:00")))
        except ValueError:
            reasons[k] = reasons[k] or f"ts {item!r} is not an ISO 8601 date-time"
            parsed.append(None)
    return pa.array(parsed, type=target)


def _names(
    table: pa.Table, name: str, default: str | None, reasons: list[str | None], *, required: bool
) -> pa.Array:
    rows = table.num_rows
    if name not in table.column_names:
        return pa.array([default] * rows, pa.string())
    values = table.column(name).combine_chunks().cast(pa.string())
    if default is not None:
        values = values.fill_null(default)
    if required:
        empty = pc.or_kleene(pc.is_null(values), pc.equal(values, "")).fill_null(True)
        _note(reasons, empty.to_numpy(zero_copy_only=False), f"{name} is empty")
    return values


def _gpus(table: pa.Table, reasons: list[str | None]) -> pa.Array:
    rows = table.num_rows
    if "gpu" not in table.column_names:
        return pa.nulls(rows, pa.int16())
    raw = table.column("gpu").combine_chunks()
    try:
        values = raw.cast(pa.int64())
    except pa.ArrowInvalid:
        _note(reasons, np.ones(rows, bool), "gpu must be a GPU index (a whole number)")
        return pa.nulls(rows, pa.int16())
    numbers = values.fill_null(0).to_numpy(zero_copy_only=False)
    _note(reasons, (numbers < 0) | (numbers >= MAX_GPUS_PER_NODE), "gpu index out of range")
    clipped = np.clip(numbers, 0, MAX_GPUS_PER_NODE - 1).astype(np.int16)
    return pa.array(clipped, pa.int16(), mask=values.is_null().to_numpy(zero_copy_only=False))


def _metric(table: pa.Table, column: str, reasons: list[str | None]) -> pa.Array:
    target = SAMPLES.field(column).type
    rows = table.num_rows
    if column not in table.column_names:
        return pa.nulls(rows, target)
    raw = table.column(column).combine_chunks()
    try:
        floats = raw.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        _note(reasons, np.ones(rows, bool), f"{column} is not a number")
        return pa.nulls(rows, target)
    values = floats.fill_null(0).to_numpy(zero_copy_only=False)
    metric = BY_COLUMN[column]
    with np.errstate(invalid="ignore"):
        problems = [metric.problem(float(v)) for v in values] if _suspect(values, metric) else []
    for k, reason in enumerate(problems):
        if reason and reasons[k] is None:
            reasons[k] = reason
    safe = np.where(np.isfinite(values), values, 0)
    mask = floats.is_null().to_numpy(zero_copy_only=False)
    return pa.array(safe.astype(target.to_pandas_dtype()), target, mask=mask)


def _suspect(values: np.ndarray, metric: object) -> bool:
    """Whether any value may break a rule (then each is checked one by one)."""
    from neocloud.domain.metering.samples import Metric

    assert isinstance(metric, Metric)
    finite = np.isfinite(values)
    if not finite.all() or (values < 0).any():
        return True
    if metric.maximum is not None and (values > metric.maximum).any():
        return True
    return bool(metric.whole and (values != np.floor(values)).any())


def problems_of(exc: InvalidInput) -> list[Problem]:
    return list(exc.problems)
