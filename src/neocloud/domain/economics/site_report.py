"""What a site earns and costs, calendar month by calendar month (in the site's time zone).

Revenue is summed over the site's signed agreements in both readings of
``billing.recognition`` (straight-line over the term, with its balance; and the
notice-period reading, as billed), each labelled. Costs:

* **energy**: facility kWh x the site's tariff (to the cent), and its CO2 at the grid's
  intensity (to the gram). The kWh are *metered* when telemetry covers the month, else the
  *planned* draw (the site's facility capacity for every hour of the month), and
  ``energy_basis`` says which (``metered`` | ``planned``): a month is never a mix;
* **other opex**: the assumptions' figure per MW-year on the site's facility capacity, a
  twelfth a month;
* **depreciation**: straight-line per asset class, a twelfth of a year a month: the facility
  per MW of facility capacity, the servers per installed GPU of each model.

``margin`` = recognized revenue (the straight-line reading) - energy - opex - depreciation;
``margin_notice_reading`` the same with the notice-period reading's revenue. Own use is
valued apart (internal GPU-hours x the shadow price of their model), never added to margin.
Every money figure of a month is rounded to the cent once, where it is made; totals are
sums of rounded figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.billing.recognition import RevenueMonth
from neocloud.domain.economics.assumptions import Assumptions
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money
from neocloud.domain.metering.metered import carbon_kg, energy_cost

KW_PER_MW = Decimal(1000)
SECONDS_PER_HOUR = Decimal(3600)
USES = ("leased", "spare", "maintenance", "internal", "idle", "unreported")


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What the report needs of a site: capacity is facility power."""

    name: str
    timezone: str
    facility_capacity_kw: Decimal
    electricity_price_per_mwh: Money
    grid_carbon_kg_per_mwh: Decimal
    gpus_by_model: Mapping[str, int]  # installed

    @property
    def facility_mw(self) -> Decimal:
        return self.facility_capacity_kw / KW_PER_MW


@dataclass(frozen=True, slots=True)
class Use:
    """GPU-hours of one GPU model in a month, by use (``site_use``'s split)."""

    installed: Decimal = Decimal(0)
    leased: Decimal = Decimal(0)
    spare: Decimal = Decimal(0)
    maintenance: Decimal = Decimal(0)
    internal: Decimal = Decimal(0)
    idle: Decimal = Decimal(0)
    unreported: Decimal = Decimal(0)

    def __add__(self, other: Use) -> Use:
        return Use(*(getattr(self, f) + getattr(other, f) for f in ("installed", *USES)))


@dataclass(frozen=True, slots=True)
class MonthInputs:
    """One month's facts from outside the terms: metered facility kWh (None: no telemetry
    for the month) and the GPU-hours by use of each model."""

    period: BillingPeriod
    metered_facility_kwh: Decimal | None = None
    use_by_model: Mapping[str, Use] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SiteMonth:
    period: BillingPeriod
    agreements: int  # signed agreements with service in the month
    billed: Money
    recognized: Money  # straight-line over each term
    balance: Money  # cumulative recognized - billed at the month's end: + asset, - deferred
    recognized_notice: Money  # the notice-period reading: as billed
    headline_backlog: Money
    enforceable_backlog: Money
    energy_basis: str  # metered | planned
    facility_kwh: Decimal
    energy_cost: Money
    carbon_kg: Decimal
    opex: Money
    depreciation_facility: Money
    depreciation_servers: Mapping[str, Money]  # by GPU model
    internal_value: Money  # internal GPU-hours x shadow price (not in margin)
    use: Use  # all models together

    @property
    def depreciation(self) -> Money:
        return sum(self.depreciation_servers.values(), self.depreciation_facility)

    @property
    def costs(self) -> Money:
        return self.energy_cost + self.opex + self.depreciation

    @property
    def margin(self) -> Money:
        """Straight-line recognized revenue less energy, opex and depreciation."""
        return self.recognized - self.costs

    @property
    def margin_notice(self) -> Money:
        """The notice-period reading's revenue less the same costs."""
        return self.recognized_notice - self.costs


def planned_facility_kwh(site: SiteFacts, period: BillingPeriod) -> Decimal:
    """The site's facility capacity drawn for every hour of the local month (a month in
    which daylight saving time starts has 743 hours, one in which it ends 745)."""
    duration = period.interval.duration
    hours = Decimal(duration.days * 86_400 + duration.seconds) / SECONDS_PER_HOUR
    return site.facility_capacity_kw * hours


def site_month(
    site: SiteFacts,
    assumptions: Assumptions,
    inputs: MonthInputs,
    revenue: Sequence[RevenueMonth],
) -> SiteMonth:
    """The month of ``inputs.period``; ``revenue``: each agreement's month of that label."""
    cur = assumptions.currency
    if site.electricity_price_per_mwh.currency != cur:
        raise InvalidInput.single(
            "currency", cur, f"differs from site {site.name}'s tariff currency "
            f"{site.electricity_price_per_mwh.currency}; give figures in that currency",
        )  # fmt: skip
    period = inputs.period
    kwh = inputs.metered_facility_kwh
    basis = "planned" if kwh is None else "metered"
    if kwh is None:
        kwh = planned_facility_kwh(site, period)
    zero = Money.zero(cur)

    def total(name: str) -> Money:
        return sum((getattr(m, name) for m in revenue), zero)

    use = sum(inputs.use_by_model.values(), Use())
    internal = sum(
        ((assumptions.shadow_price(model) * u.internal).rounded()
         for model, u in sorted(inputs.use_by_model.items()) if u.internal),
        zero,
    )  # fmt: skip
    return SiteMonth(
        period=period,
        agreements=len(revenue),
        billed=total("billed"),
        recognized=total("recognized"),
        balance=total("balance"),
        recognized_notice=total("recognized_notice"),
        headline_backlog=total("headline_backlog"),
        enforceable_backlog=total("enforceable_backlog"),
        energy_basis=basis,
        facility_kwh=kwh,
        energy_cost=energy_cost(kwh, site.electricity_price_per_mwh),
        carbon_kg=carbon_kg(kwh, site.grid_carbon_kg_per_mwh),
        opex=assumptions.opex_month(site.facility_mw).rounded(),
        depreciation_facility=assumptions.facility.monthly(site.facility_mw).rounded(),
        depreciation_servers={
            model: assumptions.server_class(model).monthly(gpus).rounded()
            for model, gpus in sorted(site.gpus_by_model.items())
        },
        internal_value=internal,
        use=use,
    )


def months_between(first: BillingPeriod, last: BillingPeriod) -> list[BillingPeriod]:
    """Every month from ``first`` to ``last`` inclusive; InvalidInput naming --from if
    ``first`` comes after ``last``."""
    if first.start > last.start:
        raise InvalidInput.single("--from", first.label, f"is after --to {last.label}")
    out, period = [], first
    while period.start <= last.start:
        out.append(period)
        period = period.next()
    return out
