"""The risk run as a picture: margin by month, the P5-P95 band with the P50 line."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from neocloud.adapters.charts import figure, save
from neocloud.domain.economics.risk import RiskResult


def margin_bands(result: RiskResult, directory: Path, *, site: str) -> list[Path]:
    """``risk-margin.png`` and ``.svg``: margin P5-P95 (shaded) and P50 by month, in
    millions of the result's currency, with the contracted revenue for reference."""
    labels = [m.month.isoformat()[:7] for m in result.months]
    x = list(range(len(labels)))
    m = 1e6

    def line(values: Sequence[object]) -> list[float]:
        return [float(str(v)) / m for v in values]

    with figure(f"{site}: margin by month, {result.paths:,} paths (seed {result.seed})") as fig:
        ax = fig.add_subplot()
        low = line([r.margin.p5 for r in result.months])
        high = line([r.margin.p95 for r in result.months])
        ax.fill_between(x, low, high, alpha=0.3, label="margin P5-P95")
        ax.plot(x, line([r.margin.p50 for r in result.months]), label="margin P50")
        ax.plot(x, line([r.contracted_revenue for r in result.months]), linestyle="--",
                label="contracted revenue")  # fmt: skip
        ax.set_ylabel(f"{result.currency} millions a month")
        step = max(1, len(x) // 12)
        ax.set_xticks(x[::step], labels[::step], rotation=45)
        ax.legend(loc="lower left")
        ax.grid(alpha=0.3)
        return save(fig, directory, "risk-margin")
