"""Column types that keep the house rules on every engine.

* :class:`ExactDecimal` stores a Decimal as an integer count of micro-units (BIGINT), so
  SQLite (whose NUMERIC is a float) and PostgreSQL give back exactly what was written; a
  value that would need rounding is refused, never rounded silently.
* :class:`UTCDateTime` accepts only aware datetimes, stores UTC, and returns aware UTC
  datetimes on both engines (SQLite would otherwise hand back naive ones).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect
from sqlalchemy.types import TypeDecorator

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import require_utc
from neocloud.domain.kernel.money import plain

MICRO_DIGITS = 6
_BIGINT_MAX = 2**63 - 1


class ExactDecimal(TypeDecorator[Decimal]):
    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, Decimal | int):
            raise InvalidInput.single("value", value, "exact amounts are stored from Decimal")
        micros = Decimal(value).scaleb(MICRO_DIGITS)
        if micros != micros.to_integral_value():
            raise InvalidInput.single(
                "value", value, f"has more than {MICRO_DIGITS} decimal places; refusing to round"
            )
        if abs(micros) > _BIGINT_MAX:
            raise InvalidInput.single("value", value, "is too large to store exactly")
        return int(micros)

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return plain(Decimal(value).scaleb(-MICRO_DIGITS))


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        aware = require_utc(value, "timestamp")
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
