"""The deal desk: can the site deliver a block of capacity, its fee floor, the fee for a
target margin, and lease or keep under the walk-away hazard (domain/economics/quote.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.economics.assumptions import Assumptions
from neocloud.domain.economics.quote import (
    FeeFloor,
    LeaseOrKeep,
    discount_factors,
    fee_floor,
    fee_for_margin,
    lease_or_keep,
    margin_of,
    running_shares,
)
from neocloud.domain.economics.risk import check_discount_rate, check_paths
from neocloud.domain.fleet.capacity import SiteSummary
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money
from neocloud.domain.planning.forecast import DemandForecast, check_quantile
from neocloud.services.allocation import WhatIf, what_if
from neocloud.services.observability import use_case
from neocloud.services.risk import facility_kw_per_gpu, horizon

if TYPE_CHECKING:
    from neocloud.services.ports import UnitOfWork

MAX_NOTICE_DAYS = 3660


@dataclass(frozen=True, slots=True)
class Block:
    """What is quoted: facility kW, the GPUs it stands for, and per month the own demand it
    displaces (GPUs), with the per-GPU figures (blended over the site's mix for MW)."""

    facility_kw: Decimal
    gpus: Decimal
    gpu_model: str | None
    kw_per_gpu: Decimal
    server_depreciation: Money  # a month, of the block's GPUs
    shadow_price: Money  # per GPU-hour


@dataclass(frozen=True, slots=True)
class Quote:
    site: str
    currency: str
    months: tuple[date, ...]
    block: Block
    delivery: WhatIf
    floors: tuple[FeeFloor, ...]
    floor_per_month: Money  # the mean over the term
    target_margin: Decimal
    fee_for_target: Money
    fee: Money
    fee_margin: Decimal
    displaced_gpus: tuple[Decimal, ...]
    lease_or_keep: LeaseOrKeep
    notice_days: int
    hazard_per_month: Decimal
    discount_rate_per_year: Decimal
    quantile: float


def _block(
    summary: SiteSummary, a: Assumptions, facility_kw: Decimal | None, gpus: int | None,
    model: str | None,
) -> Block:  # fmt: skip
    per_gpu = facility_kw_per_gpu(summary)
    if gpus is not None and model is not None:
        if model not in per_gpu:
            raise InvalidInput.single("model", model, f"site {summary.site.name} has none")
        kw = per_gpu[model]
        return Block(Decimal(gpus) * kw, Decimal(gpus), model, kw,
                     a.server_class(model).monthly(gpus), a.shadow_price(model))  # fmt: skip
    mix = summary.gpus_by_model()
    total = sum(mix.values())
    if not total or facility_kw is None:
        raise InvalidInput.single("site", summary.site.name, "has no GPUs to price MW by")
    # An MW block holds its share of the site's GPUs (300 MW of a 300 MW site: all of them),
    # whatever they draw at typical load: the block's power is what is sold.
    count = Decimal(total) * facility_kw / summary.site.facility_capacity_kw
    blended = facility_kw / count
    servers = sum((a.server_class(m).monthly(n) for m, n in mix.items()), Money.zero(a.currency))
    shadow = sum((a.shadow_price(m) * n for m, n in mix.items()), Money.zero(a.currency))
    return Block(
        facility_kw, count, None, blended, servers * (count / total), shadow * (Decimal(1) / total)
    )


def _displaced(
    block: Block, forecasts: Mapping[str, DemandForecast], months: tuple[date, ...],
    q: float, per_gpu: Mapping[str, Decimal],
) -> tuple[Decimal, ...]:  # fmt: skip
    """Own demand at quantile ``q`` the block would serve, capped at its size (GPUs)."""
    out = []
    for m in months:
        if block.gpu_model is not None:
            f = forecasts.get(block.gpu_model)
            want = Decimal(repr(f.at(m).quantile(q))) if f else Decimal(0)
        else:
            kw = sum((Decimal(repr(f.at(m).quantile(q))) * per_gpu.get(model, Decimal(0))
                      for model, f in forecasts.items()), Decimal(0))  # fmt: skip
            want = kw / block.kw_per_gpu
        out.append(min(want, block.gpus))
    return tuple(out)


def check_terms(
    *,
    months: int,
    notice_days: int,
    discount_rate: Decimal | None,
    quantile: float,
    hazard_per_month: Decimal,
    assumptions: Assumptions,
) -> Decimal:
    """The quote's terms checked (InvalidInput naming the field); the discount rate a year.
    Callers may check them before the costlier own-demand forecast."""
    rate = check_discount_rate(
        assumptions.discount_rate_per_year if discount_rate is None else discount_rate
    )
    check_quantile(quantile)
    check_paths(1, months)
    if not 0 <= notice_days <= MAX_NOTICE_DAYS:
        raise InvalidInput.single("notice_days", notice_days, f"must be 0 to {MAX_NOTICE_DAYS}")
    if not Decimal(0) <= hazard_per_month <= 1:
        raise InvalidInput.single("hazard", str(hazard_per_month), "must be between 0 and 1")
    return rate


@use_case("deal.quote")
def quote(
    uow: UnitOfWork,
    site: str,
    *,
    start: date,
    months: int,
    facility_kw: Decimal | None = None,
    gpus: int | None = None,
    gpu_model: str | None = None,
    notice_days: int,
    discount_rate: Decimal | None = None,
    quantile: float = 0.9,
    target_margin: Decimal = Decimal("0.2"),
    hazard_per_month: Decimal = Decimal("0.01"),
    fee: Decimal | None = None,
    assumptions: Assumptions,
    forecasts: Mapping[str, DemandForecast],
) -> Quote:
    """Quote ``months`` months of capacity from ``start``'s month; nothing is written."""
    rate = check_terms(months=months, notice_days=notice_days, discount_rate=discount_rate,
                       quantile=quantile, hazard_per_month=hazard_per_month,
                       assumptions=assumptions)  # fmt: skip
    with uow:
        summary = uow.sites.summary(site)
    tz, cur = summary.site.timezone, assumptions.currency
    if summary.site.electricity_price_per_mwh.currency != cur:
        raise InvalidInput.single("currency", cur, "the site's tariff is in another currency")
    ahead = horizon(start, months)
    intervals = [BillingPeriod(m.year, m.month, tz).interval for m in ahead]
    delivery = what_if(uow, site, start=intervals[0].start, end=intervals[-1].end,
                       facility_kw=facility_kw, gpus=gpus, gpu_model=gpu_model)  # fmt: skip
    block = _block(summary, assumptions, facility_kw, gpus, gpu_model)
    displaced = _displaced(block, forecasts, ahead, quantile, facility_kw_per_gpu(summary))
    hours = [Decimal(i.duration.total_seconds()) / 3600 for i in intervals]
    price = summary.site.electricity_price_per_mwh
    depreciation = (
        assumptions.facility.monthly(block.facility_kw / 1000) + block.server_depreciation
    )
    floors = tuple(
        fee_floor(
            facility_kw=block.facility_kw,
            hours=h,
            price_per_mwh=price,
            opex_per_mw_year=assumptions.opex_per_mw_year,
            depreciation=depreciation,
            displaced_gpus=d,
            shadow_price_per_gpu_hour=block.shadow_price,
        )
        for h, d in zip(hours, displaced, strict=True)
    )
    mean_floor = sum((f.total for f in floors), Money.zero(cur)) * (Decimal(1) / months)
    for_target = fee_for_margin(mean_floor, target_margin)
    asked = Money(fee, cur) if fee is not None else for_target.rounded()
    lease_net = [asked - f.energy for f in floors]
    keep_net = [f.displaced_own_use - price * (d * block.kw_per_gpu * h / 1000)
                for f, d, h in zip(floors, displaced, hours, strict=True)]  # fmt: skip
    lk = lease_or_keep(lease_net=lease_net, keep_net=keep_net,
                       shares=running_shares(intervals, notice_days, tz),
                       hazard_per_month=hazard_per_month,
                       discount=discount_factors(months, rate))  # fmt: skip
    return Quote(site, cur, ahead, block, delivery, floors, mean_floor, target_margin, for_target,
                 asked, margin_of(asked, mean_floor), displaced, lk, notice_days,
                 hazard_per_month, rate, quantile)  # fmt: skip
