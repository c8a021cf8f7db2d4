"""``neocloud plan``: own demand, its forecast and the sellable surplus (docs/PLANNING.md)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, count_option, emit_json, handles_errors, make_app

if TYPE_CHECKING:
    from decimal import Decimal

    from neocloud.bootstrap import App
    from neocloud.domain.planning.forecast import DemandForecast, DemandPoint, MonthForecast
    from neocloud.services.planning import SurplusReport

cli = typer.Typer(help="Own demand, its forecast and what can be sold safely.",
                  no_args_is_help=True)  # fmt: skip

DEMAND_HELP = (
    "Own demand CSV: month (YYYY-MM), gpu_model, gpus (monthly mean); without it, the "
    "site's metered internal pool over the --history months before this one."
)
HISTORY_HELP = "Months of metered history (without --demand)."


@cli.command("forecast")
@handles_errors
def forecast(
    site: str = typer.Option(..., "--site"),
    demand: Path = typer.Option(None, "--demand", help=DEMAND_HELP),
    months: str = typer.Option("36", "--months", help="Months ahead (1-120)."),
    history: str = typer.Option("48", "--history", help=HISTORY_HELP),
    as_json: bool = typer.Option(False, "--json"),
    charts: Path = typer.Option(None, "--charts", help="Write PNG and SVG charts here."),
) -> None:
    """Own demand per GPU model forecast with 80 % intervals (ETS, period 12, after a
    level-shift search), and a rolling-origin backtest: MAPE and interval coverage."""
    from neocloud.services import planning

    ahead = count_option(months, "--months")
    points = planning.read_demand(demand) if demand is not None else None
    with make_app() as app:
        app.require_database()
        points = points if points is not None else _metered(app, site, history)
        found = planning.site_forecasts(app.uow(), app.forecaster(), site, points, ahead or 0)
        written = app.planning_charts(charts, forecasts=list(found.values())) if charts else []
    if as_json:
        emit_json({"site": site, "models": [_forecast_json(f) for f in found.values()],
                   "charts": [str(p) for p in written]})  # fmt: skip
        return
    _print_forecasts(site, list(found.values()))
    _print_charts(written)


@cli.command("surplus")
@handles_errors
def surplus(
    site: str = typer.Option(..., "--site"),
    quantile: str = typer.Option("0.9", "--quantile", help="Own demand quantile, in (0, 1)."),
    demand: Path = typer.Option(None, "--demand", help=DEMAND_HELP),
    reserve_share: str = typer.Option(
        "0.05", "--reserve-share", help="Spares kept, a share of uncommitted GPUs."
    ),
    months: str = typer.Option("36", "--months", help="Months from the current one (1-120)."),
    history: str = typer.Option("48", "--history", help=HISTORY_HELP),
    as_json: bool = typer.Option(False, "--json"),
    charts: Path = typer.Option(None, "--charts", help="Write PNG and SVG charts here."),
) -> None:
    """Sellable surplus per GPU model and month: healthy - committed to agreements along
    their ramps - own demand at the quantile - reserve, in GPUs and MW (IT and facility).
    A negative surplus is a shortfall."""
    from neocloud.cli.output import number_option
    from neocloud.services import planning

    q = _quantile(quantile)
    share = number_option(reserve_share, "--reserve-share")
    span = count_option(months, "--months") or 0
    points = planning.read_demand(demand) if demand is not None else None
    with make_app() as app:
        app.require_database()
        points = points if points is not None else _metered(app, site, history)
        report = planning.surplus(app.uow(), app.forecaster(), app.clock, site, points,
                                  quantile=q, reserve_share=share, months=span)  # fmt: skip
        written = []
        if charts:
            written = app.planning_charts(charts, forecasts=list(report.forecasts.values()),
                                          surplus=report.rows, quantile=q)  # fmt: skip
    if as_json:
        emit_json(_surplus_json(report) | {"charts": [str(p) for p in written]})
        return
    _print_surplus(report)
    _print_charts(written)


def _metered(app: App, site: str, history: str) -> tuple[DemandPoint, ...]:
    from neocloud.services import planning

    months = count_option(history, "--history") or 0
    return planning.metered_history(app.uow(), app.meter(), app.clock, site, months=months,
                                    rules=app.rules())  # fmt: skip


def _quantile(text: str) -> float:
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.planning.forecast import check_quantile

    try:
        value = float(text)
    except ValueError:
        raise InvalidInput.single("--quantile", text, "must be a number between 0 and 1 "
                                  "(e.g. 0.9)") from None  # fmt: skip
    if not text.isascii() or not 0 < value < 1:
        raise InvalidInput.single("--quantile", text, "must be a number between 0 and 1, "
                                  "both excluded (e.g. 0.9)")  # fmt: skip
    return check_quantile(value)


def _ym(month: object) -> str:
    return str(month)[:7]


def _forecast_json(fc: DemandForecast) -> dict[str, object]:
    bt = fc.backtest
    return {
        "gpu_model": fc.gpu_model,
        "method": fc.method,
        "level_shift_at": None if fc.level_shift_at is None else _ym(fc.level_shift_at),
        "detection_delay_months": fc.detection_delay_months,
        "backtest": None if bt is None else {
            "origins": bt.origins, "horizon_months": bt.horizon_months,
            "mape_pct": round(bt.mape_pct, 2), "coverage_pct": round(bt.coverage_pct, 2),
            "nominal_pct": bt.nominal_pct},
        "history": [{"month": _ym(p.month), "gpus": p.gpus} for p in fc.history],
        "forecast": [{"month": _ym(m.month), "mean_gpus": round(m.mean_gpus, 1),
                      "sigma_gpus": round(m.sigma_gpus, 1), "p10_gpus": round(m.quantile(0.1), 1),
                      "p90_gpus": round(m.quantile(0.9), 1)} for m in fc.months],
    }  # fmt: skip


def _straddles(fc: DemandForecast) -> bool:
    """Whether the backtest's forecast months reach back to the level shift."""
    bt = fc.backtest
    span = 0 if bt is None else bt.origins + bt.horizon_months
    return bool(fc.level_shift_at and 0 < span <= len(fc.history)
                and fc.level_shift_at >= fc.history[-span].month)  # fmt: skip


