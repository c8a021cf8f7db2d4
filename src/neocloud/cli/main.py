"""Entry point of the ``neocloud`` command."""

from __future__ import annotations

import typer

from neocloud.bootstrap import app as make_app
from neocloud.cli import agreements, allocation, billing, capacity, fleet
from neocloud.cli.output import console, handles_errors

cli = typer.Typer(
    name="neocloud",
    help="Control plane for a GPU data-center operator: fleet, capacity, deals, billing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
cli.add_typer(fleet.cli, name="fleet")
cli.add_typer(capacity.cli, name="capacity")
cli.add_typer(agreements.cli, name="agreement")
cli.add_typer(allocation.cli, name="allocation")
cli.add_typer(billing.billing_cli, name="billing")
cli.add_typer(billing.invoice_cli, name="invoice")


@cli.command()
@handles_errors
def init() -> None:
    """Create (or upgrade) the database: SQLite under NEOCLOUD_HOME, or NEOCLOUD_DATABASE_URL."""
    with make_app() as app:
        app.init_database()
        console.print(f"database ready at {app.describe_database()}")


def run() -> None:
    cli()
