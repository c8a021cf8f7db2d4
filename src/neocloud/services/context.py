"""Who acts and what time it is: what every use case that changes something is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Clock, Moment, resolve


@dataclass(frozen=True)
class Context:
    actor: str
    clock: Clock

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
