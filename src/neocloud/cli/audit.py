"""``neocloud audit``: the audit log, for finance and auditors."""

import typer

from neocloud.cli.output import console, count_option, emit_json, handles_errors, make_app

cli = typer.Typer(help="The audit log: every change, who made it and when.", no_args_is_help=True)


@cli.command("list")
@handles_errors
def list_(
    entity: str = typer.Option(
        None, "--entity", help="TYPE or TYPE:KEY, e.g. agreement or agreement:memphis-lease."
    ),
    action: str = typer.Option(None, "--action", help="Only this action, e.g. invoice.issue."),
    last: str = typer.Option(None, "--last", help="Only the newest N entries."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Audit entries, oldest first: when written (system clock), the business date, actor,
    action, entity and details."""
    from rich.table import Table

    from neocloud.services import audit as service

    entity_type, _, entity_key = (entity or "").partition(":")
    with make_app() as app:
        app.require_database()
        entries = service.audit_entries(
            app.uow(),
            entity_type=entity_type or None,
            entity_key=entity_key or None,
            action=action,
            last=count_option(last, "last"),
        )
    if as_json:
        emit_json(
            [
                {
                    "recorded_at": e.recorded_at.isoformat(),
                    "business_at": e.business_at.isoformat(),
                    "actor": e.actor,
                    "action": e.action,
                    "entity_type": e.entity_type,
                    "entity_key": e.entity_key,
                    "details": e.details,
                }
                for e in entries
            ]
        )
        return
    table = Table("recorded (UTC)", "business date (UTC)", "actor", "action", "entity", "details")
    for e in entries:
        table.add_row(
            e.recorded_at.isoformat(timespec="seconds"),
            e.business_at.isoformat(timespec="seconds"),
            e.actor,
            e.action,
            f"{e.entity_type} {e.entity_key}",
            ", ".join(f"{k}={v}" for k, v in e.details.items()),
        )
    console().print(table)
    if not entries:
        console().print("no audit entries match")
