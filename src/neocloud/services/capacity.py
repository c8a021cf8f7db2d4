"""Capacity conversions for a stored site (its installed mix) or for a bare GPU model."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING

from neocloud.domain.fleet.capacity import Conversion, convert_gpus, convert_power
from neocloud.domain.fleet.inventory import BUILTIN_GPU_MODELS, GpuModel
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.quantities import W_PER_KW, Power, check_gpus, check_mw, check_pue
from neocloud.services.observability import use_case

if TYPE_CHECKING:  # protocols for type checking only: importing them costs start-up time
    from neocloud.services.ports import UnitOfWork


MAX_OVERHEAD = 3  # as the fleet format: a node drawing 3x its GPUs' power is implausible


def _model(catalog: dict[str, GpuModel], name: str, where: str) -> GpuModel:
    if name not in catalog:
        raise InvalidInput.single(
            "model", name, f"unknown GPU model {where}; known: {', '.join(sorted(catalog))}"
        )
    return catalog[name]


@use_case("capacity.convert_at_site")
def convert_at_site(
    uow: UnitOfWork,
    site_name: str,
    *,
    power: Power | None = None,
    gpus: int | None = None,
    model: str | None = None,
) -> Conversion:
    """MW <-> GPUs at a site: its PUE, and its installed mix unless ``model`` is given."""
    with uow:
        summary = uow.sites.summary(site_name)
    site = summary.site
    catalog = site.catalog()
    if model:
        chosen = _model(catalog, model, f"at site {site_name}")
        per_gpu, note, models = chosen.it_w_per_gpu / W_PER_KW, f"{model} at {site_name}", []
    else:
        per_gpu = summary.it_kw_per_gpu
        mix = ", ".join(f"{n:,} {m}" for m, n in summary.gpus_by_model().items())
        note = f"installed mix at {site_name} ({mix})"
        models = [catalog[m] for m in summary.gpus_by_model()]
    return _convert(power, gpus, pue=site.pue, per_gpu=per_gpu, note=note, models=models)


@use_case("capacity.convert_for_model")
def convert_for_model(
    model: str,
    *,
    pue: Decimal,
    overhead: Decimal | None = None,
    power: Power | None = None,
    gpus: int | None = None,
) -> Conversion:
    """MW <-> GPUs for one GPU model at a given PUE (no site needed)."""
    chosen = _model(dict(BUILTIN_GPU_MODELS), model, "")
    if overhead is not None:
        if not 1 <= overhead <= MAX_OVERHEAD:
            raise InvalidInput.single(
                "overhead", str(overhead), f"server overhead is 1 (GPUs only) to {MAX_OVERHEAD}"
            )
        chosen = chosen.with_overrides(server_overhead=overhead)
    note = f"{model} at {chosen.gpu_tdp_w} W x overhead {chosen.server_overhead}"
    return _convert(
        power,
        gpus,
        pue=check_pue(pue),
        per_gpu=chosen.it_w_per_gpu / W_PER_KW,
        note=note,
        models=[],
    )


def _convert(
    power: Power | None,
    gpus: int | None,
    *,
    pue: Decimal,
    per_gpu: Decimal,
    note: str,
    models: list[GpuModel],
) -> Conversion:
    if (power is None) == (gpus is None):
        raise InvalidInput.single("power_mw/gpus", None, "give exactly one of MW or GPUs")
    if power is not None:
        check_mw(power.mw, "mw")
        return convert_power(power, pue=pue, it_kw_per_gpu=per_gpu, basis_note=note, models=models)
    return convert_gpus(check_gpus(gpus), pue=pue, it_kw_per_gpu=per_gpu, basis_note=note)
