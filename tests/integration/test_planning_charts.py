"""The planning charts (adapters/charts/planning.py): PNG and SVG, the same bytes each run."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from neocloud.adapters.charts.planning import forecast_charts, surplus_chart
from neocloud.domain.planning.forecast import DemandForecast, DemandPoint, MonthForecast
from neocloud.domain.planning.surplus import SurplusMonth

FORECAST = DemandForecast(
    site="s",
    gpu_model="H100",
    history=tuple(
        DemandPoint(date(2026, m, 1), "H100", 100.0 - 40 * (m > 3)) for m in (1, 2, 3, 4, 5, 6)
    ),
    months=tuple(MonthForecast(date(2026, m, 1), 60.0, 5.0 * (m - 6)) for m in (7, 8, 9)),
    method="by hand",
    level_shift_at=date(2026, 4, 1),
)
ROWS = [
    SurplusMonth(date(2026, 7, 1), model, 100, 50, 60, 2, gpus, Decimal(gpus) / 1000,
                 Decimal(gpus) * Decimal("1.2") / 1000)
    for model, gpus in (("H100", -12), ("GB200", 30))
]  # fmt: skip


def test_charts_are_written_as_png_and_svg_with_the_same_bytes(tmp_path: Path) -> None:
    first = forecast_charts(tmp_path / "a", [FORECAST]) + surplus_chart(tmp_path / "a", ROWS)
    again = forecast_charts(tmp_path / "b", [FORECAST]) + surplus_chart(tmp_path / "b", ROWS)
    assert [p.name for p in first] == [
        "forecast-s-H100.png", "forecast-s-H100.svg", "surplus-by-model.png",
        "surplus-by-model.svg"]  # fmt: skip
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in again]
    assert first[0].read_bytes().startswith(b"\x89PNG")
    assert "shortfall" in first[3].read_text()
