"""Planning charts: own demand with its forecast band, and sellable surplus by model."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from neocloud.adapters.charts import figure, save

if TYPE_CHECKING:
    from numpy.typing import NDArray
from neocloud.domain.planning.forecast import DemandForecast
from neocloud.domain.planning.surplus import SurplusMonth

EPOCH = date(1970, 1, 1)


def forecast_charts(
    directory: Path, forecasts: Sequence[DemandForecast], *, quantile: float = 0.9
) -> list[Path]:
    """One chart per model: history, forecast mean, the central 80 % band and the
    ``quantile`` line planning sells against; the level shift marked."""
    paths: list[Path] = []
    for fc in forecasts:
        title = f"{fc.site} {fc.gpu_model}: own demand and forecast (GPUs)"
        with figure(title) as fig:
            ax = fig.subplots()
            ax.plot(_x(p.month for p in fc.history), [p.gpus for p in fc.history],
                    color="black", label="recorded")  # fmt: skip
            ahead = _x(m.month for m in fc.months)
            ax.plot(ahead, [m.mean_gpus for m in fc.months], color="tab:blue", label="forecast")
            ax.fill_between(ahead, [m.quantile(0.1) for m in fc.months],
                            [m.quantile(0.9) for m in fc.months], color="tab:blue",
                            alpha=0.25, label="80 % interval")  # fmt: skip
            ax.plot(ahead, [m.quantile(quantile) for m in fc.months], color="tab:red",
                    linestyle="--", label=f"quantile {quantile:g}")  # fmt: skip
            if fc.level_shift_at is not None:
                ax.axvline(float(_x([fc.level_shift_at])[0]), color="grey", linestyle=":",
                           label=f"level shift {fc.level_shift_at.isoformat()[:7]}")  # fmt: skip
            ax.xaxis_date()
            ax.set_ylabel("GPUs busy with own work (monthly mean)")
            ax.legend(loc="best", fontsize="small")
            paths += save(fig, directory, f"forecast-{fc.site}-{fc.gpu_model}")
    return paths


def surplus_chart(directory: Path, rows: Sequence[SurplusMonth]) -> list[Path]:
    """Sellable surplus over time, one line per model, in GPUs and facility MW; below zero
    is a shortfall (shaded)."""
    models = sorted({r.gpu_model for r in rows})
    site_months = sorted({r.month for r in rows})
    with figure("Sellable surplus by GPU model (below 0: shortfall)", height_in=6.0) as fig:
        gpus_ax, mw_ax = fig.subplots(2, 1, sharex=True)
        for model in models:
            mine = sorted((r for r in rows if r.gpu_model == model), key=lambda r: r.month)
            months = _x(r.month for r in mine)
            gpus_ax.plot(months, [r.surplus_gpus for r in mine], marker=".", label=model)
            mw_ax.plot(months, [float(r.surplus_facility_mw) for r in mine], marker=".",
                       label=model)  # fmt: skip
        for ax in (gpus_ax, mw_ax):
            ax.axhline(0, color="black", linewidth=0.8)
            low, _ = ax.get_ylim()
            if low < 0:
                ax.axhspan(low, 0, color="tab:red", alpha=0.08, label="shortfall")
            ax.legend(loc="best", fontsize="small")
        mw_ax.xaxis_date()
        gpus_ax.set_ylabel("GPUs")
        mw_ax.set_ylabel("MW facility")
        if len(site_months) > 1:  # one month: matplotlib pads the axis itself
            mw_ax.set_xlim(*(float(x) for x in _x([site_months[0], site_months[-1]])))
        return save(fig, directory, "surplus-by-model")


def _x(months: Iterable[date]) -> NDArray[Any]:
    """Months as matplotlib's date numbers (days since its epoch, 1970-01-01)."""
    return np.asarray([(m - EPOCH).days for m in months], dtype=float)
