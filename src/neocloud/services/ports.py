"""What the services need from storage, as protocols; adapters implement them."""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Protocol, Self

from neocloud.domain.audit import AuditEntry
from neocloud.domain.capacity import SiteSummary
from neocloud.domain.inventory import Site


class SiteRepository(Protocol):
    def add(self, site: Site) -> None: ...
    def remove(self, name: str) -> None: ...
    def exists(self, name: str) -> bool: ...
    def names(self) -> list[str]: ...
    def get(self, name: str) -> Site:
        """The whole site, halls to nodes. Raises NotFound."""
        ...

    def header(self, name: str) -> Site:
        """The site without its halls (cheap). Raises NotFound."""
        ...

    def summary(self, name: str) -> SiteSummary: ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None: ...
    def entries(
        self, entity_type: str | None = None, entity_key: str | None = None
    ) -> Sequence[AuditEntry]: ...


class UnitOfWork(Protocol):
    """One transaction: everything done inside is committed together or not at all."""

    @property
    def sites(self) -> SiteRepository: ...
    @property
    def audit(self) -> AuditLog: ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
