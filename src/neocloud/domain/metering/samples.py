"""The telemetry sample catalogue: what the store holds per GPU (or per node), in which
unit, and which values are refused.

A *sample* is one metric's value for one GPU (or node) at one instant; the store keeps one
wide row per GPU per instant with a column per metric (``docs/TELEMETRY.md``). The same
sample twice counts once: its key is (site, node, gpu, metric, instant).
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass


class Kind(enum.StrEnum):
    GAUGE = "gauge"  # a reading at the instant
    COUNTER = "counter"  # monotonic since some start; restarts from 0 (driver reload)
    EVENT = "event"  # something that happened (an Xid), 0 = nothing


class Level(enum.StrEnum):
    GPU = "gpu"
    NODE = "node"


@dataclass(frozen=True, slots=True)
class Metric:
    """One column of the store: its name carries its unit."""

    column: str
    unit: str
    kind: Kind
    level: Level
    description: str
    whole: bool = False  # integer values only
    maximum: float | None = None  # inclusive; every metric is at least 0

    def problem(self, value: float) -> str | None:
        """Why ``value`` cannot be stored in this column, or None if it can."""
        if math.isnan(value) or math.isinf(value):
            return f"{self.column} must be a finite number"
        if value < 0:
            return f"{self.column} cannot be negative"
        if self.maximum is not None and value > self.maximum:
            return f"{self.column} cannot exceed {self.maximum:g}"
        if self.whole and value != math.floor(value):
            return f"{self.column} must be a whole number of {self.unit}"
        return None


G, N = Level.GPU, Level.NODE
INT32_MAX = 2**31 - 1

METRICS: tuple[Metric, ...] = (
    Metric("power_w", "W", Kind.GAUGE, G, "board power draw (IT power)"),
    Metric("energy_mj", "mJ", Kind.COUNTER, G, "total energy since driver load", whole=True),
    Metric("util_ratio", "1", Kind.GAUGE, G, "share of time a kernel ran", maximum=1),
    Metric(
        "mem_util_ratio", "1", Kind.GAUGE, G, "share of time memory was read or written", maximum=1
    ),
    Metric("fb_used_bytes", "B", Kind.GAUGE, G, "frame buffer (HBM) used", whole=True),
    Metric("fb_free_bytes", "B", Kind.GAUGE, G, "frame buffer (HBM) free", whole=True),
    Metric("temp_c", "degC", Kind.GAUGE, G, "GPU temperature"),
    Metric("sm_clock_mhz", "MHz", Kind.GAUGE, G, "SM clock"),
    Metric(
        "xid", "Xid", Kind.EVENT, G, "Xid error reported (0: none)", whole=True, maximum=INT32_MAX
    ),
    Metric("ecc_corrected", "errors", Kind.COUNTER, G, "volatile corrected ECC errors", whole=True),
    Metric(
        "ecc_uncorrected", "errors", Kind.COUNTER, G, "volatile uncorrected ECC errors", whole=True
    ),
    Metric(
        "remapped_rows_correctable",
        "rows",
        Kind.COUNTER,
        G,
        "rows remapped (correctable)",
        whole=True,
    ),
    Metric(
        "remapped_rows_uncorrectable",
        "rows",
        Kind.COUNTER,
        G,
        "rows remapped (uncorrectable)",
        whole=True,
    ),
    Metric("node_power_w", "W", Kind.GAUGE, N, "node power draw (IT power, BMC)"),
    Metric(
        "up",
        "1",
        Kind.GAUGE,
        N,
        "1: the node's exporter answered a scrape, 0: it did not",
        whole=True,
        maximum=1,
    ),
)
BY_COLUMN = {m.column: m for m in METRICS}
COLUMNS = tuple(m.column for m in METRICS)

# Xids that take a GPU out of service (DOMAIN.md section 4); availability rules may
# configure their own list, this is the default the rollup and the simulator use.
CRITICAL_XIDS: tuple[int, ...] = (48, 63, 64, 74, 79, 92, 94, 95)

# The fields of the NVIDIA DCGM exporter (DOMAIN.md section 7) -> (column, factor to the
# column's unit). Labels: Hostname = the fleet's node name, gpu = index, UUID = the GPU.
DCGM_FIELDS: dict[str, tuple[str, float]] = {
    "DCGM_FI_DEV_POWER_USAGE": ("power_w", 1),
    "DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION": ("energy_mj", 1),
    "DCGM_FI_DEV_GPU_UTIL": ("util_ratio", 0.01),  # percent
    "DCGM_FI_DEV_MEM_COPY_UTIL": ("mem_util_ratio", 0.01),  # percent
    "DCGM_FI_DEV_FB_USED": ("fb_used_bytes", 1024 * 1024),  # MiB
    "DCGM_FI_DEV_FB_FREE": ("fb_free_bytes", 1024 * 1024),  # MiB
    "DCGM_FI_DEV_GPU_TEMP": ("temp_c", 1),
    "DCGM_FI_DEV_SM_CLOCK": ("sm_clock_mhz", 1),
    "DCGM_FI_DEV_XID_ERRORS": ("xid", 1),  # gauge: the last Xid, not a count
    "DCGM_FI_DEV_ECC_SBE_VOL_TOTAL": ("ecc_corrected", 1),
    "DCGM_FI_DEV_ECC_DBE_VOL_TOTAL": ("ecc_uncorrected", 1),
    "DCGM_FI_DEV_CORRECTABLE_REMAPPED_ROWS": ("remapped_rows_correctable", 1),
    "DCGM_FI_DEV_UNCORRECTABLE_REMAPPED_ROWS": ("remapped_rows_uncorrectable", 1),
}
DCGM_NAMES = {column: name for name, (column, _) in DCGM_FIELDS.items()}
DCGM_HOST_LABEL, DCGM_GPU_LABEL, DCGM_UUID_LABEL = "Hostname", "gpu", "UUID"
MAX_GPUS_PER_NODE = 16  # the rollup keeps one bit per GPU in 16 bits
