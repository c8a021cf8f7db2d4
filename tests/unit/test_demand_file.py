"""The own demand CSV (domain/planning/demand.py): good rows read, every bad one located."""

from __future__ import annotations

from datetime import date

import pytest

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.planning.demand import by_model, check_series, parse_demand_csv
from neocloud.domain.planning.forecast import DemandPoint

GOOD = "month,gpu_model,gpus\n2026-01,H100,10.5\n2026-02,H100,12\n2026-01,GB200,0\n"


def problems(text: str, known: set[str] | None = None) -> list[tuple[str, object, str]]:
    with pytest.raises(InvalidInput) as caught:
        parse_demand_csv(text, "d.csv", known)
    return [(p.field, p.value, p.location) for p in caught.value.problems]


def test_good_rows_by_model_then_month() -> None:
    points = parse_demand_csv(GOOD, "d.csv", {"H100", "GB200"})
    assert points == (
        DemandPoint(date(2026, 1, 1), "GB200", 0.0),
        DemandPoint(date(2026, 1, 1), "H100", 10.5),
        DemandPoint(date(2026, 2, 1), "H100", 12.0),
    )
    assert list(by_model(points)) == ["GB200", "H100"]


def test_columns_in_any_order_and_blank_lines_skipped() -> None:
    text = "GPUS,month,gpu_model\n\n5,2026-03,H200\n"
    assert parse_demand_csv(text) == (DemandPoint(date(2026, 3, 1), "H200", 5.0),)


def test_every_bad_row_is_reported_with_its_line_and_field() -> None:
    text = (
        "month,gpu_model,gpus\n"
        "2026-13,H100,1\n"  # line 2: no month 13
        "2026-02,H 100,1\n"  # line 3: not a model name
        "2026-03,MI300X,1\n"  # line 4: not installed
        "2026-04,H100,-3\n"  # line 5: negative
        "2026-05,H100,many\n"  # line 6: not a number
        "26-06,H100,nan\n"  # line 7: two problems
    )
    assert problems(text, {"H100"}) == [
        ("month", "2026-13", "d.csv:2"),
        ("gpu_model", "H 100", "d.csv:3"),
        ("gpu_model", "MI300X", "d.csv:4"),
        ("gpus", "-3", "d.csv:5"),
        ("gpus", "many", "d.csv:6"),
        ("month", "26-06", "d.csv:7"),
        ("gpus", "nan", "d.csv:7"),
    ]


def test_a_repeated_month_and_a_gap_are_located() -> None:
    text = "month,gpu_model,gpus\n2026-01,H100,1\n2026-01,H100,2\n2026-04,H100,3\n"
    assert problems(text) == [("month", "2026-01", "d.csv:3"), ("month", "2026-04", "d.csv:4")]
    with pytest.raises(InvalidInput, match=r"2026-02\.\.2026-03 missing"):
        parse_demand_csv(text)


def test_a_missing_column_names_the_header() -> None:
    assert problems("month,model,gpus\n2026-01,H100,1\n") == [
        ("columns", "month,model,gpus", "d.csv:1")
    ]


@pytest.mark.parametrize("text", ["", "\n", "month,gpu_model,gpus\n", "month,gpu_model,gpus\n,,\n"])
def test_an_empty_series_is_a_clear_error(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_demand_csv(text, "d.csv")
    assert caught.value.problems[0].field == "demand"
    assert caught.value.problems[0].value == "d.csv"
    assert "empty" in str(caught.value) or "no months" in str(caught.value)


def test_a_series_given_in_code_is_checked_the_same_way() -> None:
    with pytest.raises(InvalidInput, match="no months of demand"):
        check_series([])
