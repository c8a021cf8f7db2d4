"""Allocation: which holder has which racks when, and the planner that turns an agreement's
capacity and ramp into whole racks.

Holders are an agreement (a tenant's capacity), the spare pool kept for an agreement, or
maintenance. A node nobody holds is in the operator's internal pool. Every holding is a
half-open interval; one node never has two holders at one instant (the database enforces
it too). The isolation unit is the rack: racks are never split between holders.

What a power-denominated agreement takes: a deal for P MW of a site's C MW (facility) is the
share P / C of the site, counted in racks by their typical facility draw. A deal for the
whole site's capacity therefore takes every rack, whatever headroom the site has.
"""

from __future__ import annotations

import enum
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal

from neocloud.domain.agreements.model import CapacityAgreement, ContractedCapacity
from neocloud.domain.fleet.capacity import SiteSummary
from neocloud.domain.kernel.errors import InsufficientCapacity, InvalidInput
from neocloud.domain.kernel.quantities import Power, PowerBasis

MIXED = "mixed"
"""The model of a rack or hall whose nodes are of several models: no model's GPUs there."""


class HolderKind(enum.StrEnum):
    AGREEMENT = "agreement"
    SPARE = "spare"
    MAINTENANCE = "maintenance"


@dataclass(frozen=True, slots=True)
class RackCapacity:
    """What one rack offers, as the planner needs it."""

    hall: str
    rack: str
    gpu_model: str  # the model of its nodes (MIXED if several: then no model's GPUs count)
    nodes: int
    gpus: int
    typical_it_kw: Decimal


@dataclass(frozen=True, slots=True)
class Busy:
    """A rack (some node of it) is held by ``holder`` during [start, end); end None = open."""

    rack: str
    kind: HolderKind
    holder: str
    start: datetime
    end: datetime | None

    def overlaps(self, start: datetime, end: datetime | None) -> bool:
        return (self.end is None or start < self.end) and (end is None or self.start < end)


@dataclass(frozen=True, slots=True)
class Holding:
    """Who holds a node during [start, end) (end None = open), and why (``reason``)."""

    hall: str
    rack: str
    node: str
    gpu_model: str
    kind: HolderKind
    holder: str
    start: datetime
    end: datetime | None
    reason: str = ""

    def covers(self, at: datetime) -> bool:
        """Whether the node is held at the instant ``at`` (half-open: held at start, not at end)."""
        return self.start <= at and (self.end is None or at < self.end)


@dataclass(frozen=True, slots=True)
class Tranche:
    """From ``start``, the agreement holds ``share`` of its contracted capacity."""

    start: datetime
    share: Decimal


@dataclass(frozen=True, slots=True)
class Demand:
    """How much capacity, in the unit the agreement is written in.

    ``facility_kw`` is a share of the site's facility capacity (see module docstring);
    ``gpus`` with ``gpu_model`` counts GPUs of that model.
    """

    end: datetime
    tranches: tuple[Tranche, ...]
    facility_kw: Decimal | None = None
    gpus: int | None = None
    gpu_model: str | None = None

    def describe(self, amount: Decimal) -> str:
        if self.gpus is not None:
            return f"{amount:,.0f} {self.gpu_model} GPUs"
        return f"{amount / 1000:,.3f} MW facility"


@dataclass(frozen=True, slots=True)
class SiteMeasure:
    """Converts racks into the demand's unit for one site."""

    site_capacity_kw: Decimal
    site_typical_facility_kw: Decimal
    pue: Decimal

    def rack_amount(self, rack: RackCapacity, demand: Demand) -> Decimal:
        if demand.gpus is not None:
            same = rack.gpu_model == demand.gpu_model and rack.gpu_model != MIXED
            return Decimal(rack.gpus if same else 0)
        facility = Power(rack.typical_it_kw, PowerBasis.IT).to_facility(self.pue)
        return facility.kw * self.site_capacity_kw / self.site_typical_facility_kw


@dataclass(frozen=True, slots=True)
class PlannedStep:
    start: datetime
    target: Decimal
    added: tuple[str, ...]  # rack names added at ``start``
    held: Decimal  # amount held from ``start`` on, in the demand's unit


@dataclass
class AllocationPlan:
    holder: str
    end: datetime
    demand: Demand
    steps: list[PlannedStep] = field(default_factory=list)
    spares: tuple[str, ...] = ()
    halls: dict[str, int] = field(default_factory=dict)  # hall -> racks taken

    @property
    def racks(self) -> list[str]:
        return [r for step in self.steps for r in step.added]


