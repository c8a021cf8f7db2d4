"""The store's Arrow schemas: raw samples (one wide row per GPU, or per node, per instant),
the node-minute rollup and the node-hour rollup made from it. Every file in the store has
exactly one of these schemas."""

from __future__ import annotations

import pyarrow as pa

from neocloud.domain.metering.samples import METRICS, Metric

TS = pa.timestamp("us", tz="UTC")
NAME = pa.dictionary(pa.int32(), pa.string())

_TYPES = {
    "power_w": pa.float32(),
    "util_ratio": pa.float32(),
    "mem_util_ratio": pa.float32(),
    "temp_c": pa.float32(),
    "sm_clock_mhz": pa.float32(),
    "node_power_w": pa.float32(),
    "xid": pa.int32(),
    "up": pa.int8(),
}


def metric_type(metric: Metric) -> pa.DataType:
    return _TYPES.get(metric.column, pa.int64())


KEY_FIELDS = [
    pa.field("ts", TS, nullable=False),
    pa.field("site", NAME, nullable=False),
    pa.field("node", NAME, nullable=False),
    pa.field("gpu", pa.int16()),  # null: a node-level row
    pa.field("uuid", NAME),
]
SAMPLES = pa.schema(KEY_FIELDS + [pa.field(m.column, metric_type(m)) for m in METRICS])
METRIC_COLUMNS = [m.column for m in METRICS]

NODE_MINUTES = pa.schema(
    [
        pa.field("minute", TS, nullable=False),  # the start of the row's span
        pa.field("span_s", pa.int32(), nullable=False),  # 60, or a coarser simulation's step
        pa.field("site", NAME, nullable=False),
        pa.field("node", NAME, nullable=False),
        pa.field("gpus_reported", pa.int16(), nullable=False),
        pa.field("reported_mask", pa.int32(), nullable=False),
        pa.field("critical_xid_mask", pa.int32(), nullable=False),
        pa.field("xid_max", pa.int32()),
        pa.field("energy_mj", pa.int64()),
        pa.field("energy_resets", pa.int16(), nullable=False),
        pa.field("power_w", pa.float32()),
        pa.field("util_ratio", pa.float32()),
        pa.field("samples", pa.int32(), nullable=False),
        # seconds between the node's previous row's end and this row's start (0: none);
        # null where the writer did not know the previous row (the first it wrote)
        pa.field("silence_before_s", pa.int32()),
    ]
)

NODE_HOURS = pa.schema(
    [
        pa.field("hour", TS, nullable=False),  # UTC, on the hour
        pa.field("site", NAME, nullable=False),
        pa.field("node", NAME, nullable=False),
        pa.field("reported_gpu_s", pa.int64(), nullable=False),  # GPUs reporting x seconds
        pa.field("up_gpu_s", pa.int64(), nullable=False),  # ... without a critical Xid
        pa.field("util_gpu_s", pa.float64()),  # utilisation x GPUs reporting x seconds
        pa.field("energy_mj", pa.float64()),  # GPU board energy (a coarse row's share)
        pa.field("minute_rows", pa.int32(), nullable=False),  # node-minute rows read
    ]
)
