"""The event outbox (``events``), webhook subscriptions (``webhooks``) and their delivery
log (``webhook_deliveries``).

An event is inserted unless its dedupe key is there already (``ON CONFLICT DO NOTHING``,
both engines): a fact reported twice, by two scans at once even, is stored once. Due
deliveries are claimed by pushing their next attempt past a lease inside a writing unit
(on PostgreSQL the rows ``FOR UPDATE SKIP LOCKED``), so two workers never send one
delivery at the same time; a worker that dies mid-send leaves it to be retried when the
lease ends.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Select, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from neocloud.adapters.db.tables import events, webhook_deliveries, webhooks
from neocloud.domain.events.model import Event, EventKind, RecordedEvent
from neocloud.domain.events.webhooks import Delivery, DeliveryStatus, Webhook
from neocloud.domain.kernel.errors import NotFound


def _event(row: Any) -> RecordedEvent:
    return RecordedEvent(
        row.id,
        row.recorded_at,
        Event(
            EventKind(row.kind),
            row.dedupe_key,
            row.operator,
            row.tenant,
            row.agreement_key,
            row.occurred_at,
            row.payload,
        ),
    )


class SqlEventLog:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, event: Event, recorded_at: datetime) -> RecordedEvent | None:
        """The event as stored, or None when its dedupe key was stored already. Looked up
        first: on PostgreSQL an insert that conflicts still takes a number from the id
        sequence, and a scan finds mostly facts already recorded."""
        known = select(events.c.id).where(events.c.dedupe_key == event.dedupe_key)
        if self.connection.scalar(known) is not None:
            return None
        dialect = postgresql if self.connection.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(events)
            .values(
                kind=event.kind.value,
                dedupe_key=event.dedupe_key,
                operator=event.operator,
                tenant=event.tenant,
                agreement_key=event.agreement_key,
                occurred_at=event.occurred_at,
                recorded_at=recorded_at,
                payload=dict(event.payload),
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(events.c.id)
        )
        new_id = self.connection.scalar(statement)
        return None if new_id is None else RecordedEvent(int(new_id), recorded_at, event)

    def get(self, event_id: int) -> RecordedEvent:
        row = self.connection.execute(select(events).where(events.c.id == event_id)).first()
        if row is None:
            raise NotFound(f"event {event_id} does not exist")
        return _event(row)

    def list(
        self,
        *,
        tenant: str | None = None,
        kind: EventKind | None = None,
        agreement_key: str | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """Oldest first; ``since``: only events with a greater id."""
        query = select(events).order_by(events.c.id).limit(limit)
        if tenant is not None:
            query = query.where(events.c.tenant == tenant)
        if kind is not None:
            query = query.where(events.c.kind == kind.value)
        if agreement_key is not None:
            query = query.where(events.c.agreement_key == agreement_key)
        if since is not None:
            query = query.where(events.c.id > since)
        return [_event(r) for r in self.connection.execute(query)]


def _webhook(row: Any) -> Webhook:
    return Webhook(
        id=row.id,
        url=row.url,
        secret=row.secret,
        operator=row.operator,
        tenant=row.tenant,
        kinds=frozenset(EventKind(k) for k in row.kinds),
        created_at=row.created_at,
        actor=row.actor,
        removed_at=row.removed_at,
    )


class SqlWebhookRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(
        self,
        *,
        url: str,
        secret: str,
        operator: str,
        tenant: str | None,
        kinds: frozenset[EventKind],
        created_at: datetime,
        actor: str,
    ) -> Webhook:
        new_id = self.connection.scalar(
            insert(webhooks)
            .values(
                url=url,
                secret=secret,
                operator=operator,
                tenant=tenant,
                kinds=sorted(k.value for k in kinds),
                created_at=created_at,
                actor=actor,
            )
            .returning(webhooks.c.id)
        )
        return self.get(int(new_id))

    def get(self, webhook_id: int) -> Webhook:
        row = self.connection.execute(select(webhooks).where(webhooks.c.id == webhook_id)).first()
        if row is None:
            raise NotFound(f"webhook {webhook_id} does not exist")
        return _webhook(row)

    def list(self, *, tenant: str | None = None, removed: bool = False) -> list[Webhook]:
        """Active webhooks in id order (``removed``: those removed too); ``tenant``: that
        tenant's only."""
        query = select(webhooks).order_by(webhooks.c.id)
        if not removed:
            query = query.where(webhooks.c.removed_at.is_(None))
        if tenant is not None:
            query = query.where(webhooks.c.tenant == tenant)
        return [_webhook(r) for r in self.connection.execute(query)]

    def remove(self, webhook_id: int, at: datetime) -> None:
        self.connection.execute(
            update(webhooks).where(webhooks.c.id == webhook_id).values(removed_at=at)
        )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_id=row.event_id,
        status=DeliveryStatus(row.status),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_attempt_at=row.last_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        delivered_at=row.delivered_at,
    )


