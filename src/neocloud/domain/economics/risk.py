"""Walk-away risk as plain data: the hazard file, what each agreement pays under a notice
given in each month, and the bands a simulation returns (docs/RISK.md).

The hazard is a probability per month that the tenant gives notice, if it has not yet. The
notice is taken as given at the start of the month (local midnight of the first day, in the
agreement's billing zone) and acts through the agreement's own clause
(``TerminationTerms.effective_at``): revenue runs to the effective instant, the termination
fee (if any) falls in that month, and the capacity returns to the pool then. Everything here
is exact (Decimal); the simulation adapter turns it into floats and its bands back into
Decimal rounded to the cent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from neocloud.domain.agreements.model import CapacityAgreement, Party
from neocloud.domain.billing.drafts import charges_between
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.kernel.documents import Reader, SourceDocument
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.names import NAME_RULE, is_name

FORMAT_VERSION = 1
DEFAULT_HAZARD_PER_MONTH = Decimal("0.01")  # our assumption: ~11 % a year
DEFAULT_ENERGY_VOLATILITY_PER_YEAR = Decimal("0.30")  # our assumption (power prices swing)
IDLE_DRAW_RATIO = Decimal("0.12")  # DOMAIN.md §2: an idle H200 draws ~82 W of ~690 W busy
MAX_PATHS = 10_000_000
MAX_MONTHS = 120


@dataclass(frozen=True, slots=True)
class Hazards:
    """Monthly notice probabilities and the energy price's volatility."""

    default_per_month: Decimal = DEFAULT_HAZARD_PER_MONTH
    per_agreement: Mapping[str, Decimal] | None = None
    energy_volatility_per_year: Decimal = DEFAULT_ENERGY_VOLATILITY_PER_YEAR
    source: str = "defaults"

    def of(self, key: str) -> Decimal:
        return (self.per_agreement or {}).get(key, self.default_per_month)


TOP = {"version", "default", "agreements", "energy"}


def parse_hazards(doc: SourceDocument) -> Hazards:
    """The hazard file (docs/RISK.md); InvalidInput listing every mistake, located."""
    r = Reader(doc)
    top = r.mapping((), doc.data, allowed=TOP, required={"version"})
    if top is None:
        r.raise_if_any()
    assert top is not None
    if top.get("version") not in (None, FORMAT_VERSION):
        r.problem(("version",), top["version"], f"unsupported format version; use {FORMAT_VERSION}")
    default = r.decimal((), top, "default", default=DEFAULT_HAZARD_PER_MONTH, minimum=0, maximum=1)
    per: dict[str, Decimal] = {}
    agreements = top.get("agreements")
    if agreements is not None and not isinstance(agreements, dict):
        r.problem(("agreements",), agreements, "must be a mapping of agreement key: hazard")
    named: dict[str, object] = agreements if isinstance(agreements, dict) else {}
    for key in named:
        if not is_name(key):
            r.problem(("agreements", str(key)), key, f"invalid name: {NAME_RULE}")
            continue
        h = r.decimal(("agreements",), named, key, minimum=0, maximum=1)
        if h is not None:
            per[str(key)] = h
    vol = DEFAULT_ENERGY_VOLATILITY_PER_YEAR
    energy = top.get("energy")
    if energy is not None:
        m = r.mapping(("energy",), energy, allowed={"volatility_per_year"})
        if m is not None:
            v = r.decimal(("energy",), m, "volatility_per_year", minimum=0, maximum=5)
            vol = vol if v is None else v
    r.raise_if_any()
    assert default is not None
    return Hazards(default, per, vol, doc.name)


def check_paths(paths: int, months: int) -> None:
    if isinstance(paths, bool) or not 1 <= paths <= MAX_PATHS:
        raise InvalidInput.single("paths", paths, f"must be between 1 and {MAX_PATHS:,}")
    if not 1 <= months <= MAX_MONTHS:
        raise InvalidInput.single("months", months, f"must be between 1 and {MAX_MONTHS}")


def check_discount_rate(rate: Decimal) -> Decimal:
    if not Decimal(0) <= rate <= 1:
        raise InvalidInput.single(
            "discount_rate", str(rate), "must be between 0 and 1 a year (e.g. 0.08); a "
            "negative rate would value later money above money now",
        )  # fmt: skip
    return rate


@dataclass(frozen=True, slots=True)
class Exposure:
    """One agreement over the horizon's months ``0..M-1``.

    ``revenue[m]``: the month's contracted charges; ``leased_kw[m]``: the facility kW it
    holds then (the ramp's share, prorated at the service's ends). For a notice given at
    the start of month ``k``: ``effective_month[k]`` is the month its effective instant
    falls in (``M``: after the horizon or the service's end: nothing lost), that month pays
    ``partial_revenue[k]`` (service before the instant, plus any termination fee) and holds
    its capacity for ``partial_share[k]`` of the month; later months pay and hold nothing.
    """

    key: str
    hazard_per_month: Decimal
    revenue: tuple[Decimal, ...]
    leased_kw: tuple[Decimal, ...]
    effective_month: tuple[int, ...]
    partial_revenue: tuple[Decimal, ...]
    partial_share: tuple[Decimal, ...]


