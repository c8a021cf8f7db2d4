"""``neocloud fleet``: import, export and show the fleet."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, emit_json, handles_errors, make_app, mw, write_or_print

if TYPE_CHECKING:
    from neocloud.domain.fleet.capacity import SiteSummary

cli = typer.Typer(help="The fleet: sites, halls, racks, nodes and GPUs.", no_args_is_help=True)


@cli.command("import")
@handles_errors
def import_(
    file: Path = typer.Argument(..., help="Fleet description (YAML, see docs/FLEET_FORMAT.md)."),
    replace: bool = typer.Option(False, "--replace", help="Replace sites that already exist."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Validate a fleet file completely, then store it in one transaction."""
    from neocloud.domain.kernel.errors import Conflict
    from neocloud.services import fleet as fleet_service

    with make_app() as app:
        app.require_database()
        doc = app.read_yaml(file)
        try:
            report = fleet_service.import_fleet(app.uow(), app.context(), doc, replace=replace)
        except Conflict as exc:
            if replace:
                raise
            raise Conflict(f"{exc.message} (with --replace)") from None
        if as_json:
            emit_json(
                {
                    "replaced": list(report.replaced),
                    "sites": [summary_json(s) for s in report.sites],
                }
            )
            return
        for s in report.sites:
            verb = "replaced" if s.site.name in report.replaced else "imported"
            console().print(
                f"{verb} site {s.site.name}: {len(s.halls)} halls, {s.racks:,} racks, "
                f"{s.nodes:,} nodes, {s.gpus:,} GPUs"
            )


@cli.command("export")
@handles_errors
def export(
    site: list[str] = typer.Option(None, "--site", help="Only this site (repeatable)."),
    output: Path = typer.Option(None, "--output", "-o", help="Write to this file."),
) -> None:
    """Write the stored fleet in the fleet description format (round-trips with import)."""
    from neocloud.services import fleet as fleet_service

    with make_app() as app:
        app.require_database()
        text = app.dump_yaml(fleet_service.export_fleet(app.uow(), site or None))
    write_or_print(text, output)


@cli.command("show")
@handles_errors
def show(
    site: list[str] = typer.Option(None, "--site", help="Only this site (repeatable)."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Per site and hall: racks, nodes, GPUs by model, IT MW and facility MW."""
    from neocloud.services import fleet as fleet_service

    with make_app() as app:
        app.require_database()
        summaries = fleet_service.fleet_summaries(app.uow(), site or None)
        if as_json:
            emit_json({"sites": [summary_json(s) for s in summaries]})
            return
        if not summaries:
            console().print("no sites yet: import one with `neocloud fleet import FILE`")
        for s in summaries:
            render_summary(s)


def summary_json(s: "SiteSummary") -> dict[str, object]:
    site = s.site
    return {
        "site": site.name,
        "display_name": site.display_name,
        "location": str(site.location),
        "timezone": site.timezone,
        "pue": site.pue,
        "facility_capacity_mw": site.facility_capacity.mw,
        "it_mw": s.it_power.mw,
        "facility_mw": s.facility_power.mw,
        "facility_headroom_mw": s.facility_headroom.mw,
        "racks": s.racks,
        "nodes": s.nodes,
        "gpus": s.gpus,
        "gpus_by_model": s.gpus_by_model(),
        "electricity_price_per_mwh": {
            "amount": site.electricity_price_per_mwh.amount,
            "currency": site.electricity_price_per_mwh.currency,
        },
        "grid_carbon_kg_per_mwh": site.grid_carbon_kg_per_mwh,
        "halls": [
            {
                "hall": h.hall,
                "racks": h.racks,
                "nodes": h.nodes,
                "gpus": h.gpus,
                "gpus_by_model": {m.gpu_model: m.gpus for m in h.models},
                "it_mw": h.typical_it_kw / 1000,
                "facility_mw": h.it_power.to_facility(site.pue).mw,
            }
            for h in s.halls
        ],
        "power_note": "IT = typical server draw; facility = IT x PUE; capacity is facility power",
    }


def render_summary(s: "SiteSummary") -> None:
    from rich.table import Table

    site = s.site
    pue = site.pue
    title = f"{site.name} — {site.display_name} ({site.location}, {site.timezone})"
    table = Table(title=title, title_justify="left")
    for col, justify in (
        ("hall", "left"),
        ("racks", "right"),
        ("nodes", "right"),
        ("GPUs by model", "left"),
        ("GPUs", "right"),
        ("IT MW", "right"),
        ("facility MW", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for h in s.halls:
        models = ", ".join(f"{m.gpus:,} {m.gpu_model}" for m in h.models)
        table.add_row(
            h.hall,
            f"{h.racks:,}",
            f"{h.nodes:,}",
            models,
            f"{h.gpus:,}",
            mw(h.typical_it_kw),
            mw(h.it_power.to_facility(pue).kw),
        )
    by_model = ", ".join(f"{n:,} {m}" for m, n in s.gpus_by_model().items())
    table.add_row(
        "total",
        f"{s.racks:,}",
        f"{s.nodes:,}",
        by_model,
        f"{s.gpus:,}",
        mw(s.it_power.kw),
        mw(s.facility_power.kw),
        style="bold",
    )
    console().print(table)
    console().print(
        f"capacity {mw(site.facility_capacity_kw)} MW facility at PUE {pue}; installed fleet "
        f"draws {mw(s.facility_power.kw)} MW facility at typical load; headroom "
        f"{mw(s.facility_headroom.kw)} MW facility\n"
        f"electricity {site.electricity_price_per_mwh}/MWh; grid "
        f"{site.grid_carbon_kg_per_mwh} kg CO2/MWh\n"
    )
