"""DCGM exporter pages -> rows of the store (``schema.SAMPLES``), and back (pages for the
simulator and the tests).

Labels: ``Hostname`` is the fleet's node name, ``gpu`` the GPU's index on the node,
``UUID`` the GPU. Fields map to columns by ``domain.metering.samples.DCGM_FIELDS`` (units
converted: percent -> ratio, MiB -> bytes). A field outside the schema is counted as
ignored, by name; a sample that cannot be stored is rejected with its line and reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from neocloud.adapters.telemetry import exposition
from neocloud.adapters.telemetry.schema import METRIC_COLUMNS, SAMPLES
from neocloud.domain.metering.report import ReadReport
from neocloud.domain.metering.samples import (
    BY_COLUMN,
    DCGM_FIELDS,
    DCGM_GPU_LABEL,
    DCGM_HOST_LABEL,
    DCGM_UUID_LABEL,
    MAX_GPUS_PER_NODE,
)

US_PER_MS = 1000
COLUMN_INDEX = {column: k for k, column in enumerate(METRIC_COLUMNS)}
FIELD_COLUMN = {name: COLUMN_INDEX[column] for name, (column, _) in DCGM_FIELDS.items()}
FIELD_FACTOR = {name: factor for name, (_, factor) in DCGM_FIELDS.items()}


@dataclass(frozen=True, slots=True)
class Target:
    """Who a label set names: a node and a GPU on it (or the reason it names none)."""

    node: str
    gpu: int
    uuid: str | None


def target(labels: exposition.Labels) -> Target | str:
    found = dict(labels)
    node, gpu = found.get(DCGM_HOST_LABEL), found.get(DCGM_GPU_LABEL)
    if not node:
        return f"no {DCGM_HOST_LABEL} label: which node is it?"
    if gpu is None or not gpu.isascii() or not gpu.isdigit():
        return f"label {DCGM_GPU_LABEL}={gpu!r} is not a GPU index"
    if int(gpu) >= MAX_GPUS_PER_NODE:
        return f"label {DCGM_GPU_LABEL}={gpu} is past the {MAX_GPUS_PER_NODE} GPUs a node may have"
    return Target(node, int(gpu), found.get(DCGM_UUID_LABEL) or None)


def read_page(
    text: str, *, source: str, site: str, default_ts_us: int | None
) -> tuple[pa.Table, ReadReport]:
    """One page's samples as store rows (one per GPU and instant), and what was refused."""
    report = ReadReport(sources=[source])
    page = exposition.parse(text)
    for line, reason, shown in page.rejected:
        report.reject(source, line, reason, shown)
    table_columns = np.array([FIELD_COLUMN.get(n, -1) for n in page.name_table], np.int64)
    columns = table_columns[page.name_codes]
    if (table_columns < 0).any():
        report.ignored.update(_ignored(page, table_columns))
    entities: list[Target | str] = [target(labels) for labels in page.label_table]
    entity = page.label_codes
    keep = columns >= 0
    table_factor = np.array([FIELD_FACTOR.get(n, 1.0) for n in page.name_table], np.float64)
    values = page.value_array * table_factor[page.name_codes]
    ts = _timestamps(page, default_ts_us)
    reasons = _problems(columns, entity, entities, values, ts)
    for k in np.flatnonzero(keep & (reasons >= 0)).tolist():
        code, named = int(reasons[k]), entities[int(entity[k])]
        reason = named if code == TARGET and isinstance(named, str) else REASONS[code]
        name = page.name_table[int(page.name_codes[k])]
        report.reject(source, int(page.line_array[k]), f"{name}: {reason}")
    good = keep & (reasons < 0)
    table, repeated, conflicting = _pivot(
        site, entity[good], ts[good], columns[good], values[good], entities
    )
    report.samples = int(good.sum())
    report.duplicate, report.conflicting = repeated, conflicting
    return table, report


def _ignored(page: exposition.Page, table_columns: np.ndarray) -> dict[str, int]:
    """Samples of names outside the schema, by name in order of first appearance."""
    codes, first, counts = np.unique(page.name_codes, return_index=True, return_counts=True)
    ignored = {}
    for k in np.argsort(first).tolist():
        if table_columns[codes[k]] < 0:
            ignored[page.name_table[int(codes[k])]] = int(counts[k])
    return ignored


