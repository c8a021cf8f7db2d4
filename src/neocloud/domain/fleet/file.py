"""The fleet description format (YAML, ``version: 1``): parse and validate into sites.

An operator describes a site of tens of thousands of nodes without listing each one:
halls hold *rack groups* ("850 racks named h1-r0001.. of 8 H100 nodes"), with per-rack and
per-node *overrides*, or explicit racks. Parsing validates everything first and reports
every problem with its location; nothing is built from a file with any problem in it.
See ``docs/FLEET_FORMAT.md`` for the reference and ``examples/fleet.yaml`` for a whole site.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from neocloud.domain.fleet.inventory import BUILTIN_GPU_MODELS, GpuModel, Hall, Location, Rack, Site
from neocloud.domain.fleet.racks import parse_explicit_rack, parse_rack_group
from neocloud.domain.kernel.documents import Path, Reader, SourceDocument, path_text
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.money import MICRO_PLACES, Money, decimal_places
from neocloud.domain.kernel.names import model_problem
from neocloud.domain.kernel.quantities import KW_PER_MW, Power, PowerBasis, check_pue

FORMAT_VERSION = 1
MAX_NODES = 200_000
"""Nodes one fleet file may describe: 7 times the 28,160-node reference site; such a file
imports in about 7 s (bench/hostile_input.py)."""
MODEL_KEYS = {"gpu_tdp_w", "server_overhead", "gpus_per_node", "node_rated_it_kw", "node_kind",
              "nodes_per_rack"}  # fmt: skip
SITE_KEYS = {"name", "display_name", "location", "timezone", "facility_capacity_mw", "pue",
             "electricity_price", "grid_carbon_kg_per_mwh", "gpu_models", "halls"}  # fmt: skip


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
    nodes = _nodes_described(raw_sites, top.get("gpu_models"))
    if nodes > MAX_NODES:
        r.problem(
            ("sites",),
            f"{nodes:,} nodes",
            f"a fleet file describes at most {MAX_NODES:,} nodes (7 times the reference site); "
            "split it by site",
        )
        r.raise_if_any()
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


def _nodes_described(raw_sites: list[object], file_models: object) -> int:
    """How many nodes the file's rack groups and explicit racks make, read before anything
    is built (a 1 KB file of large rack groups must not build millions of nodes first). A
    group without ``nodes_per_rack`` counts its model's (from the file's ``gpu_models``, a
    site's, or the built-in catalog), else the largest built-in rack (18)."""
    total = 0
    for site in raw_sites:
        models = {**_per_rack(file_models), **_per_rack(_field(site, "gpu_models"))}
        for hall in _items(site, "halls"):
            for group in _items(hall, "rack_groups"):
                model = _field(_field(group, "node"), "gpu_model")
                default = _model_rack(model, models)
                total += _count(group, "count", 0) * _count(group, "nodes_per_rack", default)
            total += sum(len(_items(rack, "nodes")) for rack in _items(hall, "racks"))
    return total


def _model_rack(model: object, models: dict[str, int]) -> int:
    """Nodes in a rack of ``model`` (the file's figure, the built-in one, else 18)."""
    if not isinstance(model, str):
        return 18
    builtin = BUILTIN_GPU_MODELS.get(model)
    return models.get(model) or (builtin.nodes_per_rack if builtin else 18)


def _per_rack(models: object) -> dict[str, int]:
    if not isinstance(models, dict):
        return {}
    return {
        str(name): n
        for name, fields in models.items()
        if (n := _count(fields, "nodes_per_rack", 0))
    }


def _field(parent: object, key: str) -> object:
    return parent.get(key) if isinstance(parent, dict) else None


def _items(parent: object, key: str) -> list[object]:
    found = _field(parent, key)
    return found if isinstance(found, list) else []


