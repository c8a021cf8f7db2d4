"""Use cases of a site's economics: the monthly report and the backlog (docs/ECONOMICS.md).

Reads only: the site, its signed agreements and their allocation history from the unit of
work, and the site's GPU-hours by use from the meter (telemetry). The figures are the
domain's (``domain/economics/site_report.py``, ``backlog.py``).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.billing.recognition import RevenueMonth, revenue_schedule
from neocloud.domain.economics.backlog import Backlog, site_backlog
from neocloud.domain.economics.site_report import (
    MonthInputs,
    SiteFacts,
    SiteMonth,
    Use,
    months_between,
    site_month,
)
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.metering.site_use import split_by_hour
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.domain.economics.assumptions import Assumptions
    from neocloud.domain.metering.availability import AvailabilityRules
    from neocloud.services.ports import Meter, UnitOfWork

BUSY_UTIL_RATIO = Decimal("0.05")  # as `metering site`: a pool node-hour at 5 % is busy


@dataclass(frozen=True, slots=True)
class SiteEconomics:
    site: SiteFacts
    agreements: list[str]  # the signed agreements summed, in key order
    months: list[SiteMonth]


@dataclass(frozen=True, slots=True)
class _Loaded:
    site: SiteFacts
    agreements: list[CapacityAgreement]
    model_of: dict[str, str]  # node -> GPU model


def _load(uow: UnitOfWork, site: str, *, nodes: bool) -> _Loaded:
    with uow:
        summary = uow.sites.summary(site)  # NotFound: no such site
        model_of = {}
        if nodes:
            for _, _, node in uow.sites.get(site).nodes():
                model_of[node.name] = node.gpu_model
        deals = [uow.agreements.get(k) for k in sorted(uow.agreements.all_keys(site=site))]
    header = summary.site
    facts = SiteFacts(
        name=header.name,
        timezone=header.timezone,
        facility_capacity_kw=header.facility_capacity_kw,
        electricity_price_per_mwh=header.electricity_price_per_mwh,
        grid_carbon_kg_per_mwh=header.grid_carbon_kg_per_mwh,
        gpus_by_model=summary.gpus_by_model(),
    )
    return _Loaded(facts, [a for a in deals if a.signed_at is not None], model_of)


def parse_month(text: str, field: str, timezone: str) -> BillingPeriod:
    """``YYYY-MM`` in ``timezone``; InvalidInput naming ``field`` and the text."""
    try:
        return BillingPeriod.parse(text, timezone)
    except InvalidInput:
        raise InvalidInput.single(field, text, "must be a month written YYYY-MM") from None


@use_case("economics.site_report")
def site_report(
    uow: UnitOfWork,
    meter: Meter | None,
    site: str,
    *,
    first: str,
    last: str,
    assumptions: Assumptions,
    rules: AvailabilityRules,
) -> SiteEconomics:
    """The site's months ``first`` to ``last`` (YYYY-MM, the site's zone). ``meter``: the
    pool's GPU-hours judged by telemetry (None: every pool hour unreported)."""
    loaded = _load(uow, site, nodes=True)
    facts = loaded.site
    periods = months_between(parse_month(first, "--from", facts.timezone),
                             parse_month(last, "--to", facts.timezone))  # fmt: skip
    schedules = [_schedule(a, facts) for a in loaded.agreements]
    months = []
    for period in periods:
        revenue = [s[period.label] for s in schedules if period.label in s]
        use = _use(uow, meter, site, period, model_of=loaded.model_of, rules=rules)
        month = site_month(facts, assumptions, MonthInputs(period, None, use), revenue)
        total = site_backlog(loaded.agreements, period.next().start, assumptions.currency)[-1]
        months.append(replace(month, headline_backlog=total.headline,
                              enforceable_backlog=total.enforceable))  # fmt: skip
    return SiteEconomics(facts, [a.key for a in loaded.agreements], months)


def _schedule(agreement: CapacityAgreement, site: SiteFacts) -> dict[str, RevenueMonth]:
    tz = agreement.terms.billing_timezone
    if tz != site.timezone:
        raise InvalidInput.single(
            "billing_timezone", tz, f"of agreement {agreement.key} differs from site "
            f"{site.name}'s zone {site.timezone}: the report sums months of one calendar",
        )  # fmt: skip
    return {m.period.label: m for m in revenue_schedule(agreement)}


def _use(
    uow: UnitOfWork,
    meter: Meter | None,
    site: str,
    period: BillingPeriod,
    *,
    model_of: dict[str, str],
    rules: AvailabilityRules,
) -> dict[str, Use]:
    """The month's GPU-hours by use, per GPU model (``metering site``'s split, summed);
    without a meter the operator's pool is all unreported (allocation still splits)."""
    interval = period.interval
    with uow:
        nodes = uow.metering.nodes(site)
        holdings = uow.metering.holdings(site, interval)
    if meter is not None:
        meter.prepare(site, interval, rules.critical_xids)
    by_model: dict[str, list[tuple[str, int]]] = defaultdict(list)
    for node in nodes:
        by_model[model_of.get(node[0], "?")].append(node)
    out = {}
    for model, group in sorted(by_model.items()):
        names = {n for n, _ in group}
        held = [h for h in holdings if h[0] in names]
        pool = (
            {}
            if meter is None
            else meter.site_use(
                site, interval, group, [(n, s, e) for n, _, s, e in held], BUSY_UTIL_RATIO
            )
        )
        hours = split_by_hour(interval, group, held, pool)
        out[model] = sum(
            (Use(h.installed, h.leased, h.spare, h.maintenance, h.internal, h.idle,
                 h.unreported) for h in hours),
            Use(),
        )  # fmt: skip
    return out


@use_case("economics.backlog")
def backlog(
    uow: UnitOfWork,
    site: str,
    *,
    at: datetime | None = None,
    first: str | None = None,
    last: str | None = None,
    currency: str = "USD",
) -> tuple[SiteFacts, list[Backlog]]:
    """Backlog both ways at ``at`` (per agreement and total), or at the end of each month
    ``first`` to ``last`` (totals then per agreement, month by month)."""
    loaded = _load(uow, site, nodes=False)
    tz = loaded.site.timezone
    if at is not None:
        return loaded.site, site_backlog(loaded.agreements, at, currency)
    if first is None or last is None:
        raise InvalidInput.single("--at", "", "give --at, or --from and --to")
    periods = months_between(parse_month(first, "--from", tz), parse_month(last, "--to", tz))
    rows = [r for p in periods for r in site_backlog(loaded.agreements, p.next().start, currency)]
    return loaded.site, rows
