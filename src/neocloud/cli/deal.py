"""``neocloud deal``: the deal desk (docs/RISK.md, "Deal desk")."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, emit_json, handles_errors, make_app
from neocloud.cli.risk import DEMAND_HELP, HISTORY_HELP, OWN_HELP, demand_line

if TYPE_CHECKING:
    from neocloud.domain.kernel.money import Money
    from neocloud.services.deal import Quote

cli = typer.Typer(help="The deal desk: what a block of capacity should fetch.",
                  no_args_is_help=True)  # fmt: skip


def _decimal(text: str | None, field: str) -> Decimal | None:
    from neocloud.domain.kernel.money import to_decimal

    return None if text is None else to_decimal(text, field)


@cli.command("quote")
@handles_errors
def quote(
    site: str = typer.Option(..., "--site"),
    mw: str = typer.Option(None, "--mw", help="Facility MW (or --gpus with --model)."),
    gpus: int = typer.Option(None, "--gpus"),
    model: str = typer.Option(None, "--model"),
    start: str = typer.Option(..., "--from", help="First month, YYYY-MM."),
    months: int = typer.Option(..., "--months"),
    notice_days: int = typer.Option(..., "--notice-days"),
    discount_rate: str = typer.Option(None, "--discount-rate", help="A year (default: file)."),
    quantile: float = typer.Option(0.9, "--quantile", help="Own demand at this quantile."),
    target_margin: str = typer.Option("0.2", "--target-margin", help="A share of the fee."),
    hazard: str = typer.Option("0.01", "--hazard", help="Walk-away probability a month."),
    fee: str = typer.Option(None, "--fee", help="A fee to judge (default: the target's)."),
    assumptions: Path = typer.Option(None, "--assumptions"),
    demand: Path = typer.Option(None, "--demand", help=DEMAND_HELP),
    history: str = typer.Option("48", "--history", help=HISTORY_HELP),
    own_gpus: float = typer.Option(None, "--own-gpus", help=OWN_HELP),
    own_sigma: float = typer.Option(None, "--own-sigma-gpus", help="Its standard deviation."),
    own_model: str = typer.Option(None, "--own-model", help="The GPU model flat demand uses."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Can we deliver it, the fee floor a month, the fee for a target margin, and lease or
    keep: the present value of leasing against keeping the capacity for own use, with its
    P5/P95 under the walk-away hazard. The own demand displaced is the site's forecast at
    --quantile (from --demand, else the metered pool), or flat with --own-gpus."""
    from neocloud.cli.risk import OwnDemandArgs, first_month, own_demand, read_assumptions
    from neocloud.services import deal

    own = OwnDemandArgs(demand, history, own_gpus, own_sigma, own_model)
    with make_app() as app:
        app.require_database()
        first = first_month(app, start)
        mw_value = _decimal(mw, "--mw")
        rate = _decimal(discount_rate, "--discount-rate")
        risk = _decimal(hazard, "--hazard") or Decimal(0)
        costs = read_assumptions(app, assumptions)
        # bad terms are refused before own demand is read and forecast
        deal.check_terms(months=months, notice_days=notice_days, discount_rate=rate,
                         quantile=quantile, hazard_per_month=risk, assumptions=costs)  # fmt: skip
        forecasts = own_demand(app, site, own, start=first, months=months)
        q = deal.quote(
            app.uow(), site, start=first, months=months,
            facility_kw=None if mw_value is None else mw_value * 1000, gpus=gpus,
            gpu_model=model, notice_days=notice_days, discount_rate=rate, quantile=quantile,
            target_margin=_decimal(target_margin, "--target-margin") or Decimal(0),
            hazard_per_month=risk, fee=_decimal(fee, "--fee"), assumptions=costs,
            forecasts=forecasts,
        )  # fmt: skip
    if as_json:
        emit_json(quote_json(q) | {"own_demand_source": own.source(),
                                   "own_demand_models": sorted(forecasts)})  # fmt: skip
        return
    render(q)
    console().print(demand_line(own.source(), forecasts))


