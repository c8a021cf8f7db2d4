"""Bench: month-close metering of the reference deal over eight days of the whole reference
site at one-minute resolution (28,160 nodes x 11,520 minutes: 324 M node-minute rows, more
than the issue's week of a 29,000-node fleet, ~292 M),
side by side with a bare DuckDB range join over the same files and a straightforward
pandas version. Goals: within 1.5x the bare query; peak memory under 2 GiB.

Each contender runs in a fresh process (median wall time of ``--runs``; peak resident
memory of the child, from ``wait4``). What each computes:

* neocloud: ``metering.meter_agreement`` for August 2026 (the store holds its first week):
  availability by the rules (critical Xids, missing GPUs, silence past a grace) plus energy
  and utilisation, through the service, the SQLite database and DuckDB;
* bare DuckDB: one range join of the holdings with the rollup, summing the same figures
  (GPU time up, with a critical Xid, missing; energy pro-rated; utilisation) over every row,
  without the rules (no silence, grace, maintenance or failures) or the service around it:
  the least a query answering the same question can do;
* pandas: per day's file, read it, merge with the holdings, sum the same.

The telemetry is simulated once (``telemetry simulate --rollup-only``, ~7 min, ~1.6 GB)
into ``.bench/metering-week`` and reused by later runs. ``--days N`` for a shorter run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import reference_deal  # bench/ is the script's directory

ROOT = Path(__file__).resolve().parent.parent
NEOCLOUD = str(Path(sys.executable).with_name("neocloud"))
START = "2026-08-01T05:00:00Z"  # August in Chicago starts at 05:00Z

NEOCLOUD_RUN = """
from neocloud.bootstrap import app
from neocloud.services import metering
a = app()
m = metering.meter_agreement(a.uow(), a.meter(), "memphis-lease", "2026-08")
print(m.availability.available_unit_s, m.usage.gpu_energy_mj)
"""

BARE_RUN = """
import duckdb, sys
from pathlib import Path
files = sorted(str(p) for p in Path(sys.argv[1]).glob("node_minutes/site=memphis-1/day=*/*.parquet"))
con = duckdb.connect()
con.sql("SET TimeZone = 'UTC'")
con.sql(f"CREATE VIEW nm AS SELECT node, epoch_us(minute) t0, span_s * 1000000 span, "
        f"reported_mask, critical_xid_mask, energy_mj, gpus_reported, util_ratio "
        f"FROM read_parquet({files})")
con.sql("CREATE TABLE held AS SELECT * FROM read_parquet('" + sys.argv[2] + "')")
print(con.sql(
    "SELECT sum(bit_count(reported_mask & ~critical_xid_mask) * d), "
    "sum(bit_count(reported_mask & critical_xid_mask) * d), "
    "sum((8 - bit_count(reported_mask)) * d), sum(8 * d), "
    "sum(energy_mj * CAST(d AS DOUBLE) / span), "
    "sum(util_ratio * gpus_reported * d) / sum(gpus_reported * d) "
    "FROM (SELECT m.*, least(m.t0 + m.span, h.hi) - greatest(m.t0, h.lo) AS d "
    "FROM held h JOIN nm m ON m.node = h.node AND m.t0 < h.hi AND m.t0 + m.span > h.lo)"
).fetchall())
"""

PANDAS_RUN = """
import sys
from pathlib import Path
import numpy as np
import pandas as pd
held = pd.read_parquet(sys.argv[2])
total = np.zeros(6)
for f in sorted(Path(sys.argv[1]).glob("node_minutes/site=memphis-1/day=*/*.parquet")):
    day = pd.read_parquet(f, columns=["minute", "node", "span_s", "reported_mask",
                                      "critical_xid_mask", "energy_mj", "gpus_reported",
                                      "util_ratio"])
    day["node"] = day["node"].astype(str)
    day["t0"] = day["minute"].astype("int64") // 1000
    rows = day.merge(held, on="node")
    span = rows.span_s.to_numpy().astype(np.int64) * 1_000_000
    t0 = rows.t0.to_numpy()
    keep = (t0 < rows.hi.to_numpy()) & (t0 + span > rows.lo.to_numpy())
    rows, span, t0 = rows[keep], span[keep], t0[keep]
    d = np.minimum(t0 + span, rows.hi.to_numpy()) - np.maximum(t0, rows.lo.to_numpy())
    def gpus(mask):
        return np.unpackbits(mask.astype(">u4").view(np.uint8).reshape(-1, 4), axis=1).sum(axis=1)
    rep, crit = rows.reported_mask.to_numpy(), rows.critical_xid_mask.to_numpy()
    g = rows.gpus_reported.to_numpy().astype(np.int64)
    total += [(gpus(rep & ~crit) * d).sum(), (gpus(rep & crit) * d).sum(),
              ((8 - gpus(rep)) * d).sum(), (8 * d).sum(),
              (rows.energy_mj.to_numpy() * (d / span)).sum(),
              (rows.util_ratio.to_numpy() * g * d).sum() / max((g * d).sum(), 1)]