def _timestamps(page: exposition.Page, default_ts_us: int | None) -> np.ndarray:
    missing = -(2**62) if default_ts_us is None else default_ts_us
    ts = page.stamp_array * US_PER_MS
    if not page.stamped.all():
        ts[~page.stamped] = missing
    return ts


NO_TS = -(2**62)
TARGET, NO_TIMESTAMP, NOT_FINITE, NEGATIVE, TOO_LARGE, NOT_WHOLE = range(6)
REASONS = {
    NO_TIMESTAMP: "no timestamp on the line and none given (--at)",
    NOT_FINITE: "value must be a finite number",
    NEGATIVE: "value cannot be negative",
    TOO_LARGE: "value is past the largest the field allows",
    NOT_WHOLE: "value must be a whole number",
}


def _problems(
    columns: np.ndarray,
    entity: np.ndarray,
    entities: list[Target | str],
    values: np.ndarray,
    ts: np.ndarray,
) -> np.ndarray:
    """Per sample the code of its first problem (:data:`REASONS`, or TARGET when its
    labels name no GPU), or -1 when it can be stored."""
    too_large = np.zeros(len(columns), dtype=bool)
    not_whole = np.zeros(len(columns), dtype=bool)
    for k, column in enumerate(METRIC_COLUMNS):
        metric, here = BY_COLUMN[column], columns == k
        if metric.maximum is not None:
            too_large[here] = values[here] > metric.maximum
        if metric.whole:
            not_whole[here] = values[here] != np.floor(values[here])
    reasons = np.full(len(columns), -1, dtype=np.int64)
    with np.errstate(invalid="ignore"):
        # the last assignment wins: the checks from the least to the most telling
        for code, failed in (
            (NOT_WHOLE, not_whole),
            (TOO_LARGE, too_large),
            (NEGATIVE, values < 0),
            (NOT_FINITE, ~np.isfinite(values)),
            (NO_TIMESTAMP, ts == NO_TS),
        ):
            reasons[failed] = code
    bad_target = np.array([isinstance(t, str) for t in entities], dtype=bool)
    if bad_target.any():
        reasons[bad_target[entity]] = TARGET
    return reasons


def _pivot(
    site: str,
    entity: np.ndarray,
    ts: np.ndarray,
    columns: np.ndarray,
    values: np.ndarray,
    entities: list[Target | str],
) -> tuple[pa.Table, int, int]:
    """Long samples -> one row per (entity, instant); a cell given twice in the page keeps
    its first value. Returns the rows, the repeated cells and how many of those differ."""
    if len(entity) == 0:
        return SAMPLES.empty_table(), 0, 0
    order = np.lexsort((columns, ts, entity))
    entity, ts, columns, values = entity[order], ts[order], columns[order], values[order]
    new_row = np.ones(len(entity), dtype=bool)
    new_row[1:] = (entity[1:] != entity[:-1]) | (ts[1:] != ts[:-1])
    row = np.cumsum(new_row) - 1
    repeat = np.zeros(len(entity), dtype=bool)
    repeat[1:] = ~new_row[1:] & (columns[1:] == columns[:-1])
    conflicts = int((repeat[1:] & (values[1:] != values[:-1])).sum())
    rows = int(row[-1]) + 1
    starts = np.flatnonzero(new_row)
    arrays = {
        column: _metric_array(
            column, rows, row[~repeat & (columns == k)], values[~repeat & (columns == k)]
        )
        for k, column in enumerate(METRIC_COLUMNS)
    }
    table = _table(site, entity[starts], ts[starts], entities, arrays)
    return table, int(repeat.sum()), conflicts


def _metric_array(column: str, rows: int, at: np.ndarray, values: np.ndarray) -> pa.Array:
    kind = SAMPLES.field(column).type
    if len(at) == 0:
        return pa.nulls(rows, kind)
    mask = np.ones(rows, dtype=bool)
    mask[at] = False
    dense = np.zeros(rows, dtype=kind.to_pandas_dtype())
    dense[at] = values
    return pa.array(dense, type=kind, mask=mask)


