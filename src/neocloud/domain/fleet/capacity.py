"""Capacity math, both directions, always saying which power is meant.

    IT power       = GPUs x GPU board power x server overhead      (typical planning draw)
    facility power = IT power x PUE
    GPUs           = floor(IT power / IT power per GPU)

For a site, "IT power per GPU" is the blend of the site's actual mix (typical node IT power
summed over nodes, divided by GPUs), so MW <-> GPUs follows what is installed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from neocloud.domain.fleet.inventory import GpuModel, Site
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.quantities import W_PER_KW, Power, PowerBasis


def it_power_of_gpus(model: GpuModel, gpus: int) -> Power:
    """Typical IT power of ``gpus`` GPUs of ``model`` (board power x server overhead)."""
    return Power(model.it_w_per_gpu * gpus / W_PER_KW, PowerBasis.IT)


def gpus_in_power(power: Power, *, it_kw_per_gpu: Decimal, pue: Decimal) -> int:
    """Whole GPUs that ``power`` (IT or facility) supports at ``it_kw_per_gpu``."""
    if power.kw < 0:
        raise InvalidInput.single("power_kw", power.kw, "must not be negative")
    it_kw = power.to_it(pue).kw
    return int((it_kw / it_kw_per_gpu).to_integral_value(rounding=ROUND_FLOOR))


@dataclass(frozen=True, slots=True)
class ModelTotals:
    """Aggregate of one GPU model within one hall."""

    gpu_model: str
    nodes: int
    gpus: int
    typical_it_kw: Decimal
    rated_it_kw: Decimal


@dataclass(frozen=True, slots=True)
class HallTotals:
    hall: str
    racks: int
    rack_budget_kw: Decimal
    models: tuple[ModelTotals, ...]

    @property
    def nodes(self) -> int:
        return sum(m.nodes for m in self.models)

    @property
    def gpus(self) -> int:
        return sum(m.gpus for m in self.models)

    @property
    def typical_it_kw(self) -> Decimal:
        return sum((m.typical_it_kw for m in self.models), Decimal(0))

    @property
    def it_power(self) -> Power:
        """Typical IT draw of the hall's nodes."""
        return Power(self.typical_it_kw, PowerBasis.IT)


@dataclass(frozen=True, slots=True)
class SiteSummary:
    """What a site holds and draws. ``site`` carries the site's header; halls come as totals."""

    site: Site
    halls: tuple[HallTotals, ...]

    @property
    def racks(self) -> int:
        return sum(h.racks for h in self.halls)

    @property
    def nodes(self) -> int:
        return sum(h.nodes for h in self.halls)

    @property
    def gpus(self) -> int:
        return sum(h.gpus for h in self.halls)

    def gpus_by_model(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for hall in self.halls:
            for m in hall.models:
                out[m.gpu_model] = out.get(m.gpu_model, 0) + m.gpus
        return dict(sorted(out.items()))

    @property
    def it_power(self) -> Power:
        """Typical IT draw of everything installed."""
        return Power(sum((h.typical_it_kw for h in self.halls), Decimal(0)), PowerBasis.IT)

    @property
    def facility_power(self) -> Power:
        """Typical facility draw of everything installed (IT x PUE)."""
        return self.it_power.to_facility(self.site.pue)

    @property
    def facility_headroom(self) -> Power:
        """Facility capacity not drawn by the installed fleet at typical load."""
        return self.site.facility_capacity - self.facility_power

    @property
    def it_kw_per_gpu(self) -> Decimal:
        """Blended typical IT power per GPU of the installed mix."""
        if not self.gpus:
            raise InvalidInput.single("site", self.site.name, "has no GPUs to derive a mix from")
        return self.it_power.kw / self.gpus


def hall_totals(site: Site) -> tuple[HallTotals, ...]:
    """Totals per hall and model computed from a fully loaded site."""
    result = []
    for hall in site.halls:
        acc: dict[str, list[Decimal]] = {}
        for rack in hall.racks:
            for node in rack.nodes:
                a = acc.setdefault(node.gpu_model, [Decimal(0)] * 4)
                a[0] += 1
                a[1] += node.gpu_count
                a[2] += node.typical_it_kw
                a[3] += node.rated_it_kw
        models = tuple(
            ModelTotals(name, int(a[0]), int(a[1]), a[2], a[3]) for name, a in sorted(acc.items())
        )
        budget = sum((r.power_budget_kw for r in hall.racks), Decimal(0))
        result.append(HallTotals(hall.name, len(hall.racks), budget, models))
    return tuple(result)


@dataclass(frozen=True, slots=True)
class Conversion:
    """One capacity figure in every unit a deal uses."""

    it_power: Power
    facility_power: Power
    gpus: int
    pue: Decimal
    it_kw_per_gpu: Decimal
    basis_note: str  # which mix or model the GPU figure assumes
    gpus_if_only: Mapping[str, int]  # the same power spent on a single model

    @property
    def facility_kw_per_gpu(self) -> Decimal:
        return self.it_kw_per_gpu * self.pue


def convert_power(
    power: Power,
    *,
    pue: Decimal,
    it_kw_per_gpu: Decimal,
    basis_note: str,
    models: Iterable[GpuModel] = (),
) -> Conversion:
    """MW (IT or facility) -> GPUs at the given per-GPU IT power."""
    only = {
        m.name: gpus_in_power(power, it_kw_per_gpu=m.it_w_per_gpu / W_PER_KW, pue=pue)
        for m in models
    }
    return Conversion(
        it_power=power.to_it(pue),
        facility_power=power.to_facility(pue),
        gpus=gpus_in_power(power, it_kw_per_gpu=it_kw_per_gpu, pue=pue),
        pue=pue,
        it_kw_per_gpu=it_kw_per_gpu,
        basis_note=basis_note,
        gpus_if_only=only,
    )


def convert_gpus(gpus: int, *, pue: Decimal, it_kw_per_gpu: Decimal, basis_note: str) -> Conversion:
    """GPUs -> IT and facility MW at the given per-GPU IT power."""
    if isinstance(gpus, bool) or not isinstance(gpus, int) or gpus < 0:
        raise InvalidInput.single("gpus", gpus, "must be a whole number of GPUs, 0 or more")
    it = Power(it_kw_per_gpu * gpus, PowerBasis.IT)
    return Conversion(it, it.to_facility(pue), gpus, pue, it_kw_per_gpu, basis_note, {})
