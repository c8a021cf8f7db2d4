"""Unit of work over one database connection: one use case, one transaction.

``with uow:`` reads; ``with uow.write():`` is for a use case that changes something. On
SQLite a writing unit begins with ``BEGIN IMMEDIATE``, taking the database's write lock
before its first read, so two writers queue (up to the busy timeout) instead of both
deciding from the same state and one losing its update. On PostgreSQL the repositories lock
the rows a use case decides from (``SELECT ... FOR UPDATE``). See docs/LOCKING.md.
"""

from __future__ import annotations

from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Self

from sqlalchemy import Connection, Engine, create_engine, event

from neocloud.adapters.db.errors import domain_errors

if TYPE_CHECKING:
    from neocloud.adapters.db.agreements import SqlAgreementRepository
    from neocloud.adapters.db.allocations import SqlAllocationRepository
    from neocloud.adapters.db.invoices import SqlInvoiceRepository
    from neocloud.adapters.db.repositories import SqlAuditLog, SqlSiteRepository

SQLITE_BUSY_TIMEOUT_S = 30


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size)


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
            with domain_errors():
                self.connection.exec_driver_sql("BEGIN IMMEDIATE")
        for name in ("sites", "audit", "agreements", "invoices", "allocations"):
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

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.connection.rollback()  # no-op after commit; undoes everything otherwise
        self.connection.close()
        self._writes = False

    def commit(self) -> None:
        with domain_errors():
            self.connection.commit()
