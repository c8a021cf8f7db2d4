"""A site's metered energy in the economics report, worked by hand from the month of
``metering_case.py`` (site test-1: two H100 nodes of 8 GPUs, June 2027 in Chicago, 720 hours
from 2027-06-01 05:00Z), on each database.

Each rollup row carries 60,000,000 mJ per reporting GPU: one GPU-minute is 1/60 kWh.

* A (r0001-n01) reports every minute but the 8 hours of maintenance: 43,200 - 480 = 42,720
  rows x 8 GPUs = 341,760 GPU-minutes (its Xid minutes still count their energy);
* B (r0001-n02) is silent 120 minutes: 43,080 rows x 8 GPUs = 344,640, less the 120 minutes
  its GPU 7 is missing: 344,520 GPU-minutes.

GPU energy: 686,280 GPU-minutes / 60 = 11,438 kWh; IT energy x 1.3 (H100 server overhead) =
14,869.4 kWh; facility energy x 1.2 (the site's PUE) = 17,843.28 kWh. At USD 67.90/MWh:
17.84328 x 67.90 = 1,211.558712 -> USD 1,211.56; at 283.47 kg/MWh: 17.84328 x 283.47 =
5,058.0345816 -> 5,058.035 kg. Every hour of the month has a row of one node or the other
(A's maintenance and B's silence do not overlap): the month is metered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from neocloud.adapters.telemetry.metering import DuckDbMeter
from neocloud.adapters.telemetry.store import ROLLUP_DIR, ParquetStore
from neocloud.bootstrap import App
from neocloud.domain.economics.assumptions import DEFAULTS
from neocloud.domain.economics.site_report import SiteMonth
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money
from neocloud.services import economics
from neocloud.services.metering import RULES
from tests.integration import metering_case as case

HOURS = 30 * 24
GPU_MJ_A = 42_720 * 8 * case.MJ_PER_GPU_MINUTE
GPU_MJ_B = (43_080 * 8 - 120) * case.MJ_PER_GPU_MINUTE
FACILITY_KWH = Decimal("17843.280")


def june(app: App, meter: DuckDbMeter | None) -> SiteMonth:
    report = economics.site_report(app.uow(), meter, "test-1", first="2027-06",
                                   last="2027-06", assumptions=DEFAULTS, rules=RULES)  # fmt: skip
    (month,) = report.months
    return month


def test_the_meter_reads_each_nodes_energy_and_the_hours_covered(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "telemetry")
    case.write_rollups(store)
    energy = DuckDbMeter(store).site_energy("test-1", Interval(case.START, case.END),
                                            [case.A, case.B, "r0001-n03"])  # fmt: skip
    assert energy.gpu_mj_by_node == {case.A: GPU_MJ_A, case.B: GPU_MJ_B}
    assert (energy.hours_covered, energy.hours, energy.covered) == (HOURS, HOURS, True)
    overhead = Decimal("1.3")
    assert energy.facility_kwh({case.A: overhead, case.B: overhead}, Decimal("1.2")) == (
        FACILITY_KWH
    )
    # the hours of a UTC day (the first of June, from midnight): 5 before the month starts
    day = Interval(datetime(2027, 6, 1, tzinfo=UTC), datetime(2027, 6, 2, tzinfo=UTC))
    first_day = DuckDbMeter(store).site_energy("test-1", day, [case.A, case.B])
    assert (first_day.hours_covered, first_day.hours) == (19, 24)


def test_a_month_telemetry_covers_is_metered(app: App, tmp_path: Path) -> None:
    case.setup(app)
    store = ParquetStore(tmp_path / "telemetry")
    case.write_rollups(store)
    month = june(app, DuckDbMeter(store))
    assert month.energy_basis == "metered"
    assert month.facility_kwh == FACILITY_KWH
    assert month.energy_telemetry_hours == HOURS
    assert month.energy_cost == Money(Decimal("1211.56"), "USD")
    assert month.carbon_kg == Decimal("5058.035")


def test_a_month_telemetry_covers_in_part_is_planned_and_says_how_much(
    app: App, tmp_path: Path
) -> None:
    """Without 15 June (UTC), 24 hours have no row: the whole month is the planned draw,
    10 MW x 720 h = 7,200,000 kWh (USD 488,880.00; 2,040,984 kg), never a mix."""
    case.setup(app)
    store = ParquetStore(tmp_path / "telemetry")
    case.write_rollups(store)
    for gone in store.files(ROLLUP_DIR, "test-1", ["2027-06-15"]):
        gone.unlink()
    month = june(app, DuckDbMeter(store))
    assert month.energy_basis == "planned"
    assert month.energy_telemetry_hours == HOURS - 24
    assert month.facility_kwh == 10_000 * HOURS
    assert month.energy_cost == Money(Decimal("488880.00"), "USD")  # 7,200 MWh x 67.90
    assert month.carbon_kg == Decimal("2040984.000")  # 7,200 x 283.47
    # without telemetry at all (no meter): planned, and the hours are not counted
    assert (june(app, None).energy_basis, june(app, None).energy_telemetry_hours) == (
        "planned",
        None,
    )
