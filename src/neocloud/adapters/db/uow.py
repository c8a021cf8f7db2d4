"""Unit of work over one database connection: one use case, one transaction.

``with uow:`` reads; ``with uow.write():`` is for a use case that changes something. On
SQLite a writing unit begins with ``BEGIN IMMEDIATE``, taking the database's write lock
before its first read, so two writers queue (up to the busy timeout) instead of both
deciding from the same state and one losing its update. On PostgreSQL the repositories lock
the rows a use case decides from (``SELECT ... FOR UPDATE``). See docs/LOCKING.md.

Whatever the database says comes out in words (``errors.speak_plainly``, installed on every
engine): connecting, every statement, the commit. A SQLite file that cannot be written (a
read-only data folder) is opened read-only, so reading still works.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from neocloud.adapters.db.errors import database_errors, speak_plainly, unsupported_url
from neocloud.domain.kernel.errors import NeocloudError

if TYPE_CHECKING:
    from neocloud.adapters.db.access import SqlApiKeyRepository
    from neocloud.adapters.db.agreements import SqlAgreementRepository
    from neocloud.adapters.db.allocations import SqlAllocationRepository
    from neocloud.adapters.db.events import SqlDeliveryLog, SqlEventLog, SqlWebhookRepository
    from neocloud.adapters.db.idempotency import SqlIdempotencyKeys
    from neocloud.adapters.db.invoices import SqlInvoiceRepository
    from neocloud.adapters.db.metering import SqlMeteringRecords
    from neocloud.adapters.db.repositories import SqlAuditLog, SqlSiteRepository
    from neocloud.adapters.db.sessions import SqlSessionRepository

LOCK_TIMEOUT_S = 30
"""How long a command waits for a lock another holds before it says the database is busy
(SQLite's busy timeout; PostgreSQL's lock_timeout); NEOCLOUD_LOCK_TIMEOUT_S changes it."""
DIALECTS = ("sqlite", "postgresql")


def make_engine(
    url: str, pool_size: int = 5, lock_timeout_s: Decimal | int = LOCK_TIMEOUT_S
) -> Engine:
    """An engine for ``url`` (SQLite or PostgreSQL, else InvalidInput naming the URL).
    SQLite gets foreign keys on, WAL and a busy timeout; a file this process cannot write
    is opened read-only."""
    with database_errors(url):
        parsed = make_url(url)
        if parsed.get_backend_name() not in DIALECTS:
            raise unsupported_url(parsed.render_as_string(hide_password=True))
        if parsed.get_backend_name() == "sqlite":
            engine = _sqlite_engine(parsed.database or "", float(lock_timeout_s))
        else:
            engine = create_engine(
                parsed,
                pool_pre_ping=True,
                pool_size=pool_size,
                connect_args={"options": f"-c lock_timeout={int(lock_timeout_s * 1000)}"},
            )
    speak_plainly(engine, parsed.render_as_string(hide_password=True))
    return engine


def _sqlite_engine(path: str, timeout_s: float) -> Engine:
    file = Path(path)
    folder_ok = os.access(file.parent, os.W_OK)
    read_only = bool(path) and file.exists() and not (os.access(file, os.W_OK) and folder_ok)
    if read_only:  # immutable when no -wal or -shm file can be made beside it
        uri = f"file:{file.resolve()}?mode=ro" + ("" if folder_ok else "&immutable=1")
        engine = create_engine(f"sqlite:///{path}", creator=lambda: _read_only(uri, timeout_s))
    else:
        engine = create_engine(f"sqlite:///{path}", connect_args={"timeout": timeout_s})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: object, _record: object) -> None:
        cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
        cursor.execute("PRAGMA foreign_keys=ON")
        if not read_only:
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()

    return engine


def _read_only(uri: str, timeout_s: float) -> object:
    import sqlite3  # noqa: PLC0415 - the dialect's own driver

    return sqlite3.connect(uri, uri=True, timeout=timeout_s, check_same_thread=False)


REPOSITORIES = (
    "sites",
    "audit",
    "agreements",
    "invoices",
    "allocations",
    "metering",
    "api_keys",
    "events",
    "webhooks",
    "deliveries",
    "sessions",
    "idempotency",
)


class SqlUnitOfWork:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._writes = False

    def write(self) -> Self:
        """Mark this unit as one that changes something (see the module docstring)."""
        self._writes = True
        return self

    def __enter__(self) -> Self:
        self.connection: Connection = self._engine.connect()
        if self._writes and self.connection.dialect.name == "sqlite":
            try:
                self.connection.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                self.connection.close()
                raise
        for name in REPOSITORIES:
            self.__dict__.pop(name, None)  # repositories of an earlier transaction
        return self

    # Each repository (and the domain it maps) is imported when a use case first needs it:
    # a command that reads agreements never loads the allocation planner (bench/startup.py).

    @cached_property
    def sites(self) -> SqlSiteRepository:
        from neocloud.adapters.db.repositories import SqlSiteRepository  # noqa: PLC0415

        return SqlSiteRepository(self.connection)

    @cached_property
    def audit(self) -> SqlAuditLog:
        from neocloud.adapters.db.repositories import SqlAuditLog  # noqa: PLC0415

        return SqlAuditLog(self.connection)

    @cached_property
    def agreements(self) -> SqlAgreementRepository:
        from neocloud.adapters.db.agreements import SqlAgreementRepository  # noqa: PLC0415

        return SqlAgreementRepository(self.connection)

    @cached_property
    def invoices(self) -> SqlInvoiceRepository:
        from neocloud.adapters.db.invoices import SqlInvoiceRepository  # noqa: PLC0415

        return SqlInvoiceRepository(self.connection)

    @cached_property
    def allocations(self) -> SqlAllocationRepository:
        from neocloud.adapters.db.allocations import SqlAllocationRepository  # noqa: PLC0415

        return SqlAllocationRepository(self.connection)

    @cached_property
    def metering(self) -> SqlMeteringRecords:
        from neocloud.adapters.db.metering import SqlMeteringRecords  # noqa: PLC0415

        return SqlMeteringRecords(self.connection)

    @cached_property
    def api_keys(self) -> SqlApiKeyRepository:
        from neocloud.adapters.db.access import SqlApiKeyRepository  # noqa: PLC0415

        return SqlApiKeyRepository(self.connection)

    @cached_property
    def events(self) -> SqlEventLog:
        from neocloud.adapters.db.events import SqlEventLog  # noqa: PLC0415

        return SqlEventLog(self.connection)

    @cached_property
    def webhooks(self) -> SqlWebhookRepository:
        from neocloud.adapters.db.events import SqlWebhookRepository  # noqa: PLC0415

        return SqlWebhookRepository(self.connection)

    @cached_property
    def deliveries(self) -> SqlDeliveryLog:
        from neocloud.adapters.db.events import SqlDeliveryLog  # noqa: PLC0415

        return SqlDeliveryLog(self.connection)

    @cached_property
    def sessions(self) -> SqlSessionRepository:
        from neocloud.adapters.db.sessions import SqlSessionRepository  # noqa: PLC0415

        return SqlSessionRepository(self.connection)

    @cached_property
    def idempotency(self) -> SqlIdempotencyKeys:
        from neocloud.adapters.db.idempotency import SqlIdempotencyKeys  # noqa: PLC0415

        return SqlIdempotencyKeys(self.connection)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._writes = False
        try:
            self.connection.rollback()  # no-op after commit; undoes everything otherwise
        except (SQLAlchemyError, NeocloudError):
            if exc is None:
                raise
            # the connection is already broken; the error that broke it is the one to tell
        finally:
            self.connection.close()

    def commit(self) -> None:
        self.connection.commit()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        with self.connection.begin_nested():  # rolled back to, alone, if the block raises
            yield
