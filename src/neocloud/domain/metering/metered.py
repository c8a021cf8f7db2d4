"""What metering says of an agreement in a billing period: its units' availability, the
GPU-hours it held, the energy its nodes used, and why units were down.

Energy: the GPUs' own counters (board energy, mJ) are the measurement; IT energy is that
times the node's server overhead (CPU, memory, NICs, PSU losses: DOMAIN.md §2), facility
energy is IT x the site's PUE. Each figure is labelled with what it is. What the facility
energy costs at the site's tariff and emits at its grid's carbon intensity follow from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money
from neocloud.domain.metering.availability import Availability, Cause

MJ_PER_KWH = Decimal(3_600_000_000)
KWH = Decimal("0.001")  # energy to the watt-hour
KWH_PER_MWH = Decimal(1000)


def energy_cost(energy_kwh: Decimal, price_per_mwh: Money) -> Money:
    """What ``energy_kwh`` costs at ``price_per_mwh``, to the currency's minor unit."""
    return Money(energy_kwh * price_per_mwh.amount / KWH_PER_MWH, price_per_mwh.currency).rounded()


def carbon_kg(energy_kwh: Decimal, kg_per_mwh: Decimal) -> Decimal:
    """CO2 of ``energy_kwh`` at the grid's intensity, to the gram."""
    return (energy_kwh * kg_per_mwh / KWH_PER_MWH).quantize(KWH, ROUND_HALF_UP)


@dataclass(frozen=True)
class Usage:
    """GPU board energy and mean utilisation over what was held: energy from the GPUs'
    counters (mJ); where a row has no counter reading, board power x time instead
    (``power_fallback_mj``, flagged: an estimate, not a measurement)."""

    gpu_energy_mj: Decimal
    util_ratio: Decimal | None
    rows_read: int
    rows_without_energy: int
    power_fallback_mj: Decimal = Decimal(0)

    @property
    def total_mj(self) -> Decimal:
        return self.gpu_energy_mj + self.power_fallback_mj


HOUR = timedelta(hours=1)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def utc_hours_starting_in(period: Interval) -> int:
    """How many UTC hours start inside ``[start, end)`` (a node-hour belongs to the period
    its hour starts in; in a zone whose offset is whole hours that is every hour of it)."""
    return -((EPOCH - period.end) // HOUR) + ((EPOCH - period.start) // HOUR)


@dataclass(frozen=True)
class SiteEnergy:
    """A site's GPU board energy over a period, from the node-hour rollup: per node (mJ,
    the counters' increases; a minute without a counter reading adds nothing), and how many
    of the period's UTC hours (``hours``) have a row of at least one of the site's nodes
    (``hours_covered``)."""

    gpu_mj_by_node: Mapping[str, Decimal]
    hours_covered: int
    hours: int

    @property
    def covered(self) -> bool:
        """Telemetry for every hour of the period: only then is its energy metered."""
        return self.hours > 0 and self.hours_covered == self.hours

    def facility_kwh(self, overhead_of: Mapping[str, Decimal], pue: Decimal) -> Decimal:
        """Facility energy: each node's GPU energy x its GPU model's server overhead (IT
        energy), summed, x the site's PUE; to the watt-hour, rounded once."""
        it_mj = sum(
            (mj * overhead_of[node] for node, mj in sorted(self.gpu_mj_by_node.items())),
            Decimal(0),
        )
        return (it_mj / MJ_PER_KWH * pue).quantize(KWH, ROUND_HALF_UP)


@dataclass(frozen=True)
class DownRun:
    """A node's unit time down for one cause in the period: when first and last, how much."""

    node: str
    cause: Cause
    first: datetime
    last: datetime
    unit_s: Decimal


@dataclass(frozen=True)
class Metering:
    agreement: str
    period: str
    site: str
    availability: Availability
    usage: Usage
    server_overhead: Decimal
    pue: Decimal
    engine: str
    price_per_mwh: Money | None = None  # the site's electricity tariff
    grid_carbon_kg_per_mwh: Decimal | None = None

    @property
    def held_gpu_hours(self) -> Decimal:
        """GPU-hours of the nodes held in the period (every GPU, whatever the unit)."""
        return self.availability.plan.held_gpu_s / 3600

    @property
    def gpu_kwh(self) -> Decimal:
        return (self.usage.total_mj / MJ_PER_KWH).quantize(KWH, ROUND_HALF_UP)

    @property
    def power_fallback_kwh(self) -> Decimal:
        """Of the GPU energy, what came from board power where no counter was read."""
        return (self.usage.power_fallback_mj / MJ_PER_KWH).quantize(KWH, ROUND_HALF_UP)

    @property
    def it_kwh(self) -> Decimal:
        """IT energy: GPU energy x server overhead (an estimate of the whole node's draw)."""
        return (self.usage.total_mj / MJ_PER_KWH * self.server_overhead).quantize(
            KWH, ROUND_HALF_UP
        )

    @property
    def facility_kwh(self) -> Decimal:
        return (self.usage.total_mj / MJ_PER_KWH * self.server_overhead * self.pue).quantize(
            KWH, ROUND_HALF_UP
        )

    @property
    def energy_cost(self) -> Money | None:
        """The facility energy at the site's tariff."""
        if self.price_per_mwh is None:
            return None
        return energy_cost(self.facility_kwh, self.price_per_mwh)

    @property
    def carbon_kg(self) -> Decimal | None:
        """The facility energy's CO2 at the grid's carbon intensity."""
        if self.grid_carbon_kg_per_mwh is None:
            return None
        return carbon_kg(self.facility_kwh, self.grid_carbon_kg_per_mwh)
