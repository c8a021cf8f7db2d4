"""``neocloud webhook``: subscriptions, the delivery log and the delivery worker."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import (
    console,
    count_option,
    emit_json,
    handles_errors,
    make_app,
    number_option,
)

if TYPE_CHECKING:
    from datetime import datetime

    from neocloud.domain.events.webhooks import Delivery, Webhook

cli = typer.Typer(
    help="Webhooks: add (secret shown once), list, remove, the delivery log, the worker.",
    no_args_is_help=True,
)


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat(timespec="seconds").replace("+00:00", "Z")


def _hook_row(hook: Webhook) -> dict[str, object]:
    return {
        "id": hook.id,
        "url": hook.url,
        "tenant": hook.tenant,
        "kinds": sorted(k.value for k in hook.kinds),
        "created_at": _iso(hook.created_at),
        "removed_at": _iso(hook.removed_at),
        "actor": hook.actor,
    }


@cli.command()
@handles_errors
def add(
    url: str = typer.Option(..., "--url", help="Where events are POSTed (http or https)."),
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's events."),
    kind: list[str] = typer.Option(
        [], "--kind", help="Only this kind (repeat for more; none: every kind)."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Subscribe a URL and print its signing secret once (it signs every delivery)."""
    from neocloud.services import webhooks as service

    with make_app() as app:
        app.require_database()
        hook, secret = service.add_webhook(
            app.uow(), app.context(), url=url, tenant=tenant, kinds=kind
        )
    if as_json:
        emit_json({**_hook_row(hook), "secret": secret})
        return
    whose = f"tenant {hook.tenant}'s" if hook.tenant else "every tenant's"
    kinds = ", ".join(sorted(hook.kinds)) or "all kinds"
    console().print(f"webhook {hook.id}: {whose} events ({kinds}) to {hook.url}")
    console().print(f"signing secret: {secret}")
    console().print("Keep it now: it is not shown again (docs/EVENTS.md: verifying a delivery).")


@cli.command("list")
@handles_errors
def list_(
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's webhooks."),
    removed: bool = typer.Option(False, "--removed", help="Removed ones too."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Webhooks: id, URL, tenant, kinds, created (the secret is never shown again)."""
    from rich.table import Table

    from neocloud.services import webhooks as service

    with make_app() as app:
        app.require_database()
        hooks = service.list_webhooks(app.uow(), tenant=tenant, removed=removed)
    rows = [_hook_row(h) for h in hooks]
    if as_json:
        emit_json(rows)
        return
    table = Table("id", "url", "tenant", "kinds", "created (UTC)", "removed")
    for r in rows:
        kinds = ", ".join(r["kinds"]) or "all"  # type: ignore[arg-type]
        table.add_row(
            str(r["id"]), str(r["url"]), str(r["tenant"] or "(operator: all)"), kinds,
            str(r["created_at"]), str(r["removed_at"] or ""),
        )  # fmt: skip
    console().print(table)
    if not rows:
        console().print("no webhooks yet: neocloud webhook add --url URL")


@cli.command()
@handles_errors
def remove(webhook_id: str = typer.Argument(..., help="The webhook's id.")) -> None:
    """Stop sending to a webhook now; its pending deliveries are given up."""
    from neocloud.services import webhooks as service

    with make_app() as app:
        app.require_database()
        done = service.remove_webhook(app.uow(), app.context(), _id(webhook_id, "webhook"))
    console().print(
        f"webhook {done.webhook.id} removed; {done.abandoned} pending deliveries given up"
    )


def _id(text: str, field: str) -> int:
    found = count_option(text, field)
    assert found is not None
    return found


def _delivery_row(d: Delivery) -> dict[str, object]:
    return {
        "id": d.id,
        "webhook": d.webhook_id,
        "event": d.event_id,
        "status": d.status.value,
        "attempts": d.attempts,
        "last_attempt_at": _iso(d.last_attempt_at),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "next_attempt_at": _iso(d.next_attempt_at),
        "delivered_at": _iso(d.delivered_at),
    }


@cli.command()
@handles_errors
def deliveries(
    webhook: str = typer.Option(None, "--webhook", help="Only this webhook's deliveries."),
    status: str = typer.Option(None, "--status", help="pending, delivered or failed."),
    since: str = typer.Option(None, "--since", help="Only deliveries after this id."),
    limit: str = typer.Option("100", "--limit", help="At most this many (1 to 1000)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """The delivery log: each event to each webhook, its status, attempts and the last
    attempt's outcome."""
    from rich.table import Table

    from neocloud.domain.events.webhooks import parse_status
    from neocloud.services import webhooks as service

    with make_app() as app:
        app.require_database()
        found = service.list_deliveries(
            app.uow(),
            webhook_id=None if webhook is None else _id(webhook, "webhook"),
            status=None if status is None else parse_status(status, "--status"),
            since=count_option(since, "since"),
            limit=count_option(limit, "limit") or 0,
        )
    rows = [_delivery_row(d) for d in found]
    if as_json:
        emit_json(rows)
        return
    table = Table(
        "id", "webhook", "event", "status", "attempts", "last attempt (UTC)", "outcome",
        "next attempt",
    )  # fmt: skip
    for r in rows:
        outcome = r["last_status_code"] if r["last_status_code"] is not None else r["last_error"]
        table.add_row(
            str(r["id"]), str(r["webhook"]), str(r["event"]), str(r["status"]),
            str(r["attempts"]), str(r["last_attempt_at"] or ""), str(outcome or ""),
            str(r["next_attempt_at"] or ""),
        )  # fmt: skip
    console().print(table)
    if not rows:
        console().print("no deliveries match")


@cli.command()
@handles_errors
def deliver(
    loop: bool = typer.Option(False, "--loop", help="Keep delivering until interrupted."),
    interval: str = typer.Option(
        "5", "--interval", help="With --loop: seconds to wait when nothing is due."
    ),
    timeout: str = typer.Option("10", "--timeout", help="Seconds a POST may take (0.1-60)."),
) -> None:
    """The worker: send every delivery due now (system clock), once or, with --loop, until
    Ctrl-C. Runs apart from billing: an endpoint that is down never holds billing up."""
    import time
    from decimal import Decimal

    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.services import webhooks as service

    timeout_s, wait_s = number_option(timeout, "timeout"), number_option(interval, "interval")
    if not Decimal("0.1") <= timeout_s <= 60:
        raise InvalidInput.single("timeout", timeout, "must be 0.1 to 60 seconds")
    if not Decimal("0.1") <= wait_s <= 3600:
        raise InvalidInput.single("interval", interval, "must be 0.1 to 3600 seconds")
    with make_app() as app:
        app.require_database()
        sender = app.webhook_sender(float(timeout_s))
        totals = [0, 0, 0]
        try:
            while True:
                done = service.deliver_due(app.uow(), sender, app.wall)
                for i, n in enumerate((done.delivered, done.retrying, done.failed)):
                    totals[i] += n
                if not loop:
                    break
                if not done.attempted:
                    time.sleep(float(wait_s))
        except KeyboardInterrupt:
            pass
    console().print(f"{totals[0]} delivered, {totals[1]} to retry, {totals[2]} given up")
