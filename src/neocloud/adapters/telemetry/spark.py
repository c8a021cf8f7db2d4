"""The metering queries on Apache Spark (PySpark, ``neocloud[spark]``; Java 17).

The same SQL as DuckDB (``metering.py``: ``OBSERVE``, ``USAGE``, ``EXPLAIN``) over the same
rollup files: only the ``nm`` view differs (``unix_micros`` for ``epoch_us``). A local
session by default (``local[*]``); ``NEOCLOUD_SPARK_MASTER`` names a cluster's master.
``tests/integration/test_metering_parity.py`` runs both engines on the same files and
requires identical answers.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from decimal import Decimal
from typing import TYPE_CHECKING

import pyarrow as pa

from neocloud.adapters.telemetry.metering import (
    US,
    USAGE,
    days_of,
    ensure_rollups,
    explain_sql,
    held_table,
    instant_of,
    observe_sql,
    observed_from,
    segments_table,
)
from neocloud.adapters.telemetry.store import ROLLUP_DIR, ParquetStore
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import Cause, Held, Observed, UnitPlan
from neocloud.domain.metering.metered import DownRun, Usage

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

NM_SPARK = """
    SELECT CAST(node AS STRING) AS node, unix_micros(minute) AS t0,
           CAST(span_s AS BIGINT) * 1000000 AS span, reported_mask, critical_xid_mask,
           energy_mj, gpus_reported, util_ratio
    FROM rollup
"""
NM_FIELDS = (
    "node STRING, t0 BIGINT, span BIGINT, reported_mask INT, critical_xid_mask INT, "
    "energy_mj BIGINT, gpus_reported SMALLINT, util_ratio FLOAT"
)


def session() -> SparkSession:
    """The process's Spark session (made once: a JVM takes seconds to start)."""
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master(os.environ.get("NEOCLOUD_SPARK_MASTER", "local[*]"))
        .appName("neocloud-metering")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.driver.memory", "2g")
        .config("spark.ui.showConsoleProgress", "false")
        .getOrCreate()
    )


class SparkMeter:
    """The metering queries on Spark over the store's rollup files."""

    engine = "spark"

    def __init__(self, store: ParquetStore) -> None:
        self.store = store
        self.spark = session()
        self.spark.sparkContext.setLogLevel("ERROR")

    def _views(self, site: str, period: Interval, tables: dict[str, pa.Table]) -> None:
        files = [str(f) for f in self.store.files(ROLLUP_DIR, site, days_of(period))]
        if files:
            self.spark.read.parquet(*files).createOrReplaceTempView("rollup")
            self.spark.sql(NM_SPARK).createOrReplaceTempView("nm")
        else:
            self.spark.createDataFrame([], NM_FIELDS).createOrReplaceTempView("nm")
        for name, table in tables.items():
            self._frame(table).createOrReplaceTempView(name)

    def _frame(self, table: pa.Table) -> DataFrame:
        types = {pa.int64(): "BIGINT", pa.string(): "STRING"}
        schema = ", ".join(f"{f.name} {types[f.type]}" for f in table.schema)
        rows = [tuple(r.values()) for r in table.to_pylist()]
        return self.spark.createDataFrame(rows, schema)

    def prepare(self, site: str, during: Interval, critical_xids: frozenset[int]) -> None:
        ensure_rollups(self.store, site, days_of(during), critical_xids)

    def observe(self, site: str, plan: UnitPlan, grace_s: int) -> Observed:
        self._views(site, plan.period, {"segments": segments_table(plan)})
        rows = self.spark.sql(observe_sql(plan, grace_s)).collect()
        return observed_from((r[0], r[1]) for r in rows)

    def usage(self, site: str, held: Sequence[Held], period: Interval) -> Usage:
        self._views(site, period, {"held": held_table(held, period)})
        energy, util, without, read = self.spark.sql(USAGE).collect()[0]
        return Usage(
            Decimal(str(energy or 0)).quantize(Decimal(1)),
            None if util is None else Decimal(str(util)).quantize(Decimal("0.0001")),
            int(read or 0),
            int(without or 0),
        )

    def explain(self, site: str, plan: UnitPlan, grace_s: int) -> list[DownRun]:
        self._views(site, plan.period, {"segments": segments_table(plan)})
        rows = self.spark.sql(explain_sql(plan, grace_s)).collect()
        return [
            DownRun(
                str(node),
                Cause(str(cause)),
                instant_of(int(first)),
                instant_of(int(last)),
                Decimal(total) / US,
            )
            for node, cause, first, last, total in rows
        ]
