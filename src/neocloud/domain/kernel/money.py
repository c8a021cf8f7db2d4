"""Money: an exact Decimal amount in an ISO 4217 currency. Never a float.

Amounts keep full precision while computing; rounding happens at one point (an invoice
line) with :data:`ROUNDING`, to the currency's minor unit.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from neocloud.domain.kernel.errors import InvalidInput

ROUNDING = ROUND_HALF_UP
"""The one rounding mode for money (commercial rounding, half away from zero)."""

# ISO 4217 code -> number of minor-unit digits. Kept to currencies a data-center deal is
# plausibly written in; extend as needed.
MINOR_UNITS: dict[str, int] = {
    "USD": 2, "EUR": 2, "GBP": 2, "CHF": 2, "CAD": 2, "AUD": 2, "NZD": 2, "SEK": 2,
    "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "CNY": 2, "HKD": 2, "SGD": 2, "INR": 2,
    "AED": 2, "SAR": 2, "ILS": 2, "BRL": 2, "MXN": 2, "ZAR": 2, "TWD": 2, "MYR": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3,
}  # fmt: skip


NUMBER_TEXT = re.compile(r"[-+]?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?")
LARGEST = Decimal("9e12")
"""The largest amount or quantity neocloud takes: the store keeps exact numbers as integer
millionths in 64 bits (ExactDecimal, up to about 9.2e12); USD 45 B is 4.5e10."""
MICRO_PLACES = 6
"""The decimal places the store keeps (millionths)."""


def decimal_places(value: Decimal) -> int:
    """Digits after the decimal point that carry a value (``1.50`` has 1, ``2E+3`` none)."""
    _, digits, exponent = value.as_tuple()  # exactly as written: no context rounding
    if not isinstance(exponent, int) or exponent >= 0:
        return 0
    zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -exponent - zeros)


def number_text(value: Decimal | int) -> str:
    """A number as people write it: ``9000000000000`` -> ``9,000,000,000,000``, never
    ``9E+12``."""
    return f"{value:,}" if isinstance(value, int) else f"{plain(Decimal(value)):,f}"


def check_currency(code: object, field: str = "currency") -> str:
    """Return ``code`` if it is a known ISO 4217 currency, else raise InvalidInput."""
    if not isinstance(code, str) or code not in MINOR_UNITS:
        raise InvalidInput.single(field, code, "not a known ISO 4217 currency code (e.g. USD)")
    return code


def to_decimal(value: object, field: str) -> Decimal:
    """Exact conversion for amounts and quantities: Decimal, int or a numeric string.

    Floats are refused: ``0.1`` is not one tenth, and a float near money is a bug. Text
    must be the number alone in ASCII digits (Python's Decimal would also read ``1_000``,
    `` 12 `` and Arabic-Indic digits).
    """
    if isinstance(value, bool | float):
        raise InvalidInput.single(
            field, value, "must be exact (a Decimal, an integer or a string such as '67.90')"
        )
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, str) and NUMBER_TEXT.fullmatch(value):
        try:
            result = Decimal(value)
        except ArithmeticError:  # InvalidOperation, Overflow: an exponent past any Decimal
            raise InvalidInput.single(field, value, "is not a number") from None
    else:
        raise InvalidInput.single(
            field, value, "is not a number (write it in ASCII digits, e.g. 1250000.00)"
        )
    if not result.is_finite():
        raise InvalidInput.single(field, value, "must be a finite number")
    if result.copy_abs() >= LARGEST:  # exact, whatever the exponent (abs() may overflow)
        raise InvalidInput.single(field, value, f"must be less than {number_text(LARGEST)}")
    return result


def plain(value: Decimal) -> Decimal:
    """The same number without trailing zeros or an exponent (``7.280000`` -> ``7.28``)."""
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def amount_text(amount: Decimal, currency: str) -> str:
    """An exact amount as text with at least the currency's minor-unit digits, never
    rounded: ``625000000`` -> ``"625000000.00"``, ``67702110.1`` -> ``"67702110.10"``,
    ``0.123456`` -> ``"0.123456"``. How money is written in JSON and CSV."""
    exponent = amount.as_tuple().exponent
    digits = -exponent if isinstance(exponent, int) else 0  # not an int: NaN or infinite
    return f"{amount:.{max(MINOR_UNITS[currency], digits)}f}"


@dataclass(frozen=True, slots=True, order=False)
class Money:
    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise InvalidInput.single("amount", self.amount, "money amounts must be Decimal")
        if not self.amount.is_finite():
            raise InvalidInput.single("amount", self.amount, "must be a finite number")
        check_currency(self.currency)

    @classmethod
    def of(cls, amount: object, currency: str, field: str = "amount") -> Money:
        return cls(to_decimal(amount, field), check_currency(currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        return cls(Decimal(0), currency)

    @property
    def minor_unit(self) -> Decimal:
        return Decimal(1).scaleb(-MINOR_UNITS[self.currency])

    def rounded(self) -> Money:
        """This amount rounded to the currency's minor unit with :data:`ROUNDING`."""
        return Money(self.amount.quantize(self.minor_unit, rounding=ROUNDING), self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise InvalidInput.single(
                "currency", other.currency, f"cannot combine with {self.currency}"
            )

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: Decimal | int) -> Money:
        if isinstance(factor, bool) or not isinstance(factor, Decimal | int):
            raise InvalidInput.single("factor", factor, "money is multiplied by Decimal or int")
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    @property
    def text(self) -> str:
        """The exact amount for JSON and CSV (see ``amount_text``)."""
        return amount_text(self.amount, self.currency)

    def __str__(self) -> str:
        return f"{self.currency} {self.rounded().amount:,.{MINOR_UNITS[self.currency]}f}"
