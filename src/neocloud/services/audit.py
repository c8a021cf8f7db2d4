"""Reading the audit log: who changed what, when (system clock) and as of when (business
clock)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.services.observability import use_case

if TYPE_CHECKING:  # protocols for type checking only: importing them costs start-up time
    from neocloud.services.ports import UnitOfWork

MAX_ENTRIES = 100_000


@use_case("audit.list")
def audit_entries(
    uow: UnitOfWork,
    *,
    entity_type: str | None = None,
    entity_key: str | None = None,
    action: str | None = None,
    last: int | None = None,
) -> Sequence[AuditEntry]:
    """Entries oldest first, filtered; ``last``: only the newest N of them (1-100,000)."""
    if last is not None and not 1 <= last <= MAX_ENTRIES:
        raise InvalidInput.single("last", last, f"must be between 1 and {MAX_ENTRIES:,}")
    with uow:
        return uow.audit.entries(entity_type, entity_key, action=action, last=last)
