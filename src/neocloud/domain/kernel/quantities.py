"""Physical quantities with the unit in the name: power (kW), energy (kWh), GPU time.

Every power or energy figure says whether it is IT power (what the servers draw) or
facility power (IT x PUE: what the site draws from the grid, cooling and losses included).
MW appear only at input and display: ``Power.from_mw`` and ``Power.mw``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import overload

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import to_decimal

KW_PER_MW = Decimal(1000)
W_PER_KW = Decimal(1000)
SECONDS_PER_HOUR = Decimal(3600)


class PowerBasis(enum.StrEnum):
    IT = "it"
    FACILITY = "facility"


MAX_GPUS = 10_000_000
MAX_MW = 100_000
"""The most GPUs or MW any one figure may name: far beyond any site (the reference site is
~220,000 GPUs and 300 MW), small enough that no product of them overflows what is stored."""


def check_gpus(value: object, field: str = "gpus") -> int:
    """A number of GPUs: a whole number from 1 to :data:`MAX_GPUS`."""
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_GPUS:
        raise InvalidInput.single(field, value, f"must be a whole number from 1 to {MAX_GPUS:,}")
    return value


def check_mw(value: object, field: str = "mw") -> Decimal:
    """Power in MW: more than 0, at most :data:`MAX_MW`, to the watt (6 places)."""
    mw = to_decimal(value, field)
    if not 0 < mw <= MAX_MW:
        raise InvalidInput.single(field, value, f"must be more than 0 and at most {MAX_MW:,}")
    if mw != mw.quantize(Decimal("0.000001")):
        raise InvalidInput.single(field, value, "has more than 6 decimal places (1 W)")
    return mw


def check_pue(value: object, field: str = "pue") -> Decimal:
    """A PUE is facility power / IT power, so never below 1."""
    pue = to_decimal(value, field)
    if pue < 1:
        raise InvalidInput.single(field, value, "PUE is facility/IT power and cannot be below 1")
    if pue > 5:
        raise InvalidInput.single(field, value, "PUE above 5 is not a plausible data center")
    return pue


def _hours(duration: timedelta) -> Decimal:
    micros = (duration.days * 86_400 + duration.seconds) * 1_000_000 + duration.microseconds
    return Decimal(micros) / Decimal(1_000_000) / SECONDS_PER_HOUR


@dataclass(frozen=True, slots=True)
class Power:
    kw: Decimal
    basis: PowerBasis

    def __post_init__(self) -> None:
        if not isinstance(self.kw, Decimal):
            raise InvalidInput.single("power_kw", self.kw, "power must be Decimal kW")

    @classmethod
    def from_mw(cls, mw: object, basis: PowerBasis, field: str = "power_mw") -> Power:
        return cls(to_decimal(mw, field) * KW_PER_MW, basis)

    @classmethod
    def from_w(cls, w: object, basis: PowerBasis, field: str = "power_w") -> Power:
        return cls(to_decimal(w, field) / W_PER_KW, basis)

    @classmethod
    def zero(cls, basis: PowerBasis) -> Power:
        return cls(Decimal(0), basis)

    @property
    def mw(self) -> Decimal:
        return self.kw / KW_PER_MW

    def to_facility(self, pue: Decimal) -> Power:
        if self.basis is PowerBasis.FACILITY:
            return self
        return Power(self.kw * pue, PowerBasis.FACILITY)

    def to_it(self, pue: Decimal) -> Power:
        if self.basis is PowerBasis.IT:
            return self
        return Power(self.kw / pue, PowerBasis.IT)

    def _same(self, other: Power) -> None:
        if other.basis is not self.basis:
            raise InvalidInput.single(
                "basis", other.basis.value, f"cannot combine {self.basis.value} power with it"
            )

    def __add__(self, other: Power) -> Power:
        self._same(other)
        return Power(self.kw + other.kw, self.basis)

    def __sub__(self, other: Power) -> Power:
        self._same(other)
        return Power(self.kw - other.kw, self.basis)

    @overload
    def __mul__(self, other: timedelta) -> Energy: ...
    @overload
    def __mul__(self, other: Decimal | int) -> Power: ...
    def __mul__(self, other: Decimal | int | timedelta) -> Power | Energy:
        """``Power * timedelta -> Energy``; ``Power * factor -> Power``."""
        if isinstance(other, timedelta):
            return self.over(other)
        return self.scaled(other)

    def scaled(self, factor: Decimal | int) -> Power:
        return Power(self.kw * factor, self.basis)

    def over(self, duration: timedelta) -> Energy:
        """Energy drawn at this power for ``duration`` (kW x h = kWh)."""
        return Energy(self.kw * _hours(duration), self.basis)

    def __lt__(self, other: Power) -> bool:
        self._same(other)
        return self.kw < other.kw

    def __le__(self, other: Power) -> bool:
        self._same(other)
        return self.kw <= other.kw

    def __str__(self) -> str:
        return f"{self.mw:,.3f} MW {self.basis.value.upper()}"


@dataclass(frozen=True, slots=True)
class Energy:
    kwh: Decimal
    basis: PowerBasis

    @property
    def mwh(self) -> Decimal:
        return self.kwh / KW_PER_MW

    def __add__(self, other: Energy) -> Energy:
        if other.basis is not self.basis:
            raise InvalidInput.single("basis", other.basis.value, "cannot add IT and facility")
        return Energy(self.kwh + other.kwh, self.basis)


@dataclass(frozen=True, slots=True)
class GpuHours:
    value: Decimal

    @classmethod
    def of(cls, gpus: int, duration: timedelta) -> GpuHours:
        return cls(Decimal(gpus) * _hours(duration))

    def __add__(self, other: GpuHours) -> GpuHours:
        return GpuHours(self.value + other.value)
