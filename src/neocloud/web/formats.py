"""How the dashboard writes figures for people: the one set of Jinja2 filters.

- ``money``: ``USD 1,250,000,000.00``: the currency's code, thousands separators, exactly
  the currency's minor-unit places (two for USD), rounded half up from the Decimal; never
  through float.
- ``exact``: the exact decimal text ``data-*`` attributes carry (``0.985``).
- ``count`` and ``gpu_hours``: thousands separators (GPU-hours to at most two places).
- ``mw``: power in MW with its unit, the unit people plan sites in: three places under
  10 MW (a small site's ``0.173 MW``), two above (``300.00 MW``).
- ``percent``: a ratio as a percentage with two places and a space: ``99.32 %``.
- ``instant`` and ``local_date``: an aware instant in a named IANA zone (the site's or the
  agreement's billing zone), the zone's abbreviation shown; ``instant`` gives a ``<time>``
  element whose ``datetime``, ``title`` and ``data-at`` keep the exact ISO 8601 UTC text
  for machines and tests.

Charts (``charts.py``) use the same functions for their labels.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from jinja2 import Environment
from markupsafe import Markup, escape

from neocloud.domain.kernel.money import MINOR_UNITS, ROUNDING, Money
from neocloud.domain.kernel.quantities import Power

KW_PER_MW = Decimal(1000)


def _grouped(value: Decimal, places: int) -> str:
    """``value`` rounded half up to ``places`` and written with thousands separators (the
    rounding is done here: ``format`` alone would round half to even)."""
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    if q.is_zero():
        q = abs(q)  # no "-0.00"
    return f"{q:,f}"


def exact(value: Decimal) -> str:
    """A decimal as plain text without exponent or trailing zeros (47616, 0.985): the form
    ``data-*`` attributes carry."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def money(value: Money | Decimal, currency: str | None = None) -> str:
    """``USD -10,000.00``: the code, the sign, then the amount to the minor unit."""
    if isinstance(value, Money):
        amount, code = value.amount, value.currency
    else:
        if currency is None:
            raise TypeError("money(Decimal) needs the currency")
        amount, code = value, currency
    if not isinstance(amount, Decimal):
        raise TypeError(f"money amounts are Decimal, not {type(amount).__name__}")
    places = MINOR_UNITS[code]
    q = amount.quantize(Decimal(1).scaleb(-places), rounding=ROUNDING)
    return f"{code} {_grouped(q, places)}"


def count(value: int | Decimal) -> str:
    """A whole count (GPUs, racks) with thousands separators: ``220,000``."""
    return f"{value:,}" if isinstance(value, int) else _grouped(Decimal(value), 0)


def number(value: Decimal | int, places: int = 2) -> str:
    """At most ``places`` decimals, trailing zeros dropped, thousands separators:
    ``47,616``, ``1,234.5``."""
    text = _grouped(Decimal(value), places)
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def gpu_hours(value: Decimal | int) -> str:
    return number(value, 2)


def mw(value: Power | Decimal) -> str:
    """Power in MW with the unit; ``value`` is a Power or Decimal kW."""
    kw = value.kw if isinstance(value, Power) else value
    megawatts = kw / KW_PER_MW
    return f"{_grouped(megawatts, 3 if abs(megawatts) < 10 else 2)} MW"


def percent(ratio: Decimal | None, places: int = 2) -> str:
    """``Decimal("0.9932")`` -> ``99.32 %``; None -> an em dash."""
    if ratio is None:
        return "—"
    return f"{_grouped(ratio * 100, places)} %"


def _local(at: datetime, timezone: str) -> datetime:
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at.isoformat()}: instants are aware UTC")
    return at.astimezone(ZoneInfo(timezone))


def utc_text(at: datetime) -> str:
    """The exact instant as ISO 8601 in UTC (``2027-05-30T05:00:00+00:00``)."""
    return at.astimezone(UTC).isoformat()


def local_text(at: datetime, timezone: str) -> str:
    """``2027-05-30 00:00 CDT``: local date and time in ``timezone``, the zone abbreviated."""
    local = _local(at, timezone)
    seconds = f":{local.second:02d}" if local.second else ""
    return f"{local:%Y-%m-%d %H:%M}{seconds} {local.tzname()}"


def local_date(at: datetime, timezone: str) -> str:
    return _local(at, timezone).date().isoformat()


def instant(at: datetime, timezone: str) -> Markup:
    """A ``<time>`` element: local text for people, ISO UTC in its attributes."""
    exact = escape(utc_text(at))
    title = escape(f"{utc_text(at)} ({timezone})")
    return Markup(
        f'<time datetime="{exact}" data-at="{exact}" title="{title}">'
        f"{escape(local_text(at, timezone))}</time>"
    )


FILTERS = {
    "exact": exact,
    "money": money,
    "count": count,
    "number": number,
    "gpu_hours": gpu_hours,
    "mw": mw,
    "percent": percent,
    "instant": instant,
    "local_date": local_date,
    "utc": utc_text,
}


def install(env: Environment) -> None:
    """Register every filter of this module on ``env`` (the dashboard's one environment)."""
    env.filters.update(FILTERS)