def demand_of(agreement: CapacityAgreement) -> Demand:
    """The agreement's capacity along its ramp, until its service ends."""
    terms = agreement.terms
    tranches = [Tranche(start, share) for start, share in agreement.tranches()]
    capacity = terms.capacity
    if capacity.power is not None:
        if capacity.power.basis.value != "facility":
            raise InvalidInput.single(
                "capacity",
                str(capacity.power),
                "allocation takes facility MW; convert IT MW with the site's PUE first",
            )
        return Demand(agreement.service_end, tuple(tranches), facility_kw=capacity.power.kw)
    return Demand(
        agreement.service_end, tuple(tranches), gpus=capacity.gpus, gpu_model=capacity.gpu_model
    )


def check_fits_site(capacity: ContractedCapacity, summary: SiteSummary) -> None:
    """InvalidInput if a contract asks for more than its site has at all (GPUs of a model
    the site does not hold, more of them than it holds, more power than it takes), whoever
    else holds capacity there: such a contract could never be allocated."""
    site = summary.site
    field = "agreement.capacity"
    if capacity.gpus is not None:
        installed = Counter[str]()
        for hall in summary.halls:
            for m in hall.models:
                installed[m.gpu_model] += m.gpus
        held = ", ".join(f"{n:,} {model}" for model, n in sorted(installed.items())) or "none"
        have = installed.get(str(capacity.gpu_model), 0)
        if have == 0:
            raise InvalidInput.single(
                f"{field}.gpu_model",
                capacity.gpu_model,
                f"site {site.name} has no GPUs of this model (it has: {held})",
            )
        if capacity.gpus > have:
            raise InvalidInput.single(
                f"{field}.gpus",
                capacity.gpus,
                f"site {site.name} has {have:,} {capacity.gpu_model} GPUs in all",
            )
        return
    power = capacity.power
    assert power is not None
    facility = power if power.basis is PowerBasis.FACILITY else power.to_facility(site.pue)
    if facility > site.facility_capacity:
        name = "facility_mw" if power.basis is PowerBasis.FACILITY else "it_mw"
        raise InvalidInput.single(
            f"{field}.{name}",
            power.mw,
            f"site {site.name} takes {site.facility_capacity.mw:,} MW facility power in all",
        )


def held_share(demand: Demand, held: Iterable[RackCapacity], measure: SiteMeasure) -> Decimal:
    """Share of the contracted capacity that ``held`` racks deliver."""
    amount = sum((measure.rack_amount(r, demand) for r in held), Decimal(0))
    return amount / (demand.facility_kw or Decimal(demand.gpus or 1))


def plan_in_halls(
    holder: str,
    demand: Demand,
    racks: Sequence[RackCapacity],
    busy: Iterable[Busy],
    measure: SiteMeasure,
    *,
    spare_share: Decimal = Decimal(0),
) -> AllocationPlan:
    """Like ``plan_allocation`` with whole halls as the isolation unit: a hall is taken
    whole or not at all, and is busy if any of its racks is."""
    members: dict[str, list[RackCapacity]] = {}
    for rack in racks:
        members.setdefault(rack.hall, []).append(rack)
    halls = [
        RackCapacity(
            hall,
            hall,
            _one_model(rs),
            sum(r.nodes for r in rs),
            sum(r.gpus for r in rs),
            sum((r.typical_it_kw for r in rs), Decimal(0)),
        )
        for hall, rs in members.items()
    ]
    hall_of = {r.rack: r.hall for r in racks}
    hall_busy = [
        Busy(hall_of[b.rack], b.kind, b.holder, b.start, b.end) for b in busy if b.rack in hall_of
    ]
    plan = plan_allocation(
        holder, demand, halls, hall_busy, measure, spare_share=spare_share, unit="hall"
    )
    expand = {hall: tuple(r.rack for r in rs) for hall, rs in members.items()}
    plan.steps = [
        replace(step, added=tuple(r for h in step.added for r in expand[h])) for step in plan.steps
    ]
    plan.spares = tuple(r for h in plan.spares for r in expand[h])
    plan.halls = {hall: len(expand[hall]) for hall in plan.halls}
    return plan


def _one_model(racks: list[RackCapacity]) -> str:
    models = {r.gpu_model for r in racks}
    return models.pop() if len(models) == 1 else MIXED


