"""Walk-away risk of a site: its agreements, own demand and costs as the simulation's
inputs, and the run itself through the :class:`RiskSimulator` port (docs/RISK.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.agreements.model import CapacityAgreement, Status
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.economics.assumptions import Assumptions
from neocloud.domain.economics.risk import (
    IDLE_DRAW_RATIO,
    Exposure,
    Hazards,
    OwnDemand,
    RiskInputs,
    RiskResult,
    check_paths,
    exposure,
)
from neocloud.domain.fleet.capacity import SiteSummary
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.planning.forecast import DemandForecast, DemandPoint, MonthForecast
from neocloud.services.observability import use_case
from neocloud.services.planning import site_forecasts

if TYPE_CHECKING:
    from neocloud.services.ports import Forecaster, RiskSimulator, UnitOfWork

SECONDS_PER_HOUR = Decimal(3600)
FORECAST_MONTHS = 36  # issue 11: own demand is forecast 36 months ahead (plan forecast's default)


def horizon(start: date, months: int) -> tuple[date, ...]:
    """``months`` first days of the month from ``start``'s month."""
    first = start.year * 12 + start.month - 1
    return tuple(date((first + i) // 12, (first + i) % 12 + 1, 1) for i in range(months))


def _ym(month: date) -> str:
    return month.isoformat()[:7]


def demand_over(
    forecasts: Mapping[str, DemandForecast], months: Sequence[date]
) -> dict[str, DemandForecast]:
    """Each model's own demand for exactly ``months``: a recorded month as its figure (sigma
    0), a forecast month as forecast. InvalidInput naming --from/--months when a month is
    neither: the run starts before the model's history or reaches beyond its forecast."""
    out = {}
    for model, fc in sorted(forecasts.items()):
        known = {p.month: MonthForecast(p.month, p.gpus, 0.0) for p in fc.history}
        known.update({m.month: m for m in fc.months})
        missing = [m for m in months if m not in known]
        if missing:
            raise _outside(model, fc, months, missing)
        out[model] = replace(fc, months=tuple(known[m] for m in months))
    return out


def _outside(
    model: str, fc: DemandForecast, months: Sequence[date], missing: Sequence[date]
) -> InvalidInput:
    run = f"{_ym(months[0])}..{_ym(months[-1])}"
    ahead = [m.month for m in fc.months]
    if ahead and missing[-1] > ahead[-1]:
        last = f" after its last recorded month {_ym(fc.history[-1].month)}" if fc.history else ""
        why = (f"reaches {_ym(missing[-1])}, beyond the {model} own-demand forecast, which ends "
               f"{_ym(ahead[-1])}, {len(ahead)} months{last}: shorten --months or move --from "
               "earlier")  # fmt: skip
    else:
        first = fc.history[0].month if fc.history else (ahead[0] if ahead else missing[0])
        why = (f"starts {_ym(missing[0])}, before {model}'s own demand is known (from "
               f"{_ym(first)}): move --from later")  # fmt: skip
    return InvalidInput.single("--from/--months", run, why)


@use_case("risk.own_demand")
def forecast_demand(
    uow: UnitOfWork,
    forecaster: Forecaster,
    site: str,
    demand: Sequence[DemandPoint] | None,
    *,
    start: date,
    months: int,
) -> dict[str, DemandForecast]:
    """Own demand per GPU model over ``months`` months from ``start``'s month: the site's
    forecast (``planning.site_forecasts``, FORECAST_MONTHS after each model's history) read
    over those months (``demand_over``)."""
    check_paths(1, months)
    found = site_forecasts(uow, forecaster, site, demand, FORECAST_MONTHS)
    return demand_over(found, horizon(start, months))


def facility_kw_per_gpu(summary: SiteSummary) -> dict[str, Decimal]:
    """Typical facility kW per GPU of each installed model (IT draw x the site's PUE)."""
    it: dict[str, list[Decimal]] = {}
    for hall in summary.halls:
        for m in hall.models:
            acc = it.setdefault(m.gpu_model, [Decimal(0), Decimal(0)])
            acc[0] += m.typical_it_kw
            acc[1] += m.gpus
    return {k: v[0] / v[1] * summary.site.pue for k, v in sorted(it.items()) if v[1]}


def contracted_kw(agreement: CapacityAgreement, summary: SiteSummary) -> Decimal:
    """The agreement's facility kW at full ramp (GPUs at their model's typical draw)."""
    capacity = agreement.terms.capacity
    if capacity.power is not None:
        return capacity.power.to_facility(summary.site.pue).kw
    per_gpu = facility_kw_per_gpu(summary).get(capacity.gpu_model or "", Decimal(0))
    return Decimal(capacity.gpus or 0) * per_gpu


def fixed_cost_month(summary: SiteSummary, assumptions: Assumptions) -> Decimal:
    """Opex and straight-line depreciation of the site for one month."""
    mw = summary.site.facility_capacity_kw / 1000
    cost = assumptions.opex_month(mw) + assumptions.facility.monthly(mw)
    for model, gpus in summary.gpus_by_model().items():
        cost += assumptions.server_class(model).monthly(gpus)
    return cost.amount


def own_demand(
    forecasts: Mapping[str, DemandForecast], months: Sequence[date], summary: SiteSummary
) -> tuple[OwnDemand, ...]:
    per_gpu = facility_kw_per_gpu(summary)
    out = []
    for model, forecast in sorted(forecasts.items()):
        if model not in per_gpu:
            raise InvalidInput.single("demand", model, f"site {summary.site.name} has no "
                                      "GPUs of this model")  # fmt: skip
        ahead = [forecast.at(m) for m in months]
        out.append(OwnDemand(model, per_gpu[model], tuple(f.mean_gpus for f in ahead),
                             tuple(f.sigma_gpus for f in ahead)))  # fmt: skip
    return tuple(out)


def _agreements(uow: UnitOfWork, site: str, hazards: Hazards) -> list[CapacityAgreement]:
    keys = uow.agreements.all_keys(site=site)
    for key in sorted(hazards.per_agreement or {}):
        if key not in keys:
            raise InvalidInput.single(f"agreements.{key}", key, f"no such agreement at site "
                                      f"{site} (in {hazards.source})")  # fmt: skip
    found = [uow.agreements.get(k) for k in keys]
    return [a for a in found if a.status is not Status.DRAFT]


def risk_inputs(
    uow: UnitOfWork,
    site: str,
    *,
    start: date,
    months: int,
    hazards: Hazards,
    assumptions: Assumptions,
    forecasts: Mapping[str, DemandForecast],
) -> RiskInputs:
    """The simulation's inputs for ``site`` over ``months`` months from ``start``."""
    check_paths(1, months)
    with uow:
        summary = uow.sites.summary(site)
        agreements = _agreements(uow, site, hazards)
    tz = summary.site.timezone
    ahead = horizon(start, months)
    currency = assumptions.currency
    for a in agreements:
        if a.terms.currency != currency:
            raise InvalidInput.single(
                "currency", a.terms.currency,
                f"agreement {a.terms.key} bills in it; the assumptions are in {currency}",
            )  # fmt: skip
    exposures: list[Exposure] = [
        exposure(
            a,
            ahead,
            contracted_kw=contracted_kw(a, summary),
            hazard_per_month=hazards.of(a.terms.key),
        )
        for a in agreements
    ]
    hours = tuple(
        Decimal(BillingPeriod(m.year, m.month, tz).interval.duration.total_seconds())
        / SECONDS_PER_HOUR
        for m in ahead
    )
    fixed = fixed_cost_month(summary, assumptions)
    return RiskInputs(
        currency,
        ahead,
        hours,
        summary.site.facility_capacity_kw,
        tuple(exposures),
        own_demand(forecasts, ahead, summary),
        summary.site.electricity_price_per_mwh.amount / 1000,
        hazards.energy_volatility_per_year,
        IDLE_DRAW_RATIO,
        (fixed,) * months,
    )


@use_case("risk.simulate")
def simulate(
    uow: UnitOfWork,
    simulator: RiskSimulator,
    site: str,
    *,
    start: date,
    months: int,
    paths: int,
    seed: int,
    hazards: Hazards,
    assumptions: Assumptions,
    forecasts: Mapping[str, DemandForecast],
) -> tuple[RiskInputs, RiskResult]:
    """Simulate ``paths`` walk-away paths of ``site``; nothing is written."""
    check_paths(paths, months)
    inputs = risk_inputs(uow, site, start=start, months=months, hazards=hazards,
                         assumptions=assumptions, forecasts=forecasts)  # fmt: skip
    return inputs, simulator.simulate(inputs, paths=paths, seed=seed)