def _count(parent: object, key: str, default: int) -> int:
    value = parent.get(key, default) if isinstance(parent, dict) else default
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _unique(r: Reader, named: list[tuple[Path, str]], what: str, shown: int = 3) -> bool:
    """Report names used twice (the first ``shown``, then how many more); True if none."""
    seen: set[str] = set()
    repeated = []
    for path, name in named:
        if name in seen:
            repeated.append((path, name))
        seen.add(name)
    for path, name in repeated[:shown]:
        r.problem(path, name, f"duplicate {what} name")
    if len(repeated) > shown:
        path, name = repeated[shown]
        r.problem(path, name, f"and {len(repeated) - shown:,} more duplicate {what} names")
    return not repeated


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
        problem = model_problem(name, path_text(p))
        if problem is not None:
            r.problem(p, name, problem.message)
            continue
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
            "node_kind": r.text(p, m, "node_kind", max_length=63),
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
    name = r.name(path, m, "name")
    overrides = {
        **file_models,
        **_models(
            r, (*path, "gpu_models"), m.get("gpu_models"), {**BUILTIN_GPU_MODELS, **file_models}
        ),
    }
    catalog = {**BUILTIN_GPU_MODELS, **overrides}
    capacity_mw = r.decimal(path, m, "facility_capacity_mw", positive=True)
    pue = _pue(r, path, m)
    racks_at: list[tuple[Path, str]] = []
    nodes_at: list[tuple[Path, str]] = []
    halls = [
        _hall(r, (*path, "halls", i), h, catalog, racks_at, nodes_at)
        for i, h in enumerate(r.sequence((*path, "halls"), m.get("halls")))
    ]
    _unique(r, [((*path, "halls", i, "name"), h.name) for i, h in enumerate(halls) if h], "hall")
    if _unique(r, racks_at, "rack"):  # a repeated rack repeats its nodes: say it once
        _unique(r, nodes_at, "node")
    site = Site(
        name=name or "",
        display_name=r.text(path, m, "display_name", default=name) or "",
        location=_location(r, (*path, "location"), m.get("location")),
        timezone=r.timezone(path, m, "timezone") or "",
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
    it = Power(sum((n.typical_it_kw for n in nodes), Decimal(0)), PowerBasis.IT)
    facility = it.to_facility(site.pue)
    if facility > site.facility_capacity:
        r.problem(
            (*path, "facility_capacity_mw"),
            site.facility_capacity_kw / KW_PER_MW,
            f"the installed fleet draws {facility.mw:,.3f} MW facility "
            f"({it.mw:,.3f} MW IT x PUE {site.pue}) at typical load, "
            "more than the site's capacity",
        )


def _pue(r: Reader, path: Path, m: Mapping[str, object]) -> Decimal | None:
    if m.get("pue") is None:
        return None  # reported as required
    try:
        pue = check_pue(m.get("pue"))
    except InvalidInput as exc:
        r.problem((*path, "pue"), m.get("pue"), exc.problems[0].message)
        return None
    if decimal_places(pue) > MICRO_PLACES:
        r.problem((*path, "pue"), pue, f"has more than {MICRO_PLACES} decimal places")
        return None
    return pue


def _location(r: Reader, path: Path, raw: object) -> Location:
    if raw is None:
        return Location()
    m = r.mapping(path, raw, allowed={"city", "region", "country"})
    if m is None:
        return Location()
    return Location(
        *(
            r.text(path, m, k, default="", max_length=100) or ""
            for k in ("city", "region", "country")
        )
    )


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
    currency = r.currency(p, price, "currency")
    if currency is None:
        return Money.zero("USD")
    return Money(amount if amount is not None else Decimal(0), currency)


def _hall(  # noqa: PLR0917
    r: Reader,
    path: Path,
    raw: object,
    catalog: dict[str, GpuModel],
    racks_at: list[tuple[Path, str]],
    nodes_at: list[tuple[Path, str]],
) -> Hall | None:
    """A hall; the names of its racks and nodes, with where each is written, are added to
    ``racks_at`` and ``nodes_at`` (names must be unique across the site)."""
    m = r.mapping(path, raw, allowed={"name", "rack_groups", "racks"}, required={"name"})
    if m is None:
        return None
    name = r.name(path, m, "name")
    racks: list[Rack] = []
    for i, g in enumerate(r.sequence((*path, "rack_groups"), m.get("rack_groups"))):
        group = parse_rack_group(r, (*path, "rack_groups", i), g, catalog)
        racks.extend(group)
        where: Path = (*path, "rack_groups", i, "prefix")
        racks_at.extend((where, rack.name) for rack in group)
        nodes_at.extend((where, n.name) for rack in group for n in rack.nodes)
    for i, x in enumerate(r.sequence((*path, "racks"), m.get("racks"))):
        rack = parse_explicit_rack(r, (*path, "racks", i), x, catalog)
        if rack:
            racks.append(rack)
            racks_at.append(((*path, "racks", i, "name"), rack.name))
            nodes_at.extend(
                ((*path, "racks", i, "nodes", j, "name"), n.name) for j, n in enumerate(rack.nodes)
            )
    return Hall(name, tuple(racks)) if name else None
