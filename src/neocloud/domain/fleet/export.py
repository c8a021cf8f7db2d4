"""Write sites back in the fleet description format, compactly.

Consecutive racks named ``<prefix><number>`` whose nodes are named ``<rack>-nNN`` become one
rack group; the most common rack budget, node count and node spec become the group's
defaults and anything else an override. Racks that fit no group are written out in full.
Parsing the output gives back exactly the same sites (tested as a property).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from neocloud.domain.fleet.file import FORMAT_VERSION
from neocloud.domain.fleet.inventory import BUILTIN_GPU_MODELS, GpuModel, Hall, Node, Rack, Site
from neocloud.domain.fleet.racks import NodeSpec, node_name, rack_name
from neocloud.domain.kernel.money import plain
from neocloud.domain.kernel.quantities import KW_PER_MW

RACK_NAME = re.compile(r"^(.*?)(\d+)$")


def number(value: Decimal) -> Decimal | int:
    """A Decimal as a person writes it: integral values as int, no exponent, no trailing 0."""
    value = plain(value)
    return int(value) if value == value.to_integral_value() else value


def fleet_document(sites: Iterable[Site]) -> dict[str, object]:
    return {"version": FORMAT_VERSION, "sites": [site_document(s) for s in sites]}


def site_document(site: Site) -> dict[str, object]:
    doc: dict[str, object] = {"name": site.name, "display_name": site.display_name}
    location = {
        k: v
        for k, v in (
            ("city", site.location.city),
            ("region", site.location.region),
            ("country", site.location.country),
        )
        if v
    }
    if location:
        doc["location"] = location
    doc |= {
        "timezone": site.timezone,
        "facility_capacity_mw": number(site.facility_capacity_kw / KW_PER_MW),
        "pue": number(site.pue),
        "electricity_price": {
            "per_mwh": number(site.electricity_price_per_mwh.amount),
            "currency": site.electricity_price_per_mwh.currency,
        },
        "grid_carbon_kg_per_mwh": number(site.grid_carbon_kg_per_mwh),
    }
    if site.gpu_models:
        doc["gpu_models"] = {n: _model_document(m) for n, m in sorted(site.gpu_models.items())}
    doc["halls"] = [_hall_document(h, site.catalog()) for h in site.halls]
    return doc


def _model_document(model: GpuModel) -> dict[str, object]:
    """Every figure of a new model; only the changed figures of a built-in one."""
    base = BUILTIN_GPU_MODELS.get(model.name)
    fields = _model_fields(model)
    if base is None:
        return fields
    defaults = _model_fields(base)
    return {k: v for k, v in fields.items() if defaults[k] != v}


def _model_fields(model: GpuModel) -> dict[str, object]:
    return {
        "gpu_tdp_w": number(model.gpu_tdp_w),
        "server_overhead": number(model.server_overhead),
        "gpus_per_node": model.gpus_per_node,
        "node_rated_it_kw": number(model.node_rated_it_kw),
        "node_kind": model.node_kind,
        "nodes_per_rack": model.nodes_per_rack,
    }


@dataclass
class _Run:
    prefix: str
    start: int
    digits: int
    racks: list[Rack] = field(default_factory=list)

    def accepts(self, prefix: str, num: int, digits: int) -> bool:
        return (prefix, digits, num) == (self.prefix, self.digits, self.start + len(self.racks))


def _grouping(rack: Rack) -> tuple[str, int, int] | None:
    match = RACK_NAME.match(rack.name)
    if not match or not rack.nodes:
        return None
    prefix, digits_text = match.groups()
    num, digits = int(digits_text), len(digits_text)
    if rack_name(prefix, num, digits) != rack.name:
        return None
    if any(n.name != node_name(rack.name, j) for j, n in enumerate(rack.nodes, 1)):
        return None
    return prefix, num, digits


def _hall_document(hall: Hall, catalog: Mapping[str, GpuModel]) -> dict[str, object]:
    runs: list[_Run] = []
    explicit: list[Rack] = []
    for rack in hall.racks:
        key = _grouping(rack)
        if key is None:
            explicit.append(rack)
        elif runs and runs[-1].accepts(*key):
            runs[-1].racks.append(rack)
        else:
            runs.append(_Run(key[0], key[1], key[2], [rack]))
    doc: dict[str, object] = {"name": hall.name}
    if runs:
        doc["rack_groups"] = [_group_document(run, catalog) for run in runs]
    if explicit:
        doc["racks"] = [_rack_document(r) for r in explicit]
    return doc


def _spec_of(node: Node) -> NodeSpec:
    return NodeSpec(node.gpu_model, node.gpu_count, node.rated_it_kw, node.typical_it_kw)


def _spec_document(
    spec: NodeSpec, base: NodeSpec | None, catalog: Mapping[str, GpuModel]
) -> dict[str, object]:
    """The fewest fields that make the parser rebuild ``spec`` on top of ``base``."""
    doc: dict[str, object] = {}
    if base is None or spec.gpu_model != base.gpu_model:
        doc["gpu_model"] = spec.gpu_model
    if base is None or spec.gpus != base.gpus:
        doc["gpus"] = spec.gpus
    inherited = (
        (base or NodeSpec(spec.gpu_model, spec.gpus))
        .merged(spec.gpu_model, spec.gpus, None, None)
        .build("x", catalog)
    )
    if inherited.rated_it_kw != spec.rated_it_kw:
        doc["rated_it_kw"] = number(spec.rated_it_kw or Decimal(0))
    if inherited.typical_it_kw != spec.typical_it_kw:
        doc["typical_it_kw"] = number(spec.typical_it_kw or Decimal(0))
    return doc


def _group_document(run: _Run, catalog: Mapping[str, GpuModel]) -> dict[str, object]:
    budget = Counter(r.power_budget_kw for r in run.racks).most_common(1)[0][0]
    per_rack = Counter(len(r.nodes) for r in run.racks).most_common(1)[0][0]
    spec = Counter(_spec_of(n) for r in run.racks for n in r.nodes).most_common(1)[0][0]
    base_doc = _spec_document(spec, None, catalog)
    group_spec = NodeSpec(
        spec.gpu_model,
        spec.gpus,
        _given(base_doc, "rated_it_kw"),
        _given(base_doc, "typical_it_kw"),
    )
    doc: dict[str, object] = {
        "prefix": run.prefix,
        "start": run.start,
        "digits": run.digits,
        "count": len(run.racks),
        "power_budget_kw": number(budget),
    }
    if per_rack != catalog[spec.gpu_model].nodes_per_rack:
        doc["nodes_per_rack"] = per_rack
    doc["node"] = base_doc
    overrides: dict[str, object] = {}
    for rack in run.racks:
        rack_change: dict[str, object] = {}
        if rack.power_budget_kw != budget:
            rack_change["power_budget_kw"] = number(rack.power_budget_kw)
        if len(rack.nodes) != per_rack:
            rack_change["nodes_per_rack"] = len(rack.nodes)
        if rack_change:
            overrides[rack.name] = rack_change
        for node in rack.nodes:
            if _spec_of(node) != spec:
                overrides[node.name] = _spec_document(_spec_of(node), group_spec, catalog)
    if overrides:
        doc["overrides"] = overrides
    return doc


def _given(doc: Mapping[str, object], key: str) -> Decimal | None:
    value = doc.get(key)
    return None if value is None else Decimal(str(value))


def _rack_document(rack: Rack) -> dict[str, object]:
    return {
        "name": rack.name,
        "power_budget_kw": number(rack.power_budget_kw),
        "nodes": [
            {
                "name": n.name,
                "gpu_model": n.gpu_model,
                "gpus": n.gpu_count,
                "rated_it_kw": number(n.rated_it_kw),
                "typical_it_kw": number(n.typical_it_kw),
            }
            for n in rack.nodes
        ],
    }
