"""``neocloud metering`` and ``neocloud maintenance``: what telemetry says an agreement got,
why units were down, and the maintenance that SLAs exclude."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import (
    console,
    emit_csv,
    emit_json,
    handles_errors,
    make_app,
    number_option,
)

if TYPE_CHECKING:
    from decimal import Decimal

    from neocloud.domain.metering.availability import Window
    from neocloud.domain.metering.metered import Metering
    from neocloud.domain.metering.site_use import SiteHour
    from neocloud.services.billing import Proposal

cli = typer.Typer(help="Metering: availability, GPU-hours and energy from telemetry.",
                  no_args_is_help=True)  # fmt: skip
maintenance_cli = typer.Typer(help="Maintenance windows announced for nodes.", no_args_is_help=True)

ENGINE_HELP = "duckdb (embedded) or spark (neocloud[spark], Java 17)."


def metering_json(m: Metering) -> dict[str, object]:
    a = m.availability
    return {
        "agreement": m.agreement,
        "period": m.period,
        "site": m.site,
        "engine": m.engine,
        "unit": a.plan.unit.value,
        "availability_ratio": a.ratio,
        "coverage_ratio": a.coverage_ratio,
        "covered": a.covered,
        "held_unit_s": a.plan.held_unit_s,
        "excluded_unit_s": a.plan.excluded_unit_s,
        "required_unit_s": a.required_unit_s,
        "available_unit_s": a.available_unit_s,
        "down_unit_s": {cause.value: value for cause, value in a.down_unit_s.items()},
        "held_gpu_hours": m.held_gpu_hours,
        "gpu_energy_kwh": m.gpu_kwh,
        "gpu_energy_from_power_kwh": m.power_fallback_kwh,
        "rows_without_energy_counter": m.usage.rows_without_energy,
        "it_energy_kwh": m.it_kwh,
        "facility_energy_kwh": m.facility_kwh,
        "energy_cost": None if m.energy_cost is None else m.energy_cost.text,
        "energy_currency": None if m.price_per_mwh is None else m.price_per_mwh.currency,
        "carbon_kg": m.carbon_kg,
        "server_overhead": m.server_overhead,
        "pue": m.pue,
        "util_ratio": m.usage.util_ratio,
    }


def _hours(unit_s: object) -> str:
    from decimal import Decimal

    return f"{Decimal(str(unit_s)) / 3600:,.2f}"


def render_metering(
    m: Metering, recorded: tuple[object, str] | None, proposal: Proposal | None = None
) -> None:
    from rich.table import Table

    a = m.availability
    unit = a.plan.unit.value
    table = Table(show_header=False, title=f"{m.agreement} {m.period} ({m.engine})",
                  title_justify="left")  # fmt: skip
    table.add_column()
    table.add_column(justify="right")
    ratio = "-" if a.ratio is None else f"{a.ratio * 100:.4f} %"
    table.add_row(f"availability (per {unit})", ratio)
    table.add_row("telemetry coverage", f"{a.coverage_ratio * 100:.2f} %"
                  + ("" if a.covered else " (too little to meter)"))  # fmt: skip
    table.add_row(f"held {unit}-hours", _hours(a.plan.held_unit_s))
    table.add_row("  excluded: announced maintenance", _hours(a.plan.excluded_unit_s))
    table.add_row("  required", _hours(a.required_unit_s))
    table.add_row("  available", _hours(a.available_unit_s))
    for cause, value in a.down_unit_s.items():
        table.add_row(f"  down: {cause.value}", _hours(value))
    if a.plan.unit.value != "gpu":
        table.add_row("held GPU-hours", f"{m.held_gpu_hours:,.2f}")
    table.add_row("GPU energy (board counters)", f"{m.gpu_kwh:,.3f} kWh")
    if m.usage.rows_without_energy:
        table.add_row(
            f"  of which from board power ({m.usage.rows_without_energy:,} rows without a "
            "counter: an estimate)",
            f"{m.power_fallback_kwh:,.3f} kWh",
        )
    table.add_row(f"IT energy (x overhead {m.server_overhead})", f"{m.it_kwh:,.3f} kWh")
    table.add_row(f"facility energy (x PUE {m.pue})", f"{m.facility_kwh:,.3f} kWh")
    if m.energy_cost is not None and m.price_per_mwh is not None:
        price = m.price_per_mwh
        table.add_row(f"  at the site's tariff ({price.currency} {price.amount:,.2f}/MWh)",
                      f"{price.currency} {m.energy_cost.amount:,.2f}")  # fmt: skip
    if m.carbon_kg is not None:
        table.add_row(f"  CO2 at {m.grid_carbon_kg_per_mwh} kg/MWh",
                      f"{m.carbon_kg / 1000:,.3f} t")  # fmt: skip
    util = m.usage.util_ratio
    table.add_row("mean GPU utilisation", "-" if util is None else f"{util * 100:.2f} %")
    console().print(table)
    if recorded is not None and a.ratio is not None and recorded[0] != a.ratio:
        note = (
            "would not change what is billed"
            if proposal is None
            else f"would re-bill {proposal.invoice} by a {proposal.kind.value.replace('_', ' ')}"
            f" of {proposal.total}"
        )
        console().print(
            f"recorded for the invoice: {recorded[0]} ({recorded[1]}); telemetry now says "
            f"{a.ratio}: `neocloud agreement availability {m.agreement} {m.period} {a.ratio}` "
            f"{note}",
            markup=False,
        )


@cli.command("show")
@handles_errors
def show(
    agreement: str = typer.Option(..., "--agreement"),
    period: str = typer.Option(..., "--period", help="YYYY-MM, the agreement's billing month."),
    engine: str = typer.Option("duckdb", "--engine", help=ENGINE_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Availability, held GPU-hours and energy of an agreement in a month, from telemetry
    (with what was recorded for its invoice, if that differs)."""
    from neocloud.services import agreement_views, billing, metering

    with make_app() as app:
        app.require_database()
        found = metering.meter_agreement(
            app.uow(), app.meter(engine), agreement, period, app.rules()
        )
        recorded = agreement_views.recorded_availability(app.uow(), agreement, period)
        ratio = found.availability.ratio
        proposal = (
            billing.propose_correction(app.uow(), agreement, period, ratio)
            if ratio is not None and found.availability.covered and recorded
            and recorded[0] != ratio
            else None
        )  # fmt: skip
    if as_json:
        data = metering_json(found)
        data["recorded"] = None if recorded is None else {
            "availability_ratio": recorded[0], "source": recorded[1]}  # fmt: skip
        data["proposed_note"] = None if proposal is None else {
            "invoice": proposal.invoice, "kind": proposal.kind.value,
            "total": proposal.total.amount, "currency": proposal.total.currency}  # fmt: skip
        emit_json(data)
        return
    render_metering(found, recorded, proposal)


