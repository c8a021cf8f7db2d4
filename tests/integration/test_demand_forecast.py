"""The statsmodels forecaster (adapters/forecast.py) on series of known structure.

Every series is 1,000 GPUs + 100 x sin(2 pi t / 12) + Gaussian noise of 20 GPUs, drawn from
numpy's generator with a fixed seed; no database involved.
"""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest

from neocloud.adapters.forecast import (
    DETECTION_DELAY_MONTHS,
    StatsmodelsForecaster,
    backtest,
)
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.planning.demand import next_month
from neocloud.domain.planning.forecast import DemandPoint

START = date(2020, 1, 1)


def seasonal(n: int, seed: int) -> np.ndarray:
    t = np.arange(n)
    rng = np.random.default_rng(seed)
    return 1000 + 100 * np.sin(2 * np.pi * t / 12) + rng.normal(0, 20, n)


def points(y: np.ndarray) -> list[DemandPoint]:
    return [DemandPoint(next_month(START, i), "H100", float(v)) for i, v in enumerate(y)]


def test_interval_coverage_is_within_5_points_of_nominal() -> None:
    # five independent series, 30 origins x 3 months each: 450 forecasts judged
    runs = [backtest(seasonal(96, seed), origins=30, horizon=3, nominal=0.8)
            for seed in range(1, 6)]  # fmt: skip
    assert all(r is not None and r.origins == 30 and r.nominal_pct == 80 for r in runs)
    coverage = sum(r.coverage_pct for r in runs if r) / len(runs)
    assert abs(coverage - 80) <= 5, coverage  # seeds 1-5: 78.2 %
    # noise 20 on a level of ~1,000: about 2 % mean absolute error (0.8 x 20 / 1,000 = 1.6 %)
    mape = sum(r.mape_pct for r in runs if r) / len(runs)
    assert 1.0 < mape < 3.0, mape


@pytest.mark.parametrize("seed", [11, 12])
def test_the_forecast_follows_a_level_shift_within_the_detection_delay(seed: int) -> None:
    y = seasonal(36 + DETECTION_DELAY_MONTHS, seed)
    y[36:] -= 300  # from month 36 (January 2023) the level is 700
    fc = StatsmodelsForecaster(origins=1, horizon=1).forecast("s", "H100", points(y), 12)
    assert fc.level_shift_at == date(2023, 1, 1)
    assert fc.detection_delay_months == DETECTION_DELAY_MONTHS == 3
    for i, month in enumerate(fc.months, start=36 + DETECTION_DELAY_MONTHS):
        truth = 700 + 100 * math.sin(2 * math.pi * i / 12)
        assert abs(month.mean_gpus - truth) < 60, (month, truth)  # 3 noise sigmas
        assert month.sigma_gpus > 0


def test_before_the_delay_has_passed_no_shift_is_claimed() -> None:
    y = seasonal(36 + DETECTION_DELAY_MONTHS - 1, 11)
    y[36:] -= 300
    fc = StatsmodelsForecaster(origins=1, horizon=1).forecast("s", "H100", points(y), 3)
    assert fc.level_shift_at is None


def test_a_seasonal_series_without_a_shift_has_none() -> None:
    fc = StatsmodelsForecaster().forecast("s", "H100", points(seasonal(48, 3)), 36)
    assert fc.level_shift_at is None and len(fc.months) == 36
    assert fc.months[0].month == date(2024, 1, 1)
    assert fc.backtest is not None and fc.backtest.origins == 12


def test_an_empty_or_too_short_series_is_a_clear_error() -> None:
    with pytest.raises(InvalidInput, match="at least 3 months"):
        StatsmodelsForecaster().forecast("s", "H100", [], 36)
    with pytest.raises(InvalidInput, match="months"):
        StatsmodelsForecaster().forecast("s", "H100", points(seasonal(30, 1)), 0)