print(total)
"""


def env(home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        "NEOCLOUD_HOME": str(home),
        "NEOCLOUD_ACTOR": "bench",
        "NEOCLOUD_NOW": "2026-11-01T00:00:00-05:00",
    }


def prepare(home: Path, days: int) -> Path:
    """The reference site, deal applied, and ``days`` of telemetry (made once)."""
    marker = home / f"ready-{days}"
    if marker.exists():
        return home / "held.parquet"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    end = f"2026-08-{1 + days:02d}T05:00:00Z"
    for command in (
        *reference_deal(),
        ["telemetry", "simulate", "--site", "memphis-1", "--from", START, "--to", end,
         "--seed", "7", "--rollup-only"],
    ):  # fmt: skip
        print("preparing:", " ".join(command), flush=True)
        subprocess.run([NEOCLOUD, *command], env=env(home), check=True, capture_output=True)
    held = home / "held.parquet"
    subprocess.run([sys.executable, "-c", HELD, str(home / "neocloud.db"), str(held)], check=True)
    marker.touch()
    return held


HELD = """
import sqlite3, sys
import pyarrow as pa, pyarrow.parquet as pq
from datetime import datetime, UTC
con = sqlite3.connect(sys.argv[1])
rows = con.execute("SELECT n.name, a.starts_at, a.ends_at FROM allocations a JOIN nodes n "
                   "ON n.id = a.node_id WHERE a.holder_kind = 'agreement'").fetchall()
lo0, hi0 = datetime(2026, 8, 1, 5, tzinfo=UTC), datetime(2026, 9, 1, 5, tzinfo=UTC)
def us(text):
    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1_000_000)
out = [(n, max(us(s), int(lo0.timestamp()) * 1_000_000),
        min(us(e) if e else int(hi0.timestamp()) * 1_000_000, int(hi0.timestamp()) * 1_000_000))
       for n, s, e in rows]
out = [r for r in out if r[1] < r[2]]
pq.write_table(pa.table({"node": [r[0] for r in out], "lo": [r[1] for r in out],
                         "hi": [r[2] for r in out]}), sys.argv[2])
"""


def run(code: str, *args: str, home: Path) -> tuple[float, float]:
    """Wall seconds and peak MiB of ``python -c code args`` in a fresh process."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args], env=env(home), stdout=subprocess.DEVNULL
    )
    _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status):
        raise SystemExit(f"a contender failed: {code[:60]}")
    return time.perf_counter() - start, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--days", type=int, default=8)
    args = parser.parse_args()
    home = ROOT / ".bench" / "metering-week"
    held = prepare(home, args.days)
    store = home / "telemetry"
    contenders = {
        "neocloud metering (service, SQLite, DuckDB)": (NEOCLOUD_RUN, ()),
        "  baseline: bare DuckDB range join": (BARE_RUN, (str(store), str(held))),
        "  pandas, day by day": (PANDAS_RUN, (str(store), str(held))),
    }
    samples: dict[str, list[tuple[float, float]]] = {k: [] for k in contenders}
    for i in range(args.runs):
        for label, (code, extra) in contenders.items():
            if i == 0 or "pandas" not in label:  # pandas takes minutes: once
                samples[label].append(run(code, *extra, home=home))
    rows = sum(1 for _ in (store / "node_minutes" / "site=memphis-1").glob("day=*"))
    print(f"{args.days} days ({rows} day partitions) of 28,160 nodes at one minute; "
          f"median of {args.runs} (pandas: 1); goal: within 1.5x the bare query, under 2,048 MiB")  # fmt: skip
    base = statistics.median(s for s, _ in samples["  baseline: bare DuckDB range join"])
    print(f"{'contender':48} {'median s':>9} {'peak MiB':>9} {'x bare':>8}")
    for label, got in samples.items():
        seconds = statistics.median(s for s, _ in got)
        peak = max(m for _, m in got)
        print(f"{label:48} {seconds:9.2f} {peak:9.0f} {seconds / base:7.2f}x")


if __name__ == "__main__":
    main()
