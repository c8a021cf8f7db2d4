"""The one place that wires adapters to services: settings -> engine, unit of work, clock.

The CLI (and later the API and dashboard) ask for an :class:`App` and call services with
its parts; none of them touches SQLAlchemy or YAML directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine

from neocloud.adapters.db.errors import database_errors
from neocloud.adapters.db.schema import HEAD_REVISION, KNOWN_REVISIONS, schema_revision
from neocloud.adapters.db.uow import SqlUnitOfWork, make_engine
from neocloud.config import Settings, load_settings
from neocloud.domain.kernel.errors import Conflict, InvalidInput, NotFound
from neocloud.domain.kernel.instants import Clock, FixedClock, SystemClock, parse_instant
from neocloud.services.ports import Forecaster, Meter, UnitOfWork

if TYPE_CHECKING:
    from neocloud.domain.economics.risk import RiskResult
    from neocloud.services.ports import RiskSimulator, WebhookSender

if TYPE_CHECKING:
    from neocloud.domain.metering.availability import AvailabilityRules

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from datetime import datetime

    from neocloud.adapters.telemetry.simulator import SimReport
    from neocloud.adapters.telemetry.sources import Batch
    from neocloud.adapters.telemetry.store import ParquetStore
    from neocloud.domain.economics.site_report import SiteMonth
    from neocloud.domain.kernel.documents import SourceDocument
    from neocloud.domain.planning.forecast import DemandForecast
    from neocloud.domain.planning.surplus import SurplusMonth
    from neocloud.services.context import Context
    from neocloud.services.telemetry import SimulatedNode


MAX_HOSTS = 200_000  # as many as a fleet file may hold


@dataclass
class App:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    """The business clock: NEOCLOUD_NOW if set, else the system clock."""
    wall: Clock = field(default_factory=SystemClock)
    """The system clock, which dates audit entries whatever the business clock says."""

    def __enter__(self) -> App:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close pooled connections (a CLI command's last step)."""
        if "engine" in self.__dict__:
            self.engine.dispose()

    @cached_property
    def engine(self) -> Engine:
        if self.settings.embedded:
            try:
                self.settings.home.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise InvalidInput.single(
                    "NEOCLOUD_HOME", str(self.settings.home), f"cannot be made: {exc.strerror}"
                ) from None
        return make_engine(self.settings.database_url, lock_timeout_s=self.settings.lock_timeout_s)

    def uow(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine)

    def context(self) -> Context:
        from neocloud.services.context import Context  # noqa: PLC0415

        return Context(actor=self.settings.actor, clock=self.clock, wall=self.wall)

    def init_database(self) -> None:
        """Create or upgrade the schema to the newest migration (idempotent)."""
        from neocloud.adapters.db import migrate  # noqa: PLC0415 - Alembic costs 0.15 s to import

        where = self.describe_database()
        with database_errors(where):
            revision = schema_revision(self.engine)
            if revision is not None and revision not in KNOWN_REVISIONS:
                raise self._unknown_revision(revision)
            if revision is None and (others := migrate.table_names(self.engine)):
                raise Conflict(
                    f"the database at {where} is not a neocloud database (it holds "
                    f"{len(others)} other tables, e.g. {sorted(others)[0]!r}); give neocloud "
                    "an empty database"
                )
            migrate.upgrade(self.engine)

    def require_database(self) -> None:
        """The database exists and its schema is the one this code needs."""
        where = self.describe_database()
        with database_errors(where):
            revision = schema_revision(self.engine)
        if revision is None:
            raise NotFound(f"no neocloud database at {where}; run `neocloud init` first")
        if revision == HEAD_REVISION:
            return
        if revision in KNOWN_REVISIONS:
            raise Conflict(
                f"the database at {where} has schema revision {revision}; this neocloud needs "
                f"{HEAD_REVISION}: run `neocloud init` to upgrade it"
            )
        raise self._unknown_revision(revision)

    def _unknown_revision(self, revision: str) -> Conflict:
        return Conflict(
            f"the database at {self.describe_database()} has schema revision {revision!r}, "
            f"which this neocloud does not know (its newest is {HEAD_REVISION}): use a newer "
            "neocloud"
        )

    def describe_database(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @staticmethod
    def read_yaml(path: Path) -> SourceDocument:
        from neocloud.adapters import yamlfile  # noqa: PLC0415 - PyYAML: only commands with files

        return yamlfile.read_document(path)

    @staticmethod
    def expand_hostlist(text: str, field: str) -> list[str]:
        """Node names from a Slurm host list (``h1-r[0001-0004]-n[01-08]``)."""
        import hostlist  # noqa: PLC0415 - python-hostlist

        try:
            names: list[str] = hostlist.expand_hostlist(text)
        except hostlist.BadHostlist as exc:
            raise InvalidInput.single(field, text, f"is not a host list: {exc}") from None
        if len(names) > MAX_HOSTS:
            raise InvalidInput.single(field, text, f"names more than {MAX_HOSTS:,} nodes")
        return names

    def rules(self) -> AvailabilityRules:
        """The availability rules (docs/METERING.md), with NEOCLOUD_CRITICAL_XIDS if set."""
        from neocloud.domain.metering.availability import AvailabilityRules  # noqa: PLC0415

        if self.settings.critical_xids is None:
            return AvailabilityRules()
        return AvailabilityRules(critical_xids=self.settings.critical_xids)

    def meter(self, engine: str = "duckdb") -> Meter:
        """The metering queries on DuckDB (embedded) or Spark (``neocloud[spark]``)."""
        if engine == "spark":
            from neocloud.adapters.telemetry.spark import SparkMeter  # noqa: PLC0415

            return SparkMeter(self.telemetry_store())
        if engine != "duckdb":
            raise InvalidInput.single("engine", engine, "must be duckdb or spark")
        from neocloud.adapters.telemetry.metering import DuckDbMeter  # noqa: PLC0415

        return DuckDbMeter(self.telemetry_store())

    def telemetry_store(self) -> ParquetStore:
        """The Parquet telemetry store (pyarrow, DuckDB: imported by telemetry commands only)."""
        from neocloud.adapters.telemetry.store import ParquetStore  # noqa: PLC0415

        return ParquetStore(self.settings.telemetry)

    @staticmethod
    def read_telemetry(
        paths: list[Path], *, site: str | None, at: datetime | None, format: str | None
    ) -> Batch:
        """DCGM pages or bulk CSV/Parquet files as one batch (docs/TELEMETRY.md)."""
        from neocloud.adapters.telemetry.sources import read_sources  # noqa: PLC0415

        at_us = None if at is None else _us(at)
        return read_sources(paths, site=site, at_us=at_us, format=format)

    def scrape_telemetry(
        self,
        targets_file: Path,
        *,
        site: str,
        concurrency: int,
        timeout_s: float,
        retries: int,
        backoff_s: float,
        on_done: Callable[[], None] | None = None,
    ) -> Batch:
        """Fetch every target's page over HTTP (httpx) and read them as one batch."""
        import asyncio  # noqa: PLC0415

        from neocloud.adapters.telemetry import scrape  # noqa: PLC0415

        targets = scrape.read_targets(targets_file)

        def clock_us() -> int:
            now = self.clock.now()
            return int(now.timestamp()) * 1_000_000 + now.microsecond

        fetched = asyncio.run(
            scrape.fetch_all(
                targets,
                clock_us=clock_us,
                concurrency=concurrency,
                timeout_s=timeout_s,
                retries=retries,
                backoff_s=backoff_s,
                on_done=on_done,
            )
        )
        return scrape.to_batch(fetched, site=site)

    @staticmethod
    def agent_batch(
        *, replay: Path | None, site: str, node: str, interval_s: float, samples: int | None
    ) -> Batch:
        """Sample the GPUs (NVML, or a capture replayed at its own pace) into a batch."""
        import time  # noqa: PLC0415

        from neocloud.adapters.telemetry import nvml  # noqa: PLC0415
        from neocloud.adapters.telemetry.sources import Batch  # noqa: PLC0415
        from neocloud.domain.metering.report import ReadReport  # noqa: PLC0415

        source: nvml.GpuSource = nvml.ReplaySource(replay) if replay else nvml.NvmlSource()
        wait: Callable[[float], None] = (lambda _: None) if replay else time.sleep
        readings = [
            r
            for one in nvml.sample_loop(source, interval_s=interval_s, samples=samples, sleep=wait)
            for r in one
        ]
        table = nvml.readings_table(readings, site=site, node=node)
        name = str(replay) if replay else "nvml"
        report = ReadReport(sources=[name], samples=_cells(table))
        batch = Batch()
        batch.extend(table, report)
        return batch

    def simulate_telemetry(
        self,
        *,
        site: str,
        nodes: list[SimulatedNode],
        timezone: str,
        start: datetime,
        end: datetime,
        seed: int,
        resolution_s: int,
        progress: Callable[[int], None] | None = None,
        outages: Sequence[tuple[frozenset[str], datetime, datetime]] = (),
        raw: bool = True,
    ) -> SimReport:
        """Simulated telemetry of the site straight into the store (docs/TELEMETRY.md);
        the nodes of each outage (nodes, from, to) report nothing during it."""
        from zoneinfo import ZoneInfo  # noqa: PLC0415

        from neocloud.adapters.telemetry import simulator  # noqa: PLC0415

        offset = start.astimezone(ZoneInfo(timezone)).utcoffset()
        return simulator.simulate(
            self.telemetry_store(),
            site=site,
            nodes=[simulator.SimNode(n.name, n.gpu_model, n.gpus, n.tdp_w) for n in nodes],
            start_us=_us(start),
            end_us=_us(end),
            seed=seed,
            resolution_s=resolution_s,
            utc_offset_h=offset.total_seconds() / 3600 if offset else 0.0,
            progress=progress,
            outages=[simulator.Outage(n, _us(a), _us(b)) for n, a, b in outages],
            raw=raw,
        )

    @staticmethod
    def simulated_pages(
        *,
        site: str,
        nodes: list[SimulatedNode],
        start: datetime,
        end: datetime,
        seed: int,
        resolution_s: int,
        directory: Path,
    ) -> list[Path]:
        """The same simulation as DCGM exporter pages, one file per instant."""
        from neocloud.adapters.telemetry import simulator  # noqa: PLC0415

        return simulator.write_pages(
            directory,
            site=site,
            nodes=[simulator.SimNode(n.name, n.gpu_model, n.gpus, n.tdp_w) for n in nodes],
            start_us=_us(start),
            end_us=_us(end),
            seed=seed,
            resolution_s=resolution_s,
        )

    @staticmethod
    def write_samples(batch: Batch, path: Path) -> None:
        """A batch as one Parquet file in the store's schema (for ``telemetry ingest``)."""
        import pyarrow.parquet as pq  # noqa: PLC0415

        from neocloud.domain.kernel.errors import InvalidInput  # noqa: PLC0415

        try:
            pq.write_table(batch.table, path, compression="zstd")
        except OSError as exc:
            raise InvalidInput.single("--output", str(path), f"cannot be written: {exc}") from None

    @staticmethod
    def dump_yaml(data: object) -> str:
        from neocloud.adapters import yamlfile  # noqa: PLC0415

        return yamlfile.dump_document(data)

    @staticmethod
    def forecaster(nominal: float = 0.8) -> Forecaster:
        """Own demand forecasts with statsmodels (ETS after a level-shift search)."""
        from neocloud.adapters.forecast import StatsmodelsForecaster  # noqa: PLC0415

        return StatsmodelsForecaster(nominal=nominal)

    @staticmethod
    def planning_charts(
        directory: Path,
        *,
        forecasts: Sequence[DemandForecast],
        surplus: Sequence[SurplusMonth] = (),
        quantile: float = 0.9,
    ) -> list[Path]:
        """PNG and SVG charts: each forecast with its band; surplus over time by model."""
        from neocloud.adapters.charts import planning  # noqa: PLC0415 - matplotlib

        paths = planning.forecast_charts(directory, forecasts, quantile=quantile)
        if surplus:
            paths += planning.surplus_chart(directory, surplus)
        return paths

    @staticmethod
    def risk_simulator() -> RiskSimulator:
        """The walk-away Monte Carlo (numpy; docs/RISK.md)."""
        from neocloud.adapters.risk import NumpyRiskSimulator  # noqa: PLC0415 - numpy

        return NumpyRiskSimulator()

    @staticmethod
    def risk_charts(result: RiskResult, directory: Path, *, site: str) -> list[Path]:
        """The risk run's margin bands as PNG and SVG (matplotlib)."""
        from neocloud.adapters.charts.risk import margin_bands  # noqa: PLC0415

        return margin_bands(result, directory, site=site)

    @staticmethod
    def webhook_sender(timeout_s: float = 10.0) -> WebhookSender:
        """POSTs webhook deliveries (httpx), each bounded by ``timeout_s``."""
        from neocloud.adapters.webhooks import HttpxWebhookSender  # noqa: PLC0415 - httpx

        return HttpxWebhookSender(timeout_s=timeout_s)

    def telemetry_version(self, site: str) -> tuple[str, ...]:
        """What the telemetry store holds of ``site``: its visible files, raw and rolled
        up. A file is written once under a new name and never changed, so the same files
        are the same data (the dashboard's memo: ``services/dashboard.FiguresMemo``)."""
        from neocloud.adapters.telemetry import store  # noqa: PLC0415

        found = self.telemetry_store()
        kinds = (store.SAMPLES_DIR, store.ROLLUP_DIR, store.HOURS_DIR)
        return tuple(
            f"{kind}/{path.parent.name}/{path.name}"
            for kind in kinds
            for path in found.files(kind, site)
        )


def _us(instant: datetime) -> int:
    return int(instant.timestamp()) * 1_000_000 + instant.microsecond


def _cells(table: object) -> int:
    from neocloud.adapters.telemetry.schema import METRIC_COLUMNS  # noqa: PLC0415

    rows = table.num_rows  # type: ignore[attr-defined]
    return sum(rows - table.column(m).null_count for m in METRIC_COLUMNS)  # type: ignore[attr-defined]


def app(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or load_settings()
    if clock is None and settings.now:
        clock = FixedClock(parse_instant(settings.now, "NEOCLOUD_NOW"))
    return App(settings, clock or SystemClock())


def economics_charts(
    months: Sequence[SiteMonth], currency: str, site: str, directory: Path
) -> list[Path]:
    """The economics charts as PNG and SVG files under ``directory`` (matplotlib)."""
    from neocloud.adapters.charts.economics import write_charts  # noqa: PLC0415

    return write_charts(months, currency, site, directory)


def economics_chart_svgs(months: Sequence[SiteMonth], currency: str, site: str) -> dict[str, str]:
    """The same charts as SVG markup, title -> SVG, for the HTML report."""
    from neocloud.adapters.charts.economics import chart_svgs  # noqa: PLC0415

    return chart_svgs(months, currency, site)


def replace_file(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` whole or not at all (``adapters/files.py``)."""
    from neocloud.adapters.files import replace_file as write  # noqa: PLC0415

    write(path, data)
