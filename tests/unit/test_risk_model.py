"""Walk-away risk, the exact part: the hazard file, and what a notice given in each month
does to an agreement (effective dates worked by hand from the calendar)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from neocloud.domain.economics.assumptions import parse_assumptions
from neocloud.domain.economics.risk import (
    DEFAULT_ENERGY_VOLATILITY_PER_YEAR,
    Hazards,
    check_discount_rate,
    check_paths,
    exposure,
    parse_hazards,
)
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import InvalidInput
from tests.factories import signed_agreement

MONTHS_2027 = tuple(date(2027, m, 1) for m in range(1, 13))


def test_hazard_file_read_with_defaults() -> None:
    doc = SourceDocument("h.yaml", {"version": 1, "default": Decimal("0.02"),
                                    "agreements": {"deal-1": Decimal("0.05")}})  # fmt: skip
    h = parse_hazards(doc)
    assert (h.of("deal-1"), h.of("other")) == (Decimal("0.05"), Decimal("0.02"))
    assert h.energy_volatility_per_year == DEFAULT_ENERGY_VOLATILITY_PER_YEAR
    assert parse_hazards(SourceDocument("h.yaml", {"version": 1, "default": 0})).of("x") == 0


def test_hazard_outside_0_1_is_refused_with_every_mistake_located() -> None:
    data = {"version": 1, "default": Decimal("-0.1"),
            "agreements": {"deal-1": Decimal("1.5"), "deal-2": "often"},
            "energy": {"volatility_per_year": Decimal("-1"), "drift": 1}}  # fmt: skip
    lines: dict[tuple[str | int, ...], int] = {
        ("default",): 2, ("agreements", "deal-1"): 4, ("agreements", "deal-2"): 5,
        ("energy", "volatility_per_year"): 7, ("energy", "drift"): 8,
    }  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        parse_hazards(SourceDocument("h.yaml", data, lines))
    found = {(p.field, str(p.value), p.location): p.message for p in caught.value.problems}
    assert found[("default", "-0.1", "h.yaml:2")] == "must be at least 0"
    assert found[("agreements.deal-1", "1.5", "h.yaml:4")] == "must be at most 1"
    assert ("agreements.deal-2", "often", "h.yaml:5") in found
    assert found[("energy.volatility_per_year", "-1", "h.yaml:7")] == "must be at least 0"
    assert "unknown field" in found[("energy.drift", "1", "h.yaml:8")]
    assert len(found) == 5


def test_negative_discount_rate_is_refused() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_discount_rate(Decimal("-0.01"))
    problem = caught.value.problems[0]
    assert (problem.field, problem.value) == ("discount_rate", "-0.01")
    assert "negative" in problem.message
    doc = SourceDocument("a.yaml", {"version": 1, "discount_rate_per_year": Decimal("-0.05")},
                         {("discount_rate_per_year",): 3})  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        parse_assumptions(doc)
    assert caught.value.problems[0].location == "a.yaml:3"
    with pytest.raises(InvalidInput):
        check_paths(0, 36)


def test_a_90_day_notice_given_each_month_start_by_hand() -> None:
    """USD 1,000,000.00 a month for 2027 in Chicago, 90 calendar days' notice."""
    deal = signed_agreement()
    ex = exposure(deal, MONTHS_2027, contracted_kw=Decimal(10000), hazard_per_month=Decimal("0.1"))
    assert ex.revenue == (Decimal("1000000.00"),) * 12
    assert ex.leased_kw == (Decimal(10000),) * 12
    # 1 Jan + 90 days = 1 Apr (31 + 28 + 31): nothing of April is owed.
    zero = Decimal(0)
    assert (ex.effective_month[0], ex.partial_revenue[0], ex.partial_share[0]) == (3, zero, zero)
    # 1 Feb + 90 days = 2 May (28 + 31 + 30 = 89 days to 1 May): one day of May's 31.
    assert ex.effective_month[1] == 4
    assert ex.partial_revenue[1] == Decimal("32258.06")  # 1,000,000 / 31
    assert ex.partial_share[1] == Decimal(1) / 31
    # 1 Mar + 90 days = 30 May (31 + 30 = 61 to 1 May): 29 days of May, in the same month.
    assert (ex.effective_month[2], ex.partial_revenue[2]) == (4, Decimal("935483.87"))
    # 1 Oct + 90 days = 30 Dec: 29 days of December; from 1 Nov on, past the term's end.
    assert ex.effective_month[9] == 11
    assert ex.partial_revenue[9] == Decimal("935483.87")  # 1,000,000 x 29 / 31
    assert ex.effective_month[10:] == (12, 12)


def test_no_hazard_where_the_tenant_may_not_give_notice() -> None:
    deal = signed_agreement(termination={"notice_days": 90, "may_give_notice": ["operator"]})
    ex = exposure(deal, MONTHS_2027, contracted_kw=Decimal(1), hazard_per_month=Decimal("0.5"))
    assert ex.hazard_per_month == 0
    assert Hazards(per_agreement={"a": Decimal(1)}).of("a") == 1
