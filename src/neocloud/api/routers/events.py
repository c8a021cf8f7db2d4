"""``/v1/events`` and ``/v1/webhooks``: the lifecycle events of the outbox, webhook
subscriptions and their delivery log (docs/EVENTS.md), from the CLI's use cases.

A tenant key sees its own tenant's events and webhooks only (an operator-only event, or
another tenant's, reads like a missing one); a webhook it adds is bound to its tenant and
must name a public host (``check_public_url``: the worker posts from inside the
operator's network).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from neocloud.api import schemas as s
from neocloud.api.deps import Caller, after_cursor, guard, page
from neocloud.api.problems import documented
from neocloud.api.routers.common import LIST, READ, WRITE, Cursor, Limit
from neocloud.domain.access.policy import Area, Verb
from neocloud.domain.kernel.errors import Forbidden, InvalidInput
from neocloud.services.authorization import MAX_ID, Kind

router = APIRouter(tags=["events"])
EVENT: tuple[Kind, str] = ("event", "event_id")
WEBHOOK: tuple[Kind, str] = ("webhook", "webhook_id")
T = TypeVar("T")

Since = Query(None, ge=0, le=MAX_ID, description="Only ids after this one (the last id seen)")
EventId = Path(ge=1, le=MAX_ID)
WebhookId = Path(ge=1, le=MAX_ID)


def _keyset(
    request: Request,
    fetch: Callable[[int | None, int], Sequence[T]],
    id_of: Callable[[T], int],
    since: int | None,
    cursor: str | None,
    limit: int,
) -> dict[str, object]:
    """A page of a list kept in id order in the database: only ``limit + 1`` rows are
    read, after the later of ``since`` and the cursor (the last id of the page before)."""
    after = since
    if cursor is not None:
        last = after_cursor(cursor)
        if not isinstance(last, int) or isinstance(last, bool) or last < 0:
            raise InvalidInput.single("cursor", cursor, "is not a cursor of this list")
        after = last if after is None else max(after, last)
    return page(request, fetch(after, limit + 1), id_of, cursor, limit)


@router.get("/v1/events", response_model=s.EventPage, responses=LIST)
def list_events(
    request: Request,
    kind: str | None = Query(None, max_length=60, description="An event kind"),
    agreement: str | None = Query(None, max_length=63),
    since: int | None = Since,
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.EVENTS)),
) -> dict[str, object]:
    """Lifecycle events oldest first (a tenant key: its tenant's), by id; ``since``: after
    that event id."""
    from neocloud.domain.events.model import RecordedEvent, document, parse_kind
    from neocloud.services import events

    wanted = None if kind is None else parse_kind(kind)

    def fetch(after: int | None, n: int) -> list[RecordedEvent]:
        return events.list_events(caller.app.uow(), tenant=caller.tenant, kind=wanted,
                                  agreement_key=agreement, since=after, limit=n)  # fmt: skip

    out = _keyset(
        request,
        fetch,
        lambda e: e.id,
        since,
        cursor,
        limit,
    )
    out["items"] = [document(e) for e in out["items"]]  # type: ignore[attr-defined]
    return out


@router.get("/v1/events/{event_id}", response_model=s.EventOut, responses=READ)
def get_event(
    event_id: int = EventId, caller: Caller = Depends(guard(Verb.READ, Area.EVENTS, EVENT))
) -> dict[str, object]:
    """One event: kind, when it occurred and was recorded, whose, and its data."""
    from neocloud.domain.events.model import document
    from neocloud.services import events

    return document(events.get_event(caller.app.uow(), event_id))


@router.post("/v1/webhooks", status_code=201, response_model=s.NewWebhookOut, responses=WRITE)
def add_webhook(
    body: s.WebhookRequest,
    response: Response,
    caller: Caller = Depends(guard(Verb.WRITE, Area.EVENTS, tenant_write=True)),
) -> dict[str, Any]:
    """A subscription (``kinds`` empty: every kind; ``tenant``: that tenant's events, none:
    every event). A tenant key's is bound to its tenant and must name a public host. The
    signing secret is in this answer only."""
    from neocloud.services import webhooks

    own = caller.tenant
    if own is not None and body.tenant not in (None, own):
        raise Forbidden("a tenant key's webhook receives its own tenant's events only")
    hook, secret = webhooks.add_webhook(
        caller.app.uow(), caller.context(), url=body.url, tenant=own or body.tenant,
        kinds=body.kinds, public_only=own is not None,
    )  # fmt: skip
    response.headers["Location"] = f"/v1/webhooks/{hook.id}"
    return {**s.webhook_out(hook), "secret": secret}


@router.get("/v1/webhooks", response_model=s.WebhookPage, responses=LIST)
def list_webhooks(
    request: Request,
    removed: bool = Query(False, description="Removed ones too"),
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.EVENTS)),
) -> dict[str, object]:
    """Webhooks (a tenant key: its own), by id; never their secrets."""
    from neocloud.services import webhooks

    found = webhooks.list_webhooks(caller.app.uow(), tenant=caller.tenant, removed=removed)
    chosen = [h for h in found if caller.visible(h.tenant)]
    out = page(request, chosen, lambda h: h.id, cursor, limit)
    out["items"] = [s.webhook_out(h) for h in out["items"]]  # type: ignore[attr-defined]
    return out


@router.get("/v1/webhooks/{webhook_id}", response_model=s.WebhookOut, responses=READ)
def get_webhook(
    webhook_id: int = WebhookId,
    caller: Caller = Depends(guard(Verb.READ, Area.EVENTS, WEBHOOK)),
) -> dict[str, Any]:
    """One webhook: URL, tenant, kinds, who added it when, removed when."""
    from neocloud.services import webhooks

    return s.webhook_out(webhooks.get_webhook(caller.app.uow(), webhook_id))


@router.delete(
    "/v1/webhooks/{webhook_id}",
    response_model=s.RemovedWebhookOut,
    responses=documented(401, 403, 404, 409, 422, 503),
)
def remove_webhook(
    webhook_id: int = WebhookId,
    caller: Caller = Depends(guard(Verb.WRITE, Area.EVENTS, WEBHOOK, tenant_write=True)),
) -> dict[str, Any]:
    """Stop sending to the webhook now; its pending deliveries are given up. Removing it
    again is a conflict."""
    from neocloud.services import webhooks

    removed = webhooks.remove_webhook(caller.app.uow(), caller.context(), webhook_id)
    return {**s.webhook_out(removed.webhook), "abandoned_deliveries": removed.abandoned}


@router.get("/v1/webhooks/{webhook_id}/deliveries", response_model=s.DeliveryPage, responses=LIST)
def deliveries(
    request: Request,
    webhook_id: int = WebhookId,
    status: str | None = Query(None, max_length=20, description="pending, delivered, failed"),
    since: int | None = Since,
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.EVENTS, WEBHOOK)),
) -> dict[str, object]:
    """The webhook's delivery log oldest first, by id: status, attempts, the last
    attempt's time and outcome, the next attempt."""
    from neocloud.domain.events.webhooks import parse_status
    from neocloud.services import webhooks

    wanted = None if status is None else parse_status(status)
    out = _keyset(
        request,
        lambda after, n: webhooks.list_deliveries(
            caller.app.uow(), webhook_id=webhook_id, status=wanted, since=after, limit=n
        ),
        lambda d: d.id,
        since,
        cursor,
        limit,
    )
    out["items"] = [s.delivery_out(d) for d in out["items"]]  # type: ignore[attr-defined]
    return out
