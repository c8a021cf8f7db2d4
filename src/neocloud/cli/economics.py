"""``neocloud economics``: what the deals earn, month by month (docs/ECONOMICS.md)."""

import typer

from neocloud.cli.output import console, emit_csv, emit_json, handles_errors, make_app

cli = typer.Typer(help="Revenue, backlog and what the deals are worth.", no_args_is_help=True)

COLUMNS = ("period", "billed", "recognized", "balance", "recognized_notice_reading",
           "headline_backlog", "enforceable_backlog")  # fmt: skip


@cli.command("revenue")
@handles_errors
def revenue(
    agreement: str = typer.Option(..., "--agreement"),
    start: str = typer.Option(None, "--from", help="First month, YYYY-MM (default: the first)."),
    end: str = typer.Option(None, "--to", help="Last month, YYYY-MM (default: the last)."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """Revenue billed and recognized month by month, in two readings: straight-line over
    the term (the balance: + a contract asset, - deferred revenue) and over the notice
    period (as billed); the backlog at each month's end, headline and enforceable."""
    from neocloud.domain.billing.periods import BillingPeriod
    from neocloud.services import agreement_views as views

    with make_app() as app:
        app.require_database()
        deal, months = views.revenue(app.uow(), agreement)
    tz = deal.terms.billing_timezone
    first = BillingPeriod.parse(start, tz).start if start else None
    last = BillingPeriod.parse(end, tz).start if end else None
    if first and last and first > last:
        from neocloud.domain.kernel.errors import InvalidInput

        raise InvalidInput.single("--from", start, f"is after --to {end}")
    chosen = [m for m in months if (first is None or m.period.start >= first)
              and (last is None or m.period.start <= last)]  # fmt: skip
    rows = [
        (str(m.period), *(x.rounded().amount for x in (m.billed, m.recognized, m.balance,
         m.recognized_notice, m.headline_backlog, m.enforceable_backlog)))
        for m in chosen
    ]  # fmt: skip
    currency = deal.terms.currency
    if as_json:
        emit_json({"agreement": agreement, "currency": currency, "billing_timezone": tz,
                   "months": [dict(zip(COLUMNS, (r[0], *map(str, r[1:])), strict=True))
                              for r in rows]})  # fmt: skip
        return
    if as_csv:
        emit_csv(COLUMNS, rows)
        return
    from rich.table import Table

    table = Table(title=f"{agreement}: revenue and backlog ({currency}, months in {tz})",
                  title_justify="left")  # fmt: skip
    for i, name in enumerate(("month", "billed", "recognized (term)", "asset+ / deferred-",
                              "recognized (notice)", "headline backlog",
                              "enforceable backlog")):  # fmt: skip
        table.add_column(name, justify="right" if i else "left")
    for row in rows:
        table.add_row(str(row[0]), *(f"{x:,.2f}" for x in row[1:]))
    console().print(table)
