"""The operator's own demand and its forecast, as plain data.

A forecast is made by a statistical model outside the domain (``adapters/forecast.py``,
statsmodels); planning (surplus), risk and the deal desk read only these types. Demand is
counted in GPU-equivalents of one model: the mean number of that model's GPUs the
operator's own work kept busy over a calendar month. It is a count, not money: a float.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from statistics import NormalDist

from neocloud.domain.kernel.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class DemandPoint:
    """One month of own demand: ``month`` is the month's first day."""

    month: date
    gpu_model: str
    gpus: float


@dataclass(frozen=True, slots=True)
class MonthForecast:
    """One month ahead: the mean and the standard deviation of own demand (the model's
    prediction distribution, read as normal), in GPUs."""

    month: date
    mean_gpus: float
    sigma_gpus: float

    def quantile(self, q: float) -> float:
        """Demand that the month stays at or below with probability ``q`` (never below 0)."""
        check_quantile(q)
        if self.sigma_gpus <= 0:
            return max(self.mean_gpus, 0.0)
        return max(NormalDist(self.mean_gpus, self.sigma_gpus).inv_cdf(q), 0.0)


@dataclass(frozen=True, slots=True)
class Backtest:
    """Rolling-origin backtest: ``origins`` forecasts, each ``horizon_months`` ahead."""

    origins: int
    horizon_months: int
    mape_pct: float
    coverage_pct: float  # share of actual months inside the nominal interval
    nominal_pct: float


@dataclass(frozen=True, slots=True)
class DemandForecast:
    """Own demand of one GPU model at one site: history and the months ahead."""

    site: str
    gpu_model: str
    history: tuple[DemandPoint, ...]
    months: tuple[MonthForecast, ...]
    method: str  # the model, in words (e.g. "ETS(A,N,A) with level shift at 2026-02")
    level_shift_at: date | None = None
    backtest: Backtest | None = None
    detection_delay_months: int | None = None  # months at a new level before a shift is found

    def at(self, month: date) -> MonthForecast:
        for m in self.months:
            if m.month == month:
                return m
        raise InvalidInput.single(
            "month", month.isoformat()[:7], f"is outside the {self.gpu_model} forecast"
        )


def check_quantile(q: float) -> float:
    if isinstance(q, bool) or not isinstance(q, float | int) or not 0 < q < 1:
        raise InvalidInput.single("quantile", q, "must be a number between 0 and 1 (e.g. 0.9)")
    return float(q)
