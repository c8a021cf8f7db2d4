"""A deterministic simulator of a site's GPU telemetry, vectorised with numpy and written
straight to the store (raw rows and the node-minute rollup), or as DCGM pages.

The rules are ``domain/metering/simulation.py``'s; here they are applied to arrays of one
block of nodes by one UTC day (GPUs x instants) at a time. Counters run on from one day to
the next within a run; the same seed, site, interval and resolution give the same files.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from neocloud.adapters.telemetry.schema import NODE_MINUTES, SAMPLES
from neocloud.adapters.telemetry.store import (
    ROLLUP_DIR,
    ROW_GROUP_ROWS,
    SAMPLES_DIR,
    US_PER_DAY,
    ParquetStore,
    day_text,
    parquet_options,
)
from neocloud.domain.kernel.errors import Conflict
from neocloud.domain.metering import simulation as rules
from neocloud.domain.metering.report import Partition

US_PER_S = 1_000_000
BLOCK_NODES = 1024
GIB = 1 << 30


@dataclass(frozen=True, slots=True)
class SimNode:
    name: str
    gpu_model: str
    gpus: int
    tdp_w: float


@dataclass
class SimReport:
    rows: int = 0
    rollup_rows: int = 0
    gpu_failures: int = 0
    silences: int = 0
    partitions: list[Partition] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # partitions already simulated


@dataclass
class _State:
    """What runs on from one day to the next: each GPU's energy counter, and where each
    node's last rollup row ended (-1: none yet)."""

    energy_mj: np.ndarray
    last_power_w: np.ndarray
    last_end_us: np.ndarray


def simulate(
    store: ParquetStore,
    *,
    site: str,
    nodes: list[SimNode],
    start_us: int,
    end_us: int,
    seed: int,
    resolution_s: int,
    utc_offset_h: float = 0.0,
    progress: Callable[[int], None] | None = None,
    outages: Sequence[Outage] = (),
    raw: bool = True,
) -> SimReport:
    """Write ``[start_us, end_us)`` of the site's telemetry into the store: raw rows and the
    rollup, or (``raw=False``) the rollup alone, which is all metering reads. Nodes of an
    ``outage`` report nothing during it (maintenance, a lost power feed)."""
    report = SimReport()
    days = list(_days(start_us, end_us))
    tag = f"sim-{seed}-{start_us}-{end_us}-{resolution_s}" + ("" if raw else "-rollup")
    with store.locked():
        todo = _check_partitions(store, site, days, tag, report, raw)
        if not todo:
            return report
        writers = _Writers(store, site, tag, rollup=True, raw=raw)
        try:
            size = _block_nodes(resolution_s)
            chunks = [nodes[i : i + size] for i in range(0, len(nodes), size)]
            statics = [_Statics.of(chunk) for chunk in chunks]
            states = [_initial_state(chunk, seed, b) for b, chunk in enumerate(chunks)]
            for day, lo, hi in days:
                stamps = np.arange(_align(lo, resolution_s), hi, resolution_s * US_PER_S)
                if not len(stamps):  # a coarse step that falls in another day
                    continue
                pending: list[tuple[pa.Table | None, pa.Table | None]] = []
                for block, chunk in enumerate(chunks):
                    silent = _silent(chunk, stamps, outages)
                    pending.append(
                        _day(
                            site, chunk, stamps, seed, block, day, states[block], utc_offset_h,
                            report, silent, raw, resolution_s, statics[block],
                        )
                    )  # fmt: skip
                    if progress:
                        progress(len(chunk) * len(stamps))
                    if sum(t.num_rows for _, t in pending if t is not None) >= FLUSH_ROWS:
                        _flush(writers, day, pending, day in todo)
                _flush(writers, day, pending, day in todo)
            report.partitions = writers.close()
        except BaseException:
            writers.abort()
            raise
    report.rows = sum(p.rows for p in report.partitions if p.file.startswith(SAMPLES_DIR))
    report.rollup_rows = sum(p.rows for p in report.partitions if p.file.startswith(ROLLUP_DIR))
    return report


