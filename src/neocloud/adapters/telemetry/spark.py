"""The metering queries on Apache Spark (PySpark, ``neocloud[spark]``; Java 17).

The same SQL as DuckDB (``metering.py``: ``MEASURE``, ``GAPS``, ``DOWN``; ``SITE_USE`` and
``SITE_ENERGY`` over node-hours) over the same rollup files: only the ``nm`` and ``hours``
views differ (``unix_micros`` for ``epoch_us``). A local session by default (``local[*]``);
``NEOCLOUD_SPARK_MASTER`` names a cluster's master.
``tests/integration/test_metering_parity.py`` runs both engines on the same files and
requires identical answers.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from neocloud.adapters.telemetry.metering import SqlMeter, days_of
from neocloud.adapters.telemetry.store import HOURS_DIR, ROLLUP_DIR, ParquetStore
from neocloud.domain.kernel.instants import Interval

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

NM_SPARK = """
    SELECT CAST(node AS STRING) AS node, unix_micros(minute) AS t0,
           CAST(span_s AS BIGINT) * 1000000 AS span, reported_mask, critical_xid_mask,
           energy_mj, gpus_reported, util_ratio, power_w,
           CAST(silence_before_s AS BIGINT) * 1000000 AS gap_us
    FROM rollup
"""
NM_FIELDS = (
    "node STRING, t0 BIGINT, span BIGINT, reported_mask INT, critical_xid_mask INT, "
    "energy_mj BIGINT, gpus_reported SMALLINT, util_ratio FLOAT, power_w FLOAT, gap_us BIGINT"
)
NH_SPARK = """
    SELECT CAST(node AS STRING) AS node, unix_micros(hour) AS t0, reported_gpu_s, util_gpu_s,
           energy_mj
    FROM rollup
"""
NH_FIELDS = "node STRING, t0 BIGINT, reported_gpu_s BIGINT, util_gpu_s DOUBLE, energy_mj DOUBLE"
VIEWS = {ROLLUP_DIR: ("nm", NM_SPARK, NM_FIELDS), HOURS_DIR: ("hours", NH_SPARK, NH_FIELDS)}


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


class SparkMeter(SqlMeter):
    """The metering queries on Spark over the store's rollup files."""

    engine = "spark"

    def __init__(self, store: ParquetStore) -> None:
        self.store = store
        self.spark = session()
        self.spark.sparkContext.setLogLevel("ERROR")

    def _query(
        self,
        site: str,
        period: Interval,
        sql: str,
        tables: dict[str, pa.Table],
        kind: str = ROLLUP_DIR,
    ) -> list[tuple[Any, ...]]:
        view, select, fields = VIEWS[kind]
        files = [str(f) for f in self.store.files(kind, site, days_of(period))]
        if files:
            reader = self.spark.read.option("mergeSchema", "true")
            reader.parquet(*files).createOrReplaceTempView("rollup")
            self.spark.sql(select).createOrReplaceTempView(view)
        else:
            self.spark.createDataFrame([], fields).createOrReplaceTempView(view)
        types = {pa.int64(): "BIGINT", pa.string(): "STRING"}
        for name, table in tables.items():
            schema = ", ".join(f"{f.name} {types[f.type]}" for f in table.schema)
            rows = [tuple(r.values()) for r in table.to_pylist()]
            self.spark.createDataFrame(rows, schema).createOrReplaceTempView(name)
        return [tuple(r) for r in self.spark.sql(sql).collect()]