def _fraction(window: Interval, part: Interval) -> Decimal:
    overlap = min(window.end, part.end) - max(window.start, part.start)
    return Decimal(max(overlap, timedelta(0)).total_seconds()) / Decimal(
        window.duration.total_seconds()
    )


def _charges(agreement: CapacityAgreement, start: datetime, end: datetime) -> Decimal:
    window = agreement.service_window
    lo, hi = max(start, window.start), min(end, window.end)
    if hi <= lo:
        return Decimal(0)
    return charges_between(agreement, Interval(lo, hi)).amount


def _share_at(agreement: CapacityAgreement, period: Interval) -> Decimal:
    """The ramp's capacity share for the period, times the part of it in service."""
    window = agreement.service_window
    inside = _fraction(period, window)
    if not inside:
        return Decimal(0)
    at = max(period.start, window.start)
    share = Decimal(0)
    for start, s in agreement.tranches():
        if start <= at:
            share = s
    return share * inside


def exposure(
    agreement: CapacityAgreement,
    months: Sequence[date],
    *,
    contracted_kw: Decimal,
    hazard_per_month: Decimal,
) -> Exposure:
    """``agreement`` over ``months`` (first days), ``contracted_kw`` its facility kW at full
    ramp. An agreement whose tenant may not give notice, or under notice already, takes no
    hazard: its schedule is what it is."""
    tz = agreement.terms.billing_timezone
    periods = [BillingPeriod(m.year, m.month, tz).interval for m in months]
    revenue = tuple(_charges(agreement, p.start, p.end) for p in periods)
    leased = tuple(contracted_kw * _share_at(agreement, p) for p in periods)
    walkable = agreement.notice is None and Party.TENANT in (
        agreement.terms.termination.may_give_notice
    )
    fee = agreement.terms.termination.fee.amount
    horizon_end = min(periods[-1].end, agreement.service_end)
    eff_month, partial, share = [], [], []
    for p in periods:
        effective = agreement.notice_effective_at(p.start)
        if effective >= horizon_end:  # after the horizon or the service: nothing lost
            eff_month.append(len(periods))
            partial.append(Decimal(0))
            share.append(Decimal(0))
            continue
        # horizon_end <= the last period's end, so some period ends after ``effective``
        j = next(i for i, q in enumerate(periods) if q.end > effective)
        q = periods[j]
        eff_month.append(j)
        partial.append(_charges(agreement, q.start, effective) + fee)
        share.append(
            _fraction(q, Interval(q.start, effective)) if effective > q.start else Decimal(0)
        )
    return Exposure(
        agreement.terms.key,
        hazard_per_month if walkable else Decimal(0),
        revenue,
        leased,
        tuple(eff_month),
        tuple(partial),
        tuple(share),
    )


@dataclass(frozen=True, slots=True)
class OwnDemand:
    """Own demand of one GPU model by month (the forecast's mean and sigma, in GPUs)."""

    gpu_model: str
    facility_kw_per_gpu: Decimal
    mean_gpus: tuple[float, ...]
    sigma_gpus: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class RiskInputs:
    """Everything a simulation needs; money in Decimal, in ``currency``."""

    currency: str
    months: tuple[date, ...]
    hours: tuple[Decimal, ...]  # hours in each month (the site's zone)
    site_kw: Decimal  # facility capacity
    agreements: tuple[Exposure, ...]
    own_demand: tuple[OwnDemand, ...]
    energy_price_per_kwh: Decimal
    energy_volatility_per_year: Decimal
    idle_draw_ratio: Decimal
    fixed_cost: tuple[Decimal, ...]  # opex + depreciation each month

    def contracted_revenue(self) -> tuple[Decimal, ...]:
        return tuple(
            sum((a.revenue[m] for a in self.agreements), Decimal(0))
            for m in range(len(self.months))
        )


@dataclass(frozen=True, slots=True)
class Band:
    """P5, P50, P95 of a figure over the paths, its mean and the mean's standard error."""

    p5: Decimal
    p50: Decimal
    p95: Decimal
    mean: Decimal
    stderr: Decimal


@dataclass(frozen=True, slots=True)
class RiskMonth:
    month: date
    contracted_revenue: Decimal
    revenue: Band
    margin: Band
    idle_mw: Band  # facility MW neither leased nor used by own demand


@dataclass(frozen=True, slots=True)
class RiskResult:
    paths: int
    seed: int
    currency: str
    months: tuple[RiskMonth, ...]
    total_revenue: Band
    total_margin: Band
