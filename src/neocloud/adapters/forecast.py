"""Own demand forecast with statsmodels: ETS with additive yearly seasonality, after a
level-shift search, and a rolling-origin backtest (docs/PLANNING.md).

Method, for one GPU model's monthly series ``y`` (oldest first):

1. **Level shift.** For every candidate month ``k`` (at least ``MIN_BEFORE`` months before
   it, at least ``DETECTION_DELAY_MONTHS`` at and after it) ordinary least squares fits
   ``y = a + b*t + season(month) + d*[t >= k]``; the ``k`` with the least squared error
   wins if its F statistic against the same regression without the step exceeds
   ``SHIFT_F``. So a shift is found once ``DETECTION_DELAY_MONTHS`` months of the new level
   have been seen (the documented detection delay), provided it stands out of the noise.
2. **Fit on the new level.** The months before the shift are moved by ``d`` onto the new
   level (their seasonal shape is kept), and ETS(A,N,A) (``ETSModel``, period 12) is
   fitted by maximum likelihood; under 24 months, ETS(A,N,N) (no seasonality).
3. **Intervals.** ``ETSModel``'s analytic forecast variance, scaled by ``n / (n - k)`` for
   the ``k`` estimated parameters (the in-sample variance underestimates out of sample);
   read as normal: ``MonthForecast(mean, sigma)``.
4. **Backtest.** From each of the last ``origins`` origins (training on the months before
   it, steps 1-3 again) ``horizon`` months are forecast and compared with what happened:
   MAPE over every (origin, month) pair with non-zero demand, and the share of pairs inside
   the central ``nominal`` interval.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from statistics import NormalDist
from typing import TYPE_CHECKING

import numpy as np

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.planning.demand import months_between, next_month
from neocloud.domain.planning.forecast import Backtest, DemandForecast, DemandPoint, MonthForecast

if TYPE_CHECKING:
    from numpy.typing import NDArray

PERIOD = 12
MIN_SEASONAL = 2 * PERIOD  # two whole years before a seasonal model is tried
MIN_HISTORY = 3
MIN_BEFORE = 6
DETECTION_DELAY_MONTHS = 3
SHIFT_F = 25.0  # far above the 1 % sup-F critical value (about 12) of one break: few false alarms


@dataclass(frozen=True, slots=True)
class Shift:
    at: int  # index of the first month at the new level
    step: float  # new level - old level, GPUs


@dataclass(frozen=True, slots=True)
class Fitted:
    mean: NDArray[np.float64]
    sigma: NDArray[np.float64]
    shift: Shift | None
    method: str


def _design(n: int, seasonal: bool) -> NDArray[np.float64]:
    t = np.arange(n, dtype=float)
    cols = [np.ones(n), t / max(n, 1)]
    if seasonal:
        cols += [(np.arange(n) % PERIOD == m).astype(float) for m in range(1, PERIOD)]
    return np.column_stack(cols)


def detect_shift(y: NDArray[np.float64]) -> Shift | None:
    """The one level shift the series most plausibly has, if it stands out (module doc).

    Every candidate step at once (Frisch-Waugh): with ``e`` the residual of the regression
    without a step and ``r`` the step column's residual on the same regressors, adding the
    step lowers the squared error by ``(r.e)^2 / (r.r)`` and its coefficient is ``r.e / r.r``.
    """
    n = len(y)
    base = _design(n, seasonal=n >= MIN_SEASONAL)
    dof = n - base.shape[1] - 1
    if n < MIN_BEFORE + DETECTION_DELAY_MONTHS or dof < 2:
        return None
    q, _ = np.linalg.qr(base)
    e = y - q @ (q.T @ y)
    sse0 = float(e @ e)
    ks = np.arange(MIN_BEFORE, n)
    steps = (np.arange(n)[:, None] >= ks[None, :]).astype(float)
    r = steps - q @ (q.T @ steps)
    re, rr = r.T @ e, np.sum(r * r, axis=0)
    gain = np.where(rr > 1e-12, re * re / np.maximum(rr, 1e-12), 0.0)
    best = int(np.argmax(gain))
    k, sse, d = int(ks[best]), sse0 - float(gain[best]), float(re[best] / max(rr[best], 1e-12))
    if k > n - DETECTION_DELAY_MONTHS:
        return None  # too few months at the new level yet to tell a shift from noise
    if sse <= 1e-9 * max(sse0, 1.0):
        return Shift(k, d) if sse0 > 1e-9 else None
    f_stat = (sse0 - sse) / (sse / dof)
    return Shift(k, d) if f_stat > SHIFT_F else None


def fit_and_forecast(y: NDArray[np.float64], months: int) -> Fitted:
    """Steps 1-3 of the module doc: ``months`` means and sigmas after the last month."""
    # pandas (no type information here: Any) and statsmodels cost ~2 s to import
    pd = importlib.import_module("pandas")
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel  # noqa: PLC0415

    shift = detect_shift(y)
    adjusted = y.copy()
    if shift is not None:
        adjusted[: shift.at] += shift.step
    n = len(y)
    seasonal = n >= MIN_SEASONAL
    series = pd.Series(adjusted, index=pd.period_range("2000-01", periods=n, freq="M"))
    # heuristic initial states (Hyndman et al. 2008, from the first two years): 2
    # parameters to estimate instead of 15, twenty times faster, about the same forecasts
    model = ETSModel(series, error="add", trend=None, seasonal="add" if seasonal else None,
                     seasonal_periods=PERIOD if seasonal else None,
                     initialization_method="heuristic" if seasonal else "estimated")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence chatter: the result is checked below
        result = model.fit(disp=False, maxiter=500)
        prediction = result.get_prediction(start=n, end=n + months - 1)
    states = 1 + (PERIOD if seasonal else 0)
    k = len(result.params) + (states if seasonal else 0) + (shift is not None)
    scale = n / max(n - k, 1) * (1 + states / n)
    variance = np.asarray(prediction.forecast_variance, dtype=float) * scale
    mean = np.asarray(prediction.predicted_mean, dtype=float)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(variance))):
        raise InvalidInput.single("demand", "forecast", "the model did not converge")
    method = "ETS(A,N,A) period 12" if seasonal else "ETS(A,N,N) (under 24 months: no season)"
    return Fitted(mean, np.sqrt(np.maximum(variance, 0.0)), shift, method)


def backtest(
    y: NDArray[np.float64], *, origins: int, horizon: int, nominal: float
) -> Backtest | None:
    """Step 4 of the module doc; None when the history is too short for one origin."""
    n = len(y)
    first = max(n - horizon - origins + 1, MIN_SEASONAL if n >= MIN_SEASONAL + horizon else 6)
    starts = range(first, n - horizon + 1)
    if not starts:
        return None
    z = NormalDist().inv_cdf(0.5 + nominal / 2)
    errors: list[float] = []
    inside = total = 0
    for origin in starts:
        fit = fit_and_forecast(y[:origin], horizon)
        actual = y[origin : origin + horizon]
        inside += int(np.sum(np.abs(actual - fit.mean) <= z * fit.sigma))
        total += len(actual)
        nonzero = actual != 0
        errors += list(np.abs((actual - fit.mean)[nonzero] / actual[nonzero]))
    mape = 100 * float(np.mean(errors)) if errors else float("nan")
    return Backtest(len(starts), horizon, mape, 100 * inside / total, 100 * nominal)


@dataclass(frozen=True)
class StatsmodelsForecaster:
    """The ``Forecaster`` port: ETS after a level-shift search (module doc)."""

    nominal: float = 0.8
    origins: int = 12
    horizon: int = 6

    def forecast(
        self, site: str, gpu_model: str, history: Sequence[DemandPoint], months: int
    ) -> DemandForecast:
        """``months`` months after the last of ``history`` (one model, consecutive months)."""
        if len(history) < MIN_HISTORY:
            raise InvalidInput.single(
                "demand", f"{gpu_model}: {len(history)} months",
                f"a forecast needs at least {MIN_HISTORY} months of history",
            )  # fmt: skip
        if not 1 <= months <= 120:
            raise InvalidInput.single("months", months, "must be 1 to 120")
        ordered = sorted(history, key=lambda p: p.month)
        if months_between(ordered[0].month, ordered[-1].month) != len(ordered) - 1:
            raise InvalidInput.single("demand", gpu_model, "months must follow without gaps")
        y = np.array([p.gpus for p in ordered], dtype=float)
        fit = fit_and_forecast(y, months)
        last = ordered[-1].month
        ahead = tuple(
            MonthForecast(next_month(last, i + 1), float(m), float(s))
            for i, (m, s) in enumerate(zip(fit.mean, fit.sigma, strict=True))
        )
        shift_at = None if fit.shift is None else ordered[fit.shift.at].month
        method = fit.method
        if shift_at is not None and fit.shift is not None:
            method += f", level shift {fit.shift.step:+,.0f} GPUs from {_ym(shift_at)}"
        return DemandForecast(
            site=site,
            gpu_model=gpu_model,
            history=tuple(ordered),
            months=ahead,
            method=method,
            level_shift_at=shift_at,
            backtest=backtest(y, origins=self.origins, horizon=self.horizon, nominal=self.nominal),
            detection_delay_months=DETECTION_DELAY_MONTHS,
        )


def _ym(month: date) -> str:
    return month.isoformat()[:7]