@cli.command("explain")
@handles_errors
def explain(
    agreement: str = typer.Option(..., "--agreement"),
    period: str = typer.Option(..., "--period", help="YYYY-MM, the agreement's billing month."),
    engine: str = typer.Option("duckdb", "--engine", help=ENGINE_HELP),
    everything: bool = typer.Option(False, "--all", help="Every row, not the first 12."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Which GPUs (or nodes) were down, when and why; which minutes maintenance excluded;
    which failures counted."""
    from neocloud.services import metering

    with make_app() as app:
        app.require_database()
        found = metering.explain(app.uow(), app.meter(engine), agreement, period, app.rules())
    unit = found.metering.availability.plan.unit.value
    if as_json:
        emit_json(
            {
                **metering_json(found.metering),
                "down": [
                    {"node": d.node, "cause": d.cause.value, "first": d.first.isoformat(),
                     "last": d.last.isoformat(), "unit_s": d.unit_s}
                    for d in found.down
                ],
                "excluded": [
                    {"node": n, "from": i.start.isoformat(), "to": i.end.isoformat(), "why": w}
                    for n, i, w in found.excluded
                ],
                "failed": [
                    {"node": n, "from": i.start.isoformat(), "to": i.end.isoformat()}
                    for n, i in found.failed
                ],
            }
        )  # fmt: skip
        return
    render_metering(found.metering, None)
    rows: list[tuple[str, str, str, str, str]] = [
        (d.node, d.cause.value, d.first.isoformat(), d.last.isoformat(), f"{d.unit_s / 60:,.1f}")
        for d in found.down
    ]
    rows += [
        (n, "failed", w.start.isoformat(), w.end.isoformat(), "(all)") for n, w in found.failed
    ]
    _table(("node", "cause", "from", "to", f"{unit}-minutes down"), rows, "down", everything)
    excluded = [(n, w.start.isoformat(), w.end.isoformat(), why) for n, w, why in found.excluded]
    if excluded:
        _table(("node", "from", "to", "why"), excluded, "excluded (announced maintenance)",
               everything)  # fmt: skip


SHOWN = 12


def _table(
    header: tuple[str, ...], rows: Sequence[tuple[str, ...]], title: str, everything: bool
) -> None:
    """Rows as a table: the first SHOWN and a count of the rest unless ``everything``."""
    from rich.table import Table

    table = Table(*header, title=f"{title}: {len(rows):,}", title_justify="left")
    for row in rows if everything else rows[:SHOWN]:
        table.add_row(*row)
    console().print(table)
    if len(rows) > SHOWN and not everything:
        console().print(f"... and {len(rows) - SHOWN:,} more (--all lists them, --json too)")


@cli.command("run")
@handles_errors
def run(
    period: str = typer.Option(..., "--period", help="YYYY-MM"),
    site: str = typer.Option(None, "--site", help="Only this site's agreements."),
    engine: str = typer.Option("duckdb", "--engine", help=ENGINE_HELP),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Meter every agreement (of a site) in a month: rollups brought up to date, then one
    line per agreement."""
    from rich.table import Table

    from neocloud.services import agreement_views, metering

    with make_app() as app:
        app.require_database()
        meter = app.meter(engine)
        keys = [a.key for a in agreement_views.list_agreements(app.uow(), site=site)]
        found = [
            metering.meter_agreement(app.uow(), meter, key, period, app.rules()) for key in keys
        ]
    if as_json:
        emit_json([metering_json(m) for m in found])
        return
    table = Table("agreement", "availability", "coverage", "held GPU-h", "facility kWh",
                  title=f"{period} on {engine}", title_justify="left")  # fmt: skip
    for m in found:
        a = m.availability
        table.add_row(m.agreement, "-" if a.ratio is None else f"{a.ratio * 100:.4f} %",
                      f"{a.coverage_ratio * 100:.2f} %", f"{m.held_gpu_hours:,.1f}",
                      f"{m.facility_kwh:,.1f}")  # fmt: skip
    console().print(table)


@maintenance_cli.command("announce")
@handles_errors
def announce(
    site: str = typer.Option(..., "--site"),
    nodes: str = typer.Option(
        ..., "--nodes", help="A Slurm host list, e.g. h1-r[0001-0004]-n[01-08]."
    ),
    start: str = typer.Option(
        ..., "--from", help="Start: an instant with a UTC offset, e.g. 2026-08-05T00:00:00Z."
    ),
    end: str = typer.Option(..., "--to", help="End (excluded)."),
    reason: str = typer.Option("", "--reason"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Announce maintenance now: an SLA excludes it when announced its notice hours ahead."""
    from neocloud.domain.kernel.instants import parse_instant
    from neocloud.services import metering

    with make_app() as app:
        app.require_database()
        window = metering.announce_maintenance(
            app.uow(), app.context(), site, app.expand_hostlist(nodes, "nodes"),
            start=parse_instant(start, "from"), end=parse_instant(end, "to"), reason=reason,
        )  # fmt: skip
    if as_json:
        emit_json(_window_json(window))
        return
    console().print(
        f"maintenance of {len(window.nodes):,} node(s) of {site} from "
        f"{window.interval.start.isoformat()} to {window.interval.end.isoformat()}, announced "
        f"{window.announced_at.isoformat()}"
    )


def _window_json(w: Window) -> dict[str, object]:
    return {"nodes": sorted(w.nodes), "from": w.interval.start.isoformat(),
            "to": w.interval.end.isoformat(), "announced_at": w.announced_at.isoformat(),
            "reason": w.reason}  # fmt: skip


@maintenance_cli.command("list")
@handles_errors
def list_(
    site: str = typer.Option(..., "--site"), as_json: bool = typer.Option(False, "--json")
) -> None:
    """The site's maintenance windows, with when each was announced."""
    from rich.table import Table

    from neocloud.services import metering

    with make_app() as app:
        app.require_database()
        windows = metering.maintenance_windows(app.uow(), site)
    if as_json:
        emit_json([_window_json(w) for w in windows])
        return
    table = Table("from", "to", "nodes", "announced", "reason")
    for w in windows:
        table.add_row(w.interval.start.isoformat(), w.interval.end.isoformat(),
                      f"{len(w.nodes):,}", w.announced_at.isoformat(), w.reason)  # fmt: skip
    console().print(table)


@cli.command("site")
@handles_errors
def site_use(
    site: str = typer.Option(..., "--site"),
    start: str = typer.Option(
        ..., "--from", help="An instant on a UTC hour, e.g. 2026-08-01T00:00:00Z."
    ),
    end: str = typer.Option(..., "--to", help="On a UTC hour (excluded)."),
    by: str = typer.Option("hour", "--by", help="hour or day (UTC days)."),
    busy_util: str = typer.Option(
        "0.05", "--busy-util", help="Mean GPU utilisation from which a pool node-hour is busy."
    ),
    engine: str = typer.Option("duckdb", "--engine", help=ENGINE_HELP),
    as_json: bool = typer.Option(False, "--json"),
    as_csv: bool = typer.Option(False, "--csv"),
) -> None:
    """The site's GPU-hours hour by hour (or day by day): leased, spare and maintenance
    from the allocation history; the rest, the operator's own pool, internal (busy), idle
    or unreported from telemetry."""
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.kernel.instants import Interval, parse_instant
    from neocloud.services import metering

    if by not in ("hour", "day"):
        raise InvalidInput.single("--by", by, "must be hour or day")
    period = Interval(parse_instant(start, "from"), parse_instant(end, "to"))
    ratio = number_option(busy_util, "busy_util")
    with make_app() as app:
        app.require_database()
        hours = metering.site_use(
            app.uow(), app.meter(engine), site, period, ratio, rules=app.rules()
        )
    rows = _by_day(hours) if by == "day" else [
        (h.hour.isoformat(), h.installed, h.leased, h.spare, h.maintenance, h.internal, h.idle,
         h.unreported) for h in hours]  # fmt: skip
    header = ("hour" if by == "hour" else "day", "installed", "leased", "spare", "maintenance",
              "internal", "idle", "unreported")  # fmt: skip
    if as_json:
        emit_json({"site": site, "by": by, "busy_util_ratio": ratio, "unit": "GPU-hours",
                   "rows": [dict(zip(header, r, strict=True)) for r in rows]})  # fmt: skip
        return
    if as_csv:
        emit_csv(header, rows)
        return
    from rich.table import Table

    table = Table(title=f"{site}: GPU-hours by {by} (UTC)", title_justify="left")
    for i, name in enumerate(header):
        table.add_column(name, justify="right" if i else "left")
    for row in rows:
        table.add_row(str(row[0]), *(f"{x:,.1f}" for x in row[1:]))
    console().print(table)


def _by_day(hours: Sequence[SiteHour]) -> list[tuple[object, ...]]:
    from decimal import Decimal

    days: dict[str, list[Decimal]] = {}
    for h in hours:
        figures = [h.installed, h.leased, h.spare, h.maintenance, h.internal, h.idle, h.unreported]
        day = days.setdefault(h.hour.date().isoformat(), [Decimal(0)] * 7)
        for i, x in enumerate(figures):
            day[i] += x
    return [(day, *figures) for day, figures in days.items()]
