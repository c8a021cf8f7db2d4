"""The own demand CSV (domain/planning/demand.py): good rows read, every bad one located."""

from __future__ import annotations

from datetime import date

import pytest

from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.names import MODEL_RULE
from neocloud.domain.planning.demand import (
    by_model,
    check_series,
    month_of_pool,
    months_between,
    next_month,
    parse_demand_csv,
    parse_month,
    recorded_run,
)
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


# -- months ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "first_day"),
    [
        ("2026-01", date(2026, 1, 1)),
        (" 2026-12 ", date(2026, 12, 1)),  # spaces around are dropped
        ("1900-01", date(1900, 1, 1)),  # the earliest year taken
        ("9999-12", date(9999, 12, 1)),  # the latest
    ],
)
def test_a_month_is_its_first_day(text: str, first_day: date) -> None:
    assert parse_month(text) == first_day


@pytest.mark.parametrize("text", ["2026-00", "2026-13", "1899-12", "2026-1", "2026-011", "x"])
def test_a_bad_month_names_field_value_and_place(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_month(text, "from", "here:3")
    assert caught.value.problems == (Problem("from", text, "must be a month, YYYY-MM", "here:3"),)


def test_a_bad_month_defaults_to_the_month_field_and_no_place() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_month("2026-13")
    assert caught.value.problems == (Problem("month", "2026-13", "must be a month, YYYY-MM"),)


@pytest.mark.parametrize(
    ("month", "months", "expected"),
    [
        (date(2026, 11, 1), 1, date(2026, 12, 1)),
        (date(2026, 5, 1), 0, date(2026, 5, 1)),
        (date(2026, 1, 1), -1, date(2025, 12, 1)),  # back across the year
        (date(2026, 3, 1), 25, date(2028, 4, 1)),  # 2 years and 1 month on
        (date(2026, 12, 1), 13, date(2028, 1, 1)),
    ],
)
def test_next_month(month: date, months: int, expected: date) -> None:
    assert next_month(month, months) == expected


def test_next_month_is_one_month_on_by_default() -> None:
    assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)


@pytest.mark.parametrize(
    ("first", "last", "months"),
    [
        (date(2026, 4, 1), date(2026, 4, 1), 0),
        (date(2025, 11, 1), date(2026, 2, 1), 3),  # Dec, Jan, Feb
        (date(2024, 6, 1), date(2026, 6, 1), 24),
        (date(2026, 3, 1), date(2026, 1, 1), -2),
    ],
)
def test_months_between(first: date, last: date, months: int) -> None:
    assert months_between(first, last) == months


# -- the file's header, rows and refusals, word for word ---------------------------------


def refused(text: str, known: set[str] | None = None) -> tuple[Problem, ...]:
    with pytest.raises(InvalidInput) as caught:
        parse_demand_csv(text, "d.csv", known)
    return caught.value.problems


@pytest.mark.parametrize("text", ["", "\n", " , ,\n2026-01,H100,1\n"])
def test_an_empty_file_says_so(text: str) -> None:
    assert refused(text) == (Problem("demand", "d.csv", "is empty: it needs a header and months"),)


def test_a_file_without_rows_says_so() -> None:
    assert refused("month,gpu_model,gpus\n\n,,\n") == (
        Problem("demand", "d.csv", "has no months of demand: give at least one row per GPU model"),
    )


def test_the_header_is_read_without_case_or_spaces() -> None:
    text = " Month ,GPU_Model , Gpus\n2026-02,H100,7\n"
    assert parse_demand_csv(text) == (DemandPoint(date(2026, 2, 1), "H100", 7.0),)


def test_every_missing_column_is_named_and_no_row_is_read() -> None:
    # the rows are not read without the columns: the bad month is not reported
    assert refused("Month,count\n2026-13,1\n") == (
        Problem("columns", "Month,count", "missing gpu_model, gpus: the header must name "
                "month, gpu_model, gpus", "d.csv:1"),
    )  # fmt: skip


def test_cells_are_read_without_spaces() -> None:
    text = "month,gpu_model,gpus\n 2026-01 , H100 , 2.5 \n"
    assert parse_demand_csv(text) == (DemandPoint(date(2026, 1, 1), "H100", 2.5),)


def test_a_short_row_misses_its_last_cells() -> None:
    assert refused("month,gpu_model,gpus\n2026-01,H100\n") == (
        Problem("gpus", "", "must be a number of GPUs (e.g. 61234.5)", "d.csv:2"),
    )


