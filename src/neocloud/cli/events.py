"""``neocloud events``: the lifecycle event outbox (docs/EVENTS.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, count_option, emit_json, handles_errors, make_app

if TYPE_CHECKING:
    from neocloud.domain.events.model import RecordedEvent

cli = typer.Typer(
    help="Lifecycle events: list the outbox, scan for dated events.", no_args_is_help=True
)


@cli.command("list")
@handles_errors
def list_(
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's events."),
    kind: str = typer.Option(None, "--kind", help="Only this kind, e.g. invoice.issued."),
    agreement: str = typer.Option(None, "--agreement", help="Only this agreement's events."),
    since: str = typer.Option(None, "--since", help="Only events after this id (a cursor)."),
    limit: str = typer.Option("100", "--limit", help="At most this many (1 to 1000)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Events oldest first: id, kind, when it happened (business time), tenant, agreement
    and what it says."""
    from rich.table import Table

    from neocloud.domain.events.model import document, iso, parse_kind
    from neocloud.services import events as service

    with make_app() as app:
        app.require_database()
        found = service.list_events(
            app.uow(),
            tenant=tenant,
            kind=None if kind is None else parse_kind(kind, "--kind"),
            agreement_key=agreement,
            since=count_option(since, "since"),
            limit=count_option(limit, "limit") or 0,
        )
    if as_json:
        emit_json([document(e) for e in found])
        return
    table = Table("id", "kind", "occurred (UTC)", "tenant", "agreement", "details")
    for e in found:
        table.add_row(
            str(e.id),
            e.event.kind.value,
            iso(e.event.occurred_at),
            e.event.tenant or "",
            e.event.agreement_key or "",
            _details(e),
        )
    console().print(table)
    if not found:
        console().print("no events match")


def _details(e: RecordedEvent) -> str:
    return ", ".join(f"{k}={v}" for k, v in e.event.payload.items() if v is not None)


@cli.command()
@handles_errors
def scan(as_json: bool = typer.Option(False, "--json")) -> None:
    """Record the dated events due by now (business clock: NEOCLOUD_NOW if set): ramp
    milestones, notice and term-end reminders, term ends. Idempotent: run it from cron."""
    from neocloud.domain.events.model import document, iso
    from neocloud.services import events as service

    with make_app() as app:
        app.require_database()
        new = service.scan(app.uow(), app.context())
    if as_json:
        emit_json([document(e) for e in new])
        return
    for e in new:
        console().print(
            f"event {e.id} {e.event.kind.value} {e.event.agreement_key} {iso(e.event.occurred_at)}"
        )
    console().print(f"{len(new)} new event{'s' if len(new) != 1 else ''}")
