"""The deal desk's arithmetic (exact, Decimal): the fee floor of a block of capacity, the
fee for a target margin, and "lease or keep" under a walk-away hazard (docs/RISK.md).

*Fee floor* of a month = energy (facility kWh at the site's tariff, the block drawing its
full facility power) + opex (per facility MW-year, a twelfth a month) + depreciation + the
value of own demand the lease displaces (GPU-hours at the shadow price). *Margin* of a fee
is ``(fee - floor) / fee``. *Lease or keep*: the present value of leasing (the fee less the
block's energy while the lease runs; after a walk-away the block returns to own use) against
keeping it for own use (the displaced GPU-hours at the shadow price less their energy),
months discounted at ``(1 + r)^-(m + 1)/12`` (paid at each month's end). Opex and
depreciation are paid either way and cancel out of the comparison.

The walk-away: the tenant gives notice at the start of month ``k`` with probability
``h (1 - h)^k`` (never, within the term: ``(1 - h)^M``); the lease runs ``notice_days``
calendar days on. There are only ``M + 1`` outcomes, so the expectation, P5 and P95 are
exact: no simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from neocloud.domain.economics.risk import check_discount_rate
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval, add_calendar_days
from neocloud.domain.kernel.money import Money

MONTHS_PER_YEAR = Decimal(12)
KWH_PER_MWH = Decimal(1000)
KW_PER_MW = Decimal(1000)


@dataclass(frozen=True, slots=True)
class FeeFloor:
    energy: Money
    opex: Money
    depreciation: Money
    displaced_own_use: Money

    @property
    def total(self) -> Money:
        return self.energy + self.opex + self.depreciation + self.displaced_own_use


def fee_floor(
    *,
    facility_kw: Decimal,
    hours: Decimal,
    price_per_mwh: Money,
    opex_per_mw_year: Money,
    depreciation: Money,
    displaced_gpus: Decimal,
    shadow_price_per_gpu_hour: Money,
) -> FeeFloor:
    """One month's floor, unrounded (round once, where it is shown)."""
    return FeeFloor(
        price_per_mwh * (facility_kw * hours / KWH_PER_MWH),
        opex_per_mw_year * (facility_kw / KW_PER_MW / MONTHS_PER_YEAR),
        depreciation,
        shadow_price_per_gpu_hour * (displaced_gpus * hours),
    )


def fee_for_margin(floor: Money, target_margin: Decimal) -> Money:
    """The fee whose margin over ``floor`` is ``target_margin`` (a share, 0 <= m < 1)."""
    if not Decimal(0) <= target_margin < 1:
        raise InvalidInput.single("target_margin", str(target_margin),
                                  "must be a share of the fee, at least 0 and below 1")  # fmt: skip
    return floor * (1 / (1 - target_margin))


def margin_of(fee: Money, floor: Money) -> Decimal:
    if fee.amount <= 0:
        raise InvalidInput.single("fee", str(fee.amount), "must be greater than 0")
    return (fee.amount - floor.amount) / fee.amount


def discount_factors(months: int, rate_per_year: Decimal) -> tuple[Decimal, ...]:
    """``(1 + r)^-(m + 1)/12`` for m = 0 .. months - 1."""
    rate = check_discount_rate(rate_per_year)
    return tuple((1 + rate) ** (Decimal(-(m + 1)) / MONTHS_PER_YEAR) for m in range(months))


@dataclass(frozen=True, slots=True)
class LeaseOrKeep:
    keep: Money  # present value of keeping the block for own use
    lease_expected: Money  # of leasing it, expected under the hazard
    lease_p5: Money
    lease_p95: Money
    p_no_notice: Decimal  # probability the lease runs its whole term

    @property
    def advantage(self) -> Money:
        """Expected present value of leasing over keeping (positive: lease)."""
        return self.lease_expected - self.keep


def running_shares(
    months: Sequence[Interval], notice_days: int, tz: str
) -> list[tuple[Decimal, ...]]:
    """For a notice at the start of month ``k`` (row ``k``; row ``M``: none), the share of
    each month the lease still runs."""
    ends = [add_calendar_days(month.start, notice_days, tz) for month in months]
    rows = [tuple(_share_before(m, end) for m in months) for end in ends]
    return [*rows, (Decimal(1),) * len(months)]


def _share_before(month: Interval, instant: datetime) -> Decimal:
    """The part of ``month`` before ``instant``: 0 to 1."""
    done = min(max(instant, month.start), month.end) - month.start
    return Decimal(done.total_seconds()) / Decimal(month.duration.total_seconds())


def lease_or_keep(
    *,
    lease_net: Sequence[Money],  # fee - the block's energy, each month the lease runs
    keep_net: Sequence[Money],  # own use at the shadow price - its energy, each month
    shares: Sequence[Sequence[Decimal]],  # running_shares
    hazard_per_month: Decimal,
    discount: Sequence[Decimal],
) -> LeaseOrKeep:
    if not Decimal(0) <= hazard_per_month <= 1:
        raise InvalidInput.single("hazard", str(hazard_per_month), "must be between 0 and 1")
    currency = keep_net[0].currency
    h, n = hazard_per_month, len(keep_net)
    months = list(zip(discount, lease_net, keep_net, strict=True))
    keep = sum((d * own.amount for d, _, own in months), Decimal(0))
    outcomes = []
    for k, row in enumerate(shares):
        p = _power(1 - h, n) if k == n else h * _power(1 - h, k)
        value = sum(
            (d * (s * lease.amount + (1 - s) * own.amount)
             for (d, lease, own), s in zip(months, row, strict=True)),
            Decimal(0),
        )  # fmt: skip
        outcomes.append((value, p))
    expected = sum((v * p for v, p in outcomes), Decimal(0))
    return LeaseOrKeep(
        Money(keep, currency),
        Money(expected, currency),
        Money(_quantile(outcomes, Decimal("0.05")), currency),
        Money(_quantile(outcomes, Decimal("0.95")), currency),
        _power(1 - h, n),
    )


def _power(base: Decimal, k: int) -> Decimal:
    """``base ** k`` for a whole ``k >= 0``, with ``0 ** 0 = 1`` (Decimal refuses it)."""
    out = Decimal(1)
    for _ in range(k):
        out *= base
    return out


def _quantile(outcomes: Sequence[tuple[Decimal, Decimal]], q: Decimal) -> Decimal:
    """The smallest value whose cumulative probability reaches ``q`` (inverted CDF)."""
    cumulative = Decimal(0)
    ordered = sorted(outcomes)
    for value, p in ordered[:-1]:
        cumulative += p
        if cumulative >= q:
            return value
    return ordered[-1][0]  # the largest: the rest fall short of q
