"""Racks and nodes in the fleet format: rack groups with overrides, and explicit racks.

A rack group names its racks ``<prefix><number>`` (zero-padded to ``digits``) and their
nodes ``<rack>-nNN`` from n01; overrides change one rack (budget, node count) or one node
(model, GPUs, power). See ``docs/FLEET_FORMAT.md``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from neocloud.domain.fleet.inventory import GpuModel, Node, Rack
from neocloud.domain.kernel.documents import Path, Reader
from neocloud.domain.kernel.names import name_problem, node_problem

NODE_KEYS = {"gpu_model", "gpus", "rated_it_kw", "typical_it_kw"}
GROUP_KEYS = {"prefix", "count", "start", "digits", "power_budget_kw", "nodes_per_rack", "node",
              "overrides"}  # fmt: skip
NODE_NAME = re.compile(r"^(.*)-n(\d+)$")


def node_name(rack: str, index: int) -> str:
    """Name of the ``index``-th node (from 1) of a rack in a rack group."""
    return f"{rack}-n{index:02d}"


def rack_name(prefix: str, number: int, digits: int) -> str:
    return f"{prefix}{number:0{digits}d}"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """What a node is made of. ``None`` power figures are derived from the GPU model."""

    gpu_model: str
    gpus: int
    rated_it_kw: Decimal | None = None
    typical_it_kw: Decimal | None = None

    def merged(
        self,
        gpu_model: str | None,
        gpus: int | None,
        rated: Decimal | None,
        typical: Decimal | None,
    ) -> NodeSpec:
        """Overrides on top of this spec. A new model or GPU count re-derives power figures."""
        changed = (gpu_model or self.gpu_model, gpus or self.gpus) != (self.gpu_model, self.gpus)
        keep_rated = None if changed else self.rated_it_kw
        keep_typical = None if changed else self.typical_it_kw
        return NodeSpec(
            gpu_model or self.gpu_model,
            gpus or self.gpus,
            rated if rated is not None else keep_rated,
            typical if typical is not None else keep_typical,
        )

    def build(self, name: str, catalog: Mapping[str, GpuModel]) -> Node:
        model = catalog[self.gpu_model]
        rated = (
            self.rated_it_kw if self.rated_it_kw is not None else model.node_rated_kw_for(self.gpus)
        )
        typical = (
            self.typical_it_kw
            if self.typical_it_kw is not None
            else model.node_typical_it_kw(self.gpus)
        )
        return Node(name, self.gpu_model, self.gpus, rated, typical)


def _known_model(r: Reader, path: Path, model: object, catalog: Mapping[str, GpuModel]) -> bool:
    if not isinstance(model, str):
        r.problem(path, model, "must be the name of a GPU model, e.g. H100")
        return False
    if model not in catalog:
        r.problem(
            path,
            model,
            f"unknown GPU model; known: {', '.join(sorted(catalog))} "
            "(or define it under gpu_models)",
        )
        return False
    return True


def _node_spec(
    r: Reader,
    path: Path,
    raw: object,
    *,
    catalog: Mapping[str, GpuModel],
    base: NodeSpec | None,
    extra: frozenset[str] = frozenset(),
) -> NodeSpec | None:
    required = set() if base else {"gpu_model"}
    m = r.mapping(path, raw, allowed=NODE_KEYS | extra, required=required)
    if m is None:
        return None
    model = m.get("gpu_model")
    if model is not None and not _known_model(r, (*path, "gpu_model"), model, catalog):
        return None
    if base is None and model is None:
        return None
    default_gpus = catalog[cast(str, model)].gpus_per_node if model and not base else None
    gpus = r.integer(path, m, "gpus", minimum=1, maximum=144, default=default_gpus)
    rated = r.decimal(path, m, "rated_it_kw", positive=True)
    typical = r.decimal(path, m, "typical_it_kw", positive=True)
    if any(
        k in m and v is None
        for k, v in (("gpus", gpus), ("rated_it_kw", rated), ("typical_it_kw", typical))
    ):
        return None
    spec = (base or NodeSpec(cast(str, model), gpus or 1)).merged(
        cast(str | None, model), gpus, rated, typical
    )
    probe = spec.build("probe", catalog)
    if probe.typical_it_kw > probe.rated_it_kw:
        r.problem(
            path,
            f"typical {probe.typical_it_kw} kW > rated {probe.rated_it_kw} kW",
            "a node's typical IT power cannot exceed its rated (maximum) power",
        )
        return None
    return spec


def parse_rack_group(
    r: Reader, path: Path, raw: object, catalog: dict[str, GpuModel]
) -> list[Rack]:
    m = r.mapping(
        path, raw, allowed=GROUP_KEYS, required={"prefix", "count", "power_budget_kw", "node"}
    )
    if m is None:
        return []
    prefix = r.text(path, m, "prefix", max_length=63)
    count = r.integer(path, m, "count", minimum=1, maximum=100_000)
    start = r.integer(path, m, "start", default=1, minimum=0)
    digits = r.integer(path, m, "digits", default=4, minimum=1, maximum=9)
    budget = r.decimal(path, m, "power_budget_kw", positive=True)
    spec = _node_spec(r, (*path, "node"), m.get("node"), catalog=catalog, base=None)
    if None in (prefix, count, start, digits, budget, spec):
        return []
    assert prefix and count and digits and budget and spec and start is not None
    per_rack = r.integer(
        path,
        m,
        "nodes_per_rack",
        minimum=1,
        maximum=256,
        default=catalog[spec.gpu_model].nodes_per_rack,
    )
    if per_rack is None:
        return []
    if start + count - 1 >= 10**digits:
        r.problem(
            (*path, "count"),
            count,
            f"racks {prefix}{start}.. need more than {digits} digits; raise 'digits'",
        )
        return []
    last = rack_name(prefix, start + count - 1, digits)
    problem = name_problem(last, "") or node_problem(node_name(last, per_rack), "")
    if problem:
        r.problem(
            (*path, "prefix"),
            prefix,
            "rack and node names built from it are invalid: " + problem.message,
        )
        return []
    names = [rack_name(prefix, start + k, digits) for k in range(count)]
    return _build_group(
        r, path, m, names=names, budget=budget, per_rack=per_rack, spec=spec, catalog=catalog
    )


def _build_group(
    r: Reader,
    path: Path,
    m: Mapping[str, object],
    *,
    names: list[str],
    budget: Decimal,
    per_rack: int,
    spec: NodeSpec,
    catalog: dict[str, GpuModel],
) -> list[Rack]:
    rack_over, node_over = _overrides(
        r,
        (*path, "overrides"),
        m.get("overrides"),
        names=names,
        defaults=(budget, per_rack),
        spec=spec,
        catalog=catalog,
    )
    racks, over_budget = [], 0
    for name in names:
        b, n = rack_over.get(name, (budget, per_rack))
        nodes = tuple(
            node_over.get(node_name(name, j), spec).build(node_name(name, j), catalog)
            for j in range(1, n + 1)
        )
        rack = Rack(name, b, nodes)
        if rack.typical_it_kw > rack.power_budget_kw:
            over_budget += 1
            if over_budget == 1:
                r.problem(
                    (*path, "power_budget_kw"),
                    rack.power_budget_kw,
                    f"rack {name}: its nodes draw {rack.typical_it_kw} kW IT at typical "
                    "load, more than the rack's power budget",
                )
        racks.append(rack)
    if over_budget > 1:
        more = over_budget - 1
        r.problem(
            (*path, "power_budget_kw"),
            budget,
            f"{more} more rack{'s' * (more > 1)} of this group exceed their power budget",
        )
    return racks


def _overrides(
    r: Reader,
    path: Path,
    raw: object,
    *,
    names: list[str],
    defaults: tuple[Decimal, int],
    spec: NodeSpec,
    catalog: dict[str, GpuModel],
) -> tuple[dict[str, tuple[Decimal, int]], dict[str, NodeSpec]]:
    """Per-rack (budget, node count) and per-node spec overrides of one rack group."""
    racks: dict[str, tuple[Decimal, int]] = {}
    nodes: dict[str, NodeSpec] = {}
    if raw is None:
        return racks, nodes
    if not isinstance(raw, dict):
        r.problem(path, raw, "must map rack or node names to the fields they change")
        return racks, nodes
    rack_set = set(names)
    for key, value in raw.items():
        p = (*path, str(key))
        if key in rack_set:
            m = r.mapping(p, value, allowed={"power_budget_kw", "nodes_per_rack"})
            if m is not None:
                budget = r.decimal(p, m, "power_budget_kw", positive=True, default=defaults[0])
                count = r.integer(
                    p, m, "nodes_per_rack", minimum=1, maximum=256, default=defaults[1]
                )
                racks[key] = (budget or defaults[0], count or defaults[1])
            continue
        match = NODE_NAME.match(str(key))
        if match and match[1] in rack_set and match[2] == f"{int(match[2]):02d}":
            node = _node_spec(r, p, value, catalog=catalog, base=spec)
            if node:
                nodes[str(key)] = node
        else:
            r.problem(p, key, "names no rack or node of this rack group")
    for key in nodes:
        parent, index = NODE_NAME.match(key).groups()  # type: ignore[union-attr]
        if int(index) > racks.get(parent, defaults)[1]:
            r.problem((*path, key), key, "names a node beyond the rack's nodes_per_rack")
    return racks, nodes


def parse_explicit_rack(
    r: Reader, path: Path, raw: object, catalog: dict[str, GpuModel]
) -> Rack | None:
    m = r.mapping(
        path,
        raw,
        allowed={"name", "power_budget_kw", "nodes"},
        required={"name", "power_budget_kw", "nodes"},
    )
    if m is None:
        return None
    name = r.name(path, m, "name")
    budget = r.decimal(path, m, "power_budget_kw", positive=True)
    nodes = []
    for i, raw_node in enumerate(r.sequence((*path, "nodes"), m.get("nodes"))):
        p = (*path, "nodes", i)
        spec = _node_spec(r, p, raw_node, catalog=catalog, base=None, extra=frozenset({"name"}))
        node_label = (
            r.name(p, raw_node, "name", node_problem) if isinstance(raw_node, dict) else None
        )
        if spec and node_label:
            nodes.append(spec.build(node_label, catalog))
    if not (name and budget):
        return None
    rack = Rack(name, budget, tuple(nodes))
    if rack.typical_it_kw > budget:
        r.problem(
            (*path, "power_budget_kw"),
            budget,
            f"its nodes draw {rack.typical_it_kw} kW "
            "IT at typical load, more than the rack's power budget",
        )
    return rack
