"""Lifecycle events: written to the outbox inside the transaction of the change they
report (``record``), the dated ones found by a scan as of the business clock (``scan``),
and read with filters (``list_events``) by the CLI and, later, the API.

Writing an event also queues a delivery for each webhook that wants it, in the same
transaction: nothing is sent here (``services/webhooks.py::deliver_due`` does, outside any
billing transaction), so a dead endpoint never holds a change up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neocloud.domain.events import schedule
from neocloud.domain.events.model import Event, EventKind, RecordedEvent
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.services.context import Context
    from neocloud.services.ports import UnitOfWork

MAX_LIMIT = 1000


def record(uow: UnitOfWork, ctx: Context, event: Event) -> RecordedEvent | None:
    """Write ``event`` (None if its fact is recorded already) and queue its deliveries;
    inside the caller's writing unit."""
    stored = uow.events.add(event, ctx.wall.now())
    if stored is None:
        return None
    for hook in uow.webhooks.list(tenant=None):
        if hook.wants(event):
            uow.deliveries.add(hook.id, stored.id, due_at=stored.recorded_at)
    return stored


def record_due(uow: UnitOfWork, ctx: Context, agreement: CapacityAgreement) -> list[RecordedEvent]:
    """The agreement's dated events due by the business clock's now, those not recorded
    yet; inside the caller's writing unit."""
    found = (record(uow, ctx, e) for e in schedule.due(agreement, ctx.clock.now()))
    return [e for e in found if e is not None]


@use_case("events.scan")
def scan(uow: UnitOfWork, ctx: Context) -> list[RecordedEvent]:
    """Record every agreement's dated events due now (business clock) that are not
    recorded yet; running it again records nothing new."""
    with uow.write():
        new = []
        for key in uow.agreements.all_keys():
            new += record_due(uow, ctx, uow.agreements.get(key))
        uow.commit()
    return new


def check_limit(limit: int) -> None:
    """A page of a log (events, deliveries) holds 1 to MAX_LIMIT entries."""
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput.single("limit", limit, f"must be 1 to {MAX_LIMIT}")


def _check_filters(since: int | None, limit: int) -> None:
    if since is not None and since < 0:
        raise InvalidInput.single("since", since, "must be an event id (0 or more)")
    check_limit(limit)


@use_case("events.list")
def list_events(
    uow: UnitOfWork,
    *,
    tenant: str | None = None,
    kind: EventKind | None = None,
    agreement_key: str | None = None,
    since: int | None = None,
    limit: int = 100,
) -> list[RecordedEvent]:
    """Events oldest first, at most ``limit``; ``since``: after that event id (the cursor:
    pass the last id seen); ``tenant``: that tenant's events only."""
    _check_filters(since, limit)
    with uow:
        return uow.events.list(
            tenant=tenant, kind=kind, agreement_key=agreement_key, since=since, limit=limit
        )


@use_case("events.get")
def get_event(uow: UnitOfWork, event_id: int) -> RecordedEvent:
    with uow:
        return uow.events.get(event_id)
