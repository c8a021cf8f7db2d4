"""Entry point of the ``neocloud`` command.

Help is plain text (``rich_markup_mode=None``): Typer's rich help imports rich, markdown-it
and pygments, ~80 ms that every ``--help`` and usage error would pay before printing a line.
"""

import inspect
import os
import sys
from pathlib import Path

import typer

from neocloud.cli import agreements, allocation, billing, capacity, fleet, telemetry
from neocloud.cli.output import console, handles_errors, make_app

cli = typer.Typer(
    name="neocloud",
    help="Control plane for a GPU data-center operator: fleet, capacity, deals, billing.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
cli.add_typer(fleet.cli, name="fleet")
cli.add_typer(capacity.cli, name="capacity")
cli.add_typer(agreements.cli, name="agreement")
cli.add_typer(allocation.cli, name="allocation")
cli.add_typer(billing.billing_cli, name="billing")
cli.add_typer(billing.invoice_cli, name="invoice")
cli.add_typer(telemetry.cli, name="telemetry")


def whole_first_lines(app: typer.Typer) -> None:
    """List each command with the first paragraph of its docstring whole, wrapped as rich help
    did; plain help would cut it to the terminal's width and end it with '...'."""
    for info in app.registered_commands:
        if info.short_help is None and info.callback and info.callback.__doc__:
            info.short_help = inspect.cleandoc(info.callback.__doc__).split("\n\n")[0]
    for group in app.registered_groups:
        if group.typer_instance:
            whole_first_lines(group.typer_instance)


@cli.command()
@handles_errors
def init() -> None:
    """Create (or upgrade) the database: SQLite under NEOCLOUD_HOME, or NEOCLOUD_DATABASE_URL."""
    with make_app() as app:
        app.init_database()
        console().print(f"database ready at {app.describe_database()}")


@cli.command()
@handles_errors
def agent(
    replay: Path = typer.Option(None, "--replay", help="Replay an NVML capture directory."),
    site: str = typer.Option(None, "--site", help="The site this machine belongs to."),
    node: str = typer.Option(None, "--node", help="This machine's node name (default: host name)."),
    interval: float = typer.Option(1.0, "--interval", min=0.01, help="Seconds between samples."),
    samples: int = typer.Option(None, "--samples", min=1, help="Stop after N samples."),
    output: Path = typer.Option(None, "--output", "-o", help="Write a Parquet file instead."),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
) -> None:
    """Sample this machine's GPUs through NVML into the telemetry store (or a file)."""
    import socket

    from neocloud.cli.telemetry import show_report
    from neocloud.services import telemetry

    with make_app() as app:
        named = site
        if output is None:
            app.require_database()
            named = telemetry.resolve_site(app.uow(), site)
        batch = app.agent_batch(
            replay=replay,
            site=named or "unknown",
            node=node or socket.gethostname(),
            interval_s=interval,
            samples=samples,
        )
        if output is not None:
            app.write_samples(batch, output)
            console().print(f"wrote {batch.table.num_rows:,} rows to {output}")
            return
        report = telemetry.ingest(app.uow(), app.telemetry_store(), batch)
    show_report(report, as_json)


whole_first_lines(cli)


LOG_VARIABLES = ("NEOCLOUD_LOG_LEVEL", "NEOCLOUD_LOG_FORMAT")


def run() -> None:
    """The ``neocloud`` command: logging if the environment asks (``cli/logs.py``), then Typer."""
    if any(os.environ.get(name) for name in LOG_VARIABLES):
        from neocloud.cli.logs import start_logging

        try:
            start_logging(os.environ)
        except typer.Exit as refused:
            sys.exit(refused.exit_code)
    cli()
