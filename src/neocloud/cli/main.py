"""Entry point of the ``neocloud`` command.

Help is plain text (``rich_markup_mode=None``): Typer's rich help imports rich, markdown-it
and pygments, ~80 ms that every ``--help`` and usage error would pay before printing a line.
"""

import inspect
import os
import sys

import typer

from neocloud.cli import (
    agreements,
    allocation,
    apikey,
    audit,
    billing,
    capacity,
    deal,
    economics,
    events,
    fleet,
    metering,
    plan,
    risk,
    serve,
    telemetry,
    webhook,
)
from neocloud.cli.output import IO_ERROR, console, handles_errors, make_app

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
cli.add_typer(audit.cli, name="audit")
cli.add_typer(telemetry.cli, name="telemetry")
cli.add_typer(economics.cli, name="economics")
cli.add_typer(metering.cli, name="metering")
cli.add_typer(metering.maintenance_cli, name="maintenance")
cli.add_typer(plan.cli, name="plan")
cli.add_typer(risk.cli, name="risk")
cli.add_typer(deal.cli, name="deal")
cli.add_typer(apikey.cli, name="apikey")
cli.add_typer(events.cli, name="events")
cli.add_typer(webhook.cli, name="webhook")


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


cli.command("agent")(telemetry.agent)
cli.command("serve")(serve.serve)


whole_first_lines(cli)


LOG_VARIABLES = ("NEOCLOUD_LOG_LEVEL", "NEOCLOUD_LOG_FORMAT")


def run() -> None:
    """The ``neocloud`` command: logging if the environment asks (``cli/logs.py``), then
    Typer. Standard output that cannot be written (closed, a full disk, a pipe whose reader
    left) is an error, never a silent exit 0."""
    if sys.stdout is None:
        sys.stderr.write("error: standard output is closed; nothing could be printed\n")
        sys.exit(IO_ERROR)
    if any(os.environ.get(name) for name in LOG_VARIABLES):
        from neocloud.cli.logs import start_logging

        try:
            start_logging(os.environ)
        except typer.Exit as refused:
            sys.exit(refused.exit_code)
    code: int | str | None = 0
    try:
        cli()
    except SystemExit as done:
        code = done.code
    except OSError as exc:
        code = _output_failed(exc)
    try:
        sys.stdout.flush()
    except OSError as exc:
        code = _output_failed(exc)
    sys.exit(code)


def _output_failed(exc: OSError) -> int:
    """Say why standard output failed (not for a closed pipe: its reader chose to stop)."""
    sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - the interpreter's last flush goes here
    if isinstance(exc, BrokenPipeError):
        return 1
    sys.stderr.write(f"error: cannot write to standard output: {exc.strerror or exc}\n")
    return IO_ERROR
