"""Fleet inventory: sites, halls, racks, nodes and the GPU model catalog.

Power figures on nodes and racks are IT power (what servers draw); a site's capacity is
facility power (IT x PUE), as utilities and deals quote it. Units are in field names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import ROUND_HALF_UP, Decimal

from neocloud.domain.kernel.money import Money, plain
from neocloud.domain.kernel.quantities import W_PER_KW, Power, PowerBasis

MILLIWATT_KW = Decimal("0.000001")


def to_milliwatts(kw: Decimal) -> Decimal:
    """A derived power in kW rounded half up to the milliwatt (6 places: what the store
    keeps exactly); 10.2 kW x 1/7 is 1.457143 kW."""
    return plain(kw.quantize(MILLIWATT_KW, rounding=ROUND_HALF_UP))


DEFAULT_SERVER_OVERHEAD = Decimal("1.3")
"""Server power (CPU, memory, NICs, PSU losses) as a multiple of GPU power: DOMAIN.md §2."""


@dataclass(frozen=True, slots=True)
class GpuModel:
    """A GPU model as it is installed: the GPU's board power and the node that carries it.

    ``it_w_per_gpu = gpu_tdp_w x server_overhead`` is the planning IT draw per GPU
    (DOMAIN.md §2); ``node_rated_it_kw`` is the node's maximum input (its PSUs).
    """

    name: str
    gpu_tdp_w: Decimal
    gpus_per_node: int
    node_rated_it_kw: Decimal
    server_overhead: Decimal = DEFAULT_SERVER_OVERHEAD
    node_kind: str = "hgx-8"
    nodes_per_rack: int = 8

    @property
    def it_w_per_gpu(self) -> Decimal:
        return self.gpu_tdp_w * self.server_overhead

    def node_typical_it_kw(self, gpu_count: int) -> Decimal:
        """Derived planning draw, to the milliwatt (what the store keeps)."""
        return to_milliwatts(self.it_w_per_gpu * gpu_count / W_PER_KW)

    def node_rated_kw_for(self, gpu_count: int) -> Decimal:
        """The rated input scaled to a partly populated node, to the milliwatt."""
        if gpu_count == self.gpus_per_node:
            return self.node_rated_it_kw
        return to_milliwatts(self.node_rated_it_kw * gpu_count / self.gpus_per_node)

    def with_overrides(self, **changes: object) -> GpuModel:
        return replace(self, **changes)  # type: ignore[arg-type]


# Defaults from DOMAIN.md §2; every figure can be overridden per fleet file and per site.
# GB200/GB300 "nodes" are NVL72 compute trays (4 GPUs; 18 trays make a 72-GPU rack).
# GB300 overhead 1.15 is derived: ~117 kW compute per 72-GPU rack / (72 x 1,400 W).
BUILTIN_GPU_MODELS: Mapping[str, GpuModel] = {
    m.name: m
    for m in (
        GpuModel("H100", Decimal(700), 8, Decimal("10.2")),
        GpuModel("H200", Decimal(700), 8, Decimal("10.2")),
        GpuModel("B200", Decimal(1000), 8, Decimal("14.3")),
        GpuModel("GB200", Decimal(1200), 4, Decimal("6.7"), node_kind="nvl72-tray",
                 nodes_per_rack=18),
        GpuModel("GB300", Decimal(1400), 4, Decimal("6.7"), Decimal("1.15"),
                 node_kind="nvl72-tray", nodes_per_rack=18),
    )
}  # fmt: skip


@dataclass(frozen=True, slots=True)
class Node:
    """A server: ``gpu_count`` GPUs of ``gpu_model``; IT power rated (max) and typical."""

    name: str
    gpu_model: str
    gpu_count: int
    rated_it_kw: Decimal
    typical_it_kw: Decimal


@dataclass(frozen=True, slots=True)
class Rack:
    name: str
    power_budget_kw: Decimal  # IT power the rack's feeds and cooling are built for
    nodes: tuple[Node, ...]

    @property
    def typical_it_kw(self) -> Decimal:
        return sum((n.typical_it_kw for n in self.nodes), Decimal(0))

    @property
    def gpus(self) -> int:
        return sum(n.gpu_count for n in self.nodes)


@dataclass(frozen=True, slots=True)
class Hall:
    name: str
    racks: tuple[Rack, ...]


@dataclass(frozen=True, slots=True)
class Location:
    city: str = ""
    region: str = ""
    country: str = ""

    def __str__(self) -> str:
        return ", ".join(p for p in (self.city, self.region, self.country) if p)


@dataclass(frozen=True, slots=True)
class Site:
    """A data-center site. ``facility_capacity_kw`` is facility power (grid + storage)."""

    name: str
    display_name: str
    location: Location
    timezone: str
    facility_capacity_kw: Decimal
    pue: Decimal
    electricity_price_per_mwh: Money
    grid_carbon_kg_per_mwh: Decimal
    halls: tuple[Hall, ...] = ()
    gpu_models: Mapping[str, GpuModel] = field(default_factory=dict)  # site overrides only

    @property
    def facility_capacity(self) -> Power:
        return Power(self.facility_capacity_kw, PowerBasis.FACILITY)

    def catalog(self) -> dict[str, GpuModel]:
        """The GPU models in force at this site: built-in defaults with this site's overrides."""
        return {**BUILTIN_GPU_MODELS, **self.gpu_models}

    def racks(self) -> Iterator[tuple[Hall, Rack]]:
        for hall in self.halls:
            for rack in hall.racks:
                yield hall, rack

    def nodes(self) -> Iterator[tuple[Hall, Rack, Node]]:
        for hall, rack in self.racks():
            for node in rack.nodes:
                yield hall, rack, node