class SqlDeliveryLog:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add(self, webhook_id: int, event_id: int, due_at: datetime) -> None:
        self.connection.execute(
            insert(webhook_deliveries).values(
                webhook_id=webhook_id,
                event_id=event_id,
                status=DeliveryStatus.PENDING.value,
                attempts=0,
                next_attempt_at=due_at,
            )
        )

    def claim_due(
        self, at: datetime, *, lease_until: datetime, limit: int
    ) -> list[tuple[Delivery, Webhook, RecordedEvent]]:
        """Pending deliveries due at ``at`` (oldest due first), each with its webhook and
        event; their next attempt moves to ``lease_until`` (see the module docstring)."""
        d = webhook_deliveries
        ids: Select[Any] = (
            select(d.c.id)
            .join(webhooks, webhooks.c.id == d.c.webhook_id)
            .where(d.c.status == DeliveryStatus.PENDING.value, d.c.next_attempt_at <= at)
            .where(webhooks.c.removed_at.is_(None))
            .order_by(d.c.next_attempt_at, d.c.id)
            .limit(limit)
        )
        if self.connection.dialect.name == "postgresql":
            ids = ids.with_for_update(skip_locked=True, of=d)
        claimed = [int(i) for i in self.connection.scalars(ids)]
        if not claimed:
            return []
        self.connection.execute(
            update(d).where(d.c.id.in_(claimed)).values(next_attempt_at=lease_until)
        )
        rows = self.connection.execute(
            select(d, webhooks, events)
            .join(webhooks, webhooks.c.id == d.c.webhook_id)
            .join(events, events.c.id == d.c.event_id)
            .where(d.c.id.in_(claimed))
            .order_by(d.c.id)
        )
        out = []
        for row in rows:
            parts = row._mapping
            delivery = _delivery(_Columns(parts, d))
            hook = _webhook(_Columns(parts, webhooks))
            out.append((delivery, hook, _event(_Columns(parts, events))))
        return out

    def save(self, delivery: Delivery) -> None:
        """Record an attempt's outcome (``webhooks.after_attempt``)."""
        self.connection.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.id == delivery.id)
            .values(
                status=delivery.status.value,
                attempts=delivery.attempts,
                next_attempt_at=delivery.next_attempt_at,
                last_attempt_at=delivery.last_attempt_at,
                last_status_code=delivery.last_status_code,
                last_error=delivery.last_error,
                delivered_at=delivery.delivered_at,
            )
        )

    def give_up(self, webhook_id: int, error: str) -> int:
        """Every pending delivery of the webhook becomes failed with ``error``; how many."""
        d = webhook_deliveries
        result = self.connection.execute(
            update(d)
            .where(d.c.webhook_id == webhook_id, d.c.status == DeliveryStatus.PENDING.value)
            .values(status=DeliveryStatus.FAILED.value, next_attempt_at=None, last_error=error)
        )
        return int(result.rowcount)

    def list(
        self,
        *,
        webhook_id: int | None = None,
        status: DeliveryStatus | None = None,
        tenant: str | None = None,
        event_id: int | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """Oldest first; ``tenant``: deliveries to that tenant's webhooks; ``since``: only
        deliveries with a greater id."""
        d = webhook_deliveries
        query = select(d).order_by(d.c.id).limit(limit)
        if tenant is not None:
            query = query.join(webhooks, webhooks.c.id == d.c.webhook_id).where(
                webhooks.c.tenant == tenant
            )
        for column, value in (
            (d.c.webhook_id, webhook_id),
            (d.c.status, None if status is None else status.value),
            (d.c.event_id, event_id),
        ):
            if value is not None:
                query = query.where(column == value)
        if since is not None:
            query = query.where(d.c.id > since)
        return [_delivery(r) for r in self.connection.execute(query)]


class _Columns:
    """One table's columns out of a joined row, by their plain names."""

    def __init__(self, mapping: Any, table: Any) -> None:
        self._values = {c.name: mapping[c] for c in table.c}

    def __getattr__(self, name: str) -> Any:
        return self._values[name]
