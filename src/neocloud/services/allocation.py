"""Allocation use cases: plan and apply an agreement's racks, what-if, release, node
failure, and the state of a site at an instant."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from neocloud.domain.agreements.model import Notice
from neocloud.domain.allocation.changes import failed_holding, swap_failed_node
from neocloud.domain.allocation.planner import (
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
from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.errors import Conflict, InsufficientCapacity, InvalidInput
from neocloud.domain.kernel.instants import require_utc
from neocloud.services.agreements import Context, end_service
from neocloud.services.ports import UnitOfWork


def site_measure(uow: UnitOfWork, site: str) -> SiteMeasure:
    """How racks of ``site`` count against a power demand (its capacity and typical draw)."""
    summary = uow.sites.summary(site)
    return SiteMeasure(
        summary.site.facility_capacity_kw, summary.facility_power.kw, summary.site.pue
    )


UNITS = {"rack": plan_allocation, "hall": plan_in_halls}


def _plan(uow: UnitOfWork, key: str, spare_share: Decimal, unit: str) -> tuple[str, AllocationPlan]:
    if unit not in UNITS:
        raise InvalidInput.single("unit", unit, "the isolation unit is rack or hall")
    agreement = uow.agreements.get(key)
    site = agreement.terms.site
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


def plan_for_agreement(
    uow: UnitOfWork, key: str, spare_share: Decimal = Decimal(0), unit: str = "rack"
) -> AllocationPlan:
    """The racks the agreement would get along its ramp (a dry run: nothing is written)."""
    with uow:
        return _plan(uow, key, spare_share, unit)[1]


def apply_for_agreement(
    uow: UnitOfWork,
    ctx: Context,
    key: str,
    spare_share: Decimal = Decimal(0),
    unit: str = "rack",
) -> AllocationPlan:
    """Plan again inside one transaction and write it; a concurrent allocation of the same
    racks makes one of the two fail with Conflict (the database refuses the overlap)."""
    with uow:
        site, plan = _plan(uow, key, spare_share, unit)
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
            AuditEntry(
                ctx.clock.now(),
                ctx.actor,
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
    demand = Demand(
        end, (Tranche(start, Decimal(1)),), facility_kw=facility_kw, gpus=gpus, gpu_model=gpu_model
    )
    with uow:
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


def release(uow: UnitOfWork, ctx: Context, key: str, at: datetime) -> int:
    """End the agreement's (and its spares') holdings at ``at``: the racks return to the
    internal pool."""
    at = require_utc(at, "at")
    with uow:
        uow.agreements.get(key)
        changed = uow.allocations.release_agreement(key, at)
        uow.audit.record(
            AuditEntry(
                ctx.clock.now(),
                ctx.actor,
                "allocation.release",
                "agreement",
                key,
                {"at": at.isoformat(), "rows": changed},
            )
        )
        uow.commit()
    return changed


def fail_node(
    uow: UnitOfWork, ctx: Context, site: str, node: str, at: datetime | None = None
) -> tuple[Holding, Holding]:
    """A node failed: its tenant gets a spare of the same model from its own spare racks;
    the failed node goes to maintenance (rules: ``changes.swap_failed_node``). Returns the
    two new holdings (failed node, replacement); both moves are recorded."""
    at = require_utc(at, "at") if at else ctx.clock.now()
    with uow:
        failed = failed_holding(node, uow.allocations.node_history(site, node), at)
        spares = uow.allocations.held_by(site, HolderKind.SPARE, failed.holding.holder)
        swap = swap_failed_node(failed, spares, at)
        uow.allocations.apply(site, swap.changes)
        uow.audit.record(
            AuditEntry(
                ctx.clock.now(),
                ctx.actor,
                "allocation.fail_node",
                "node",
                f"{site}/{node}",
                {
                    "at": at.isoformat(),
                    "holder": swap.replacement.holder,
                    "replacement": swap.replacement.node,
                },
            )
        )
        uow.commit()
    return swap.failed, swap.replacement


def holdings(uow: UnitOfWork, site: str, at: datetime | None = None) -> list[Holding]:
    with uow:
        uow.sites.header(site)
        return uow.allocations.holdings(site, at)


def scheduler_view(
    uow: UnitOfWork, site: str, at: datetime | None = None
) -> tuple[list[Holding], dict[str, str]]:
    """Holdings (all of them, or those at ``at``) and the tenant of each agreement."""
    with uow:
        uow.sites.header(site)
        found = uow.allocations.holdings(site, at)
        keys = {h.holder for h in found if h.holder}
        tenants = {k: uow.agreements.get(k).terms.tenant for k in sorted(keys)}
    return found, tenants


def terminate_for_late_delivery(
    uow: UnitOfWork, ctx: Context, key: str, *, tranche_start: datetime, at: datetime | None = None
) -> Notice:
    """The tenant ends the agreement because a tranche was not delivered within its grace
    period: measured by the racks it held when the grace period ended. Billing, service and
    the holdings end at ``at``."""
    at = require_utc(at, "at") if at else ctx.clock.now()
    with uow:
        agreement = uow.agreements.get(key)
        site = agreement.terms.site
        grace = agreement.terms.termination.late_delivery_grace_days or 0
        deadline = require_utc(tranche_start, "tranche") + timedelta(days=grace)
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
            tranche_start=tranche_start, at=at, delivered_share=delivered
        )
        uow.agreements.save(agreement)
        end_service(
            uow,
            agreement,
            at,
            f"terminated by the tenant: tranche from {tranche_start.isoformat()} delivered late",
        )
        uow.audit.record(
            AuditEntry(
                ctx.clock.now(),
                ctx.actor,
                "agreement.terminate",
                "agreement",
                key,
                {
                    "reason": "late delivery",
                    "at": at.isoformat(),
                    "tranche": tranche_start.isoformat(),
                    "delivered_share": str(delivered),
                },
            )
        )
        uow.commit()
    return notice