def plan_allocation(
    holder: str,
    demand: Demand,
    racks: Sequence[RackCapacity],
    busy: Iterable[Busy],
    measure: SiteMeasure,
    *,
    spare_share: Decimal = Decimal(0),
    unit: str = "rack",
) -> AllocationPlan:
    """Whole racks for each tranche, growing, kept in as few halls as possible.

    Raises InsufficientCapacity naming the binding constraint and the largest amount that
    would fit when a tranche cannot be met.
    """
    busy_by_rack: dict[str, list[Busy]] = {}
    for b in busy:
        busy_by_rack.setdefault(b.rack, []).append(b)
    plan = AllocationPlan(holder, demand.end, demand)
    taken: dict[str, RackCapacity] = {}
    held = Decimal(0)
    for tranche in sorted(demand.tranches, key=lambda t: t.start):
        target = (demand.facility_kw or Decimal(demand.gpus or 0)) * tranche.share
        free = [
            r
            for r in racks
            if r.rack not in taken
            and measure.rack_amount(r, demand) > 0
            and not any(b.overlaps(tranche.start, demand.end) for b in busy_by_rack.get(r.rack, ()))
        ]
        added = []
        for rack in _in_fill_order(free, taken, measure, demand):
            if held >= target:
                break
            taken[rack.rack] = rack
            added.append(rack.rack)
            held += measure.rack_amount(rack, demand)
        if held < target:
            _refuse(
                demand, tranche, target=target, held=held, busy_by_rack=busy_by_rack, racks=racks
            )
        plan.steps.append(PlannedStep(tranche.start, target, tuple(added), held))
    plan.spares = _spares(plan, racks, taken, busy_by_rack, spare_share, unit=unit)
    for rack in racks:  # in site order
        if rack.rack in taken:
            plan.halls[rack.hall] = plan.halls.get(rack.hall, 0) + 1
    return plan


def _in_fill_order(
    free: list[RackCapacity], taken: dict[str, RackCapacity], measure: SiteMeasure, demand: Demand
) -> list[RackCapacity]:
    """Halls the holder is already in first, then the halls with the most free capacity;
    racks in site order within a hall: a tenant's block stays together in the fabric."""
    hall_index: dict[str, int] = {}
    for r in free:
        hall_index.setdefault(r.hall, len(hall_index))
    free_in_hall: dict[str, Decimal] = {}
    for r in free:
        free_in_hall[r.hall] = free_in_hall.get(r.hall, Decimal(0)) + measure.rack_amount(r, demand)
    used = {r.hall for r in taken.values()}
    position = {r.rack: i for i, r in enumerate(free)}
    return sorted(
        free,
        key=lambda r: (
            r.hall not in used,
            -free_in_hall[r.hall],
            hall_index[r.hall],
            position[r.rack],
        ),
    )


def _refuse(
    demand: Demand,
    tranche: Tranche,
    *,
    target: Decimal,
    held: Decimal,
    busy_by_rack: dict[str, list[Busy]],
    racks: Sequence[RackCapacity],
) -> None:
    fits = held  # everything free was taken
    holders = sorted(
        {
            f"{b.kind} {b.holder}".strip()
            for r in racks
            for b in busy_by_rack.get(r.rack, ())
            if b.overlaps(tranche.start, demand.end)
        }
    )
    model = f" of {demand.gpu_model}" if demand.gpu_model else ""
    reason = (
        f"from {tranche.start.isoformat()} to {demand.end.isoformat()} the site has free "
        f"racks{model} for only {demand.describe(fits)}"
    )
    if holders:
        reason += f"; the rest is held by {', '.join(holders[:5])}"
    raise InsufficientCapacity(
        f"cannot allocate {demand.describe(target)}: {reason}. The "
        f"largest amount that fits is {demand.describe(fits)}."
    )


def _spares(
    plan: AllocationPlan,
    racks: Sequence[RackCapacity],
    taken: dict[str, RackCapacity],
    busy_by_rack: dict[str, list[Busy]],
    spare_share: Decimal,
    *,
    unit: str,
) -> tuple[str, ...]:
    """Spare units of the models taken: racks in the halls taken, or (with whole halls as
    the unit) free halls anywhere on the site."""
    if spare_share <= 0 or not plan.steps:
        return ()
    wanted = math.ceil(len(taken) * spare_share)
    start = plan.steps[0].start
    halls = {r.hall for r in taken.values()}
    models = {r.gpu_model for r in taken.values()}
    spares = [
        r.rack
        for r in racks
        if r.rack not in taken
        and (unit == "hall" or r.hall in halls)
        and r.gpu_model in models
        and not any(b.overlaps(start, plan.end) for b in busy_by_rack.get(r.rack, ()))
    ]
    if len(spares) < wanted:
        where = "on the site" if unit == "hall" else f"in {', '.join(sorted(halls))}"
        raise InsufficientCapacity(
            f"{wanted} spare {unit}s ({spare_share:%} of {len(taken)}) are wanted {where} but "
            f"only {len(spares)} are free there; keep a smaller share of spare {unit}s with "
            f"the allocation (spare share) or free {unit}s there"
        )
    return tuple(spares[:wanted])