def test_refusals_of_a_row_word_for_word() -> None:
    text = (
        "month,gpu_model,gpus\n"
        "2026-01,MI300X,1\n"  # line 2: not installed
        "2026-02,H100,inf\n"  # line 3: not finite
        "2026-03,H100,10000000.5\n"  # line 4: above the most
        "2026-04,h 1,x\n"  # line 5: two problems
    )
    bound = "must be 0 or more, at most 10,000,000"
    assert refused(text, {"H100", "GB200"}) == (
        Problem("gpu_model", "MI300X", "is not installed at the site (it has: GB200, H100)",
                "d.csv:2"),
        Problem("gpus", "inf", bound, "d.csv:3"),
        Problem("gpus", "10000000.5", bound, "d.csv:4"),
        Problem("gpu_model", "h 1", "invalid GPU model name: " + MODEL_RULE, "d.csv:5"),
        Problem("gpus", "x", "must be a number of GPUs (e.g. 61234.5)", "d.csv:5"),
    )  # fmt: skip


def test_a_site_without_models_has_none() -> None:
    assert refused("month,gpu_model,gpus\n2026-01,H100,1\n", set()) == (
        Problem("gpu_model", "H100", "is not installed at the site (it has: none)", "d.csv:2"),
    )


def test_zero_and_the_most_gpus_are_taken() -> None:
    text = "month,gpu_model,gpus\n2026-01,H100,0\n2026-02,H100,10000000\n"
    assert [p.gpus for p in parse_demand_csv(text)] == [0.0, 10_000_000.0]


def test_one_bad_cell_drops_its_row_only() -> None:
    # line 3's model is refused; the month and the GPUs of the row are good
    text = "month,gpu_model,gpus\n2026-01,H100,1\n2026-02,H-100!,2\n2026-03,H100,3\n"
    assert refused(text) == (
        Problem("gpu_model", "H-100!", "invalid GPU model name: " + MODEL_RULE, "d.csv:3"),
    )


def test_up_to_100000_lines_of_rows_are_read() -> None:
    # blank lines count as lines: the row is on line 100,001 (the header is line 1)
    text = "month,gpu_model,gpus\n" + "\n" * 99_999 + "2026-01,H100,1\n"
    assert parse_demand_csv(text) == (DemandPoint(date(2026, 1, 1), "H100", 1.0),)


def test_more_than_100000_rows_are_refused_once() -> None:
    # rows on lines 100,002 and 100,003: reading stops at the first
    text = "month,gpu_model,gpus\n" + "\n" * 100_000 + "2026-01,H100,1\n2026-02,H100,2\n"
    assert refused(text) == (Problem("demand", "d.csv", "has more than 100,000 rows"),)


# -- the series: order, repeats and gaps -------------------------------------------------


def test_repeats_and_gaps_word_for_word_at_the_line_of_the_later_month() -> None:
    # lines: 2 blank, 3 `,,`, 4 Jan, 5 Jan again, 6 Apr; the header in other case and order
    text = "GPUs,Month,GPU_model\n\n,,\n1,2026-01, H100\n2,2026-01,H100 \n3, 2026-04,H100\n"
    assert refused(text) == (
        Problem("month", "2026-01", "repeats for H100", "d.csv:5"),
        Problem("month", "2026-04", "leaves a gap for H100: 2026-02..2026-03 missing", "d.csv:6"),
    )


def test_a_series_in_code_is_located_by_its_source() -> None:
    points = [
        DemandPoint(date(2026, 3, 1), "H100", 3.0),
        DemandPoint(date(2026, 1, 1), "H100", 1.0),
        DemandPoint(date(2026, 1, 1), "H100", 1.5),
    ]
    with pytest.raises(InvalidInput) as caught:
        check_series(points, "metered")
    assert caught.value.problems == (
        Problem("month", "2026-01", "repeats for H100", "metered"),
        Problem("month", "2026-03", "leaves a gap for H100: 2026-02..2026-02 missing", "metered"),
    )


def test_models_are_checked_each_on_its_own() -> None:
    # GB200 ends in May, H100 starts in January: no gap between them; H100's gap is found
    points = [
        DemandPoint(date(2026, 5, 1), "GB200", 1.0),
        DemandPoint(date(2026, 1, 1), "H100", 2.0),
        DemandPoint(date(2026, 4, 1), "H100", 3.0),
    ]
    with pytest.raises(InvalidInput) as caught:
        check_series(points)
    assert caught.value.problems == (
        Problem("month", "2026-04", "leaves a gap for H100: 2026-02..2026-03 missing", "demand"),
    )


def test_a_series_is_sorted_by_model_then_month() -> None:
    jan, feb = date(2026, 1, 1), date(2026, 2, 1)
    points = [DemandPoint(feb, "H100", 2.0), DemandPoint(jan, "H100", 1.0),
              DemandPoint(jan, "GB200", 3.0)]  # fmt: skip
    assert check_series(points) == (points[2], points[1], points[0])
    assert by_model(points) == {"GB200": (points[2],), "H100": (points[1], points[0])}


