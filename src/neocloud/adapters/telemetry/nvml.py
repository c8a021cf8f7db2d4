"""The NVML agent: samples every GPU of this machine through NVML (``pynvml``, package
nvidia-ml-py) into store rows.

The sampling loop takes any :class:`GpuSource`: :class:`NvmlSource` reads the driver
(power in mW, the total-energy counter in mJ since driver load, utilisation, memory,
temperature, SM clock, volatile ECC counts, critical Xid events); :class:`ReplaySource`
plays back a capture made that way (``../shared/fixtures/nvml-h200``: ``samples.csv`` and
``static.json``) at the pace of its own timestamps, so tests and machines without a GPU run
the same loop.
"""

from __future__ import annotations

import contextlib
import csv
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pyarrow as pa

from neocloud.adapters.telemetry.schema import SAMPLES
from neocloud.domain.kernel.errors import InvalidInput

MIB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class GpuReading:
    """One GPU at one instant, in NVML's units."""

    ts_us: int
    index: int
    uuid: str | None
    power_mw: int | None = None
    energy_mj: int | None = None
    util_gpu_pct: int | None = None
    util_mem_pct: int | None = None
    mem_used_bytes: int | None = None
    mem_free_bytes: int | None = None
    temp_c: int | None = None
    sm_clock_mhz: int | None = None
    ecc_corrected: int | None = None
    ecc_uncorrected: int | None = None
    xid: int | None = None


class GpuSource(Protocol):
    def read(self) -> list[GpuReading] | None:
        """One reading of every GPU, or None when the source has no more."""
        ...

    def close(self) -> None: ...


