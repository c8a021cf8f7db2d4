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
    RiskInputs,
    check_discount_rate,
    check_paths,
    exposure,
    parse_hazards,
)
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.names import NAME_RULE
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


def problems_of(
    data: object, lines: dict[tuple[str | int, ...], int] | None = None
) -> list[tuple[str, object, str, str]]:
    """Every problem (field, value, message, location), in the order of their lines."""
    with pytest.raises(InvalidInput) as caught:
        parse_hazards(SourceDocument("h.yaml", data, lines or {}))
    return [(p.field, p.value, p.message, p.location) for p in caught.value.problems]


def test_hazard_file_defaults_bounds_and_source() -> None:
    """No default: 1 % a month; the energy block alone, or without volatility: 0.30 a year.
    The bounds are inclusive: a hazard of 0 or 1, a volatility of 5."""
    only = parse_hazards(SourceDocument("mine.yaml", {"version": 1}))
    assert (only.of("x"), only.energy_volatility_per_year, only.source) == (
        Decimal("0.01"),
        Decimal("0.30"),
        "mine.yaml",
    )
    empty_energy = parse_hazards(SourceDocument("h.yaml", {"version": 1, "energy": {}}))
    assert empty_energy.energy_volatility_per_year == Decimal("0.30")
    edges = parse_hazards(
        SourceDocument(
            "h.yaml",
            {
                "version": 1,
                "default": 1,
                "agreements": {"deal-1": 0, "deal-2": Decimal("0.5")},
                "energy": {"volatility_per_year": 5},
            },
        )
    )
    assert (edges.of("other"), edges.of("deal-1"), edges.of("deal-2")) == (
        Decimal(1),
        Decimal(0),
        Decimal("0.5"),
    )
    assert edges.energy_volatility_per_year == 5
    vol = parse_hazards(
        SourceDocument("h.yaml", {"version": 1, "energy": {"volatility_per_year": "0.45"}})
    )
    assert vol.energy_volatility_per_year == Decimal("0.45")


def test_hazard_file_refusals_word_for_word() -> None:
    assert problems_of(None) == [("file", "h.yaml", "is empty", "h.yaml")]
    assert problems_of({"default": Decimal("0.1")}, {("default",): 2}) == [
        ("version", None, "is required", "h.yaml")
    ]
    assert problems_of({"version": 2}, {("version",): 1}) == [
        ("version", 2, "unsupported format version; use 1", "h.yaml:1")
    ]
    lines: dict[tuple[str | int, ...], int] = {
        ("default",): 2,
        ("agreements",): 3,
        ("energy",): 4,
        ("energy", "volatility_per_year"): 5,
        ("hazard",): 6,
    }
    assert problems_of(
        {
            "version": 1,
            "default": Decimal("1.5"),
            "agreements": ["deal-1"],
            "energy": {"volatility_per_year": Decimal("5.5")},
            "hazard": 1,
        },
        lines,
    ) == [
        ("default", Decimal("1.5"), "must be at most 1", "h.yaml:2"),
        ("agreements", ["deal-1"], "must be a mapping of agreement key: hazard", "h.yaml:3"),
        ("energy.volatility_per_year", Decimal("5.5"), "must be at most 5", "h.yaml:5"),
        (
            "hazard",
            1,
            "unknown field; expected one of: agreements, default, energy, version",
            "h.yaml:6",
        ),
    ]
    # a key that is no name is reported and the keys after it are still read
    named: dict[tuple[str | int, ...], int] = {
        ("agreements", "Deal 1"): 3,
        ("agreements", "deal-2"): 4,
    }
    assert problems_of(
        {"version": 1, "agreements": {"Deal 1": Decimal("0.1"), "deal-2": Decimal("-0.2")}}, named
    ) == [
        ("agreements.Deal 1", "Deal 1", f"invalid name: {NAME_RULE}", "h.yaml:3"),
        ("agreements.deal-2", Decimal("-0.2"), "must be at least 0", "h.yaml:4"),
    ]
    assert problems_of({"version": 1, "energy": "calm"}, {("energy",): 2}) == [
        ("energy", "calm", "must be a mapping of field: value", "h.yaml:2")
    ]