def test_a_series_without_months_names_its_source() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_series([], "metered")
    assert caught.value.problems == (
        Problem("demand", "metered", "has no months of demand: give at least one row per GPU "
                "model"),
    )  # fmt: skip


# -- own demand from metering ------------------------------------------------------------

MARCH = date(2026, 3, 1)
MARCH_US = 31 * 24 * 3600 * 1_000_000  # 2,678,400,000,000 µs


def test_a_metered_month_is_busy_time_over_the_month() -> None:
    # 10 GPUs busy the whole month and 30 idle: 10 x 31 days of GPU-µs / 31 days = 10 GPUs
    point = month_of_pool(MARCH, "H100", month_us=MARCH_US, pool_gpu_us=40 * MARCH_US,
                          busy_gpu_us=10 * MARCH_US, idle_gpu_us=30 * MARCH_US)  # fmt: skip
    assert point == DemandPoint(MARCH, "H100", 10.0)
    half = month_of_pool(MARCH, "H100", month_us=1000, pool_gpu_us=10_000, busy_gpu_us=2500,
                         idle_gpu_us=0)  # fmt: skip
    assert half is None  # 2,500 of 10,000 GPU-µs reported: under half


def test_a_metered_month_counts_once_half_the_pool_reported() -> None:
    # pool 1,000 GPU-µs: busy 100 + idle 400 = 500 is half (recorded), 499 is not
    assert month_of_pool(MARCH, "H100", month_us=200, pool_gpu_us=1000, busy_gpu_us=100,
                         idle_gpu_us=400) == DemandPoint(MARCH, "H100", 0.5)  # fmt: skip
    assert month_of_pool(MARCH, "H100", month_us=200, pool_gpu_us=1000, busy_gpu_us=100,
                         idle_gpu_us=399) is None  # fmt: skip
    # a pool of 1 GPU-µs with nothing reported is unknown
    assert month_of_pool(MARCH, "H100", month_us=200, pool_gpu_us=1, busy_gpu_us=0,
                         idle_gpu_us=0) is None  # fmt: skip


def test_a_month_without_a_pool_is_zero_gpus() -> None:
    assert month_of_pool(MARCH, "GB200", month_us=MARCH_US, pool_gpu_us=0, busy_gpu_us=0,
                         idle_gpu_us=0) == DemandPoint(MARCH, "GB200", 0.0)  # fmt: skip


@pytest.mark.parametrize("month_us", [0, -1])
def test_a_month_without_duration_is_refused(month_us: int) -> None:
    with pytest.raises(InvalidInput) as caught:
        month_of_pool(MARCH, "H100", month_us=month_us, pool_gpu_us=0, busy_gpu_us=0,
                      idle_gpu_us=0)  # fmt: skip
    assert caught.value.problems == (Problem("month", "2026-03", "has no duration"),)


MONTHS = [date(2026, m, 1) for m in range(1, 7)]


def point(month: int) -> DemandPoint:
    return DemandPoint(date(2026, month, 1), "H100", float(month))


def test_the_recorded_run_drops_unrecorded_months_at_both_ends() -> None:
    found = [None, point(2), point(3), point(4), None, None]
    assert recorded_run(MONTHS, found, "H100") == (point(2), point(3), point(4))
    assert recorded_run(MONTHS, [point(1), *[None] * 5], "H100") == (point(1),)
    assert recorded_run(MONTHS, [None] * 6, "H100") == ()


def test_an_unrecorded_month_inside_the_run_is_named() -> None:
    # recorded Feb and May; Mar and Apr are not: the first, March, is named
    found = [None, point(2), None, None, point(5), None]
    with pytest.raises(InvalidInput) as caught:
        recorded_run(MONTHS, found, "H200")
    assert caught.value.problems == (
        Problem("telemetry", "2026-03", "the H200 internal pool is mostly unreported this "
                "month: give --demand FILE.csv or ingest the month's telemetry"),
    )  # fmt: skip


def test_problems_are_located_in_demand_by_default() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_demand_csv("month,gpu_model,gpus\n2026-01,H100,-1\n")
    assert [p.location for p in caught.value.problems] == ["demand:2"]


def test_a_row_on_line_100002_is_refused() -> None:
    text = "month,gpu_model,gpus\n" + "\n" * 100_000 + "2026-01,H100,1\n"
    assert refused(text) == (Problem("demand", "d.csv", "has more than 100,000 rows"),)


def test_a_month_of_one_microsecond_is_a_month() -> None:
    # 3 GPU-µs busy in 1 µs: 3 GPUs
    assert month_of_pool(MARCH, "H100", month_us=1, pool_gpu_us=4, busy_gpu_us=3,
                         idle_gpu_us=1) == DemandPoint(MARCH, "H100", 3.0)  # fmt: skip
