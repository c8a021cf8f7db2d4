"""``neocloud risk``: walk-away Monte Carlo of a site (docs/RISK.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, emit_json, handles_errors, make_app

if TYPE_CHECKING:
    from datetime import date

    from neocloud.bootstrap import App
    from neocloud.domain.economics.assumptions import Assumptions
    from neocloud.domain.economics.risk import Band, Hazards, RiskResult
    from neocloud.domain.planning.forecast import DemandForecast

cli = typer.Typer(help="Walk-away risk: revenue, margin and idle capacity.", no_args_is_help=True)


def read_assumptions(app: App, path: Path | None) -> Assumptions:
    from neocloud.domain.economics.assumptions import DEFAULTS, parse_assumptions

    return DEFAULTS if path is None else parse_assumptions(app.read_yaml(path))


def read_hazards(app: App, path: Path | None) -> Hazards:
    from neocloud.domain.economics.risk import Hazards, parse_hazards

    return Hazards() if path is None else parse_hazards(app.read_yaml(path))


def first_month(app: App, text: str | None) -> date:
    from datetime import date

    from neocloud.domain.billing.periods import BillingPeriod

    if text is None:
        now = app.clock.now()
        return date(now.year, now.month, 1)
    period = BillingPeriod.parse(text, "UTC")
    return date(period.year, period.month, 1)


DEMAND_HELP = (
    "Own demand CSV (month, gpu_model, gpus), forecast as `plan forecast` does; without it "
    "(and without --own-gpus), the site's metered internal pool over the --history months."
)
HISTORY_HELP = "Months of metered history (without --demand)."
OWN_HELP = "Flat own demand instead of the forecast: mean GPUs every month."


def flat_demand(
    site: str, start: date, months: int, model: str | None, gpus: float, sigma: float
) -> dict[str, DemandForecast]:
    """Own demand as a flat assumption: the same mean and sigma every month."""
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.planning.forecast import DemandForecast, MonthForecast
    from neocloud.services.risk import horizon

    if gpus < 0 or sigma < 0:
        raise InvalidInput.single("--own-gpus", gpus, "own demand and its sigma are >= 0")
    if not gpus and not sigma:
        return {}
    if not model:
        raise InvalidInput.single("--own-model", None, "say which GPU model own demand is in")
    ahead = tuple(MonthForecast(m, gpus, sigma) for m in horizon(start, months))
    return {model: DemandForecast(site, model, (), ahead, "flat assumption (--own-gpus)")}


@dataclass(frozen=True)
class OwnDemandArgs:
    """How the command was told own demand: a CSV, flat options, or neither (metered)."""

    demand: Path | None
    history: str
    gpus: float | None
    sigma: float | None
    model: str | None

    @property
    def flat(self) -> bool:
        return any(x is not None for x in (self.gpus, self.sigma, self.model))

    def source(self) -> str:
        if self.flat:
            return "flat assumption (--own-gpus)"
        if self.demand is not None:
            return f"forecast of {self.demand.name}"
        return f"forecast of the metered internal pool ({self.history} months)"


def own_demand(
    app: App, site: str, args: OwnDemandArgs, *, start: date, months: int
) -> dict[str, DemandForecast]:
    """Own demand per GPU model over the run's months: by default the site's forecast (from
    --demand, else the metered pool, as ``plan forecast``), or flat with --own-gpus."""
    from neocloud.cli.output import count_option
    from neocloud.domain.economics.risk import check_paths
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.services import planning, risk

    check_paths(1, months)
    if args.flat and args.demand is not None:
        why = (
            "give own demand either as a forecast (--demand FILE.csv, or the metered pool) "
            "or flat (--own-gpus, --own-sigma-gpus, --own-model), not both"
        )
        raise InvalidInput.single("--demand", str(args.demand), why)
    if args.flat:
        return flat_demand(site, start, months, args.model, args.gpus or 0.0, args.sigma or 0.0)
    if args.demand is not None:
        points = planning.read_demand(args.demand)
    else:
        points = planning.metered_history(
            app.uow(), app.meter(), app.clock, site,
            months=count_option(args.history, "--history") or 0, rules=app.rules(),
        )  # fmt: skip
    return risk.forecast_demand(app.uow(), app.forecaster(), site, points, start=start,
                                months=months)  # fmt: skip


def demand_json(source: str, forecasts: dict[str, DemandForecast]) -> dict[str, object]:
    return {"source": source, "models": [
        {"gpu_model": f.gpu_model, "method": f.method,
         "months": [{"month": m.month.isoformat()[:7], "mean_gpus": repr(m.mean_gpus),
                     "sigma_gpus": repr(m.sigma_gpus)} for m in f.months]}
        for f in forecasts.values()]}  # fmt: skip


def demand_line(source: str, forecasts: dict[str, DemandForecast]) -> str:
    models = ", ".join(forecasts) or "none"
    return f"own demand: {source}: {models}"


def band_json(band: Band) -> dict[str, str]:
    return {"p5": str(band.p5), "p50": str(band.p50), "p95": str(band.p95),
            "mean": str(band.mean), "stderr": str(band.stderr)}  # fmt: skip


@cli.command("simulate")
@handles_errors
def simulate(
    site: str = typer.Option(..., "--site"),
    paths: int = typer.Option(100_000, "--paths", help="Monte Carlo paths."),
    seed: int = typer.Option(0, "--seed", help="The same seed gives the same figures."),
    hazard: Path = typer.Option(None, "--hazard", help="Hazard file (docs/RISK.md)."),
    months: int = typer.Option(36, "--months"),
    start: str = typer.Option(None, "--from", help="First month, YYYY-MM (default: now)."),
    assumptions: Path = typer.Option(None, "--assumptions", help="Economics assumptions."),
    demand: Path = typer.Option(None, "--demand", help=DEMAND_HELP),
    history: str = typer.Option("48", "--history", help=HISTORY_HELP),
    own_gpus: float = typer.Option(None, "--own-gpus", help=OWN_HELP),
    own_sigma: float = typer.Option(None, "--own-sigma-gpus", help="Its standard deviation."),
    own_model: str = typer.Option(None, "--own-model", help="The GPU model flat demand uses."),
    as_json: bool = typer.Option(False, "--json"),
    charts: Path = typer.Option(None, "--charts", help="Write the margin bands chart here."),
) -> None:
    """P5/P50/P95 of revenue, margin and idle capacity by month under the walk-away hazard
    (each tenant may give notice; its clause decides when revenue stops), own demand drawn
    from the site's forecast, and energy price paths."""
    from neocloud.services import risk

    own = OwnDemandArgs(demand, history, own_gpus, own_sigma, own_model)
    with make_app() as app:
        app.require_database()
        first = first_month(app, start)
        hazards = read_hazards(app, hazard)
        forecasts = own_demand(app, site, own, start=first, months=months)
        inputs, result = risk.simulate(
            app.uow(), app.risk_simulator(), site, start=first, months=months, paths=paths,
            seed=seed, hazards=hazards, assumptions=read_assumptions(app, assumptions),
            forecasts=forecasts,
        )  # fmt: skip
        written = app.risk_charts(result, charts, site=site) if charts else []
    if as_json:
        emit_json({
            "site": site, "paths": result.paths, "seed": result.seed,
            "currency": result.currency,
            "hazard_per_month": {a.key: str(a.hazard_per_month) for a in inputs.agreements},
            "energy_volatility_per_year": str(inputs.energy_volatility_per_year),
            "own_demand": demand_json(own.source(), forecasts),
            "total_revenue": band_json(result.total_revenue),
            "total_margin": band_json(result.total_margin),
            "months": [{"month": m.month.isoformat()[:7],
                        "contracted_revenue": str(m.contracted_revenue),
                        "revenue": band_json(m.revenue), "margin": band_json(m.margin),
                        "idle_mw": band_json(m.idle_mw)} for m in result.months],
        })  # fmt: skip
        return
    render(site, result, [str(p) for p in written], demand_line(own.source(), forecasts))


