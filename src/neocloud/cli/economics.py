"""``neocloud economics``: what the deals earn, month by month (docs/ECONOMICS.md)."""

from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, emit_csv, emit_json, handles_errors, make_app

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from neocloud.services.economics import SiteEconomics

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


@cli.command("report")
@handles_errors
def report(
    site: str = typer.Option(..., "--site"),
    start: str = typer.Option(..., "--from", help="First month, YYYY-MM (the site's zone)."),
    end: str = typer.Option(..., "--to", help="Last month, YYYY-MM."),
    assumptions_file: str = typer.Option(
        None, "--assumptions", help="YAML overriding the defaults (docs/ECONOMICS.md)."
    ),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
    html_file: str = typer.Option(None, "--html", help="Write a self-contained HTML report."),
    charts_dir: str = typer.Option(None, "--charts", help="Write PNG and SVG charts here."),
    no_telemetry: bool = typer.Option(
        False, "--no-telemetry", help="Skip the GPU-hours by use (every pool hour unreported)."
    ),
) -> None:
    """A site's economics per calendar month: revenue billed and recognized (two readings),
    backlog, energy (metered or planned, labelled), opex, depreciation, margin, internal use
    at the shadow price, carbon, and GPU-hours by use."""
    from pathlib import Path

    from neocloud.domain.economics.assumptions import DEFAULTS, parse_assumptions
    from neocloud.services import economics

    with make_app() as app:
        assumptions = DEFAULTS
        if assumptions_file:
            assumptions = parse_assumptions(app.read_yaml(Path(assumptions_file)))
        app.require_database()
        meter = None if no_telemetry else app.meter()
        result = economics.site_report(app.uow(), meter, site, first=start, last=end,
                                       assumptions=assumptions, rules=app.rules())  # fmt: skip
    _report_out(result, assumptions.currency, assumptions.sources, as_json=as_json,
                as_csv=as_csv, html_file=html_file, charts_dir=charts_dir)  # fmt: skip


def _report_out(
    result: "SiteEconomics",
    currency: str,
    sources: "Sequence[str]",
    *,
    as_json: bool,
    as_csv: bool,
    html_file: str | None,
    charts_dir: str | None,
) -> None:
    from pathlib import Path

    from neocloud import bootstrap
    from neocloud.render import economics as render

    name = result.site.name
    if charts_dir:
        for path in bootstrap.economics_charts(result.months, currency, name, Path(charts_dir)):
            typer.echo(f"wrote {path}", err=True)
    if html_file:
        svgs = bootstrap.economics_chart_svgs(result.months, currency, name)
        page = render.report_html(result.site, result.agreements, result.months,
                                  currency=currency, sources=sources, charts=svgs)  # fmt: skip
        _write(Path(html_file), page)
        typer.echo(f"wrote {html_file}", err=True)
    rows = [render.month_row(m) for m in result.months]
    if as_json:
        emit_json(render.report_data(result.site, result.agreements, result.months, currency,
                                     sources))  # fmt: skip
    elif as_csv:
        emit_csv(render.REPORT_COLUMNS, [list(r.values()) for r in rows])
    elif not html_file:
        _report_table(name, currency, result.site.timezone, rows)


def _write(path: "Path", text: str) -> None:
    from neocloud.domain.kernel.errors import InvalidInput

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInput.single(
            "--html", str(path), f"cannot be written: {exc.strerror}"
        ) from None


def _report_table(site: str, currency: str, tz: str, rows: list[dict[str, str]]) -> None:
    from decimal import Decimal

    from rich.table import Table

    tables = {
        "revenue and backlog": ("period", "billed", "recognized", "balance",
                                "recognized_notice_reading", "headline_backlog",
                                "enforceable_backlog"),
        "costs and margin (margin on the straight-line reading)": (
            "period", "energy_basis", "energy_cost", "opex", "depreciation", "margin",
            "margin_notice_reading", "internal_value", "carbon_kg"),
    }  # fmt: skip
    for title, shown in tables.items():
        table = Table(title=f"{site}: {title} ({currency}, months in {tz})",
                      title_justify="left")  # fmt: skip
        for i, name in enumerate(shown):
            table.add_column(name.replace("_", " "), justify="left" if (i in (0, 1) and
                             shown[1] == "energy_basis") or i == 0 else "right")  # fmt: skip
        for r in rows:
            table.add_row(*(r[c] if c in ("period", "energy_basis") else
                            f"{Decimal(r[c]):,.2f}" for c in shown))  # fmt: skip
        console().print(table)


@cli.command("backlog")
@handles_errors
def backlog(
    site: str = typer.Option(..., "--site"),
    at: str = typer.Option(None, "--at", help="A date (midnight, site's zone) or an instant."),
    start: str = typer.Option(None, "--from", help="First month, YYYY-MM."),
    end: str = typer.Option(None, "--to", help="Last month, YYYY-MM."),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """The site's backlog both ways, headline (consideration not yet billed) and enforceable
    (what notice given then would still owe): at a moment per agreement and in total, or at
    each month's end from --from to --to."""
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.kernel.instants import parse_moment, resolve
    from neocloud.render import economics as render
    from neocloud.services import economics

    if at is not None and (start or end):
        raise InvalidInput.single("--at", at, "give either --at or --from and --to, not both")
    if at is None and not (start and end):
        raise InvalidInput.single("--from" if not start else "--to", start or end or "",
                                  "give --at, or both --from and --to")  # fmt: skip
    moment = parse_moment(at, "--at") if at is not None else None
    with make_app() as app:
        app.require_database()
        uow = app.uow()
        if moment is not None:
            with uow:
                tz = uow.sites.header(site).timezone  # NotFound: no such site
            facts, rows = economics.backlog(uow, site, at=resolve(moment, tz, "--at"))
        else:
            facts, rows = economics.backlog(uow, site, first=start, last=end)
    out = [render.backlog_row(b, facts.timezone, monthly=moment is None) for b in rows]
    if as_json:
        emit_json({"site": facts.name, "timezone": facts.timezone, "rows": out})
        return
    if as_csv:
        emit_csv(render.BACKLOG_COLUMNS, [list(r.values()) for r in out])
        return
    from decimal import Decimal

    from rich.table import Table

    table = Table(title=f"{facts.name}: backlog (months in {facts.timezone})",
                  title_justify="left")  # fmt: skip
    for i, name in enumerate(("month", "at", "agreement", "headline", "enforceable")):
        table.add_column(name, justify="right" if i > 2 else "left")
    for r in out:
        table.add_row(r["period"], r["at"], r["agreement"],
                      *(f"{Decimal(r[c]):,.2f}" for c in render.BACKLOG_COLUMNS[3:]))  # fmt: skip
    console().print(table)
