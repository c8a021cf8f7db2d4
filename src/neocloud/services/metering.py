"""Metering use cases: an agreement's availability, GPU-hours and energy in a billing
period from telemetry and the allocation history; why units were down; maintenance
windows. The queries run on a ``Meter`` (DuckDB, or Spark), wired by ``bootstrap``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.kernel.errors import Conflict, InvalidInput
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money
from neocloud.domain.kernel.text import check_text
from neocloud.domain.metering.availability import (
    Availability,
    AvailabilityRules,
    Held,
    Unit,
    UnitPlan,
    Window,
    plan_units,
)
from neocloud.domain.metering.metered import DownRun, Metering
from neocloud.domain.metering.site_use import SiteHour, hours_of, split_by_hour
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.services.context import Context
    from neocloud.services.ports import Meter, UnitOfWork

RULES = AvailabilityRules()


@dataclass(frozen=True)
class Subject:
    """What is metered: the agreement in a period, its site's figures, and its unit plan."""

    agreement: CapacityAgreement
    period: BillingPeriod
    plan: UnitPlan
    held: list[Held]
    server_overhead: Decimal
    pue: Decimal
    price_per_mwh: Money
    grid_carbon_kg_per_mwh: Decimal


def _subject(uow: UnitOfWork, key: str, period: str) -> Subject:
    with uow:
        agreement = uow.agreements.get(key)
        terms = agreement.terms
        billing = BillingPeriod.parse(period, terms.billing_timezone)
        window = billing.interval
        held = uow.metering.held(terms.site, key, window)
        site = uow.sites.header(terms.site)
        windows = uow.metering.windows(terms.site, window)
        failures = uow.metering.failures(key, window)
    unit = Unit(terms.sla.measured_per) if terms.sla else Unit.GPU
    notice_hours = terms.sla.maintenance_notice_hours if terms.sla else 0
    plan = plan_units(
        held,
        period=window,
        unit=unit,
        windows=windows,
        failures=failures,
        notice_hours=notice_hours,
    )
    catalog = site.catalog()
    chosen = catalog.get(terms.capacity.gpu_model or "")
    overhead = (
        chosen.server_overhead
        if chosen
        else sum((m.server_overhead for m in catalog.values()), Decimal(0)) / len(catalog)
    )  # a power contract: the catalogue's mean (every built-in model says 1.3 but GB300)
    return Subject(agreement, billing, plan, held, overhead, site.pue,
                   site.electricity_price_per_mwh, site.grid_carbon_kg_per_mwh)  # fmt: skip


@use_case("metering.agreement")
def meter_agreement(
    uow: UnitOfWork, meter: Meter, key: str, period: str, rules: AvailabilityRules = RULES
) -> Metering:
    """Availability, held GPU-hours and energy of ``key`` in ``period`` (its billing
    zone's calendar month), from telemetry (docs/METERING.md)."""
    s = _subject(uow, key, period)
    site = s.agreement.terms.site
    meter.prepare(site, s.period.interval, rules.critical_xids)
    observed, usage = meter.measure(site, s.plan, rules.silence_grace_s)
    return Metering(
        key,
        s.period.label,
        site,
        Availability(s.plan, observed, rules),
        usage,
        s.server_overhead,
        s.pue,
        meter.engine,
        s.price_per_mwh,
        s.grid_carbon_kg_per_mwh,
    )


@dataclass(frozen=True)
class Explanation:
    metering: Metering
    down: list[DownRun]
    excluded: list[tuple[str, Interval, str]]  # node, when, why (maintenance)
    failed: list[tuple[str, Interval]]


@use_case("metering.explain")
def explain(
    uow: UnitOfWork, meter: Meter, key: str, period: str, rules: AvailabilityRules = RULES
) -> Explanation:
    """Which units were down, when and why; which minutes maintenance excluded."""
    metering = meter_agreement(uow, meter, key, period, rules)
    plan = metering.availability.plan
    down = meter.explain(metering.site, plan, rules.silence_grace_s)
    return Explanation(
        metering,
        down,
        [(x.node, x.interval, x.why) for x in plan.excluded],
        [(x.node, x.interval) for x in plan.failed],
    )


def metered_availability(
    uow: UnitOfWork, meter: Meter, key: str, period: str, rules: AvailabilityRules = RULES
) -> Availability:
    """The metered availability, or Conflict naming the coverage when telemetry does not
    cover enough of the period to judge it."""
    availability = meter_agreement(uow, meter, key, period, rules).availability
    if availability.ratio is None:
        raise Conflict(
            f"{key} held no nodes in {period} (allocation history), so its availability "
            "cannot be metered: allocate it, record the availability by hand, or close with "
            "the manual availability source"
        )
    if not availability.covered:
        raise Conflict(
            f"telemetry covers {availability.coverage_ratio * 100:.2f} % of {key}'s units in "
            f"{period} (at least {rules.coverage_min_ratio * 100:.0f} % is needed to meter "
            "its availability): ingest the missing telemetry, record the availability by "
            "hand, or close with the manual availability source"
        )
    return availability


@use_case("metering.site")
def site_use(
    uow: UnitOfWork,
    meter: Meter,
    site: str,
    period: Interval,
    busy_util_ratio: Decimal,
    *,
    rules: AvailabilityRules = RULES,
) -> list[SiteHour]:
    """The site's GPU-hours hour by hour: leased, spare, maintenance (allocation history),
    and the rest, internal, idle or unreported (telemetry): docs/METERING.md."""
    if not Decimal(0) < busy_util_ratio <= 1:
        raise InvalidInput.single("busy_util", str(busy_util_ratio), "must be above 0, at most 1")
    hours_of(period)
    with uow:
        nodes = uow.metering.nodes(site)  # NotFound: no such site
        holdings = uow.metering.holdings(site, period)
    meter.prepare(site, period, rules.critical_xids)
    pool = meter.site_use(
        site, period, nodes, [(n, s, e) for n, _, s, e in holdings], busy_util_ratio
    )
    return split_by_hour(period, nodes, holdings, pool)


# -- maintenance windows ------------------------------------------------------------------


@use_case("maintenance.announce")
def announce_maintenance(
    uow: UnitOfWork,
    ctx: Context,
    site: str,
    nodes: list[str],
    *,
    start: datetime,
    end: datetime,
    reason: str = "",
) -> Window:
    """Maintenance of ``nodes`` during ``[start, end)``, announced now (the business clock):
    excluded from an SLA's availability when announced its notice hours ahead."""
    if reason:
        check_text(reason, "reason", max_length=200)
    if not nodes:
        raise InvalidInput.single("nodes", "", "name at least one node")
    window = Window(frozenset(nodes), Interval(start, end), ctx.clock.now(), reason)
    with uow.write():
        known = uow.sites.node_names(site)  # NotFound: no such site
        unknown = sorted(set(nodes) - known)
        if unknown:
            more = f" and {len(unknown) - 3} more" if len(unknown) > 3 else ""
            raise InvalidInput.single(
                "nodes", ", ".join(unknown[:3]) + more, f"names no node of site {site}"
            )
        number = uow.metering.add_window(site, window, ctx.actor)
        uow.audit.record(
            ctx.audit(
                "maintenance.announce",
                "site",
                site,
                {
                    "window": number,
                    "nodes": len(nodes),
                    "from": start.isoformat(),
                    "to": end.isoformat(),
                    "reason": reason,
                },
            )
        )
        uow.commit()
    return window


@use_case("maintenance.list")
def maintenance_windows(uow: UnitOfWork, site: str) -> list[Window]:
    with uow:
        uow.sites.header(site)
        return uow.metering.windows(site)
