"""Silence and its grace, worked by hand: one node (8 GPUs) held for one hour, one rollup
row a minute except where a case leaves minutes out. The grace is 5 minutes: each silence
counts as up for its first 5 minutes and as down (silent) after. A silence before the first
row and after the last is judged like one between rows; several short silences inside a
holding are each within the grace, however many minutes they add up to."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from neocloud.adapters.telemetry.metering import DuckDbMeter
from neocloud.adapters.telemetry.store import ROLLUP_DIR, ParquetStore
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import Cause, Held, Unit, plan_units
from tests.integration.metering_case import table_of

START = datetime(2027, 3, 1, 10, tzinfo=UTC)
HOUR = Interval(START, START + timedelta(hours=1))
GPU_MINUTE = Decimal(60)  # unit-seconds of one GPU for one minute


def meter_minutes(
    tmp_path: Path, missing: set[int], silences: bool, first_minute: int = 0
) -> tuple[Decimal, Decimal, Decimal]:
    """(reported, grace, silent) in GPU-minutes with the rows of ``missing`` minutes left
    out; rows from ``first_minute`` (before 0: before the holding starts)."""
    kept = [m for m in range(first_minute, 60) if m not in missing]
    table = table_of(
        [START + timedelta(minutes=m) for m in kept],
        ["n1"] * len(kept),
        [0xFF] * len(kept),
        [0] * len(kept),
        [8 * 60_000_000] * len(kept),
        silences=silences,
    )
    store = ParquetStore(tmp_path / "telemetry")
    store.write_file(ROLLUP_DIR, "s-1", "2027-03-01", table, name="hand.parquet")
    plan = plan_units([Held("n1", 8, START, None)], period=HOUR, unit=Unit.GPU)
    observed, usage = DuckDbMeter(store).measure("s-1", plan, 300)
    assert usage.gpu_energy_mj == 8 * 60_000_000 * sum(1 for m in kept if m >= 0)
    return (
        observed.reported_unit_s / GPU_MINUTE,
        observed.grace_unit_s / GPU_MINUTE,
        observed.down_unit_s[Cause.SILENT] / GPU_MINUTE,
    )


@pytest.mark.parametrize(
    ("case", "missing", "reported", "grace", "silent"),
    [
        ("no silence", set(), 480, 0, 0),
        # 3 minutes inside: within the grace
        ("one short silence", {10, 11, 12}, 57 * 8, 3 * 8, 0),
        # 3 + 3 minutes inside: 6 in all, more than the grace, but each within it
        ("two short silences", {10, 11, 12, 30, 31, 32}, 54 * 8, 6 * 8, 0),
        # 7 minutes inside: 5 grace, 2 down
        ("one long silence", set(range(20, 27)), 53 * 8, 5 * 8, 2 * 8),
        # 2 minutes before the first row, 10 after the last: 2 + 5 grace, 5 down
        ("silent at both ends", {0, 1, *range(50, 60)}, 48 * 8, 7 * 8, 5 * 8),
        # nothing at all: one silence of the whole hour
        ("silent throughout", set(range(60)), 0, 5 * 8, 55 * 8),
    ],
)
@pytest.mark.parametrize("silences", [False, True], ids=["worked-out", "from-the-rollup"])
def test_each_silence_has_its_grace(
    tmp_path: Path,
    case: str,
    missing: set[int],
    reported: int,
    grace: int,
    silent: int,
    silences: bool,
) -> None:
    """Whether metering works the silences out from the rows (GAPS) or reads them from
    the rollup (each row's silence before it), the same figures."""
    assert meter_minutes(tmp_path, missing, silences) == tuple(
        map(Decimal, (reported, grace, silent))
    ), case


@pytest.mark.parametrize("silences", [False, True], ids=["worked-out", "from-the-rollup"])
def test_a_silence_begun_before_the_holding_is_judged_from_its_start(
    tmp_path: Path, silences: bool
) -> None:
    """Rows from 09:50; none 09:56-10:03 (7 minutes, 3 of them held) nor 10:20-10:27
    (7 minutes inside). Held from 10:00: 3 minutes of grace at the start (judged from
    10:00, not from 09:56), then 5 grace and 2 down inside; reported 60 - 3 - 7 = 50."""
    missing = {*range(-4, 3), *range(20, 27)}
    assert meter_minutes(tmp_path, missing, silences, first_minute=-10) == tuple(
        map(Decimal, (50 * 8, (3 + 5) * 8, 2 * 8)))  # fmt: skip


def test_rows_without_a_counter_fall_back_to_board_power_flagged(tmp_path: Path) -> None:
    """The first 10 minutes carry no counter reading: 8 GPUs x 1 kW x 600 s = 4.8 MJ from
    power (flagged); the other 50 minutes 8 x 60,000,000 mJ each from the counters."""
    energy: list[int | None] = [None] * 10 + [8 * 60_000_000] * 50
    table = table_of(
        [START + timedelta(minutes=m) for m in range(60)],
        ["n1"] * 60,
        [0xFF] * 60,
        [0] * 60,
        energy,  # type: ignore[arg-type]
    )
    store = ParquetStore(tmp_path / "telemetry")
    store.write_file(ROLLUP_DIR, "s-1", "2027-03-01", table, name="hand.parquet")
    plan = plan_units([Held("n1", 8, START, None)], period=HOUR, unit=Unit.GPU)
    _, usage = DuckDbMeter(store).measure("s-1", plan, 300)
    assert usage.gpu_energy_mj == 50 * 8 * 60_000_000
    assert usage.power_fallback_mj == 8 * 1000 * 600 * 1000  # W x s x 1000 = mJ
    assert usage.rows_without_energy == 10
    assert usage.total_mj == Decimal(24_000_000_000 + 4_800_000_000)
