"""A site's GPUs hour by hour: leased (held by an agreement), spare (kept for one),
maintenance, and the rest, the operator's own pool, split by telemetry into internal (busy:
its GPUs' mean utilisation reached a threshold), idle (reporting, not busy) and unreported.

Every hour adds up: installed = leased + spare + maintenance + internal + idle + unreported.
The allocation history decides the first three to the microsecond; the node-hour rollup
judges the pool (docs/METERING.md).
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval

US = 1_000_000
HOUR_US = 3600 * US
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
HELD_KINDS = ("leased", "spare", "maintenance")  # holder kinds: agreement, spare, maintenance
KIND_OF = {"agreement": "leased", "spare": "spare", "maintenance": "maintenance"}


@dataclass(frozen=True, slots=True)
class SiteHour:
    """GPU-hours of one UTC hour by use (exact: GPU-microseconds / 3.6e9)."""

    hour: datetime
    installed: Decimal
    leased: Decimal
    spare: Decimal
    maintenance: Decimal
    internal: Decimal
    idle: Decimal
    unreported: Decimal

    @property
    def pool(self) -> Decimal:
        return self.internal + self.idle + self.unreported


def us(instant: datetime) -> int:
    delta = instant - EPOCH
    return (delta.days * 86_400 + delta.seconds) * US + delta.microseconds


def hours_of(period: Interval) -> Interval:
    """The period itself, refused unless it starts and ends on a UTC hour."""
    for name, instant in (("from", period.start), ("to", period.end)):
        if us(instant) % HOUR_US:
            raise InvalidInput.single(name, instant.isoformat(), "must be on the hour (UTC)")
    return period


def split_by_hour(
    period: Interval,
    nodes: Sequence[tuple[str, int]],
    holdings: Sequence[tuple[str, str, datetime, datetime | None]],
    pool_use: Mapping[int, tuple[int, int]],
) -> list[SiteHour]:
    """``nodes``: (name, GPUs) installed all period; ``holdings``: (node, holder kind,
    start, end); ``pool_use``: per hour (epoch µs), busy and idle GPU-µs of the pool."""
    start, count = us(hours_of(period).start), (us(period.end) - us(period.start)) // HOUR_US
    gpus, end = dict(nodes), start + count * HOUR_US
    held = {kind: Hours(start, count) for kind in HELD_KINDS}
    for node, holder, lo, hi in holdings:
        held[KIND_OF[holder]].add(gpus[node], max(us(lo), start), min(us(hi) if hi else end, end))
    by_kind = {kind: hours.totals() for kind, hours in held.items()}
    installed = sum(gpus.values()) * HOUR_US
    out = []
    for i in range(count):
        t0 = start + i * HOUR_US
        busy, idle = pool_use.get(t0, (0, 0))
        taken = sum(by_kind[k][i] for k in HELD_KINDS)
        figures = [installed, *(by_kind[k][i] for k in HELD_KINDS), busy, idle,
                   installed - taken - busy - idle]  # fmt: skip
        out.append(SiteHour(EPOCH + timedelta(microseconds=t0),
                            *(Decimal(f) / HOUR_US for f in figures)))  # fmt: skip
    return out


class Hours:
    """GPU-µs per hour of ``count`` hours from ``start``, added interval by interval: the
    cut hours at each end exactly, the whole hours between by a difference array."""

    def __init__(self, start: int, count: int) -> None:
        self.start, self.cut, self.whole = start, [0] * count, [0] * count

    def add(self, gpus: int, lo: int, hi: int) -> None:
        if lo >= hi:
            return
        first, last = (lo - self.start) // HOUR_US, (hi - 1 - self.start) // HOUR_US
        if first == last:
            self.cut[first] += gpus * (hi - lo)
            return
        self.cut[first] += gpus * (self.start + (first + 1) * HOUR_US - lo)
        self.cut[last] += gpus * (hi - self.start - last * HOUR_US)
        self.whole[first + 1] += gpus * HOUR_US
        self.whole[last] -= gpus * HOUR_US

    def totals(self) -> list[int]:
        return list(map(operator.add, self.cut, itertools.accumulate(self.whole)))
