"""Walk-away Monte Carlo: 1,000,000 paths x 36 months x 20 agreements (issue 11).

Goal: <= 2 s and peak memory <= 1 GiB on the 2-core reference machine. Beside it, in the
same run, a straightforward pandas version (a long table of path x agreement x month,
merged and grouped): it cannot hold 720 M rows, so it runs on PANDAS_PATHS paths and its
time is scaled linearly to the full count (the ratio is per path).

Memory is measured in a fresh subprocess: its ``ru_maxrss`` after the imports and at the
end (the delta is what the simulation added), and numpy's own allocations through
tracemalloc (numpy reports them there) in a second, untimed run.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import date
from decimal import Decimal

import numpy as np
import pandas as pd

from neocloud.adapters.risk import notice_months, simulate, tables
from neocloud.domain.economics.risk import Exposure, OwnDemand, RiskInputs

PATHS = 1_000_000
MONTHS = 36
AGREEMENTS = 20
PANDAS_PATHS = 20_000
GOAL_S = 2.0
GOAL_BYTES = 1 << 30


def inputs() -> RiskInputs:
    """20 agreements of 15 MW at USD 62.5 M a month on a 300 MW site, 90 days' notice
    (effective three months after the month it is given in, a third of that month paid)."""
    fee, kw = Decimal("62500000.00"), Decimal(15000)
    months = tuple(date(2027 + (m // 12), m % 12 + 1, 1) for m in range(MONTHS))
    agreements = tuple(
        Exposure(
            f"deal-{a}",
            Decimal("0.01") + Decimal(a) / 2000,
            (fee,) * MONTHS,
            (kw,) * MONTHS,
            tuple(min(k + 3, MONTHS) for k in range(MONTHS)),
            tuple((fee / 3).quantize(Decimal("0.01")) for _ in range(MONTHS)),
            (Decimal(1) / 3,) * MONTHS,
        )
        for a in range(AGREEMENTS)
    )
    own = (OwnDemand("H100", Decimal("1.36"), (20000.0,) * MONTHS, (6000.0,) * MONTHS),)
    return RiskInputs(
        "USD", months, (Decimal(730),) * MONTHS, Decimal(330000), agreements, own,
        Decimal("0.0679"), Decimal("0.30"), Decimal("0.12"), (Decimal("40000000.00"),) * MONTHS,
    )  # fmt: skip


def pandas_version(paths: int, seed: int) -> object:
    """The same model, written the obvious way with pandas (no chunking, no tricks)."""
    ins = inputs()
    table = tables(ins)
    rng = np.random.default_rng(seed)
    hazard = np.array([float(a.hazard_per_month) for a in ins.agreements])
    k = notice_months(rng.random((paths, AGREEMENTS)), hazard, MONTHS)
    drawn = pd.DataFrame({"path": np.repeat(np.arange(paths), AGREEMENTS),
                          "agreement": np.tile(np.arange(AGREEMENTS), paths),
                          "k": k.ravel()})  # fmt: skip
    a, kk, mm = np.meshgrid(np.arange(AGREEMENTS), np.arange(MONTHS + 1), np.arange(MONTHS),
                            indexing="ij")  # fmt: skip
    long = pd.DataFrame({"agreement": a.ravel(), "k": kk.ravel(), "month": mm.ravel(),
                         "revenue": table[:, :, :MONTHS].ravel(),
                         "kw": table[:, :, MONTHS:].ravel()})  # fmt: skip
    per = drawn.merge(long, on=["agreement", "k"]).groupby(["path", "month"])[["revenue", "kw"]]
    site = per.sum().reset_index()
    z = pd.Series(rng.standard_normal(paths))
    site["demand_kw"] = 1.36 * np.maximum(20000 + 6000 * z[site["path"]].to_numpy(), 0)
    site["free"] = np.maximum(330000 - site["kw"], 0)
    site["own"] = np.minimum(site["demand_kw"], site["free"])
    site["idle"] = site["free"] - site["own"]
    steps = pd.DataFrame(rng.standard_normal((paths, MONTHS)) * 0.3 * (1 / 12) ** 0.5
                         - 0.5 * 0.09 / 12)  # fmt: skip
    price = (0.0679 * np.exp(steps.cumsum(axis=1))).stack().to_numpy()
    site["margin"] = (site["revenue"] - price * 730 * (site["kw"] + site["own"]
                      + 0.12 * site["idle"]) - 40e6)  # fmt: skip
    return site.groupby("month")[["revenue", "margin", "idle"]].quantile([0.05, 0.5, 0.95])


def child(trace: bool) -> None:
    """One run of the numpy version; prints seconds and memory as JSON (numpy is imported
    already: its import is not the simulation's memory)."""
    ins = inputs()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    if trace:
        tracemalloc.start()
    start = time.perf_counter()
    simulate(ins, paths=PATHS, seed=7)
    seconds = time.perf_counter() - start
    peak_traced = tracemalloc.get_traced_memory()[1] if trace else 0
    end = resource.getrusage(resource.RUSAGE_SELF)
    after = end.ru_maxrss * 1024
    cpu_s = end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime
    print(json.dumps({"s": seconds, "cpu_s": cpu_s, "rss_before": before, "rss_after": after,
                      "traced": peak_traced}))  # fmt: skip


def run_child(trace: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", "trace" if trace else "time"],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    result: dict[str, float] = json.loads(out.stdout)
    return result


def main() -> None:
    runs = [run_child(False) for _ in range(3)]
    numpy_s = sorted(r["s"] for r in runs)[1]
    cpu_s = sorted(r["cpu_s"] for r in runs)[1]
    traced = run_child(True)
    start = time.perf_counter()
    pandas_version(PANDAS_PATHS, 7)
    pandas_s = (time.perf_counter() - start) * PATHS / PANDAS_PATHS
    rss = max(r["rss_after"] for r in runs) - min(r["rss_before"] for r in runs)
    gib = 1 << 30
    print(f"risk simulate: {PATHS:,} paths x {MONTHS} months x {AGREEMENTS} agreements")
    print(f"{'numpy (median of 3 runs, subprocess)':46} {numpy_s:8.3f} s  goal {GOAL_S:.1f} s"
          f"  {numpy_s / GOAL_S:.0%} of goal")  # fmt: skip
    print(f"{'  its CPU time (user + system, both threads)':46} {cpu_s:8.3f} s")
    print(f"{'  machine load average (1 min) at the end':46} {os.getloadavg()[0]:8.2f}")
    print(f"{'pandas, scaled from ' + format(PANDAS_PATHS, ',') + ' paths':46} {pandas_s:8.3f} s"
          f"  numpy is {pandas_s / numpy_s:.1f}x faster")  # fmt: skip
    print(f"{'peak RSS added by the simulation':46} {rss / gib:8.3f} GiB  goal 1.0 GiB"
          f"  {rss / GOAL_BYTES:.0%} of goal")  # fmt: skip
    print(f"{'peak numpy allocations (tracemalloc)':46} {traced['traced'] / gib:8.3f} GiB")


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--child":
        child(sys.argv[2] == "trace")
    else:
        main()