def _print_forecasts(site: str, found: list[DemandForecast]) -> None:
    from rich.table import Table

    head = Table(title=f"{site}: own demand forecast per GPU model", title_justify="left")
    for name in ("model", "method", "backtest MAPE", "coverage (nominal)", "origins x months"):
        head.add_column(name)
    for fc in found:
        bt = fc.backtest
        head.add_row(fc.gpu_model, fc.method, "-" if bt is None else f"{bt.mape_pct:.1f} %",
                     "-" if bt is None else f"{bt.coverage_pct:.1f} % ({bt.nominal_pct:.0f} %)",
                     "-" if bt is None else f"{bt.origins} x {bt.horizon_months}")  # fmt: skip
    console().print(head)
    delay = next((f.detection_delay_months for f in found if f.detection_delay_months), None)
    if delay:
        console().print(f"A level shift is found once {delay} months at the new level are seen.")
    straddled = sorted({f"{fc.level_shift_at:%Y-%m}" for fc in found if _straddles(fc)})
    if straddled:
        console().print(
            f"The backtest's months include the level shift ({', '.join(straddled)}): "
            "forecasts made before it was seen miss it, and its MAPE and coverage say by how "
            "much (docs/PLANNING.md)."
        )
    table = Table(title="GPUs busy with own work, monthly mean: forecast (80 % interval)",
                  title_justify="left")  # fmt: skip
    table.add_column("month")
    for fc in found:
        table.add_column(fc.gpu_model, justify="right")
    for i, m in enumerate(found[0].months if found else ()):
        cells = []
        for fc in found:
            f = fc.months[i] if i < len(fc.months) else None
            cells.append("" if f is None else _band(f))
        table.add_row(_ym(m.month), *cells)
    console().print(table)


def _band(f: MonthForecast) -> str:
    return f"{f.mean_gpus:,.0f} ({f.quantile(0.1):,.0f}-{f.quantile(0.9):,.0f})"


def _mw(value: Decimal) -> str:
    return f"{value:,.3f}"


def _surplus_json(report: SurplusReport) -> dict[str, object]:
    return {
        "site": report.site, "timezone": report.timezone, "quantile": report.quantile,
        "reserve_share": report.reserve_share, "pue": report.pue,
        "maintenance_gpus": report.maintenance_gpus,
        "months": [{"month": _ym(r.month), "gpu_model": r.gpu_model,
                    "healthy_gpus": r.healthy_gpus, "committed_gpus": r.committed_gpus,
                    "own_demand_gpus": r.own_demand_gpus, "reserve_gpus": r.reserve_gpus,
                    "surplus_gpus": r.surplus_gpus, "shortfall": r.shortfall,
                    "surplus_it_mw": r.surplus_it_mw,
                    "surplus_facility_mw": r.surplus_facility_mw} for r in report.rows],
    }  # fmt: skip


def _print_surplus(report: SurplusReport) -> None:
    from rich.table import Table

    reserve = f"{(report.reserve_share * 100).normalize():f} %"
    table = Table(title=f"{report.site}: sellable surplus (own demand at quantile "
                  f"{report.quantile:g}, reserve {reserve}, months in {report.timezone})",
                  title_justify="left")  # fmt: skip
    for i, name in enumerate(("month", "model", "healthy", "committed", "own demand",
                              "reserve", "surplus GPUs", "MW IT", "MW facility")):  # fmt: skip
        table.add_column(name, justify="right" if i > 1 else "left")
    for r in report.rows:
        label = f"{r.surplus_gpus:,}" if not r.shortfall else f"SHORTFALL {-r.surplus_gpus:,}"
        style = "red" if r.shortfall else None
        table.add_row(_ym(r.month), r.gpu_model, f"{r.healthy_gpus:,}", f"{r.committed_gpus:,}",
                      f"{r.own_demand_gpus:,}", f"{r.reserve_gpus:,}", label,
                      _mw(r.surplus_it_mw), _mw(r.surplus_facility_mw), style=style)  # fmt: skip
    console().print(table)
    if report.maintenance_gpus:
        down = ", ".join(f"{n:,} {m}" for m, n in sorted(report.maintenance_gpus.items()))
        console().print(f"In maintenance now, not counted as healthy: {down} GPUs.")
    if any(r.shortfall for r in report.rows):
        console().print("SHORTFALL: commitments, own demand and reserve exceed healthy "
                        "capacity in the months marked.")  # fmt: skip


def _print_charts(paths: list[Path]) -> None:
    for path in paths:
        console().print(f"chart: {path}")
