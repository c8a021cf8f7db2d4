"""Who acts and what time it is: what every use case that changes something is given."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Clock, Moment, SystemClock, resolve


@dataclass(frozen=True)
class Context:
    """``clock`` is the business clock (what "now" means for the deal: ``NEOCLOUD_NOW`` in a
    demo); ``wall`` is the system clock, which only dates audit entries."""

    actor: str
    clock: Clock
    wall: Clock = field(default_factory=SystemClock)

    def when(self, at: Moment | None, tz: str, field: str) -> datetime:
        """``at`` as an instant (a bare date: local midnight in ``tz``), now if None; what
        happened cannot be recorded as happening later than now."""
        now = self.clock.now()
        when = resolve(at, tz, field) if at is not None else now
        if when > now:
            raise InvalidInput.single(
                field, when.isoformat(), f"is in the future (now is {now.isoformat()})"
            )
        return when

    def audit(
        self,
        action: str,
        entity_type: str,
        entity_key: str,
        details: Mapping[str, object] | None = None,
    ) -> AuditEntry:
        """The audit entry for a change this actor makes now."""
        return AuditEntry(
            self.wall.now(),
            self.clock.now(),
            self.actor,
            action,
            entity_type,
            entity_key,
            dict(details or {}),
        )
