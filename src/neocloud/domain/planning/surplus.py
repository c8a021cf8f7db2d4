"""Sellable surplus, month by month and per GPU model (docs/PLANNING.md).

    surplus = healthy - committed - own demand (at a quantile) - reserve

in whole GPUs of one model, where

- ``healthy``: the model's installed GPUs less those of nodes in maintenance now (failed
  nodes are moved to maintenance when swapped);
- ``committed``: the most GPUs the agreements hold (their nodes and the spares kept for
  them) at any instant of the month, along their ramps, from the allocation's holdings;
- ``own demand``: the month's forecast at quantile ``q``, rounded up to whole GPUs (the
  recorded figure for a month of history);
- ``reserve``: spares for failures of the GPUs left to the operator, ``ceil(reserve_share
  x (healthy - committed))`` (agreements' spares are already in ``committed``).

A negative surplus is a shortfall: the month's commitments and own demand exceed what is
healthy. GPUs convert to MW at the site's typical IT draw per GPU of that model; facility
power = IT power x PUE.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_CEILING, Decimal

from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.planning.forecast import DemandForecast, check_quantile

KW_PER_MW = Decimal(1000)
DEFAULT_RESERVE_SHARE = Decimal("0.05")
"""Spares for DOMAIN.md §4's upper failure rate, 5 % of GPUs a year: a whole year's failures
covered from stock, with no repaired part back yet (the low end, 2 %, is the option)."""
COMMITTED_KINDS = (HolderKind.AGREEMENT, HolderKind.SPARE)


@dataclass(frozen=True, slots=True)
class ModelCapacity:
    """One model at the site: healthy GPUs now and the typical IT power of one GPU."""

    gpu_model: str
    healthy_gpus: int
    it_kw_per_gpu: Decimal


@dataclass(frozen=True, slots=True)
class SurplusMonth:
    month: date
    gpu_model: str
    healthy_gpus: int
    committed_gpus: int
    own_demand_gpus: int
    reserve_gpus: int
    surplus_gpus: int  # negative: a shortfall
    surplus_it_mw: Decimal
    surplus_facility_mw: Decimal

    @property
    def shortfall(self) -> bool:
        return self.surplus_gpus < 0


def check_reserve_share(share: Decimal) -> Decimal:
    if not isinstance(share, Decimal) or not share.is_finite() or not 0 <= share < 1:
        raise InvalidInput.single("reserve_share", str(share), "must be 0 or more, below 1 "
                                  "(e.g. 0.05 for 5 % of GPUs kept as spares)")  # fmt: skip
    return share


def own_demand_gpus(forecast: DemandForecast | None, month: date, quantile: float) -> int:
    """Own demand in whole GPUs (rounded up): recorded for a past month, else forecast."""
    if forecast is None:
        return 0
    for point in forecast.history:
        if point.month == month:
            return math.ceil(point.gpus)
    return math.ceil(forecast.at(month).quantile(quantile))


def committed_gpus(
    holdings: Iterable[Holding], gpus_of: Mapping[str, int], start: datetime, end: datetime
) -> dict[str, int]:
    """Per model, the most GPUs agreements (and their spares) hold at any instant of
    ``[start, end)``. Held counts only rise where a holding starts, so the most is held at
    ``start`` or where a holding starts inside the window; a holding outside the window is
    held at none of those instants."""
    spans: dict[tuple[str, datetime, datetime | None], int] = {}
    for h in holdings:
        if h.kind in COMMITTED_KINDS:
            key = (h.gpu_model, h.start, h.end)
            spans[key] = spans.get(key, 0) + gpus_of.get(h.node, 0)
    instants = {max(s, start) for _, s, _ in spans if s < end}
    best: dict[str, int] = {}
    for at in instants:
        held: dict[str, int] = {}
        for (model, s, e), gpus in spans.items():
            if s <= at and (e is None or at < e):
                held[model] = held.get(model, 0) + gpus
        for model, gpus in held.items():
            best[model] = max(best.get(model, 0), gpus)
    return best


def sellable_surplus(
    capacities: Sequence[ModelCapacity],
    months: Sequence[date],
    *,
    committed: Callable[[date], Mapping[str, int]],
    demand: Mapping[str, DemandForecast],
    quantile: float,
    reserve_share: Decimal,
    pue: Decimal,
) -> list[SurplusMonth]:
    """Every month x model of the module docstring's formula, month then model order."""
    check_quantile(quantile)
    check_reserve_share(reserve_share)
    out = []
    for month in months:
        held = committed(month)
        for cap in sorted(capacities, key=lambda c: c.gpu_model):
            used = held.get(cap.gpu_model, 0)
            own = own_demand_gpus(demand.get(cap.gpu_model), month, quantile)
            reserve = _reserve(cap.healthy_gpus - used, reserve_share)
            gpus = cap.healthy_gpus - used - own - reserve
            it_mw = Decimal(gpus) * cap.it_kw_per_gpu / KW_PER_MW
            out.append(SurplusMonth(month, cap.gpu_model, cap.healthy_gpus, used, own,
                                    reserve, gpus, it_mw, it_mw * pue))  # fmt: skip
    return out


def _reserve(gpus: int, share: Decimal) -> int:
    """``ceil(share x gpus)``, none when no GPU is left (``gpus`` 0 or below)."""
    return max(0, int((Decimal(gpus) * share).to_integral_value(rounding=ROUND_CEILING)))
