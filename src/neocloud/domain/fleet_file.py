"""The fleet description format (YAML, ``version: 1``): parse and validate into sites.

An operator describes a site of tens of thousands of nodes without listing each one:
halls hold *rack groups* ("850 racks named h1-r0001.. of 8 H100 nodes"), with per-rack and
per-node *overrides*, or explicit racks. Parsing validates everything first and reports
every problem with its location; nothing is built from a file with any problem in it.
See ``docs/FLEET_FORMAT.md`` for the reference and ``examples/fleet.yaml`` for a whole site.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from neocloud.domain.documents import Path, Reader, SourceDocument
from neocloud.domain.errors import InvalidInput
from neocloud.domain.ids import name_problem
from neocloud.domain.inventory import BUILTIN_GPU_MODELS, GpuModel, Hall, Location, Node, Rack, Site
from neocloud.domain.money import MINOR_UNITS, Money
from neocloud.domain.quantities import KW_PER_MW, check_pue

FORMAT_VERSION = 1
MODEL_KEYS = {"gpu_tdp_w", "server_overhead", "gpus_per_node", "node_rated_it_kw", "node_kind",
              "nodes_per_rack"}  # fmt: skip
NODE_KEYS = {"gpu_model", "gpus", "rated_it_kw", "typical_it_kw"}
GROUP_KEYS = {"prefix", "count", "start", "digits", "power_budget_kw", "nodes_per_rack", "node",
              "overrides"}  # fmt: skip
SITE_KEYS = {"name", "display_name", "location", "timezone", "facility_capacity_mw", "pue",
             "electricity_price", "grid_carbon_kg_per_mwh", "gpu_models", "halls"}  # fmt: skip
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


def parse_fleet(doc: SourceDocument) -> list[Site]:
    """Validate a fleet document and build its sites; raise InvalidInput with every problem."""
    r = Reader(doc)
    top = r.mapping(
        (), doc.data, allowed={"version", "gpu_models", "sites"}, required={"version", "sites"}
    )
    if top is None:
        r.raise_if_any()
        return []
    if "version" in top and top["version"] != FORMAT_VERSION:
        r.problem(("version",), top["version"], f"unsupported format version; use {FORMAT_VERSION}")
    file_models = _models(r, ("gpu_models",), top.get("gpu_models"), BUILTIN_GPU_MODELS)
    raw_sites = r.sequence(("sites",), top.get("sites"))
    sites = [_site(r, ("sites", i), raw, file_models) for i, raw in enumerate(raw_sites)]
    _unique(
        r,
        [
            (("sites", i, "name"), str(raw["name"]))
            for i, raw in enumerate(raw_sites)
            if isinstance(raw, dict) and "name" in raw
        ],
        "site",
    )
    r.raise_if_any()
    return [site for site in sites if site is not None]


def _unique(r: Reader, named: list[tuple[Path, str]], what: str) -> None:
    seen: set[str] = set()
    for path, name in named:
        if name in seen:
            r.problem(path, name, f"duplicate {what} name")
        seen.add(name)


def _models(
    r: Reader, path: Path, raw: object, base: Mapping[str, GpuModel]
) -> dict[str, GpuModel]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        r.problem(path, raw, "must map GPU model names to their figures")
        return {}
    out: dict[str, GpuModel] = {}
    for name, fields in raw.items():
        p = (*path, str(name))
        known = base.get(name)
        required = set() if known else {"gpu_tdp_w", "gpus_per_node", "node_rated_it_kw"}
        m = r.mapping(p, fields, allowed=MODEL_KEYS, required=required)
        if m is None or (required & m.keys()) != required:
            continue
        changes: dict[str, object] = {
            "gpu_tdp_w": r.decimal(p, m, "gpu_tdp_w", positive=True),
            "server_overhead": r.decimal(p, m, "server_overhead", minimum=1, maximum=3),
            "gpus_per_node": r.integer(p, m, "gpus_per_node", minimum=1, maximum=144),
            "node_rated_it_kw": r.decimal(p, m, "node_rated_it_kw", positive=True),
            "node_kind": r.text(p, m, "node_kind"),
            "nodes_per_rack": r.integer(p, m, "nodes_per_rack", minimum=1, maximum=256),
        }
        given = {k: v for k, v in changes.items() if v is not None}
        if len(given) != len([k for k in m if k in MODEL_KEYS]):
            continue  # a field was wrong; already reported
        if known:
            out[str(name)] = known.with_overrides(**given)
        else:
            out[str(name)] = GpuModel(name=str(name), **given)  # type: ignore[arg-type]
    return out


def _site(r: Reader, path: Path, raw: object, file_models: dict[str, GpuModel]) -> Site | None:
    m = r.mapping(
        path,
        raw,
        allowed=SITE_KEYS,
        required={
            "name",
            "timezone",
            "facility_capacity_mw",
            "pue",
            "halls",
            "electricity_price",
            "grid_carbon_kg_per_mwh",
        },
    )
    if m is None:
        return None
    before = len(r.problems)
    name = _name(r, path, m, "name")
    overrides = {
        **file_models,
        **_models(
            r, (*path, "gpu_models"), m.get("gpu_models"), {**BUILTIN_GPU_MODELS, **file_models}
        ),
    }
    catalog = {**BUILTIN_GPU_MODELS, **overrides}
    capacity_mw = r.decimal(path, m, "facility_capacity_mw", positive=True)
    pue = _pue(r, path, m)
    halls = [
        _hall(r, (*path, "halls", i), h, catalog)
        for i, h in enumerate(r.sequence((*path, "halls"), m.get("halls")))
    ]
    _unique(r, [((*path, "halls", i, "name"), h.name) for i, h in enumerate(halls) if h], "hall")
    site = Site(
        name=name or "",
        display_name=r.text(path, m, "display_name", default=name) or "",
        location=_location(r, (*path, "location"), m.get("location")),
        timezone=_timezone(r, path, m),
        facility_capacity_kw=(capacity_mw or 0) * KW_PER_MW,
        pue=pue or Decimal(1),
        electricity_price_per_mwh=_price(r, path, m),
        grid_carbon_kg_per_mwh=r.decimal(path, m, "grid_carbon_kg_per_mwh", minimum=0)
        or Decimal(0),
        halls=tuple(h for h in halls if h),
        gpu_models=overrides,
    )
    if len(r.problems) > before:
        return None
    _check_site_power(r, path, site)
    return site


def _check_site_power(r: Reader, path: Path, site: Site) -> None:
    nodes = [n for _, _, n in site.nodes()]
    _unique(r, [((*path, "racks"), rack.name) for _, rack in site.racks()], "rack")
    _unique(r, [((*path, "nodes"), n.name) for n in nodes], "node")
    it_kw = sum((n.typical_it_kw for n in nodes), Decimal(0))
    if it_kw * site.pue > site.facility_capacity_kw:
        r.problem(
            (*path, "facility_capacity_mw"),
            site.facility_capacity_kw / KW_PER_MW,
            f"the installed fleet draws {it_kw * site.pue / KW_PER_MW:,.3f} MW facility "
            f"({it_kw / KW_PER_MW:,.3f} MW IT x PUE {site.pue}) at typical load, "
            "more than the site's capacity",
        )


def _name(r: Reader, path: Path, m: Mapping[str, object], key: str) -> str | None:
    value = m.get(key)
    problem = name_problem(value, "", r.doc.where((*path, key)))
    if problem:
        r.problem((*path, key), value, problem.message)
        return None
    return value  # type: ignore[return-value]  # name_problem accepted it: a str


def _pue(r: Reader, path: Path, m: Mapping[str, object]) -> Decimal | None:
    if m.get("pue") is None:
        return None  # reported as required
    try:
        return check_pue(m.get("pue"))
    except InvalidInput as exc:
        r.problem((*path, "pue"), m.get("pue"), exc.problems[0].message)
        return None


def _timezone(r: Reader, path: Path, m: Mapping[str, object]) -> str:
    value = m.get("timezone")
    if value is None:
        return ""  # reported as required
    try:
        zoneinfo.ZoneInfo(str(value))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        r.problem((*path, "timezone"), value, "not an IANA time zone (e.g. America/Chicago)")
        return ""
    return str(value)


def _location(r: Reader, path: Path, raw: object) -> Location:
    if raw is None:
        return Location()
    m = r.mapping(path, raw, allowed={"city", "region", "country"})
    if m is None:
        return Location()
    return Location(*(r.text(path, m, k, default="") or "" for k in ("city", "region", "country")))


def _price(r: Reader, path: Path, m: Mapping[str, object]) -> Money:
    p = (*path, "electricity_price")
    price = r.mapping(
        p,
        m.get("electricity_price"),
        allowed={"per_mwh", "currency"},
        required={"per_mwh", "currency"},
    )
    if price is None:
        return Money.zero("USD")
    amount = r.decimal(p, price, "per_mwh", minimum=0)
    currency = price.get("currency")
    if currency not in MINOR_UNITS:
        r.problem((*p, "currency"), currency, "not a known ISO 4217 currency code (e.g. USD)")
        return Money.zero("USD")
    return Money(amount if amount is not None else Decimal(0), str(currency))


def _hall(r: Reader, path: Path, raw: object, catalog: dict[str, GpuModel]) -> Hall | None:
    m = r.mapping(path, raw, allowed={"name", "rack_groups", "racks"}, required={"name"})
    if m is None:
        return None
    name = _name(r, path, m, "name")
    racks: list[Rack] = []
    for i, g in enumerate(r.sequence((*path, "rack_groups"), m.get("rack_groups"))):
        racks.extend(_group(r, (*path, "rack_groups", i), g, catalog))
    for i, x in enumerate(r.sequence((*path, "racks"), m.get("racks"))):
        rack = _explicit_rack(r, (*path, "racks", i), x, catalog)
        if rack:
            racks.append(rack)
    return Hall(name, tuple(racks)) if name else None


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
    if model is not None and model not in catalog:
        r.problem(
            (*path, "gpu_model"),
            model,
            f"unknown GPU model; known: {', '.join(sorted(catalog))} "
            "(or define it under gpu_models)",
        )
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


def _group(r: Reader, path: Path, raw: object, catalog: dict[str, GpuModel]) -> list[Rack]:
    m = r.mapping(
        path, raw, allowed=GROUP_KEYS, required={"prefix", "count", "power_budget_kw", "node"}
    )
    if m is None:
        return []
    prefix = r.text(path, m, "prefix")
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
    problem = name_problem(node_name(rack_name(prefix, start + count - 1, digits), per_rack), "")
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


def _explicit_rack(r: Reader, path: Path, raw: object, catalog: dict[str, GpuModel]) -> Rack | None:
    m = r.mapping(
        path,
        raw,
        allowed={"name", "power_budget_kw", "nodes"},
        required={"name", "power_budget_kw", "nodes"},
    )
    if m is None:
        return None
    name = _name(r, path, m, "name")
    budget = r.decimal(path, m, "power_budget_kw", positive=True)
    nodes = []
    for i, raw_node in enumerate(r.sequence((*path, "nodes"), m.get("nodes"))):
        p = (*path, "nodes", i)
        spec = _node_spec(r, p, raw_node, catalog=catalog, base=None, extra=frozenset({"name"}))
        node_label = _name(r, p, raw_node, "name") if isinstance(raw_node, dict) else None
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
