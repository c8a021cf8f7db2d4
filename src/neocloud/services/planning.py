"""Planning use cases: own demand, its forecast per GPU model, and the sellable surplus
month by month (docs/PLANNING.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from neocloud.domain.allocation.planner import HolderKind
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Clock, Interval, local_midnight, zone
from neocloud.domain.metering.availability import AvailabilityRules
from neocloud.domain.planning.demand import (
    by_model,
    check_series,
    month_of_pool,
    months_between,
    next_month,
    parse_demand_csv,
    recorded_run,
)
from neocloud.domain.planning.forecast import DemandForecast, DemandPoint, check_quantile
from neocloud.domain.planning.surplus import (
    DEFAULT_RESERVE_SHARE,
    ModelCapacity,
    SurplusMonth,
    check_reserve_share,
    committed_gpus,
    sellable_surplus,
)
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.domain.fleet.capacity import SiteSummary
    from neocloud.services.ports import Forecaster, Meter, UnitOfWork

MAX_FILE_BYTES = 8 * 1024 * 1024
MAX_MONTHS = 120
RULES = AvailabilityRules()


def read_demand(path: Path) -> tuple[DemandPoint, ...]:
    """A demand CSV (``domain/planning/demand.py``), every bad row located."""
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise InvalidInput.single("--demand", str(path), "is larger than 8 MiB")
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        why = f"cannot be read: {exc.strerror}"
        raise InvalidInput.single("--demand", str(path), why) from None
    except UnicodeDecodeError:
        raise InvalidInput.single("--demand", str(path), "is not UTF-8 text") from None
    return parse_demand_csv(text, path.name)


def _models(summary: SiteSummary) -> dict[str, ModelCapacity]:
    gpus: dict[str, int] = {}
    it_kw: dict[str, Decimal] = {}
    for hall in summary.halls:
        for m in hall.models:
            gpus[m.gpu_model] = gpus.get(m.gpu_model, 0) + m.gpus
            it_kw[m.gpu_model] = it_kw.get(m.gpu_model, Decimal(0)) + m.typical_it_kw
    return {name: ModelCapacity(name, n, it_kw[name] / n) for name, n in gpus.items() if n}


def _check_demand(
    demand: Sequence[DemandPoint] | None, site: str, installed: Mapping[str, object]
) -> dict[str, tuple[DemandPoint, ...]]:
    if demand is None:
        raise InvalidInput.single(
            "--demand", None, f"give {site}'s own demand: a CSV (month,gpu_model,gpus) or "
            "the months metered from its internal pool (planning.metered_demand)",
        )  # fmt: skip
    series = by_model(check_series(demand))
    unknown = sorted(set(series) - set(installed))
    if unknown:
        raise InvalidInput.single("gpu_model", unknown[0], f"is not installed at {site} (it has: "
                                  f"{', '.join(sorted(installed))})")  # fmt: skip
    return series


@use_case("planning.forecast")
def site_forecasts(
    uow: UnitOfWork,
    forecaster: Forecaster,
    site: str,
    demand: Sequence[DemandPoint] | None,
    months: int = 36,
) -> dict[str, DemandForecast]:
    """Own demand forecast per GPU model of ``site`` for ``months`` months after each
    model's last recorded month. ``demand`` None is InvalidInput: read the metered internal
    pool first (``metered_history``/``metered_demand``). Models installed at the site but
    absent from ``demand`` have no forecast (planning counts their own demand as 0)."""
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidInput.single("months", months, f"must be a whole number, 1 to {MAX_MONTHS}")
    with uow:
        installed = _models(uow.sites.summary(site))  # NotFound: no such site
    series = _check_demand(demand, site, installed)
    return {model: forecaster.forecast(site, model, points, months)
            for model, points in series.items()}  # fmt: skip


@dataclass(frozen=True)
class SurplusReport:
    site: str
    timezone: str
    quantile: float
    reserve_share: Decimal
    pue: Decimal
    months: tuple[date, ...]
    rows: tuple[SurplusMonth, ...]
    forecasts: dict[str, DemandForecast]
    maintenance_gpus: dict[str, int]  # GPUs of nodes in maintenance now, left out of healthy


@use_case("planning.surplus")
def surplus(
    uow: UnitOfWork,
    forecaster: Forecaster,
    clock: Clock,
    site: str,
    demand: Sequence[DemandPoint] | None,
    *,
    quantile: float,
    reserve_share: Decimal = DEFAULT_RESERVE_SHARE,
    months: int = 36,
) -> SurplusReport:
    """What can be sold safely, per model and month, from the current month in the site's
    time zone for ``months`` months (domain/planning/surplus.py)."""
    check_quantile(quantile)
    check_reserve_share(reserve_share)
    now = clock.now()
    with uow:
        summary = uow.sites.summary(site)
        holdings = uow.allocations.holdings(site)
        gpus_of = dict(uow.metering.nodes(site))
    tz = summary.site.timezone
    local = now.astimezone(zone(tz, "timezone"))
    span = tuple(next_month(date(local.year, local.month, 1), i) for i in range(months))
    series = _check_demand(demand, site, _models(summary))
    horizon = max(months_between(min(s[-1].month for s in series.values()), span[-1]), 1)
    forecasts = site_forecasts(uow, forecaster, site, demand, horizon)
    down: dict[str, int] = {}
    for h in holdings:
        if h.kind is HolderKind.MAINTENANCE and h.covers(now):
            down[h.gpu_model] = down.get(h.gpu_model, 0) + gpus_of.get(h.node, 0)
    capacities = [ModelCapacity(c.gpu_model, c.healthy_gpus - down.get(c.gpu_model, 0),
                                c.it_kw_per_gpu) for c in _models(summary).values()]  # fmt: skip

    def committed(month: date) -> dict[str, int]:
        end = next_month(month)
        return committed_gpus(holdings, gpus_of, local_midnight(month.year, month.month, 1, tz),
                              local_midnight(end.year, end.month, 1, tz))  # fmt: skip

    rows = sellable_surplus(capacities, span, committed=committed, demand=forecasts,
                            quantile=quantile, reserve_share=reserve_share,
                            pue=summary.site.pue)  # fmt: skip
    return SurplusReport(site, tz, quantile, reserve_share, summary.site.pue, span, tuple(rows),
                         forecasts, down)  # fmt: skip


# -- own demand from the metered internal pool -------------------------------------------


@use_case("planning.metered_demand")
def metered_demand(
    uow: UnitOfWork,
    meter: Meter,
    site: str,
    *,
    first: date,
    last: date,
    busy_util_ratio: Decimal = Decimal("0.05"),
    rules: AvailabilityRules = RULES,
) -> tuple[DemandPoint, ...]:
    """Own demand per model and month ``first``..``last`` (site time zone) from telemetry:
    the busy GPU-µs of the model's nodes nobody holds, over the month's µs
    (``Meter.site_use``, docs/METERING.md). Months before the first and after the last
    recorded one are left out; InvalidInput if none is recorded, or one in between is not."""
    if last < first:
        raise InvalidInput.single("months", _ym(first), f"is after {_ym(last)}")
    with uow:
        whole = uow.sites.get(site)  # NotFound: no such site
        tz = whole.timezone
        span = Interval(_start(first, tz), _start(next_month(last), tz))
        holdings = uow.metering.holdings(site, span)
    nodes: dict[str, list[tuple[str, int]]] = {}
    for hall in whole.halls:
        for rack in hall.racks:
            for node in rack.nodes:
                nodes.setdefault(node.gpu_model, []).append((node.name, node.gpu_count))
    meter.prepare(site, span, rules.critical_xids)
    months = [next_month(first, i) for i in range(months_between(first, last) + 1)]
    out: list[DemandPoint] = []
    for model, mine in sorted(nodes.items()):
        pool = Pool.read(meter, site, span, nodes=mine, holdings=holdings,
                         busy_util_ratio=busy_util_ratio)  # fmt: skip
        found = [pool.month(m, model, tz) for m in months]
        out += recorded_run(months, found, model)
    if not out:
        why = f"has no metered internal pool from {_ym(first)} to {_ym(last)}"
        raise InvalidInput.single("telemetry", site, f"{why}: give --demand FILE.csv")
    return tuple(out)


def metered_history(
    uow: UnitOfWork,
    meter: Meter,
    clock: Clock,
    site: str,
    *,
    months: int = 48,
    busy_util_ratio: Decimal = Decimal("0.05"),
    rules: AvailabilityRules = RULES,
) -> tuple[DemandPoint, ...]:
    """``metered_demand`` over the ``months`` whole months before the current one (in the
    site's time zone)."""
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= MAX_MONTHS:
        raise InvalidInput.single("history", months, f"must be a whole number, 1 to {MAX_MONTHS}")
    with uow:
        tz = uow.sites.header(site).timezone
    local = clock.now().astimezone(zone(tz, "timezone"))
    last = next_month(date(local.year, local.month, 1), -1)
    return metered_demand(uow, meter, site, first=next_month(last, 1 - months), last=last,
                          busy_util_ratio=busy_util_ratio, rules=rules)  # fmt: skip


@dataclass(frozen=True)
class Pool:
    """One model's nodes at a site and what the meter said, hour by hour over ``span``, of
    those nobody held (one query for the whole span, summed by month here)."""

    nodes: list[tuple[str, int]]
    holdings: list[tuple[str, datetime, datetime]]  # node, start, end: clipped to span
    hours: dict[int, tuple[int, int]]  # UTC hour (epoch µs) -> busy, idle GPU-µs

    @classmethod
    def read(
        cls,
        meter: Meter,
        site: str,
        span: Interval,
        *,
        nodes: list[tuple[str, int]],
        holdings: Sequence[tuple[str, str, datetime, datetime | None]],
        busy_util_ratio: Decimal,
    ) -> Pool:
        names = {n for n, _ in nodes}
        mine = [(n, max(a, span.start), span.end if b is None else min(b, span.end))
                for n, _, a, b in holdings if n in names]  # fmt: skip
        mine = [h for h in mine if h[1] < h[2]]
        return cls(nodes, mine, meter.site_use(site, span, nodes, mine, busy_util_ratio))

    def month(self, month: date, model: str, tz: str) -> DemandPoint | None:
        period = Interval(_start(month, tz), _start(next_month(month), tz))
        gpus = dict(self.nodes)
        month_us = _us(period.end - period.start)
        held = sum(gpus[n] * _us(min(b, period.end) - max(a, period.start))
                   for n, a, b in self.holdings if a < period.end and period.start < b)  # fmt: skip
        lo, hi = _epoch_us(period.start), _epoch_us(period.end)
        inside = [v for hour, v in self.hours.items() if lo <= hour < hi]
        return month_of_pool(month, model, month_us=month_us,
                             pool_gpu_us=sum(gpus.values()) * month_us - held,
                             busy_gpu_us=sum(b for b, _ in inside),
                             idle_gpu_us=sum(i for _, i in inside))  # fmt: skip


def _start(month: date, tz: str) -> datetime:
    return local_midnight(month.year, month.month, 1, tz)


def _us(span: timedelta) -> int:
    return (span.days * 86_400 + span.seconds) * 1_000_000 + span.microseconds


def _epoch_us(instant: datetime) -> int:
    return _us(instant - datetime(1970, 1, 1, tzinfo=UTC))


def _ym(month: date) -> str:
    return month.isoformat()[:7]
