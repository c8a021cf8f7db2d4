"""Webhook subscriptions (add, list, remove) and the delivery worker.

``deliver_due`` is one pass of the worker: it claims the deliveries due by its clock in a
short writing unit, POSTs each outside any transaction (so billing never waits on an
endpoint, and an endpoint never holds a database lock), then records each attempt in a
unit of its own. Retries and giving up follow ``domain/events/webhooks.py``; the clock is
injected, so tests drive an hour of retries without waiting.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING

from neocloud.domain.events import signing
from neocloud.domain.events.model import body, parse_kind
from neocloud.domain.events.webhooks import (
    Delivery,
    DeliveryStatus,
    SendResult,
    Webhook,
    after_attempt,
    check_public_url,
    check_url,
)
from neocloud.domain.kernel.errors import Conflict, InvalidInput
from neocloud.domain.kernel.names import name_problem
from neocloud.services.events import check_limit
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.domain.events.model import RecordedEvent
    from neocloud.domain.kernel.instants import Clock
    from neocloud.services.context import Context
    from neocloud.services.ports import UnitOfWork, WebhookSender

_log = logging.getLogger("neocloud.webhooks")

SECRET_PREFIX = "whsec_"
LEASE = timedelta(minutes=5)
"""How long a claimed delivery is another worker's to leave alone: longer than any send."""
OPERATOR = "neocloud"


@use_case("webhook.add")
def add_webhook(
    uow: UnitOfWork,
    ctx: Context,
    *,
    url: str,
    tenant: str | None = None,
    kinds: Iterable[str] = (),
    operator: str = OPERATOR,
    public_only: bool = False,
) -> tuple[Webhook, str]:
    """A subscription and its signing secret (stored, to sign with, but shown only now).
    ``tenant``: that tenant's events only; None: every event. ``kinds`` empty: all.
    ``public_only``: refuse a host that is a non-public address literal (a tenant's
    webhook: ``check_public_url``)."""
    (check_public_url if public_only else check_url)(url)
    wanted = frozenset(parse_kind(k) for k in kinds)
    for value, name in ((tenant, "tenant"), (operator, "operator")):
        if value is not None and (problem := name_problem(value, name)):
            raise InvalidInput([problem])
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    with uow.write():
        hook = uow.webhooks.add(
            url=url,
            secret=secret,
            operator=operator,
            tenant=tenant,
            kinds=wanted,
            created_at=ctx.wall.now(),
            actor=ctx.actor,
        )
        after = {"url": url, "tenant": tenant, "kinds": sorted(wanted)}
        uow.audit.record(ctx.audit("webhook.add", "webhook", str(hook.id), {"after": after}))
        uow.commit()
    return hook, secret


@use_case("webhook.list")
def list_webhooks(
    uow: UnitOfWork, *, tenant: str | None = None, removed: bool = False
) -> list[Webhook]:
    """Active webhooks (``removed``: those removed too), ``tenant``: that tenant's only."""
    with uow:
        return uow.webhooks.list(tenant=tenant, removed=removed)


@use_case("webhook.get")
def get_webhook(uow: UnitOfWork, webhook_id: int) -> Webhook:
    with uow:
        return uow.webhooks.get(webhook_id)


@dataclass(frozen=True)
class Removed:
    webhook: Webhook
    abandoned: int  # pending deliveries given up


@use_case("webhook.remove")
def remove_webhook(uow: UnitOfWork, ctx: Context, webhook_id: int) -> Removed:
    """Stop sending to the webhook now; its pending deliveries are given up (failed)."""
    now = ctx.wall.now()
    with uow.write():
        hook = uow.webhooks.get(webhook_id)
        if hook.removed_at is not None:
            raise Conflict(f"webhook {webhook_id} was removed at {hook.removed_at.isoformat()}")
        uow.webhooks.remove(webhook_id, now)
        abandoned = uow.deliveries.give_up(webhook_id, "webhook removed")
        details = {"url": hook.url, "abandoned_deliveries": abandoned}
        uow.audit.record(ctx.audit("webhook.remove", "webhook", str(webhook_id), details))
        uow.commit()
    return Removed(replace(hook, removed_at=now), abandoned)


@use_case("webhook.deliveries")
def list_deliveries(
    uow: UnitOfWork,
    *,
    webhook_id: int | None = None,
    status: DeliveryStatus | None = None,
    tenant: str | None = None,
    event_id: int | None = None,
    since: int | None = None,
    limit: int = 100,
) -> list[Delivery]:
    """The delivery log oldest first; ``tenant``: deliveries to that tenant's webhooks."""
    check_limit(limit)
    with uow:
        return uow.deliveries.list(
            webhook_id=webhook_id,
            status=status,
            tenant=tenant,
            event_id=event_id,
            since=since,
            limit=limit,
        )


@dataclass
class DeliveryPass:
    """What one pass of the worker did, delivery by delivery, in the order sent."""

    attempted: list[Delivery] = field(default_factory=list)  # each as it now stands

    @property
    def delivered(self) -> int:
        return sum(d.status is DeliveryStatus.DELIVERED for d in self.attempted)

    @property
    def failed(self) -> int:
        return sum(d.status is DeliveryStatus.FAILED for d in self.attempted)

    @property
    def retrying(self) -> int:
        return sum(d.status is DeliveryStatus.PENDING for d in self.attempted)


def headers(hook: Webhook, event: RecordedEvent, payload: bytes, *, timestamp: int,
            attempt: int) -> dict[str, str]:  # fmt: skip
    return {
        signing.SIGNATURE_HEADER: signing.signature_header(hook.secret, timestamp, payload),
        signing.EVENT_ID_HEADER: str(event.id),
        signing.EVENT_KIND_HEADER: event.event.kind.value,
        signing.ATTEMPT_HEADER: str(attempt),
    }


@use_case("webhook.deliver")
def deliver_due(
    uow: UnitOfWork, sender: WebhookSender, clock: Clock, *, limit: int = 100
) -> DeliveryPass:
    """One pass: send every delivery due by ``clock`` (at most ``limit``), record each
    attempt. Never inside another use case's transaction."""
    now = clock.now()
    with uow.write():
        claimed = uow.deliveries.claim_due(now, lease_until=now + LEASE, limit=limit)
        uow.commit()
    done = DeliveryPass()
    for delivery, hook, event in claimed:
        payload = body(event)
        sent_at = clock.now()
        result = sender.send(
            hook.url,
            payload,
            headers(
                hook, event, payload, timestamp=int(sent_at.timestamp()),
                attempt=delivery.attempts + 1,
            ),
        )  # fmt: skip
        done.attempted.append(_record(uow, delivery, result, clock))
    return done


def _record(uow: UnitOfWork, delivery: Delivery, result: SendResult, clock: Clock) -> Delivery:
    updated = after_attempt(delivery, result, clock.now())
    with uow.write():
        uow.deliveries.save(updated)
        uow.commit()
    _log.info(
        "delivery %d (webhook %d, event %d) attempt %d: %s",
        updated.id,
        updated.webhook_id,
        updated.event_id,
        updated.attempts,
        result.status_code if result.status_code is not None else result.error,
    )
    return updated
