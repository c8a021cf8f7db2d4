"""The audit record: who did what to which entity, when. Written in the same transaction
as the change it describes, so a change without its record cannot exist."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from neocloud.domain.kernel.instants import require_utc


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str  # verb of the use case: "fleet.import", "agreement.notice", ...
    entity_type: str
    entity_key: str
    details: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", require_utc(self.at, "at"))
