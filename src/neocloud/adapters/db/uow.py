"""Unit of work over one SQLAlchemy session: one use case, one transaction."""

from __future__ import annotations

from types import TracebackType
from typing import Self

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from neocloud.adapters.db.agreements import SqlAgreementRepository
from neocloud.adapters.db.allocations import SqlAllocationRepository
from neocloud.adapters.db.errors import domain_errors
from neocloud.adapters.db.invoices import SqlInvoiceRepository
from neocloud.adapters.db.repositories import SqlAuditLog, SqlSiteRepository


def make_engine(url: str, pool_size: int = 5) -> Engine:
    """An engine for ``url``; SQLite gets foreign keys on and a busy timeout."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: object, _record: object) -> None:
            cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=pool_size)


class SqlUnitOfWork:
    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self._factory = session_factory

    def __enter__(self) -> Self:
        self.session = self._factory()
        self.sites = SqlSiteRepository(self.session)
        self.audit = SqlAuditLog(self.session)
        self.agreements = SqlAgreementRepository(self.session)
        self.invoices = SqlInvoiceRepository(self.session)
        self.allocations = SqlAllocationRepository(self.session)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.session.rollback()  # no-op after commit; undoes everything otherwise
        self.session.close()

    def commit(self) -> None:
        with domain_errors():
            self.session.commit()