def _days(start_us: int, end_us: int) -> Iterator[tuple[int, int, int]]:
    day = start_us // US_PER_DAY
    while day * US_PER_DAY < end_us:
        yield day, max(start_us, day * US_PER_DAY), min(end_us, (day + 1) * US_PER_DAY)
        day += 1


def _align(instant_us: int, resolution_s: int) -> int:
    step = resolution_s * US_PER_S
    return -(-instant_us // step) * step


@dataclass(frozen=True)
class Outage:
    """Nodes that report nothing during ``[start_us, end_us)``."""

    nodes: frozenset[str]
    start_us: int
    end_us: int


def _silent(chunk: list[SimNode], stamps: np.ndarray, outages: Sequence[Outage]) -> np.ndarray:
    """(node, step) -> in an outage."""
    silent = np.zeros((len(chunk), len(stamps)), dtype=bool)
    for outage in outages:
        during = (stamps >= outage.start_us) & (stamps < outage.end_us)
        if not during.any():
            continue
        for i, node in enumerate(chunk):
            if node.name in outage.nodes:
                silent[i] |= during
    return silent


def _check_partitions(
    store: ParquetStore,
    site: str,
    days: list[tuple[int, int, int]],
    tag: str,
    report: SimReport,
    raw: bool = True,
) -> set[int]:
    """Days to write: a day this run already wrote is skipped (a rerun converges); a day
    holding other telemetry is refused rather than mixed with invented samples."""
    todo = set()
    for day, _, _ in days:
        text = day_text(day)
        files = store.files(SAMPLES_DIR, site, [text]) + store.files(ROLLUP_DIR, site, [text])
        if any(f.name == f"{tag}.parquet" for f in files):
            report.skipped.append(text)
            continue
        if files:
            raise Conflict(
                f"site {site} already has telemetry on {text} ({len(files)} file(s)): "
                "simulate into an empty day (or another NEOCLOUD_TELEMETRY_DIR)"
            )
        store.remove_leftovers(SAMPLES_DIR, site, text)
        todo.add(day)
    return todo


class _Writers:
    """One open Parquet writer per day and kind, each writing a hidden temporary file that
    is renamed into place when the run ends (nothing visible if it fails)."""

    def __init__(
        self, store: ParquetStore, site: str, tag: str, *, rollup: bool, raw: bool = True
    ) -> None:
        self.store, self.site, self.tag, self.rollup, self.raw = store, site, tag, rollup, raw
        self.open: dict[tuple[str, int], tuple[pq.ParquetWriter, Path, int]] = {}

    def write(self, day: int, raw: pa.Table | None, minutes: pa.Table | None) -> None:
        if self.raw and raw is not None:
            self._write(SAMPLES_DIR, day, raw)
        if self.rollup and minutes is not None:
            self._write(ROLLUP_DIR, day, minutes)

    def _write(self, kind: str, day: int, table: pa.Table) -> None:
        key = (kind, day)
        if key not in self.open:
            directory = self.store.partition(kind, self.site, day_text(day))
            directory.mkdir(parents=True, exist_ok=True)
            temporary = directory / f".{self.tag}.parquet.tmp"
            writer = pq.ParquetWriter(temporary, table.schema, **parquet_options(table.schema))
            self.open[key] = (writer, temporary, 0)
        writer, temporary, rows = self.open[key]
        writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self.open[key] = (writer, temporary, rows + table.num_rows)

    def close(self) -> list[Partition]:
        import os

        done = []
        for (_kind, day), (writer, temporary, rows) in sorted(self.open.items()):
            writer.close()
            with open(temporary, "rb") as handle:
                os.fsync(handle.fileno())
            final = temporary.with_name(f"{self.tag}.parquet")
            os.replace(temporary, final)
            done.append(
                Partition(self.site, day_text(day), rows, str(final.relative_to(self.store.root)))
            )
        return done

    def abort(self) -> None:
        for writer, temporary, _ in self.open.values():
            writer.close()
            temporary.unlink(missing_ok=True)


FLUSH_ROWS = 2_000_000  # rollup rows held before they are written (memory)


def _flush(
    writers: _Writers, day: int, pending: list[tuple[pa.Table | None, pa.Table | None]], keep: bool
) -> None:
    """Write what the day's blocks made so far (as one table of each kind), then forget it."""
    raws = [t for t, _ in pending if t is not None]
    rollups = [m for _, m in pending if m is not None]
    if keep and (raws or rollups):
        writers.write(
            day,
            pa.concat_tables(raws) if raws else None,
            pa.concat_tables(rollups) if rollups else None,
        )
    pending.clear()


def _block_nodes(resolution_s: int) -> int:
    """Nodes simulated together: BLOCK_NODES at one minute; more at coarser steps, so a
    block is always about as many GPU-steps (each block costs a fixed overhead too)."""
    steps_per_day = max(1, 86_400 // resolution_s)
    return max(BLOCK_NODES, BLOCK_NODES * 1440 // steps_per_day)


@dataclass(frozen=True)
class _Statics:
    """What a block of nodes is, computed once for every day simulated."""

    per_node: np.ndarray
    node_of: np.ndarray
    index: np.ndarray
    tdp: np.ndarray
    idle: np.ndarray

    @classmethod
    def of(cls, chunk: list[SimNode]) -> _Statics:
        per_node = np.array([n.gpus for n in chunk], dtype=np.int64)
        idle = [rules.idle_power_w(n.gpu_model, n.tdp_w) for n in chunk]
        return cls(
            per_node,
            np.repeat(np.arange(len(chunk)), per_node),
            np.concatenate([np.arange(g) for g in per_node]).astype(np.int16),
            np.repeat(np.array([n.tdp_w for n in chunk], np.float32), per_node),
            np.repeat(np.array(idle, np.float32), per_node),
        )


def _initial_state(chunk: list[SimNode], seed: int, block: int) -> _State:
    gpus = sum(n.gpus for n in chunk)
    rng = np.random.default_rng([seed, block, 0])
    # counters since the driver loaded: between 0 and ~30 days at 700 W
    energy = rng.integers(0, 30 * 86_400 * 700 * 1000, size=gpus, dtype=np.int64)
    return _State(
        energy_mj=energy,
        last_power_w=np.full(gpus, np.nan),
        last_end_us=np.full(len(chunk), -1, dtype=np.int64),
    )


def _day(
    site: str,
    chunk: list[SimNode],
    stamps: np.ndarray,
    seed: int,
    block: int,
    day: int,
    state: _State,
    utc_offset_h: float,
    report: SimReport,
    silent: np.ndarray | None = None,
    raw: bool = True,
    resolution_s: int = 60,
    statics: _Statics | None = None,
) -> tuple[pa.Table | None, pa.Table | None]:
    rng = np.random.default_rng([seed, block, day + 1])
    fixed = statics or _Statics.of(chunk)
    per_node, node_of, index = fixed.per_node, fixed.node_of, fixed.index
    tdp, idle = fixed.tdp, fixed.idle
    gpus, steps = len(node_of), len(stamps)
    hours = ((stamps / 3.6e9) + utc_offset_h) % 24
    diurnal = np.array([rules.diurnal_util(h) for h in hours.tolist()], np.float32)
    bias = rng.normal(0, 0.08, size=(gpus, 1)).astype(np.float32)
    noise = rng.random((gpus, steps), dtype=np.float32) * np.float32(0.1) - np.float32(0.05)
    util = np.clip(np.rint((diurnal[None, :] + bias + noise) * 100), 0, 100) / np.float32(100)
    util = util.astype(np.float32)
    xid = np.zeros((gpus, steps), dtype=np.int32)
    present = np.ones((gpus, steps), dtype=bool)
    reset = np.zeros((gpus, steps), dtype=bool)
    step_s = float(resolution_s)
    _failures(rng, per_node, node_of, steps, step_s, util, xid, present, reset, report)
    if silent is not None and silent.any():
        present &= ~silent[node_of]
    power = np.rint((idle[:, None] + (tdp - idle)[:, None] * util) * 10) / np.float32(10)
    power = power.astype(np.float32)
    energy, increase = _counter(power, reset, step_s, state)
    table = (
        _raw_table(site, chunk, node_of, index, stamps, present, power, energy, util, xid)
        if raw
        else None
    )
    minutes = _rollup(
        site, chunk, per_node, index, stamps, present, power, util, xid, increase, reset, step_s,
        state.last_end_us,
    )  # fmt: skip
    return table, minutes


def _failures(
    rng: np.random.Generator,
    per_node: np.ndarray,
    node_of: np.ndarray,
    steps: int,
    step_s: float,
    util: np.ndarray,
    xid: np.ndarray,
    present: np.ndarray,
    reset: np.ndarray,
    report: SimReport,
) -> None:
    """Interruptions at DOMAIN.md's rate: a critical Xid on one GPU (busy GPU falls idle
    until repaired; its driver reloads, so its counter restarts) or a silent node."""
    gpus = len(node_of)
    expected = rules.expected_interruptions(gpus, steps * step_s / 86_400)
    starts = np.concatenate([[0], np.cumsum(per_node)[:-1]])
    for _ in range(int(rng.poisson(expected))):
        gpu = int(rng.integers(gpus))
        at = int(rng.integers(steps))
        if rng.random() < rules.GPU_RELATED_SHARE:
            minutes = int(rng.integers(*rules.REPAIR_MINUTES))
            end = min(steps, at + max(1, int(minutes * 60 / step_s)))
            xid[gpu, at:end] = int(rng.choice(rules.SIMULATED_XIDS))
            util[gpu, at:end] = 0
            if end < steps:
                reset[gpu, end] = True
            report.gpu_failures += 1
        else:
            minutes = int(rng.integers(*rules.SILENCE_MINUTES))
            end = min(steps, at + max(1, int(minutes * 60 / step_s)))
            node = int(node_of[gpu])
            first = int(starts[node])
            present[first : first + int(per_node[node]), at:end] = False
            report.silences += 1


def _counter(
    power: np.ndarray, reset: np.ndarray, step_s: float, state: _State
) -> tuple[np.ndarray, np.ndarray]:
    """The energy counter (mJ) consistent with power: each step adds the trapezoid of the
    power before and at it; after a driver reload it counts from 0 again. Returns the
    counter and each reading's increase over the one before (reset rule applied)."""
    before = np.where(np.isnan(state.last_power_w), power[:, 0], state.last_power_w)
    previous = np.concatenate([before[:, None], power[:, :-1]], axis=1)
    increase = np.rint((previous + power) / 2 * step_s * 1000).astype(np.int64)
    energy = np.empty_like(increase)
    running = state.energy_mj.copy()
    if not reset.any():
        energy = running[:, None] + np.cumsum(increase, axis=1)
    else:
        for g in np.flatnonzero(reset.any(axis=1)).tolist():
            increase_g = increase[g].copy()
            cut = np.flatnonzero(reset[g])
            total = running[g] + np.cumsum(increase_g)
            for at in cut.tolist():  # restart: the counter is what it counted since
                total[at:] = np.cumsum(increase_g[at:])
            energy[g] = total
        fine = ~reset.any(axis=1)
        energy[fine] = running[fine, None] + np.cumsum(increase[fine], axis=1)
    state.energy_mj = energy[:, -1].copy()
    state.last_power_w = power[:, -1].copy()
    return energy, increase


def _raw_table(
    site: str,
    chunk: list[SimNode],
    node_of: np.ndarray,
    index: np.ndarray,
    stamps: np.ndarray,
    present: np.ndarray,
    power: np.ndarray,
    energy: np.ndarray,
    util: np.ndarray,
    xid: np.ndarray,
) -> pa.Table:
    keep = present.ravel()
    steps = len(stamps)
    rows = int(keep.sum())
    fb = (util * np.float32(120 * GIB)).astype(np.int64) // (2 * 1024 * 1024) * 2 * 1024 * 1024
    columns = {
        "ts": pa.array(np.tile(stamps, len(node_of))[keep], pa.int64()).cast(
            SAMPLES.field("ts").type
        ),
        "site": None,
        "node": pa.DictionaryArray.from_arrays(
            np.repeat(node_of.astype(np.int32), steps)[keep], pa.array([n.name for n in chunk])
        ),
        "gpu": pa.array(np.repeat(index, steps)[keep], pa.int16()),
        "power_w": pa.array(power.ravel()[keep], pa.float32()),
        "energy_mj": pa.array(energy.ravel()[keep], pa.int64()),
        "util_ratio": pa.array(util.ravel()[keep], pa.float32()),
        "fb_used_bytes": pa.array(fb.ravel()[keep], pa.int64()),
        "temp_c": pa.array(np.rint(30 + 45 * util).ravel()[keep], pa.float32()),
        "sm_clock_mhz": pa.array(np.where(util > 0, 1755, 345).astype(np.float32).ravel()[keep]),
        "xid": pa.array(xid.ravel()[keep], pa.int32()),
    }
    del columns["site"]
    return _complete(site, columns, rows, SAMPLES)


def _complete(site: str, columns: dict[str, pa.Array], rows: int, schema: pa.Schema) -> pa.Table:
    columns["site"] = pa.DictionaryArray.from_arrays(np.zeros(rows, np.int32), pa.array([site]))
    for f in schema:
        if f.name not in columns:
            columns[f.name] = pa.nulls(rows, f.type)
    return pa.table({f.name: columns[f.name] for f in schema}).cast(schema)


def _rollup(
    site: str,
    chunk: list[SimNode],
    per_node: np.ndarray,
    index: np.ndarray,
    stamps: np.ndarray,
    present: np.ndarray,
    power: np.ndarray,
    util: np.ndarray,
    xid: np.ndarray,
    increase: np.ndarray,
    reset: np.ndarray,
    step_s: float,
    last_end_us: np.ndarray,
) -> pa.Table:
    """One row per node and step (a minute, or the simulation's coarser step: ``span_s``):
    which GPUs reported, which had a critical Xid, the
    energy counted by readings in that minute (an increase belongs to its later reading),
    node GPU power and mean utilisation."""
    starts = np.concatenate([[0], np.cumsum(per_node)[:-1]])
    bit = (1 << index.astype(np.int32))[:, None]
    reported = np.bitwise_or.reduceat(np.where(present, bit, 0), starts, axis=0)
    critical = np.bitwise_or.reduceat(np.where(present & (xid > 0), bit, 0), starts, axis=0)
    # an increase over a silent gap lands on the first reading after it
    carried = _carry_over_gaps(increase, present)
    energy = np.add.reduceat(np.where(present, carried, 0), starts, axis=0)
    counted = np.add.reduceat(present.astype(np.int32), starts, axis=0)
    node_power = np.add.reduceat(np.where(present, power, 0), starts, axis=0)
    node_util = np.add.reduceat(np.where(present, util, 0), starts, axis=0)
    resets = np.add.reduceat((reset & present).astype(np.int16), starts, axis=0)
    xmax = np.maximum.reduceat(np.where(present, xid, 0), starts, axis=0)
    keep = (counted > 0).ravel()
    nodes, steps = len(chunk), len(stamps)
    rows = int(keep.sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_util = (node_util / np.maximum(counted, 1)).astype(np.float32)
    columns = {
        "minute": pa.array(np.tile(stamps, nodes)[keep], pa.int64()).cast(
            NODE_MINUTES.field("minute").type
        ),
        "node": pa.DictionaryArray.from_arrays(
            np.repeat(np.arange(nodes, dtype=np.int32), steps)[keep],
            pa.array([n.name for n in chunk]),
        ),
        "span_s": pa.array(np.full(rows, int(step_s), dtype=np.int32)),
        "gpus_reported": pa.array(counted.ravel()[keep].astype(np.int16)),
        "reported_mask": pa.array(reported.ravel()[keep].astype(np.int32)),
        "critical_xid_mask": pa.array(critical.ravel()[keep].astype(np.int32)),
        "xid_max": pa.array(xmax.ravel()[keep].astype(np.int32), mask=(xmax.ravel()[keep] == 0)),
        "energy_mj": pa.array(energy.ravel()[keep].astype(np.int64)),
        "energy_resets": pa.array(resets.ravel()[keep].astype(np.int16)),
        "power_w": pa.array(node_power.ravel()[keep].astype(np.float32)),
        "util_ratio": pa.array(mean_util.ravel()[keep]),
        "samples": pa.array(counted.ravel()[keep].astype(np.int32)),
        "silence_before_s": _silence_before(keep, stamps, int(step_s), last_end_us),
    }
    return _complete(site, columns, rows, NODE_MINUTES)


def _silence_before(
    keep: np.ndarray, stamps: np.ndarray, step_s: int, last_end_us: np.ndarray
) -> pa.Array:
    """Per row kept (node-major): seconds since the node's previous row ended (null before
    its first row ever); ``last_end_us`` carries each node's last end to the next day."""
    steps, step_us = len(stamps), step_s * 1_000_000
    kept = np.flatnonzero(keep)
    node = kept // steps
    t0 = np.asarray(stamps, dtype=np.int64)[kept % steps]
    before = np.empty_like(t0)
    if len(kept):
        before[1:] = t0[:-1] + step_us
        first = np.ones(len(kept), dtype=bool)
        first[1:] = node[1:] != node[:-1]
        before[first] = last_end_us[node[first]]
        last = np.ones(len(kept), dtype=bool)
        last[:-1] = node[:-1] != node[1:]
        last_end_us[node[last]] = t0[last] + step_us
    seconds = ((t0 - before) // 1_000_000).astype(np.int32)
    return pa.array(seconds, mask=before < 0)


def _carry_over_gaps(increase: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Increases of readings not taken (a silent node) added to the next reading taken."""
    if present.all():
        return increase
    carried = increase.copy()
    for g in np.flatnonzero(~present.all(axis=1)).tolist():
        pending = 0
        for t in range(increase.shape[1]):
            if not present[g, t]:
                pending += int(increase[g, t])
                carried[g, t] = 0
            elif pending:
                carried[g, t] += pending
                pending = 0
    return carried


def stable_seed(text: str) -> int:
    return zlib.crc32(text.encode())


def write_pages(
    directory: Path,
    *,
    site: str,
    nodes: list[SimNode],
    start_us: int,
    end_us: int,
    seed: int,
    resolution_s: int,
) -> list[Path]:
    """The simulation as DCGM exporter pages: one file per instant, every node's GPUs, with
    millisecond timestamps (so ``telemetry ingest`` needs no --at). For small runs."""
    import tempfile

    from neocloud.adapters.telemetry.dcgm import write_page

    with tempfile.TemporaryDirectory() as scratch:
        store = ParquetStore(Path(scratch))
        simulate(
            store,
            site=site,
            nodes=nodes,
            start_us=start_us,
            end_us=end_us,
            seed=seed,
            resolution_s=resolution_s,
        )
        table = pq.read_table(store.files(SAMPLES_DIR, site)).sort_by("ts")  # stable
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    stamps = table.column("ts").cast(pa.int64()).to_numpy()
    for value in np.unique(stamps).tolist():
        rows = table.filter(pa.array(stamps == value))
        path = directory / f"dcgm-{value // 1000}.prom"
        path.write_text(write_page(rows, with_timestamps=True), encoding="utf-8")
        written.append(path)
    return written