def test_paths_months_and_discount_rate_bounds() -> None:
    """1 to 10,000,000 paths (not a bool), 1 to 120 months, a rate of 0 to 1 a year: the
    ends are allowed, one past them refused word for word."""
    for paths, months in ((1, 1), (10_000_000, 120)):
        check_paths(paths, months)
    for paths in (0, 10_000_001, True):
        with pytest.raises(InvalidInput) as caught:
            check_paths(paths, 12)
        assert [(p.field, p.value, p.message) for p in caught.value.problems] == [
            ("paths", paths, "must be between 1 and 10,000,000")
        ]
    for months in (0, 121):
        with pytest.raises(InvalidInput) as caught:
            check_paths(100, months)
        assert [(p.field, p.value, p.message) for p in caught.value.problems] == [
            ("months", months, "must be between 1 and 120")
        ]
    assert (check_discount_rate(Decimal(0)), check_discount_rate(Decimal(1))) == (
        Decimal(0),
        Decimal(1),
    )
    with pytest.raises(InvalidInput) as caught:
        check_discount_rate(Decimal("1.5"))
    assert caught.value.problems[0].message == (
        "must be between 0 and 1 a year (e.g. 0.08); a negative rate would value later money "
        "above money now"
    )


def test_notice_effective_at_the_term_end_past_the_horizon_with_a_fee() -> None:
    """15 months from January 2027, the term ending 1 Jan 2028, a 92-day notice and a USD
    500,000.00 fee. 1 Oct + 92 days (31 + 30 + 31) = 1 Jan 2028, the term's end: nothing
    lost (month 15, no partial revenue, no share). 1 Sep + 92 = 2 Dec (30 + 31 + 30 = 91
    to 1 Dec): one day of December's 31, 1,000,000 / 31 = 32,258.06, plus the fee. From
    January 2028 the agreement has ended: no revenue, no capacity."""
    deal = signed_agreement(
        termination={"notice_days": 92, "may_give_notice": ["tenant"], "fee": Decimal("500000.00")}
    )
    months = (*MONTHS_2027, date(2028, 1, 1), date(2028, 2, 1), date(2028, 3, 1))
    ex = exposure(deal, months, contracted_kw=Decimal(10000), hazard_per_month=Decimal("0.1"))
    assert (ex.key, ex.hazard_per_month) == ("deal-1", Decimal("0.1"))
    assert ex.revenue[11:] == (Decimal("1000000.00"), *(Decimal(0),) * 3)
    assert ex.leased_kw[11:] == (Decimal(10000), *(Decimal(0),) * 3)
    zero = Decimal(0)
    assert (ex.effective_month[8], ex.partial_revenue[8], ex.partial_share[8]) == (
        11,
        Decimal("532258.06"),
        Decimal(1) / 31,
    )
    assert ex.effective_month[9:] == (15,) * 6
    assert ex.partial_revenue[9:] == (zero,) * 6 and ex.partial_share[9:] == (zero,) * 6


def test_capacity_held_along_a_ramp_and_a_part_month() -> None:
    """Term from 16 Jan 2027, half the capacity until 1 Mar: January holds 0.5 x 16/31 of
    10,000 kW = 80,000/31; February 5,000; March 10,000. With the ramp starting on 1 Feb
    instead, nothing is due before it (the tranches start there): January holds 0 kW."""
    half = {
        "start": "2027-01-16",
        "end": "2027-03-01",
        "capacity_share": Decimal("0.5"),
        "price_factor": Decimal(1),
    }
    deal = signed_agreement(term={"start": "2027-01-16", "end": "2028-01-01"}, ramp=[half])
    ex = exposure(deal, MONTHS_2027[:3], contracted_kw=Decimal(10000), hazard_per_month=Decimal(0))
    assert ex.leased_kw == (Decimal(80000) / 31, Decimal(5000), Decimal(10000))
    later = signed_agreement(ramp=[{**half, "start": "2027-02-01"}])
    ex = exposure(later, MONTHS_2027[:3], contracted_kw=Decimal(10000), hazard_per_month=Decimal(0))
    assert ex.leased_kw == (Decimal(0), Decimal(5000), Decimal(10000))


def test_contracted_revenue_of_no_agreements_is_a_decimal_zero() -> None:
    inputs = RiskInputs(
        "USD",
        MONTHS_2027[:2],
        (Decimal(744), Decimal(672)),
        Decimal(10000),
        (),
        (),
        Decimal("0.0679"),
        Decimal("0.3"),
        Decimal("0.12"),
        (Decimal(0), Decimal(0)),
    )
    revenue = inputs.contracted_revenue()
    assert revenue == (Decimal(0), Decimal(0)) and all(isinstance(r, Decimal) for r in revenue)
