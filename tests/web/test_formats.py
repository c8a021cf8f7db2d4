"""The dashboard's figures as people read them (``web/formats.py``), worked by hand, and
the timeline's label placement (``web/charts.place_labels``)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from neocloud.domain.kernel.money import Money
from neocloud.domain.kernel.quantities import Power, PowerBasis
from neocloud.web import formats
from neocloud.web.charts import nice_step, place_labels
from neocloud.web.pages import templates


def test_money_has_the_code_separators_and_the_minor_unit_rounded_half_up():
    assert formats.money(Money(Decimal("1250000000"), "USD")) == "USD 1,250,000,000.00"
    assert formats.money(Decimal("-10000"), "USD") == "USD -10,000.00"
    # half up, where format() alone would round half to even (0.12)
    assert formats.money(Decimal("0.125"), "USD") == "USD 0.13"
    assert formats.money(Decimal("2.5"), "JPY") == "JPY 3"  # no minor unit
    assert formats.money(Decimal("1.2345"), "BHD") == "BHD 1.235"  # three places
    assert formats.money(Decimal("-0.004"), "USD") == "USD 0.00"  # never "-0.00"
    # 20 significant digits: a float would not keep them
    assert formats.money(Decimal("12345678901234567.89"), "USD") == (
        "USD 12,345,678,901,234,567.89"
    )


def test_money_refuses_a_float_and_a_bare_decimal_without_currency():
    with pytest.raises(TypeError):
        formats.money(0.1, "USD")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        formats.money(Decimal(1))


def test_counts_gpu_hours_power_and_percentages():
    assert formats.count(220000) == "220,000"
    assert formats.gpu_hours(Decimal("142848")) == "142,848"
    assert formats.gpu_hours(Decimal("1234.50")) == "1,234.5"
    assert formats.gpu_hours(Decimal("0.004")) == "0"
    assert formats.mw(Power(Decimal("300000"), PowerBasis.FACILITY)) == "300.00 MW"
    assert formats.mw(Decimal("172.8")) == "0.173 MW"  # kW in, three places under 10 MW
    assert formats.percent(Decimal("0.9932")) == "99.32 %"
    assert formats.percent(Decimal("0.985")) == "98.50 %"
    assert formats.percent(Decimal(2) / 3) == "66.67 %"
    assert formats.percent(Decimal("0.5"), 0) == "50 %"
    assert formats.percent(None) == "—"


def test_instants_in_the_named_zone_keep_iso_utc_in_attributes():
    winter = datetime(2026, 12, 1, tzinfo=UTC)  # 18:00 CST the day before (UTC-6)
    summer = datetime(2027, 5, 30, 5, tzinfo=UTC)  # midnight CDT (UTC-5)
    assert formats.local_text(winter, "America/Chicago") == "2026-11-30 18:00 CST"
    assert formats.local_text(summer, "America/Chicago") == "2027-05-30 00:00 CDT"
    assert formats.local_date(winter, "America/Chicago") == "2026-11-30"
    assert str(formats.instant(summer, "America/Chicago")) == (
        '<time datetime="2027-05-30T05:00:00+00:00" data-at="2027-05-30T05:00:00+00:00" '
        'title="2027-05-30T05:00:00+00:00 (America/Chicago)">2027-05-30 00:00 CDT</time>'
    )
    with pytest.raises(ValueError, match="naive"):
        formats.local_text(datetime(2027, 1, 1), "UTC")  # naive: the point


def test_every_filter_is_installed_in_one_environment():
    for name in ("money", "count", "gpu_hours", "mw", "percent", "instant", "exact"):
        assert templates.filters[name] is formats.FILTERS[name]


def test_nice_steps():
    assert nice_step(Decimal(142848)) == 50000  # 142,848 / 5 = 28,570 -> 50,000
    assert nice_step(Decimal(100)) == 20
    assert nice_step(Decimal("0.3")) == Decimal("0.1")


def test_labels_that_would_overlap_go_to_rows_and_no_leader_crosses_a_label():
    # marks at 100, 150, 400; labels 100 px wide, set from the right: 400 at [400, 500],
    # 150 at [150, 250]; 100 would overlap it starting at its mark, so it ends there
    # instead, [0, 100]: all in row 0
    rows = place_labels([100.0, 150.0, 400.0], [100.0] * 3, 0.0, 900.0)
    assert rows == [(0, True), (0, False), (0, False)]
    # no room on the left (the edge at 60): 100 starts at its mark one row down, its
    # leader left of 150's label
    assert place_labels([100.0, 150.0], [100.0] * 2, 60.0, 900.0) == [(1, False), (0, False)]
    spans = []
    for x, (row, flipped) in zip((100.0, 150.0, 400.0), rows, strict=True):
        spans.append((x, row, *((x - 100, x) if flipped else (x, x + 100))))
    for x, row, lo, hi in spans:
        for x2, row2, lo2, hi2 in spans:
            if (x, row) == (x2, row2):
                continue
            if row == row2:
                assert hi <= lo2 or hi2 <= lo  # no overlap in one row
            if row2 < row:
                assert not lo2 <= x <= hi2  # this leader passes no label above it
    # a label that would run past the right edge ends at its mark
    assert place_labels([880.0], [100.0], 0.0, 900.0) == [(0, True)]
