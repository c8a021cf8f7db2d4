"""``neocloud capacity``: MW <-> GPUs, always saying whether power is IT or facility."""

from enum import StrEnum
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import (
    console,
    count_option,
    emit_json,
    handles_errors,
    make_app,
    mw,
    number_option,
)

if TYPE_CHECKING:
    from decimal import Decimal

    from neocloud.domain.fleet.capacity import Conversion

cli = typer.Typer(help="Capacity math: MW <-> nodes <-> GPUs.", no_args_is_help=True)


class Basis(StrEnum):
    it = "it"
    facility = "facility"


def _decimal(text: str | None, field: str) -> "Decimal | None":
    return None if text is None else number_option(text, field)


@cli.command("convert")
@handles_errors
def convert(
    mw_: str = typer.Option(None, "--mw", help="Power in MW (say which with --basis)."),
    basis: Basis = typer.Option(Basis.facility, "--basis", help="Is --mw IT or facility power?"),
    gpus: str = typer.Option(None, "--gpus", help="A number of GPUs."),
    site: str = typer.Option(None, "--site", help="Use this site's PUE and installed mix."),
    model: str = typer.Option(None, "--model", help="Assume only this GPU model."),
    pue: str = typer.Option(None, "--pue", help="PUE when no --site is given."),
    overhead: str = typer.Option(None, "--overhead", help="Server overhead (default 1.3)."),
    as_json: bool = typer.Option(False, "--json", help="Print as JSON."),
) -> None:
    """Convert MW (IT or facility) to GPUs, or GPUs to MW, for a site or a model + PUE."""
    from decimal import Decimal

    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.kernel.quantities import Power, PowerBasis
    from neocloud.services import capacity as capacity_service

    power_mw = _decimal(mw_, "mw")
    count = count_option(gpus, "gpus")
    power = None if power_mw is None else Power.from_mw(power_mw, PowerBasis(basis.value))
    if site:
        with make_app() as app:
            app.require_database()
            result = capacity_service.convert_at_site(
                app.uow(), site, power=power, gpus=count, model=model
            )
    elif model and pue:
        result = capacity_service.convert_for_model(
            model,
            pue=_decimal(pue, "pue") or Decimal(0),
            overhead=_decimal(overhead, "overhead"),
            power=power,
            gpus=count,
        )
    else:
        raise InvalidInput.single("site", None, "give --site NAME, or --model M with --pue P")
    if as_json:
        emit_json(conversion_json(result))
    else:
        render_conversion(result)


def conversion_json(c: "Conversion") -> dict[str, object]:
    return {
        "it_mw": c.it_power.mw,
        "facility_mw": c.facility_power.mw,
        "gpus": c.gpus,
        "pue": c.pue,
        "it_kw_per_gpu": c.it_kw_per_gpu,
        "facility_kw_per_gpu": c.facility_kw_per_gpu,
        "assumes": c.basis_note,
        "gpus_if_only": dict(c.gpus_if_only),
    }


def render_conversion(c: "Conversion") -> None:
    from rich.table import Table

    table = Table(show_header=False, title=f"assuming {c.basis_note}", title_justify="left")
    table.add_column(justify="left")
    table.add_column(justify="right")
    table.add_row("IT power", f"{mw(c.it_power.kw)} MW")
    table.add_row(f"facility power (IT x PUE {c.pue})", f"{mw(c.facility_power.kw)} MW")
    table.add_row("GPUs", f"{c.gpus:,}")
    table.add_row("IT kW per GPU", f"{c.it_kw_per_gpu:.4f}")
    table.add_row("facility kW per GPU", f"{c.facility_kw_per_gpu:.4f}")
    for name, n in c.gpus_if_only.items():
        table.add_row(f"GPUs if only {name}", f"{n:,}")
    console().print(table)
