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
from neocloud.services.ports import UnitOfWork

if TYPE_CHECKING:
    from neocloud.domain.kernel.documents import SourceDocument
    from neocloud.services.context import Context


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
    def dump_yaml(data: object) -> str:
        from neocloud.adapters import yamlfile  # noqa: PLC0415

        return yamlfile.dump_document(data)


def app(settings: Settings | None = None, clock: Clock | None = None) -> App:
    settings = settings or load_settings()
    if clock is None and settings.now:
        clock = FixedClock(parse_instant(settings.now, "NEOCLOUD_NOW"))
    return App(settings, clock or SystemClock())
