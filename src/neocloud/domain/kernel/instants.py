"""Instants and intervals. Every instant is timezone-aware UTC; intervals are half-open.

``Interval(start, end)`` contains ``start`` and not ``end``: consecutive intervals
``[a, b)`` and ``[b, c)`` share no instant and leave no gap. Services read the time from a
:class:`Clock`, so tests fix or step it instead of sleeping.

Contracts count in calendar days and months of a time zone, not in blocks of 24 hours:
:func:`add_calendar_days` keeps the local wall-clock time across a change of daylight
saving time. A wall-clock time that does not exist on the target day (the hour skipped when
clocks go forward) is read as if the clocks had not moved yet, so 02:30 becomes 03:30
daylight time; one that exists twice (the hour repeated when clocks go back) is its first
occurrence. A bare date (:class:`datetime.date`) given where an instant is expected means
local midnight at the start of that day in the zone that applies (:func:`resolve`).
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from neocloud.domain.kernel.errors import InvalidInput

FIRST_YEAR, LAST_YEAR = 2000, 2199
"""The years an instant or date given to neocloud may fall in (files, options, NEOCLOUD_NOW).
A contract, a notice or a measurement outside them is a typo, and keeping within them means
no date arithmetic (90 days' notice, the month after a term's end, any zone's offset) can
leave what a datetime can hold."""
EARLIEST = datetime(FIRST_YEAR, 1, 1, tzinfo=UTC)
LATEST = datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC)
RANGE_TEXT = f"must be in the years {FIRST_YEAR} to {LAST_YEAR}"


def within_range(instant: datetime, field: str) -> datetime:
    """``instant`` (aware) if it lies in the years neocloud takes, else InvalidInput."""
    if not EARLIEST <= instant < LATEST:
        raise InvalidInput.single(field, instant.isoformat(), RANGE_TEXT)
    return instant


def check_year(year: int, field: str, value: object) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise InvalidInput.single(field, value, RANGE_TEXT)


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
        parsed = datetime.fromisoformat(text)  # a space may stand for the T
    except ValueError:
        raise InvalidInput.single(
            field, text, "not an ISO 8601 date-time, e.g. 2026-09-15T12:00:00Z"
        ) from None
    check_year(parsed.year, field, text)
    return within_range(require_utc(parsed, field), field)


Moment = datetime | date
"""An aware instant, or a bare local date that means midnight where it applies."""


def parse_moment(text: str, field: str) -> Moment:
    """``2026-09-15`` (a date) or an ISO 8601 date-time with an offset (aware UTC)."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            check_year(day.year, field, text)
            return day
        parsed = datetime.fromisoformat(text)  # a space may stand for the T
    except ValueError:
        raise InvalidInput.single(
            field, text, "not a date (2026-09-15) or an ISO 8601 date-time with an offset"
        ) from None
    check_year(parsed.year, field, text)
    return within_range(require_utc(parsed, field), field)


def resolve(moment: Moment, tz: str, field: str) -> datetime:
    """An instant as aware UTC; a bare date is local midnight starting that day in ``tz``."""
    if isinstance(moment, datetime):
        return within_range(require_utc(moment, field), field)
    if isinstance(moment, date):
        check_year(moment.year, field, moment.isoformat())
        return local_midnight(moment.year, moment.month, moment.day, tz)
    raise InvalidInput.single(field, moment, "must be a date or a date and time with an offset")


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


def add_calendar_days(instant: datetime, days: int, tz: str) -> datetime:
    """The same local wall-clock time ``days`` calendar days later in ``tz`` (see module)."""
    local = require_utc(instant, "instant").astimezone(zone(tz))
    target = local.date() + timedelta(days=days)
    return datetime.combine(target, local.timetz().replace(tzinfo=None), zone(tz)).astimezone(UTC)


def end_of_local_day(instant: datetime, tz: str) -> datetime:
    """Local midnight that ends the day ``instant`` falls on in ``tz``."""
    day = require_utc(instant, "instant").astimezone(zone(tz)).date() + timedelta(days=1)
    return local_midnight(day.year, day.month, day.day, tz)


def end_of_local_month(instant: datetime, tz: str) -> datetime:
    """Local midnight on the 1st of the month after the one ``instant`` falls in, in ``tz``."""
    local = require_utc(instant, "instant").astimezone(zone(tz))
    year, month = (local.year + 1, 1) if local.month == 12 else (local.year, local.month + 1)
    return local_midnight(year, month, 1, tz)


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