def _table(
    site: str,
    row_entity: np.ndarray,
    row_ts: np.ndarray,
    entities: list[Target | str],
    arrays: dict[str, pa.Array],
) -> pa.Table:
    nodes = [t.node if not isinstance(t, str) else "" for t in entities]
    node_names = sorted({n for n in nodes if n})
    node_code = {n: k for k, n in enumerate(node_names)}
    uuids = sorted({t.uuid for t in entities if not isinstance(t, str) and t.uuid})
    uuid_code = {u: k for k, u in enumerate(uuids)}
    per_entity_node = np.array([node_code.get(n, -1) for n in nodes], dtype=np.int32)
    per_entity_gpu = np.array([t.gpu if not isinstance(t, str) else -1 for t in entities], np.int16)
    per_entity_uuid = np.array(
        [uuid_code[t.uuid] if not isinstance(t, str) and t.uuid else -1 for t in entities],
        dtype=np.int32,
    )
    uuid_idx = per_entity_uuid[row_entity]
    rows = len(row_entity)
    columns: dict[str, pa.Array] = {
        "ts": pa.array(row_ts, type=pa.int64()).cast(SAMPLES.field("ts").type),
        "site": pa.DictionaryArray.from_arrays(
            np.zeros(rows, dtype=np.int32), pa.array([site], pa.string())
        ),
        "node": pa.DictionaryArray.from_arrays(
            per_entity_node[row_entity], pa.array(node_names, pa.string())
        ),
        "gpu": pa.array(per_entity_gpu[row_entity], type=pa.int16()),
        "uuid": pa.DictionaryArray.from_arrays(
            pa.array(uuid_idx, type=pa.int32(), mask=uuid_idx < 0), pa.array(uuids, pa.string())
        ),
        **arrays,
    }
    return pa.table(columns, schema=SAMPLES)


HELP = {
    "DCGM_FI_DEV_POWER_USAGE": ("gauge", "Power draw (in W)."),
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": (
        "counter",
        "Total energy consumption since boot (in mJ).",
    ),
    "DCGM_FI_DEV_GPU_UTIL": ("gauge", "GPU utilization (in %)."),
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("gauge", "Memory utilization (in %)."),
    "DCGM_FI_DEV_FB_USED": ("gauge", "Framebuffer memory used (in MiB)."),
    "DCGM_FI_DEV_FB_FREE": ("gauge", "Framebuffer memory free (in MiB)."),
    "DCGM_FI_DEV_GPU_TEMP": ("gauge", "GPU temperature (in C)."),
    "DCGM_FI_DEV_SM_CLOCK": ("gauge", "SM clock frequency (in MHz)."),
    "DCGM_FI_DEV_XID_ERRORS": ("gauge", "Value of the last XID error encountered."),
}


def write_page(rows: pa.Table, *, with_timestamps: bool, model: str = "NVIDIA H200") -> str:
    """Store rows (GPU rows only) as a DCGM exporter page, field by field as the exporter
    writes them; a whole-number value is written without a fraction."""
    data = rows.to_pydict()
    out: list[str] = []
    for name, (kind, text) in HELP.items():
        column, factor = DCGM_FIELDS[name]
        out.append(f"# HELP {name} {text}\n# TYPE {name} {kind}\n")
        for k in range(rows.num_rows):
            value, gpu = data[column][k], data["gpu"][k]
            if value is None or gpu is None:
                continue
            shown = value / factor
            number = f"{int(shown)}" if float(shown).is_integer() else f"{shown:.3f}".rstrip("0")
            labels = (
                f'gpu="{gpu}",UUID="{data["uuid"][k] or ""}",device="nvidia{gpu}",'
                f'modelName="{model}",Hostname="{data["node"][k]}"'
            )
            stamp = ""
            if with_timestamps:
                stamp = f" {int(data['ts'][k].timestamp() * 1000)}"
            out.append(f"{name}{{{labels}}} {number}{stamp}\n")
    return "".join(out)
