"""What every bench shares: the median of timed runs and the table it prints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def timed(fn: Callable[[], object], runs: int = 5) -> float:
    """Median wall-clock seconds of ``runs`` calls of ``fn``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def timed_together(fns: dict[str, Callable[[], object]], runs: int = 5) -> dict[str, float]:
    """Median wall-clock seconds of each function, the runs interleaved (a, b, a, b, ...): a
    busy machine then slows a baseline and what is compared with it alike."""
    samples: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(runs):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


def print_table(rows: list[tuple[str, float, float | None, float | None]]) -> None:
    """One line per step: median seconds, the goal, the share of it, the ratio to baseline."""
    print(f"{'step':52} {'median s':>9} {'goal s':>7} {'of goal':>8} {'x baseline':>11}")
    for label, seconds, goal, base in rows:
        of_goal = f"{seconds / goal:.0%}" if goal else ""
        vs_base = f"{seconds / base:.2f}x" if base else ""
        goal_text = (f"{goal:.3f}" if goal < 1 else f"{goal:.1f}") if goal else ""
        print(f"{label:52} {seconds:9.3f} {goal_text:>7} {of_goal:>8} {vs_base:>11}")


def reference_deal() -> list[list[str]]:
    """``neocloud`` arguments that load the reference fleet and sign and allocate the
    reference deal (what the benches that need a held site start from)."""
    examples = ROOT / "examples"
    return [
        ["init"],
        ["fleet", "import", str(examples / "fleet.yaml")],
        ["agreement", "create", str(examples / "agreements" / "memphis-lease.yaml")],
        ["agreement", "sign", "memphis-lease", "--at", "2026-05-03T09:00:00-05:00"],
        ["allocation", "apply", "memphis-lease"],
    ]
