"""``neocloud apikey``: API keys for the REST API and the dashboard (admin's work)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, emit_json, handles_errors, make_app

if TYPE_CHECKING:
    from datetime import datetime

    from neocloud.domain.access.keys import ApiKey

cli = typer.Typer(help="API keys: create (shown once), list, revoke.", no_args_is_help=True)


@cli.command()
@handles_errors
def create(
    role: str = typer.Option(..., "--role", help="admin, operator, finance, auditor or tenant."),
    tenant: str = typer.Option(None, "--tenant", help="The tenant a tenant key is bound to."),
    label: str = typer.Option(None, "--label", help="Who or what uses the key (default: role)."),
    expires: str = typer.Option(
        None, "--expires", help="When it stops working: 2027-06-01 (UTC) or an ISO date-time."
    ),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Create a key and print it once: only its hash is stored, it cannot be shown again."""
    from neocloud.domain.kernel.instants import parse_moment, resolve
    from neocloud.services import access

    expires_at = (
        None if expires is None else resolve(parse_moment(expires, "expires"), "UTC", "expires")
    )
    with make_app() as app:
        app.require_database()
        key, text = access.create_key(
            app.uow(),
            app.context(),
            role=role,
            label=label if label is not None else f"{tenant or role} key",
            tenant=tenant,
            expires_at=expires_at,
        )
    if as_json:
        emit_json({**_row(key, key.created_at), "key": text})
        return
    console().print(
        f"API key {key.key_id} ({key.role}{', tenant ' + key.tenant if key.tenant else ''}):"
    )
    console().print(text)
    console().print("Keep it now: it is stored only as a hash and cannot be shown again.")


@cli.command("list")
@handles_errors
def list_(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every key: id, role, tenant, label, status now, created, expires, revoked."""
    from rich.table import Table

    from neocloud.services import access

    with make_app() as app:
        app.require_database()
        keys = access.list_keys(app.uow())
        now = app.wall.now()
    rows = [_row(k, now) for k in keys]
    if as_json:
        emit_json(rows)
        return
    table = Table(
        "key id", "role", "tenant", "label", "status", "created (UTC)", "expires", "revoked"
    )
    for r in rows:
        table.add_row(
            *(
                str(r[c] or "")
                for c in (
                    "key_id",
                    "role",
                    "tenant",
                    "label",
                    "status",
                    "created_at",
                    "expires_at",
                    "revoked_at",
                )
            )
        )
    console().print(table)
    if not rows:
        console().print("no API keys yet: neocloud apikey create --role admin")


@cli.command()
@handles_errors
def revoke(key_id: str = typer.Argument(..., help="The key id (the part after nck_).")) -> None:
    """Revoke a key now: it stops working at once, for the API and dashboard sessions."""
    from neocloud.services import access

    with make_app() as app:
        app.require_database()
        key = access.revoke_key(app.uow(), app.context(), key_id)
    console().print(f"API key {key.key_id} revoked")


def _row(key: ApiKey, now: datetime) -> dict[str, object]:
    def iso(at: datetime | None) -> str | None:
        return None if at is None else at.isoformat(timespec="seconds")

    return {
        "key_id": key.key_id,
        "role": key.role.value,
        "tenant": key.tenant,
        "label": key.label,
        "status": key.status(now),
        "created_at": iso(key.created_at),
        "expires_at": iso(key.expires_at),
        "revoked_at": iso(key.revoked_at),
    }