def _m(x: Money) -> str:
    return str(x.rounded().amount)


def quote_json(q: Quote) -> dict[str, object]:
    lk = q.lease_or_keep
    first = q.floors[0]
    return {
        "site": q.site, "currency": q.currency, "from": q.months[0].isoformat()[:7],
        "months": len(q.months), "facility_kw": str(q.block.facility_kw),
        "gpus": str(q.block.gpus.quantize(Decimal(1))), "gpu_model": q.block.gpu_model,
        "deliverable": q.delivery.fits, "delivery": q.delivery.reason,
        "fee_floor_per_month": _m(q.floor_per_month),
        "first_month_floor": {"energy": _m(first.energy), "opex": _m(first.opex),
                              "depreciation": _m(first.depreciation),
                              "displaced_own_use": _m(first.displaced_own_use),
                              "total": _m(first.total)},
        "target_margin": str(q.target_margin), "fee_for_target_margin": _m(q.fee_for_target),
        "fee": _m(q.fee), "fee_margin": str(q.fee_margin.quantize(Decimal("0.0001"))),
        "hazard_per_month": str(q.hazard_per_month), "notice_days": q.notice_days,
        "discount_rate_per_year": str(q.discount_rate_per_year), "quantile": q.quantile,
        "lease_or_keep": {"keep_pv": _m(lk.keep), "lease_pv_expected": _m(lk.lease_expected),
                          "lease_pv_p5": _m(lk.lease_p5), "lease_pv_p95": _m(lk.lease_p95),
                          "advantage_of_leasing": _m(lk.advantage),
                          "p_runs_full_term": str(lk.p_no_notice.quantize(Decimal("0.0001")))},
        "displaced_own_gpus": [{"month": m.isoformat()[:7], "gpus": str(d)}
                               for m, d in zip(q.months, q.displaced_gpus, strict=True)],
    }  # fmt: skip


def render(q: Quote) -> None:
    from rich.table import Table

    lk, c = q.lease_or_keep, q.currency
    table = Table(title=f"{q.site}: quote for {q.block.facility_kw / 1000:,.3f} MW facility "
                  f"(~{q.block.gpus:,.0f} GPUs), {len(q.months)} months from "
                  f"{q.months[0].isoformat()[:7]} ({c})", title_justify="left",
                  show_header=False)  # fmt: skip
    table.add_column("what")
    table.add_column("figure", justify="right")
    f = q.floors[0]
    rows = [
        ("deliverable", ("yes: " if q.delivery.fits else "no: ") + q.delivery.reason),
        ("fee floor a month (mean over the term)", f"{q.floor_per_month.rounded().amount:,.2f}"),
        ("  first month: energy", f"{f.energy.rounded().amount:,.2f}"),
        ("  opex", f"{f.opex.rounded().amount:,.2f}"),
        ("  depreciation", f"{f.depreciation.rounded().amount:,.2f}"),
        (f"  own demand displaced (P{q.quantile * 100:g}, shadow price)",
         f"{f.displaced_own_use.rounded().amount:,.2f}"),
        (f"fee for a {q.target_margin:.0%} margin", f"{q.fee_for_target.rounded().amount:,.2f}"),
        ("fee judged", f"{q.fee.rounded().amount:,.2f} (margin {q.fee_margin:.2%})"),
        (f"lease PV, expected (hazard {q.hazard_per_month}/month, {q.notice_days} days)",
         f"{lk.lease_expected.rounded().amount:,.2f}"),
        ("lease PV P5 / P95",
         f"{lk.lease_p5.rounded().amount:,.2f} / {lk.lease_p95.rounded().amount:,.2f}"),
        ("keep PV (own use at the shadow price)", f"{lk.keep.rounded().amount:,.2f}"),
        ("lease - keep (expected)", f"{lk.advantage.rounded().amount:,.2f}"),
        ("chance the lease runs its term", f"{lk.p_no_notice:.1%}"),
    ]  # fmt: skip
    for row in rows:
        table.add_row(*row)
    console().print(table)
