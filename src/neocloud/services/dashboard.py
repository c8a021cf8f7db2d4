"""Read models of the dashboard's pages, from the same use cases the CLI calls.

- ``site_use_by_month``: a site's GPU-hours by use per local month (``metering.site_use``
  hour by hour, summed): leased (agreements), internal (the operator's busy pool), idle
  (reporting, not busy), and the rest (spare, maintenance, unreported).
- ``agreement_usage``: an agreement's months: GPU-hours its holdings held (allocation
  history x the nodes' GPUs), the availability recorded, the SLA's credit share at it, and
  the SLA credits its invoices carried.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.billing.drafts import LineKind
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.economics.site_report import months_between
from neocloud.domain.kernel.instants import Interval
from neocloud.services import metering
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.domain.metering.availability import AvailabilityRules
    from neocloud.services.ports import Meter, UnitOfWork

BUSY_UTIL_RATIO = Decimal("0.05")  # as `metering site` and the economics report
SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class UseMonth:
    """GPU-hours of one local month by use; ``other`` = spare + maintenance + unreported."""

    period: str
    installed: Decimal
    leased: Decimal
    internal: Decimal
    idle: Decimal
    other: Decimal


@use_case("dashboard.site_use")
def site_use_by_month(
    uow: UnitOfWork,
    meter: Meter,
    site: str,
    *,
    first: str,
    last: str,
    rules: AvailabilityRules,
) -> list[UseMonth]:
    """Months ``first`` to ``last`` (YYYY-MM in the site's zone) of the site's GPU-hours."""
    with uow:
        tz = uow.sites.header(site).timezone  # NotFound: no such site
    periods = months_between(BillingPeriod.parse(first, tz, "from"),
                             BillingPeriod.parse(last, tz, "to"))  # fmt: skip
    out = []
    for period in periods:
        hours = metering.site_use(uow, meter, site, period.interval, BUSY_UTIL_RATIO, rules=rules)
        total: dict[str, Decimal] = defaultdict(Decimal)
        for h in hours:
            for name in ("installed", "leased", "internal", "idle", "spare", "maintenance",
                         "unreported"):  # fmt: skip
                total[name] += getattr(h, name)
        other = total["spare"] + total["maintenance"] + total["unreported"]
        out.append(UseMonth(period.label, total["installed"], total["leased"],
                            total["internal"], total["idle"], other))  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class UsageMonth:
    period: str
    held_gpu_hours: Decimal
    availability_ratio: Decimal | None  # recorded for the month, None if not
    credit_share: Decimal | None  # what the SLA credits at that availability
    credited: Decimal  # SLA credit lines on the month's invoices (negative or 0)


@dataclass(frozen=True, slots=True)
class AgreementUsage:
    agreement: CapacityAgreement
    months: list[UsageMonth]
    gpus_held_now: int


@use_case("dashboard.agreement_usage")
def agreement_usage(uow: UnitOfWork, key: str, now: datetime) -> AgreementUsage:
    """The agreement's months from its term's start to the month of ``now`` (at most its
    service end): GPU-hours held, availability, SLA credit share and credits billed."""
    with uow:
        agreement = uow.agreements.get(key)  # NotFound
        site = agreement.terms.site
        gpus = dict(uow.metering.nodes(site))
        held = [s.holding for s in uow.allocations.held_by(site, HolderKind.AGREEMENT, key)]
        recorded = {p: r for p, r, _ in uow.agreements.availabilities(key)}
        invoices = uow.invoices.list(key)
    credited: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in invoices:
        for line in invoice.lines:
            if line.kind is LineKind.SLA_CREDIT and invoice.period is not None:
                credited[invoice.period] += line.amount
    tz, sla = agreement.terms.billing_timezone, agreement.terms.sla
    last = BillingPeriod.containing(min(now, agreement.service_end), tz)
    first = BillingPeriod.containing(agreement.terms.term.start, tz)
    months = []
    for period in months_between(first, last) if first.start <= last.start else []:
        ratio = recorded.get(period.label)
        months.append(
            UsageMonth(
                period.label,
                _held_hours(held, gpus, period.interval),
                ratio,
                None if ratio is None or sla is None else sla.credit_share(ratio),
                credited.get(period.label, Decimal(0)),
            )
        )
    now_held = sum(gpus[h.node] for h in held if h.covers(now))
    return AgreementUsage(agreement, months, now_held)


def _held_hours(held: list[Holding], gpus: dict[str, int], during: Interval) -> Decimal:
    """GPU-hours the holdings held during ``during`` (whole seconds: holdings start and end
    on them)."""
    total = Decimal(0)
    for h in held:
        start, end = max(h.start, during.start), min(h.end or during.end, during.end)
        if start < end:
            span = end - start
            total += gpus[h.node] * Decimal(span.days * 86_400 + span.seconds) / SECONDS_PER_HOUR
    return total