def render(site: str, result: RiskResult, written: list[str], demand: str) -> None:
    from rich.table import Table

    title = (f"{site}: walk-away risk, {result.paths:,} paths, seed {result.seed} "
             f"({result.currency} millions; idle in facility MW)")  # fmt: skip
    table = Table(title=title, title_justify="left")
    for i, name in enumerate(("month", "contracted", "revenue P5", "P50", "P95", "margin P5",
                              "P50", "P95", "idle MW P5", "P50", "P95")):  # fmt: skip
        table.add_column(name, justify="right" if i else "left")
    for m in result.months:
        money = (m.contracted_revenue, m.revenue.p5, m.revenue.p50, m.revenue.p95,
                 m.margin.p5, m.margin.p50, m.margin.p95)  # fmt: skip
        idle = (m.idle_mw.p5, m.idle_mw.p50, m.idle_mw.p95)
        table.add_row(m.month.isoformat()[:7], *(f"{x / 1_000_000:,.1f}" for x in money),
                      *(f"{x:,.1f}" for x in idle))  # fmt: skip
    out = console()
    out.print(table)
    out.print(demand)
    for label, band in (("revenue", result.total_revenue), ("margin", result.total_margin)):
        out.print(f"total {label}: P5 {band.p5:,.2f}  P50 {band.p50:,.2f}  P95 {band.p95:,.2f}"
                  f"  mean {band.mean:,.2f} (± {band.stderr:,.2f})")  # fmt: skip
    for path in written:
        out.print(f"wrote {path}")