def sample_loop(
    source: GpuSource,
    *,
    interval_s: float,
    samples: int | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[list[GpuReading]]:
    """Read the source every ``interval_s`` seconds, ``samples`` times (None: until it
    ends). A replay passes a ``sleep`` that does not wait."""
    taken = 0
    try:
        while samples is None or taken < samples:
            readings = source.read()
            if readings is None:
                return
            yield readings
            taken += 1
            if samples is None or taken < samples:
                sleep(interval_s)
    finally:
        source.close()


def readings_table(readings: list[GpuReading], *, site: str, node: str) -> pa.Table:
    """Readings as store rows (one per GPU and instant), units converted."""

    def column(name: str, scale: float = 1.0, kind: type = np.float64) -> pa.Array:
        values = [getattr(r, name) for r in readings]
        mask = np.array([v is None for v in values], dtype=bool)
        dense = np.array([0 if v is None else v for v in values], dtype=np.float64) * scale
        return pa.array(dense.astype(kind), mask=mask)

    rows = len(readings)
    uuids = [r.uuid for r in readings]
    data = {
        "ts": pa.array([r.ts_us for r in readings], pa.int64()).cast(SAMPLES.field("ts").type),
        "site": pa.array([site] * rows, pa.string()),
        "node": pa.array([node] * rows, pa.string()),
        "gpu": pa.array([r.index for r in readings], pa.int16()),
        "uuid": pa.array(uuids, pa.string()),
        "power_w": column("power_mw", 1 / 1000),
        "energy_mj": column("energy_mj", kind=np.int64),
        "util_ratio": column("util_gpu_pct", 1 / 100),
        "mem_util_ratio": column("util_mem_pct", 1 / 100),
        "fb_used_bytes": column("mem_used_bytes", kind=np.int64),
        "fb_free_bytes": column("mem_free_bytes", kind=np.int64),
        "temp_c": column("temp_c"),
        "sm_clock_mhz": column("sm_clock_mhz"),
        "xid": column("xid", kind=np.int64),
        "ecc_corrected": column("ecc_corrected", kind=np.int64),
        "ecc_uncorrected": column("ecc_uncorrected", kind=np.int64),
    }
    missing = {f.name: pa.nulls(rows, f.type) for f in SAMPLES if f.name not in data}
    return pa.table({**data, **missing}).select(SAMPLES.names).cast(SAMPLES)


class ReplaySource:
    """A capture played back: ``samples.csv`` rows grouped by timestamp (one reading of
    every GPU per instant), UUIDs from ``static.json``."""

    def __init__(self, directory: Path) -> None:
        try:
            with open(directory / "samples.csv", newline="", encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            static = json.loads((directory / "static.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InvalidInput.single(
                "--replay", str(directory), f"is not an NVML capture: {exc}"
            ) from None
        uuids = {int(g["index"]): g.get("uuid") for g in static.get("gpus", [])}
        by_time: dict[int, list[GpuReading]] = {}
        for row in rows:
            reading = _replayed(row, uuids)
            by_time.setdefault(reading.ts_us, []).append(reading)
        self._instants = iter(sorted(by_time.items()))

    def read(self) -> list[GpuReading] | None:
        found = next(self._instants, None)
        return None if found is None else found[1]

    def close(self) -> None:
        pass


def seconds_to_us(text: str) -> int:
    """'1795829720.012' (Unix seconds) -> microseconds, exactly (no float)."""
    whole, _, fraction = text.strip().partition(".")
    return int(whole) * 1_000_000 + int((fraction + "000000")[:6])


def _replayed(row: dict[str, str], uuids: dict[int, str | None]) -> GpuReading:
    index = int(row["gpu"])
    return GpuReading(
        ts_us=seconds_to_us(row["ts"]),
        index=index,
        uuid=uuids.get(index),
        power_mw=int(row["power_mw"]),
        energy_mj=int(row["energy_mj"]),
        util_gpu_pct=int(row["util_gpu_pct"]),
        util_mem_pct=int(row["util_mem_pct"]),
        mem_used_bytes=int(row["mem_used_bytes"]),
        temp_c=int(row["temp_c"]),
        sm_clock_mhz=int(row["sm_clock_mhz"]),
        ecc_corrected=int(row["ecc_volatile_corrected"]),
        ecc_uncorrected=int(row["ecc_volatile_uncorrected"]),
    )


class NvmlSource:
    """Every GPU of this machine through NVML. Needs the NVIDIA driver (libnvidia-ml)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        import pynvml

        self.nvml: Any = pynvml
        self.clock = clock
        try:
            pynvml.nvmlInit()
        except pynvml.NVMLError as exc:
            raise InvalidInput.single(
                "agent", "nvml", f"NVML is not available here: {exc} (use --replay DIR)"
            ) from None
        count = pynvml.nvmlDeviceGetCount()
        self.handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
        self.uuids = [pynvml.nvmlDeviceGetUUID(h) for h in self.handles]
        self.events = pynvml.nvmlEventSetCreate()
        for handle in self.handles:
            with contextlib.suppress(pynvml.NVMLError_NotSupported):
                pynvml.nvmlDeviceRegisterEvents(
                    handle, pynvml.nvmlEventTypeXidCriticalError, self.events
                )

    def read(self) -> list[GpuReading] | None:
        ts_us = int(self.clock() * 1_000_000)
        xids = self._xids()
        return [self._one(i, h, ts_us, xids.get(i, 0)) for i, h in enumerate(self.handles)]

    def _one(self, index: int, handle: object, ts_us: int, xid: int) -> GpuReading:
        n = self.nvml
        utilization = n.nvmlDeviceGetUtilizationRates(handle)
        memory = n.nvmlDeviceGetMemoryInfo(handle)
        return GpuReading(
            ts_us=ts_us,
            index=index,
            uuid=self.uuids[index],
            power_mw=n.nvmlDeviceGetPowerUsage(handle),
            energy_mj=n.nvmlDeviceGetTotalEnergyConsumption(handle),
            util_gpu_pct=utilization.gpu,
            util_mem_pct=utilization.memory,
            mem_used_bytes=memory.used,
            mem_free_bytes=memory.free,
            temp_c=n.nvmlDeviceGetTemperature(handle, n.NVML_TEMPERATURE_GPU),
            sm_clock_mhz=n.nvmlDeviceGetClockInfo(handle, n.NVML_CLOCK_SM),
            ecc_corrected=self._ecc(handle, n.NVML_MEMORY_ERROR_TYPE_CORRECTED),
            ecc_uncorrected=self._ecc(handle, n.NVML_MEMORY_ERROR_TYPE_UNCORRECTED),
            xid=xid,
        )

    def _ecc(self, handle: object, kind: int) -> int | None:
        n = self.nvml
        try:
            return int(n.nvmlDeviceGetTotalEccErrors(handle, kind, n.NVML_VOLATILE_ECC))
        except n.NVMLError:  # ECC off or not supported on this board
            return None

    def _xids(self) -> dict[int, int]:
        """Critical Xid events waiting since the last read: GPU index -> the last Xid."""
        n, found = self.nvml, dict[int, int]()
        while True:
            try:
                event = n.nvmlEventSetWait_v2(self.events, 0)
            except n.NVMLError_Timeout:
                return found
            uuid = n.nvmlDeviceGetUUID(event.device)
            if uuid in self.uuids:
                found[self.uuids.index(uuid)] = int(event.eventData)

    def close(self) -> None:
        n = self.nvml
        n.nvmlEventSetFree(self.events)
        n.nvmlShutdown()
