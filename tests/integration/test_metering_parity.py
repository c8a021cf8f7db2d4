"""DuckDB and Apache Spark (local mode) run the same metering SQL on the same rollup files
and must give identical answers: on the hand-worked month, and on simulated days with
failures, silent nodes and driver reloads; the site's GPU energy from node-hours alike.
Under CI this runs; Java 17 is on the machines."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from neocloud.adapters.db import migrate
from neocloud.adapters.telemetry import simulator
from neocloud.adapters.telemetry.metering import DuckDbMeter
from neocloud.adapters.telemetry.spark import SparkMeter
from neocloud.adapters.telemetry.store import ParquetStore
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.kernel.instants import FixedClock, Interval
from neocloud.domain.metering.availability import Cause, Held, Unit, plan_units
from neocloud.services import metering
from tests.integration import metering_case as case

# py4j (Spark's bridge to the JVM) leaves its sockets to the garbage collector
pytestmark = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")


@pytest.fixture(scope="module")
def spark_meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkMeter]:
    meter = SparkMeter(ParquetStore(tmp_path_factory.mktemp("spark-store")))
    yield meter
    meter.spark.stop()


def sqlite_app(tmp_path: Path) -> App:
    app = App(Settings(tmp_path, f"sqlite:///{tmp_path / 'db.sqlite'}", "t"),
              FixedClock(datetime(2027, 7, 2, tzinfo=UTC)))  # fmt: skip
    migrate.upgrade(app.engine)
    return app


def test_both_engines_meter_the_hand_worked_month_alike(
    tmp_path: Path, spark_meter: SparkMeter
) -> None:
    app = sqlite_app(tmp_path)
    store = ParquetStore(tmp_path / "telemetry")
    case.write_rollups(store)
    spark_meter.store = store
    duck = DuckDbMeter(store)
    for sla in (case.SLA, {**case.SLA, "measured_per": "node"}):
        app.close()
        (tmp_path / "db.sqlite").unlink(missing_ok=True)
        app = sqlite_app(tmp_path)
        case.setup(app, sla)
        on_duckdb = metering.explain(app.uow(), duck, "deal-1", "2027-06")
        on_spark = metering.explain(app.uow(), spark_meter, "deal-1", "2027-06")
        assert on_spark.metering.availability.observed == on_duckdb.metering.availability.observed
        assert on_spark.metering.usage == on_duckdb.metering.usage
        assert on_spark.down == on_duckdb.down
        assert on_spark.metering.availability.ratio == on_duckdb.metering.availability.ratio
    app.close()
    june, nodes = Interval(case.START, case.END), [case.A, case.B]
    on_duckdb_energy = duck.site_energy("test-1", june, nodes)
    assert spark_meter.site_energy("test-1", june, nodes) == on_duckdb_energy
    assert on_duckdb_energy.covered and sum(on_duckdb_energy.gpu_mj_by_node.values()) > 0


def test_both_engines_meter_simulated_days_alike(tmp_path: Path, spark_meter: SparkMeter) -> None:
    """Two simulated days of 96 nodes at one minute (a seed with failures and a silent
    node), metered per GPU and per node over every node, each held for part of the time."""
    store = ParquetStore(tmp_path / "telemetry")
    nodes = [simulator.SimNode(f"n{i:03d}", "H100", 8, 700.0) for i in range(96)]
    start, end = datetime(2027, 3, 1, tzinfo=UTC), datetime(2027, 3, 3, tzinfo=UTC)
    report = simulator.simulate(
        store, site="sim-1", nodes=nodes, start_us=int(start.timestamp()) * 1_000_000,
        end_us=int(end.timestamp()) * 1_000_000, seed=11, resolution_s=60,
    )  # fmt: skip
    assert report.rollup_rows > 0
    period = Interval(start, end)
    held = [
        Held(n.name, 8, datetime(2027, 3, 1, i % 24, tzinfo=UTC), None) for i, n in enumerate(nodes)
    ]
    spark_meter.store = store
    duck = DuckDbMeter(store)
    for unit in (Unit.GPU, Unit.NODE):
        plan = plan_units(held, period=period, unit=unit)
        assert spark_meter.measure("sim-1", plan, 300) == duck.measure("sim-1", plan, 300)
        # the silences the simulator wrote in the rollup = those worked out from the rows
        worked_out = duck._tally("sim-1", plan, 300, runs=True).observed()
        assert worked_out == duck.measure("sim-1", plan, 300)[0]
        assert spark_meter.explain("sim-1", plan, 300) == duck.explain("sim-1", plan, 300)
    down, _ = duck.measure("sim-1", plan_units(held, period=period, unit=Unit.GPU), 300)
    assert sum(down.down_unit_s.values()) > 0  # the seed's failures are in what is compared
    assert down.down_unit_s[Cause.SILENT] > 0  # and a silence inside a holding
    installed = [(n.name, 8) for n in nodes]
    holdings = [(h.node, h.start, h.end) for h in held[:48]]  # the other half is the pool
    on_spark = spark_meter.site_use("sim-1", period, installed, holdings, Decimal("0.05"))
    on_duckdb = duck.site_use("sim-1", period, installed, holdings, Decimal("0.05"))
    assert on_spark == on_duckdb
    assert len(on_duckdb) == 48 and all(busy > 0 for busy, _ in on_duckdb.values())
    names = [n for n, _ in installed]
    energy = duck.site_energy("sim-1", period, names)
    assert spark_meter.site_energy("sim-1", period, names) == energy
    assert energy.hours_covered == energy.hours == 48 and len(energy.gpu_mj_by_node) == 96
