"""What every bench shares: the median of timed runs and the table it prints."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object], runs: int = 5) -> float:
    """Median wall-clock seconds of ``runs`` calls of ``fn``."""
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def print_table(rows: list[tuple[str, float, float | None, float | None]]) -> None:
    """One line per step: median seconds, the goal, the share of it, the ratio to baseline."""
    print(f"{'step':52} {'median s':>9} {'goal s':>7} {'of goal':>8} {'x baseline':>11}")
    for label, seconds, goal, base in rows:
        of_goal = f"{seconds / goal:.0%}" if goal else ""
        vs_base = f"{seconds / base:.1f}x" if base else ""
        goal_text = f"{goal:.1f}" if goal else ""
        print(f"{label:52} {seconds:9.3f} {goal_text:>7} {of_goal:>8} {vs_base:>11}")
