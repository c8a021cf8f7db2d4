"""``neocloud billing`` and ``neocloud invoice``: month close, invoices, credit notes."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import (
    EXIT_CODES,
    console,
    emit_json,
    errors,
    handles_errors,
    json_text,
    make_app,
    write_or_print,
)

if TYPE_CHECKING:
    from neocloud.domain.billing.invoices import IssuedInvoice

billing_cli = typer.Typer(help="Month close.", no_args_is_help=True)
invoice_cli = typer.Typer(help="Issued invoices and credit notes.", no_args_is_help=True)


@billing_cli.command("close")
@handles_errors
def close(
    period: str = typer.Argument(..., help="The month to close, YYYY-MM."),
    availability_source: str = typer.Option(
        "auto",
        "--availability-source",
        help="SLA availability: auto (recorded by hand, else metered from telemetry), "
        "metered, or manual (only what was recorded by hand).",
    ),
    engine: str = typer.Option("duckdb", "--engine", help="Metering on duckdb or spark."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Issue one invoice per billable agreement for a month that has ended (idempotent).
    SLA credits take the availability metered from telemetry unless told otherwise."""
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.render.invoices import invoice_data
    from neocloud.services import billing as service

    sources = [s.value for s in service.AvailabilitySource]
    if availability_source not in sources:
        raise InvalidInput.single(
            "availability_source", availability_source, f"must be one of {', '.join(sources)}"
        )
    source = service.AvailabilitySource(availability_source)
    with make_app() as app:
        app.require_database()
        meter = None if source is service.AvailabilitySource.MANUAL else app.meter(engine)
        report = service.close_month(
            app.uow(), app.context(), period, meter=meter, source=source, rules=app.rules()
        )
    if as_json:
        emit_json(
            {
                "period": report.period,
                "issued": [invoice_data(i) for i in report.issued],
                "already_issued": report.already_issued,
                "nothing_to_bill": report.nothing_to_bill,
                "failed": {k: e.message for k, e in report.failed.items()},
            }
        )
    else:
        for inv in report.issued:
            console().print(
                f"issued {inv.number} to {inv.tenant} for {inv.agreement_key} "
                f"{inv.period}: {inv.total}{' (final)' * inv.final}"
            )
        for key in report.already_issued:
            console().print(f"{key} {period}: invoiced already, unchanged")
        if not (report.issued or report.already_issued or report.failed):
            console().print(f"{period}: nothing to bill")
    for key, exc in report.failed.items():
        errors().print(f"error: {key} not invoiced: {exc.message}")
    if report.failed:  # the others are invoiced and committed; say so by the exit code
        first = next(iter(report.failed.values()))
        raise typer.Exit(EXIT_CODES.get(first.code, 1))


def render_invoice(inv: "IssuedInvoice") -> None:
    from rich.table import Table

    title = f"{inv.kind.value.replace('_', ' ')} {inv.number}"
    about = f"refers to {inv.refers_to}" if inv.refers_to else f"period {inv.period}"
    table = Table(
        "#",
        "description",
        "amount",
        title=f"{title} — {inv.operator} -> {inv.tenant}, {inv.agreement_key}, {about}"
        f"{' (final)' * inv.final}",
        title_justify="left",
    )
    for i, line in enumerate(inv.lines, 1):
        table.add_row(str(i), line.description, f"{line.amount:,}")
    table.add_row("", f"total ({inv.currency})", f"{inv.total.amount:,}", style="bold")
    console().print(table)


@invoice_cli.command("list")
@handles_errors
def list_(
    agreement: str = typer.Option(None, "--agreement"),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv", help="Every line as CSV."),
) -> None:
    """Issued invoices and credit notes, oldest first."""
    from rich.table import Table

    from neocloud.render.invoices import invoice_csv, invoice_data
    from neocloud.services import billing as service

    with make_app() as app:
        app.require_database()
        invoices = service.list_invoices(app.uow(), agreement)
    if as_json:
        emit_json([invoice_data(i) for i in invoices])
    elif as_csv:
        write_or_print(invoice_csv(invoices), None)
    else:
        table = Table("number", "agreement", "period", "tenant", "total", "issued")
        for i in invoices:
            table.add_row(
                i.number,
                i.agreement_key,
                i.period or f"-> {i.refers_to}",
                i.tenant,
                f"{i.currency} {i.total.amount:,}",
                i.issued_at.date().isoformat(),
            )
        console().print(table)


@invoice_cli.command("show")
@handles_errors
def show(
    number: str,
    as_json: bool = typer.Option(False, "--json"),
    as_html: bool = typer.Option(False, "--html", help="A printable HTML page."),
    as_csv: bool = typer.Option(False, "--csv"),
    output: Path = typer.Option(None, "-o", "--output", help="Write to this file."),
) -> None:
    """One invoice: lines, rounded amounts, total."""
    from neocloud.render.invoices import invoice_csv, invoice_data, invoice_html
    from neocloud.services import billing as service

    with make_app() as app:
        app.require_database()
        inv = service.get_invoice(app.uow(), number)
    if not (as_json or as_html or as_csv):
        render_invoice(inv)
        return
    if as_json:
        text = json_text(invoice_data(inv))
    else:
        text = invoice_html(inv) if as_html else invoice_csv([inv])
    write_or_print(text, output)


@invoice_cli.command("credit-note")
@handles_errors
def credit_note(
    number: str,
    amount: str = typer.Option(..., "--amount"),
    reason: str = typer.Option(..., "--reason"),
) -> None:
    """Correct an issued invoice with a credit note (invoices never change)."""
    from neocloud.domain.kernel.money import Money
    from neocloud.services import billing as service

    with make_app() as app:
        app.require_database()
        inv = service.get_invoice(app.uow(), number)
        note = service.issue_credit_note(
            app.uow(), app.context(), number, Money.of(amount, inv.currency), reason
        )
    console().print(f"issued {note.number} against {number}: {note.total}")
