"""The audit record: who did what to which entity, when. Written in the same transaction
as the change it describes, so a change without its record cannot exist.

Two times: ``recorded_at`` is when the entry was written, by the system clock (the real
time, whatever the business clock says); ``business_at`` is the business clock's time then
(``NEOCLOUD_NOW`` in a demo or a replay), the date the change counts from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from neocloud.domain.kernel.instants import require_utc


@dataclass(frozen=True, slots=True)
class AuditEntry:
    recorded_at: datetime
    business_at: datetime
    actor: str
    action: str  # verb of the use case: "fleet.import", "agreement.notice", ...
    entity_type: str
    entity_key: str
    details: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "recorded_at", require_utc(self.recorded_at, "recorded_at"))
        object.__setattr__(self, "business_at", require_utc(self.business_at, "business_at"))
