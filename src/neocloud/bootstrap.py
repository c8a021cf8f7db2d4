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

from neocloud.adapters.db.schema import HEAD_REVISION, KNOWN_REVISIONS, schema_revision
from neocloud.adapters.db.uow import SqlUnitOfWork, make_engine
from neocloud.config import Settings, load_settings
from neocloud.domain.kernel.errors import Conflict, NotFound
from neocloud.domain.kernel.instants import Clock, FixedClock, SystemClock, parse_instant
from neocloud.services.ports import UnitOfWork

if TYPE_CHECKING:
    from datetime import datetime

    from neocloud.adapters.telemetry.sources import Batch
    from neocloud.adapters.telemetry.store import ParquetStore
    from neocloud.domain.kernel.documents import SourceDocument
    from neocloud.services.context import Context


@dataclass
class App:
    settings: Settings
    clock: Clock = field(default_factory=SystemClock)

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
            self.settings.home.mkdir(parents=True, exist_ok=True)
        return make_engine(self.settings.database_url)

    def uow(self) -> UnitOfWork:
        return SqlUnitOfWork(self.engine)

    def context(self) -> Context:
        from neocloud.services.context import Context  # noqa: PLC0415

        return Context(actor=self.settings.actor, clock=self.clock)

    def init_database(self) -> None:
        """Create or upgrade the schema to the newest migration (idempotent)."""
        from neocloud.adapters.db import migrate  # noqa: PLC0415 - Alembic costs 0.15 s to import

        migrate.upgrade(self.engine)

    def require_database(self) -> None:
        """The database exists and its schema is the one this code needs."""
        where = self.describe_database()
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
        raise Conflict(
            f"the database at {where} has schema revision {revision!r}, which this neocloud "
            f"does not know (its newest is {HEAD_REVISION}): use a newer neocloud"
        )

    def describe_database(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    @staticmethod
    def read_yaml(path: Path) -> SourceDocument:
        from neocloud.adapters import yamlfile  # noqa: PLC0415 - PyYAML: only commands with files

        return yamlfile.read_document(path)

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

        at_us = None if at is None else int(at.timestamp()) * 1_000_000 + at.microsecond
        return read_sources(paths, site=site, at_us=at_us, format=format)

    @staticmethod
    def dump_yaml(data: object) -> str:
        from neocloud.adapters import yamlfile  # noqa: PLC0415

        return yamlfile.dump_document(data)


def app(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or load_settings()
    if clock is None and settings.now:
        clock = FixedClock(parse_instant(settings.now, "NEOCLOUD_NOW"))
    return App(settings, clock or SystemClock())
