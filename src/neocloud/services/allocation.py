"""Allocation use cases: plan and apply an agreement's racks, what-if, release, node
failure, and the state of a site at an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.allocation.changes import failed_holding, swap_failed_node
from neocloud.domain.allocation.planner import (
    MIXED,
    AllocationPlan,
    Demand,
    HolderKind,
    Holding,
    SiteMeasure,
    Tranche,
    demand_of,
    held_share,
    plan_allocation,
    plan_in_halls,
)
from neocloud.domain.events import model as events
from neocloud.domain.kernel.errors import Conflict, InsufficientCapacity, InvalidInput
from neocloud.domain.kernel.instants import Moment, require_utc, resolve
from neocloud.domain.kernel.quantities import check_gpus, check_mw
from neocloud.services.agreements import NoticeGiven, end_service
from neocloud.services.billing import rebill, record_status_changes
from neocloud.services.context import Context
from neocloud.services.events import record, record_due
from neocloud.services.observability import use_case

if TYPE_CHECKING:  # protocols for type checking only: importing them costs start-up time
    from neocloud.services.ports import UnitOfWork


def site_measure(uow: UnitOfWork, site: str) -> SiteMeasure:
    """How racks of ``site`` count against a power demand (its capacity and typical draw)."""
    summary = uow.sites.summary(site)
    return SiteMeasure(
        summary.site.facility_capacity_kw, summary.facility_power.kw, summary.site.pue
    )


UNITS = {"rack": plan_allocation, "hall": plan_in_halls}


def _plan(
    uow: UnitOfWork, key: str, spare_share: Decimal, unit: str, *, lock: bool = False
) -> tuple[str, AllocationPlan]:
    if unit not in UNITS:
        raise InvalidInput.single("unit", unit, "the isolation unit is rack or hall")
    agreement = uow.agreements.get(key)
    site = agreement.terms.site
    if lock:
        uow.sites.lock(site)  # a fleet import replacing its racks waits, or we wait for it
    if uow.allocations.holds(HolderKind.AGREEMENT, key):
        raise Conflict(f"agreement {key} has racks already; release them first to re-plan")
    plan = UNITS[unit](
        key,
        demand_of(agreement),
        uow.allocations.rack_capacities(site),
        uow.allocations.busy(site),
        site_measure(uow, site),
        spare_share=spare_share,
    )
    return site, plan


@use_case("allocation.plan")
def plan_for_agreement(
    uow: UnitOfWork, key: str, spare_share: Decimal = Decimal(0), unit: str = "rack"
) -> AllocationPlan:
    """The racks the agreement would get along its ramp (a dry run: nothing is written)."""
    with uow:
        return _plan(uow, key, spare_share, unit)[1]


@use_case("allocation.apply")
def apply_for_agreement(
    uow: UnitOfWork,
    ctx: Context,
    key: str,
    spare_share: Decimal = Decimal(0),
    unit: str = "rack",
) -> AllocationPlan:
    """Plan again inside one transaction and write it; a concurrent allocation of the same
    racks makes one of the two fail with Conflict (the database refuses the overlap)."""
    with uow.write():
        site, plan = _plan(uow, key, spare_share, unit, lock=True)
        for step in plan.steps:
            uow.allocations.allocate_racks(
                site,
                list(step.added),
                kind=HolderKind.AGREEMENT,
                key=key,
                start=step.start,
                end=plan.end,
                reason=f"{key} from {step.start.date()}",
            )
        if plan.spares:
            uow.allocations.allocate_racks(
                site,
                list(plan.spares),
                kind=HolderKind.SPARE,
                key=key,
                start=plan.steps[0].start,
                end=plan.end,
                reason=f"spares kept for {key}",
            )
        uow.audit.record(
            ctx.audit(
                "allocation.apply",
                "agreement",
                key,
                {
                    "site": site,
                    "racks": len(plan.racks),
                    "spares": len(plan.spares),
                    "halls": plan.halls,
                },
            )
        )
        uow.commit()
    return plan


@dataclass(frozen=True)
class WhatIf:
    fits: bool
    plan: AllocationPlan | None
    reason: str


@use_case("allocation.whatif")
def what_if(
    uow: UnitOfWork,
    site: str,
    *,
    start: datetime,
    end: datetime,
    facility_kw: Decimal | None = None,
    gpus: int | None = None,
    gpu_model: str | None = None,
) -> WhatIf:
    """Could the site sell this capacity from ``start`` to ``end``? Nothing is written."""
    start, end = require_utc(start, "from"), require_utc(end, "until")
    if end <= start:
        raise InvalidInput.single("months", str(end), "the period must be at least a month")
    if (facility_kw is None) == (gpus is None):
        raise InvalidInput.single("mw/gpus", None, "give exactly one of MW or GPUs")
    if gpus is not None:
        check_gpus(gpus)
        if not gpu_model:
            raise InvalidInput.single("model", None, "say which GPU model the GPUs are")
    else:
        check_mw(Decimal(facility_kw or 0) / 1000)
    demand = Demand(
        end, (Tranche(start, Decimal(1)),), facility_kw=facility_kw, gpus=gpus, gpu_model=gpu_model
    )
    with uow:
        if gpus is not None:
            installed = {r.gpu_model for r in uow.allocations.rack_capacities(site)}
            if gpu_model not in installed:
                raise InvalidInput.single(
                    "model",
                    gpu_model,
                    f"site {site} has no GPUs of this model (it has: "
                    f"{', '.join(sorted(installed - {MIXED})) or 'none'})",
                )
        try:
            plan = plan_allocation(
                "what-if",
                demand,
                uow.allocations.rack_capacities(site),
                uow.allocations.busy(site),
                site_measure(uow, site),
            )
        except InsufficientCapacity as no:
            return WhatIf(False, None, no.message)
    halls = ", ".join(f"{hall} ({n:,})" for hall, n in plan.halls.items())
    return WhatIf(True, plan, f"fits in {len(plan.racks):,} whole racks: {halls}")


@use_case("allocation.release")
def release(uow: UnitOfWork, ctx: Context, key: str, at: datetime) -> int:
    """End the agreement's (and its spares') holdings at ``at``: the racks return to the
    internal pool."""
    at = require_utc(at, "at")
    with uow.write():
        uow.sites.lock(uow.agreements.get(key).terms.site)
        changed = uow.allocations.release_agreement(key, at)
        uow.audit.record(
            ctx.audit(
                "allocation.release",
                "agreement",
                key,
                {"at": at.isoformat(), "rows": changed},
            )
        )
        uow.commit()
    return changed


@use_case("allocation.fail_node")
def fail_node(
    uow: UnitOfWork,
    ctx: Context,
    site: str,
    node: str,
    at: datetime | None = None,
    *,
    failed_at: datetime | None = None,
) -> tuple[Holding, Holding]:
    """A node failed at ``failed_at`` and is swapped at ``at`` (both now if not given): its
    tenant gets a spare of the same model from its own spare racks; the failed node goes
    to maintenance (rules: ``changes.swap_failed_node``). The failure is recorded: metering
    counts the node down from the failure to the swap. Returns the two new holdings
    (failed node, replacement); both moves are recorded."""
    at = require_utc(at, "at") if at else ctx.clock.now()
    failed_at = require_utc(failed_at, "failed_at") if failed_at else at
    if failed_at > at:
        raise InvalidInput.single(
            "failed_at", failed_at.isoformat(), f"is after the swap ({at.isoformat()})"
        )
    with uow.write():
        uow.sites.lock(site)
        history = uow.allocations.node_history(site, node)
        failed = failed_holding(node, history, at)
        if failed_at < failed.holding.start:
            raise InvalidInput.single(
                "failed_at",
                failed_at.isoformat(),
                f"is before {failed.holding.holder} held the node "
                f"({failed.holding.start.isoformat()})",
            )
        spares = uow.allocations.held_by(site, HolderKind.SPARE, failed.holding.holder)
        swap = swap_failed_node(failed, spares, at)
        uow.allocations.apply(site, swap.changes)
        uow.metering.add_failure(site, node, failed.holding.holder, failed_at, at)
        uow.audit.record(
            ctx.audit(
                "allocation.fail_node",
                "node",
                f"{site}/{node}",
                {
                    "at": at.isoformat(),
                    "failed_at": failed_at.isoformat(),
                    "holder": swap.replacement.holder,
                    "replacement": swap.replacement.node,
                },
            )
        )
        uow.commit()
    return swap.failed, swap.replacement


@use_case("allocation.holdings")
def holdings(uow: UnitOfWork, site: str, at: datetime | None = None) -> list[Holding]:
    with uow:
        uow.sites.header(site)
        return uow.allocations.holdings(site, at)


@dataclass(frozen=True)
class SchedulerView:
    """What the scheduler exports read: every holding of the site (or those at one
    instant), each agreement's tenant and capacity starts along its ramp, the nodes' GPUs."""

    holdings: list[Holding]
    tenants: dict[str, str]
    steps: dict[str, list[datetime]]
    nodes: dict[str, int]


@use_case("allocation.scheduler_view")
def scheduler_view(uow: UnitOfWork, site: str, at: datetime | None = None) -> SchedulerView:
    with uow:
        uow.sites.header(site)
        found = uow.allocations.holdings(site, at)
        keys = sorted({h.holder for h in found if h.holder})
        agreements = {k: uow.agreements.get(k) for k in keys}
        nodes = dict(uow.metering.nodes(site))
    return SchedulerView(
        found,
        {k: a.terms.tenant for k, a in agreements.items()},
        {k: [start for start, _ in a.tranches()] for k, a in agreements.items()},
        nodes,
    )


@use_case("agreement.terminate")
def terminate_for_late_delivery(
    uow: UnitOfWork,
    ctx: Context,
    key: str,
    *,
    tranche_start: Moment,
    at: Moment | None = None,
) -> NoticeGiven:
    """The tenant ends the agreement because a tranche was not delivered within its grace
    period: measured by the racks it held when the grace period ended. Billing, service and
    the holdings end at ``at``; months invoiced past it are re-billed."""
    with uow.write():
        agreement = uow.agreements.get(key, for_update=True)
        tz, site = agreement.terms.billing_timezone, agreement.terms.site
        when = ctx.when(at, tz, "at")
        tranche = resolve(tranche_start, tz, "tranche")
        deadline = agreement.grace_deadline(tranche)
        racks = {r.rack: r for r in uow.allocations.rack_capacities(site)}
        held = {
            h.rack
            for h in uow.allocations.holdings(site, deadline)
            if h.kind is HolderKind.AGREEMENT and h.holder == key
        }
        delivered = held_share(
            demand_of(agreement), [racks[r] for r in held], site_measure(uow, site)
        )
        notice = agreement.terminate_for_late_delivery(
            tranche_start=tranche, at=when, delivered_share=delivered
        )
        record_status_changes(uow, ctx, key, agreement.advance_to(ctx.clock.now()))
        uow.agreements.save(agreement)
        reason = f"terminated by the tenant: tranche from {tranche.isoformat()} delivered late"
        end_service(uow, agreement, when, reason)
        notes = rebill(uow, ctx, agreement, reason)
        uow.audit.record(
            ctx.audit(
                "agreement.terminate",
                "agreement",
                key,
                {
                    "reason": "late delivery",
                    "at": when.isoformat(),
                    "tranche": tranche.isoformat(),
                    "delivered_share": str(delivered),
                    "corrections": [n.number for n in notes],
                },
            )
        )
        record(uow, ctx, events.notice_given(agreement, notice))
        record_due(uow, ctx, agreement)
        uow.commit()
    return NoticeGiven(notice, notes, tz)
