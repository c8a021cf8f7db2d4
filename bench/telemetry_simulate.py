"""Simulator bench: the full reference site (examples/fleet.yaml, memphis-1: 28,160 nodes,
216,640 GPUs) at one-minute resolution straight into a scratch store. Prints rows/s, the
time a week takes at that rate, and the store's bytes per row.

    python bench/telemetry_simulate.py [DAYS]   (default 1; 7 for the whole week)
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from neocloud.adapters.telemetry.simulator import SimNode, simulate
from neocloud.adapters.telemetry.store import ParquetStore
from neocloud.adapters.yamlfile import read_document
from neocloud.domain.fleet.file import parse_fleet

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
START_US = 1_780_272_000_000_000  # 2026-06-01T00:00:00Z
WEEK_DAYS = 7


def reference_nodes() -> list[SimNode]:
    site = next(
        s for s in parse_fleet(read_document(EXAMPLES / "fleet.yaml")) if s.name == "memphis-1"
    )
    catalog = site.catalog()
    return [
        SimNode(n.name, n.gpu_model, n.gpu_count, float(catalog[n.gpu_model].gpu_tdp_w))
        for _, _, n in site.nodes()
    ]


def main() -> None:
    days = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    nodes = reference_nodes()
    gpus = sum(n.gpus for n in nodes)
    with tempfile.TemporaryDirectory(
        dir=Path.cwd() / ".bench" if (Path.cwd() / ".bench").is_dir() else None
    ) as scratch:
        store = ParquetStore(Path(scratch))
        began = time.perf_counter()
        report = simulate(
            store,
            site="memphis-1",
            nodes=nodes,
            start_us=START_US,
            end_us=START_US + days * 86_400_000_000,
            seed=1,
            resolution_s=60,
        )
        took = time.perf_counter() - began
        size = sum(p.stat().st_size for p in Path(scratch).rglob("*.parquet"))
    rate = report.rows / took
    week_rows = gpus * WEEK_DAYS * 1440
    print(f"simulated {days} day(s) of memphis-1: {len(nodes):,} nodes, {gpus:,} GPUs at 1 min")
    print(f"  {report.rows:,} GPU rows + {report.rollup_rows:,} node-minute rows in {took:,.1f} s")
    print(
        f"  {rate:,.0f} GPU rows/s; a week ({week_rows:,} rows) at this rate: {week_rows / rate / 60:,.1f} min"
    )
    print(
        f"  store {size / 2**30:,.2f} GiB, {size / (report.rows + report.rollup_rows):.2f} bytes/row; "
        f"a week: ~{size / days * WEEK_DAYS / 2**30:,.1f} GiB"
    )
    print(f"  {report.gpu_failures} GPU failures (critical Xid), {report.silences} silent nodes")


if __name__ == "__main__":
    main()
