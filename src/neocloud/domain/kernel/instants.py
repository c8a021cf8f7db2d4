"""Instants and intervals. Every instant is timezone-aware UTC; intervals are half-open.

``Interval(start, end)`` contains ``start`` and not ``end``: consecutive intervals
``[a, b)`` and ``[b, c)`` share no instant and leave no gap. Services read the time from a
:class:`Clock`, so tests fix or step it instead of sleeping.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from neocloud.domain.kernel.errors import InvalidInput


def require_utc(value: object, field: str) -> datetime:
    """Return ``value`` as an aware UTC datetime; naive or non-datetime input is refused."""
    if not isinstance(value, datetime):
        raise InvalidInput.single(field, value, "must be a date and time with a UTC offset")
    if value.tzinfo is None or value.utcoffset() is None:
        raise InvalidInput.single(
            field,
            value.isoformat(),
            "naive date-time (no UTC offset); write it with an offset, e.g. 2026-05-01T05:00:00Z",
        )
    return value.astimezone(UTC)


def parse_instant(text: str, field: str) -> datetime:
    """An ISO 8601 date-time with a UTC offset (``2026-09-15T12:00:00Z``), as aware UTC."""
    try:
        parsed = datetime.fromisoformat(text.strip().replace(" ", "T"))
    except ValueError:
        raise InvalidInput.single(
            field, text, "not an ISO 8601 date-time, e.g. 2026-09-15T12:00:00Z"
        ) from None
    return require_utc(parsed, field)


def zone(name: str, field: str = "billing_timezone") -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidInput.single(
            field, name, "not an IANA time zone (e.g. America/Chicago)"
        ) from None


def local_midnight(year: int, month: int, day: int, tz: str) -> datetime:
    """Midnight at the start of a local date, as an aware UTC instant."""
    return datetime(year, month, day, tzinfo=zone(tz)).astimezone(UTC)


def add_months(instant: datetime, months: int, timezone: str = "UTC") -> datetime:
    """The same local day and time ``months`` later (the 31st becomes the month's last day)."""
    local = instant.astimezone(zone(timezone))
    years, month0 = divmod(local.month - 1 + months, 12)
    year, month = local.year + years, month0 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    return local.replace(year=year, month=month, day=day).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class Interval:
    """Half-open interval ``[start, end)`` of aware UTC instants; ``start < end``."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_utc(self.start, "start"))
        object.__setattr__(self, "end", require_utc(self.end, "end"))
        if self.end <= self.start:
            raise InvalidInput.single("end", self.end.isoformat(), "must be after start")

    @property
    def duration(self) -> timedelta:
        return self.end - self.start

    def contains(self, instant: datetime) -> bool:
        return self.start <= instant < self.end

    def overlaps(self, other: Interval) -> bool:
        return self.start < other.end and other.start < self.end

    def intersection(self, other: Interval) -> Interval | None:
        start, end = max(self.start, other.start), min(self.end, other.end)
        return Interval(start, end) if start < end else None


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock that stands still until told to move; for tests and reproducible demos."""

    instant: datetime

    def __post_init__(self) -> None:
        self.instant = require_utc(self.instant, "instant")

    def now(self) -> datetime:
        return self.instant

    def advance(self, by: timedelta) -> None:
        self.instant += by
