"""Billing periods: calendar months in an agreement's billing time zone, as UTC intervals.

A period is ``[local midnight on the 1st, local midnight on the next 1st)`` converted to UTC,
so a month in which daylight saving time starts is an hour shorter than 31 x 24 h.
Proration is by seconds of that period (see ``billing.prorate``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval, check_year, local_midnight, zone

PERIOD_PATTERN = re.compile(r"(\d{4})-(0[1-9]|1[0-2])")


@dataclass(frozen=True, slots=True)
class BillingPeriod:
    year: int
    month: int
    timezone: str

    @classmethod
    def parse(cls, text: str, timezone: str, field: str = "period") -> BillingPeriod:
        match = PERIOD_PATTERN.fullmatch(text) if isinstance(text, str) else None
        if not match:
            raise InvalidInput.single(field, text, "must be a month written YYYY-MM")
        year, month = int(match[1]), int(match[2])
        check_year(year, field, text)
        return cls(year, month, timezone)

    @classmethod
    def containing(cls, instant: datetime, timezone: str) -> BillingPeriod:
        local = instant.astimezone(zone(timezone))
        return cls(local.year, local.month, timezone)

    @property
    def label(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def interval(self) -> Interval:
        return Interval(local_midnight(self.year, self.month, 1, self.timezone), self.next().start)

    @property
    def start(self) -> datetime:
        return local_midnight(self.year, self.month, 1, self.timezone)

    def next(self) -> BillingPeriod:
        year, month = (self.year + 1, 1) if self.month == 12 else (self.year, self.month + 1)
        return BillingPeriod(year, month, self.timezone)

    def __str__(self) -> str:
        return self.label


def periods_overlapping(interval: Interval, timezone: str) -> Iterator[BillingPeriod]:
    """Every billing period that shares at least one instant with ``interval``, in order."""
    period = BillingPeriod.containing(interval.start, timezone)
    while period.start < interval.end:
        yield period
        period = period.next()
