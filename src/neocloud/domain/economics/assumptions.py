"""Economic assumptions: what a site costs to run and own, and what own use is worth.

Defaults rest on DOMAIN.md §6; every figure can be overridden in a YAML file
(``docs/ECONOMICS.md``, "Assumptions file") whose fields replace the defaults one by one.
A file with mistakes is refused whole, every mistake located (``file:line``).

Month arithmetic is in equal twelfths of a year: opex per MW-year and straight-line
depreciation accrue ``1/12`` of a year's figure each calendar month, whatever its length.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TypeVar

from neocloud.domain.kernel.documents import Path, Reader, SourceDocument
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import Money
from neocloud.domain.kernel.names import model_problem

FORMAT_VERSION = 1
MONTHS_PER_YEAR = 12
MAX_LIFE_YEARS = 100
MIN_LIFE_YEARS = Decimal("0.5")  # a shorter "life" is a typo, not an asset
MONTH_PATTERN = re.compile(r"([0-9]{4})-([0-9]{2})")  # ASCII digits (\d takes any script's)


@dataclass(frozen=True, slots=True)
class AssetClass:
    """Capex and straight-line life of one class of asset.

    ``basis`` is what the capex is counted per: ``facility_mw`` (shell, power and cooling,
    per MW of facility capacity) or ``gpu`` (servers of ``gpu_model``, all-in per GPU).
    """

    name: str
    basis: str
    capex: Money
    life_years: Decimal
    gpu_model: str | None = None
    in_service: tuple[int, int] | None = None  # (year, month) depreciation starts; None: in
    # service, and within its life, in every month asked about

    def monthly(self, quantity: Decimal | int) -> Money:
        """Depreciation of ``quantity`` units (MW or GPUs) for one month of its life."""
        return self.capex * (Decimal(quantity) / (self.life_years * MONTHS_PER_YEAR))

    def in_month(self, quantity: Decimal | int, year: int, month: int) -> Money:
        """Depreciation in calendar month ``year-month``: :meth:`monthly` within the life
        that starts at ``in_service``, nothing before it or after it, and the fraction left
        in a last month that the life ends within (a life of 4.5 years ends mid-month)."""
        if self.in_service is None:
            return self.monthly(quantity)
        age = (year - self.in_service[0]) * MONTHS_PER_YEAR + month - self.in_service[1]
        left = self.life_years * MONTHS_PER_YEAR - age
        if age < 0 or left <= 0:
            return Money.zero(self.capex.currency)
        return self.monthly(quantity) * min(left, Decimal(1))


@dataclass(frozen=True, slots=True)
class Assumptions:
    currency: str
    opex_per_mw_year: Money  # other opex (staff, maintenance, insurance) per facility MW
    facility: AssetClass
    gpu_servers: Mapping[str, AssetClass]  # by GPU model
    shadow_price_per_gpu_hour: Mapping[str, Money]  # what an hour of own use is worth
    discount_rate_per_year: Decimal
    sources: tuple[str, ...] = field(default=())  # files read over the defaults

    def server_class(self, gpu_model: str) -> AssetClass:
        try:
            return self.gpu_servers[gpu_model]
        except KeyError:
            raise InvalidInput.single(
                "gpu_servers", gpu_model,
                "has no capex and life; add it under gpu_servers in the assumptions file",
            ) from None  # fmt: skip

    def shadow_price(self, gpu_model: str) -> Money:
        try:
            return self.shadow_price_per_gpu_hour[gpu_model]
        except KeyError:
            raise InvalidInput.single(
                "shadow_price_per_gpu_hour", gpu_model,
                "has no shadow price; add it to the assumptions file",
            ) from None  # fmt: skip

    def opex_month(self, facility_mw: Decimal) -> Money:
        return self.opex_per_mw_year * (Decimal(facility_mw) / MONTHS_PER_YEAR)


DEFAULTS = Assumptions(
    currency="USD",
    # DOMAIN.md §6: "about USD 1 M per MW per year (one operator's figure)".
    opex_per_mw_year=Money(Decimal(1_000_000), "USD"),
    # DOMAIN.md §6: USD 10-13 M per MW for shell, power and cooling (the midpoint). The life
    # is our assumption (DOMAIN.md gives none): 20 years for buildings and power plant.
    facility=AssetClass("facility", "facility_mw", Money(Decimal(11_500_000), "USD"), Decimal(20)),
    gpu_servers={
        # DOMAIN.md §6: USD 47-52 k per H100 all-in (50 k); lives 4-6 years (5, the middle).
        # H200: no public figure; taken as H100's. GB200: USD 3 M per NVL72 rack / 72 GPUs.
        # B200, GB300: no public figure; taken as GB200's.
        # (Module-level data, not functions: the tests guard every default directly.)
        model: AssetClass(
            f"{model} servers", "gpu", Money(Decimal(capex), "USD"), Decimal(5), model
        )
        for model, capex in (
            ("H100", "50000"),
            ("H200", "50000"),
            ("B200", "41666.67"),
            ("GB200", "41666.67"),
            ("GB300", "41666.67"),
        )
    },
    # DOMAIN.md §6: H100 1-year reserved USD 1.70-2.35 (2.00); H200 USD 2.5-7 (its low end,
    # 2.50). Blackwell: no public figure; our assumption USD 3.50.
    shadow_price_per_gpu_hour={
        model: Money(Decimal(price), "USD")
        for model, price in (
            ("H100", "2.00"),
            ("H200", "2.50"),
            ("B200", "3.50"),
            ("GB200", "3.50"),
            ("GB300", "3.50"),
        )
    },
    discount_rate_per_year=Decimal("0.08"),  # our assumption: a cost of capital of 8 %/yr
)

TOP = {"version", "currency", "opex_per_mw_year", "facility", "gpu_servers",
       "shadow_price_per_gpu_hour", "discount_rate_per_year"}  # fmt: skip


def parse_assumptions(doc: SourceDocument, base: Assumptions = DEFAULTS) -> Assumptions:
    """``base`` with the fields ``doc`` gives replaced; InvalidInput listing every mistake."""
    r = Reader(doc)
    top = r.mapping((), doc.data, allowed=TOP, required={"version"})
    if top is None:
        r.raise_if_any()
    assert top is not None
    version = top.get("version")
    if version is not None and (type(version) is not int or version != FORMAT_VERSION):
        r.problem(("version",), top["version"], f"unsupported format version; use {FORMAT_VERSION}")
    for key in sorted(TOP - {"version"}):
        if key in top and top[key] is None:
            r.problem((key,), None, "has no value; leave the field out to keep the default")
    cur = r.currency((), top, "currency") or base.currency  # a bad code is reported
    if cur != base.currency:
        base = _in_currency(r, base, cur, top)
    out = replace(base, currency=cur, sources=(*base.sources, doc.name))
    opex = _money(r, ("opex_per_mw_year",), top.get("opex_per_mw_year"), cur)
    if opex is not None:
        out = replace(out, opex_per_mw_year=opex)
    facility = _asset(r, ("facility",), top.get("facility"), base.facility, cur)
    if facility is not None:
        out = replace(out, facility=facility)
    servers = _by_model(r, "gpu_servers", top.get("gpu_servers"), out.gpu_servers,
                        lambda path, spec, known: _asset(r, path, spec, known, cur),
                        shape="{capex_per_gpu, life_years}",
                        empty="give capex_per_gpu and/or life_years")  # fmt: skip
    prices = _by_model(r, "shadow_price_per_gpu_hour", top.get("shadow_price_per_gpu_hour"),
                       out.shadow_price_per_gpu_hour,
                       lambda path, price, _: _money(r, path, price, cur),
                       shape="price per GPU-hour", empty="give a price per GPU-hour")  # fmt: skip
    out = replace(out, gpu_servers=servers, shadow_price_per_gpu_hour=prices)
    rate = r.decimal((), top, "discount_rate_per_year", minimum=0, maximum=1)
    if rate is not None:
        out = replace(out, discount_rate_per_year=rate)
    r.raise_if_any()
    return out


def _in_currency(r: Reader, base: Assumptions, cur: str, top: Mapping[str, object]) -> Assumptions:
    """A file in another currency must give every money figure itself: the defaults are USD."""
    for key in ("opex_per_mw_year", "facility", "gpu_servers", "shadow_price_per_gpu_hour"):
        if key not in top:
            r.problem((key,), None, f"is required when currency is {cur} (the defaults are "
                      f"in {base.currency})")  # fmt: skip
    return replace(base, gpu_servers={}, shadow_price_per_gpu_hour={})


def _money(r: Reader, path: Path, value: object, currency: str) -> Money | None:
    if value is None:
        return None
    key = str(path[-1])
    amount = r.decimal(path[:-1], {key: value}, key, minimum=0, places=2)
    return None if amount is None else Money(amount, currency)


def _asset(
    r: Reader, path: Path, value: object, base: AssetClass | None, currency: str
) -> AssetClass | None:
    if value is None:
        return None
    capex_key = "capex_per_mw" if path == ("facility",) else "capex_per_gpu"
    allowed = {capex_key, "life_years", "in_service"}
    required = allowed - {"in_service"} if base is None else set()
    m = r.mapping(path, value, allowed=allowed, required=required)
    if m is None:
        return None
    for key in sorted(allowed - required):  # a required one written empty: "is required"
        if key in m and m[key] is None:
            r.problem((*path, key), None, "has no value; leave the field out to keep the default")
    capex = r.decimal(path, m, capex_key, minimum=0, places=2)
    life = r.decimal(path, m, "life_years", minimum=MIN_LIFE_YEARS, maximum=MAX_LIFE_YEARS)
    start = _month(r, (*path, "in_service"), m.get("in_service"))
    # a value refused above is a problem reported: the file is refused whole, whatever is
    # returned here
    if base is None:
        if capex is None or life is None:
            return None  # reported: a new class needs both
        model = str(path[1])  # path: ("gpu_servers", model)
        return AssetClass(f"{model} servers", "gpu", Money(capex, currency), life, model, start)
    return replace(
        base,
        capex=base.capex if capex is None else Money(capex, currency),
        life_years=base.life_years if life is None else life,
        in_service=base.in_service if start is None else start,
    )


def _month(r: Reader, path: Path, value: object) -> tuple[int, int] | None:
    """``YYYY-MM`` (a YAML date such as 2024-03-01 is refused: say the month)."""
    if value is None:
        return None
    match = MONTH_PATTERN.fullmatch(value) if isinstance(value, str) else None
    if match:
        year, month = int(match[1]), int(match[2])
        if 1 <= month <= 12 and 1900 <= year <= 2199:
            return year, month
    r.problem(path, value, "must be a month written YYYY-MM (1900-01 to 2199-12), in quotes")
    return None


T = TypeVar("T")


def _by_model(
    r: Reader,
    key: str,
    value: object,
    known: Mapping[str, T],
    read: Callable[[Path, object, T | None], T | None],
    *,
    shape: str,
    empty: str,
) -> dict[str, T]:
    """``known`` with the entries of the GPU-model mapping at ``key`` read over it, each
    model name checked and each entry read by ``read(path, entry, known one or None)``."""
    out = dict(known)
    if value is None:
        return out
    if not isinstance(value, dict):
        r.problem((key,), value, f"must be a mapping of GPU model: {shape}")
        return out
    for model, entry in value.items():
        path: Path = (key, str(model))
        problem = model_problem(model, key)
        if problem is not None:
            r.problem(path, model, problem.message)
        elif entry is None:
            r.problem(path, None, f"has no value: {empty}")
        elif (got := read(path, entry, out.get(str(model)))) is not None:
            out[str(model)] = got
    return out
