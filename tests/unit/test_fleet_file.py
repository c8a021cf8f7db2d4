"""The fleet description format: parsing, validation with locations, export round-trip."""

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neocloud.adapters.yamlfile import dump_document, parse_document, read_document
from neocloud.domain.fleet.capacity import SiteSummary, hall_totals
from neocloud.domain.fleet.export import fleet_document
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.fleet.inventory import Hall, Node, Rack, Site
from neocloud.domain.kernel.errors import InvalidInput
from tests import factories
from tests.conftest import EXAMPLES

FIVE_MISTAKES = """\
version: 1
sites:
  - name: bad-1
    timezone: America/Memphis
    facility_capacity_mw: 10
    pue: 0.9
    electricity_price: {per_mwh: 67.90, currency: USD}
    grid_carbon_kg_per_mwh: 283.47
    halls:
      - name: hall-1
        rack_groups:
          - prefix: r
            count: -3
            power_budget_kw: 82
            node: {gpu_model: H900}
      - name: hall-2
        colour: blue
        rack_groups: []
"""


def test_five_mistakes_are_all_reported_with_their_lines() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_fleet(parse_document(FIVE_MISTAKES, "bad.yaml"))
    found = {(p.field, p.location) for p in err.value.problems}
    assert found == {
        ("sites[0].timezone", "bad.yaml:4"),
        ("sites[0].pue", "bad.yaml:6"),
        ("sites[0].halls[0].rack_groups[0].count", "bad.yaml:13"),
        ("sites[0].halls[0].rack_groups[0].node.gpu_model", "bad.yaml:15"),
        ("sites[0].halls[1].colour", "bad.yaml:17"),
    }
    values = {p.field: p.value for p in err.value.problems}
    assert values["sites[0].timezone"] == "America/Memphis"
    assert values["sites[0].pue"] == Decimal("0.9")
    assert values["sites[0].halls[0].rack_groups[0].count"] == -3
    assert values["sites[0].halls[0].rack_groups[0].node.gpu_model"] == "H900"


def test_reference_fleet_parses_to_the_documented_split() -> None:
    sites = {s.name: s for s in parse_fleet(read_document(EXAMPLES / "fleet.yaml"))}
    memphis = SiteSummary(sites["memphis-1"], hall_totals(sites["memphis-1"]))
    # 3 halls x 850 racks + 700 + 120; H100/H200 racks hold 8 nodes, NVL72 racks 18 trays
    assert memphis.racks == 3 * 850 + 700 + 120
    assert memphis.nodes == (3 * 850 + 700) * 8 + 120 * 18  # 28,160
    assert memphis.gpus_by_model() == {
        "GB200": 120 * 72,
        "H100": 2 * 850 * 64,
        "H200": (850 + 700) * 64,
    }
    assert memphis.gpus == 216_640
    # 208,000 Hopper GPUs x 0.91 kW + 8,640 GB200 x 1.56 kW, plus one node measured at
    # 7.5 kW instead of 7.28 kW: 189,280 + 13,478.4 + 0.22 kW
    assert memphis.it_power.kw == Decimal("202758.62")
    assert memphis.facility_power.kw == Decimal("202758.62") * Decimal("1.15")
    assert memphis.facility_power.mw < 300
    atlanta = SiteSummary(sites["atlanta-1"], hall_totals(sites["atlanta-1"]))
    assert atlanta.gpus == (199 * 4 + 2) * 8 + 150 * 4 * 8  # one rack holds only 2 nodes


def test_group_overrides_apply_to_the_named_rack_and_node() -> None:
    doc = factories.site_document(racks=3)
    doc["halls"][0]["rack_groups"][0]["overrides"] = {  # type: ignore[index]
        "r0002": {"power_budget_kw": 90, "nodes_per_rack": 6},
        "r0003-n08": {"gpu_model": "H200", "typical_it_kw": Decimal("7.1")},
    }
    (site,) = parse_fleet(factories.fleet(doc))
    r1, r2, r3 = site.halls[0].racks
    assert (r1.power_budget_kw, len(r1.nodes)) == (Decimal(82), 8)
    assert (r2.power_budget_kw, len(r2.nodes)) == (Decimal(90), 6)
    assert r3.nodes[7] == Node("r0003-n08", "H200", 8, Decimal("10.2"), Decimal("7.1"))
    assert r3.nodes[6] == Node("r0003-n07", "H100", 8, Decimal("10.2"), Decimal("7.28"))


def test_override_naming_nothing_is_an_error() -> None:
    doc = factories.site_document(racks=2)
    doc["halls"][0]["rack_groups"][0]["overrides"] = {  # type: ignore[index]
        "r0009": {"power_budget_kw": 90},
        "r0001-n09": {"gpus": 4},
    }
    with pytest.raises(InvalidInput) as err:
        parse_fleet(factories.fleet(doc))
    assert [p.value for p in err.value.problems] == ["r0009", "r0001-n09"]


def test_gpu_model_overrides_change_derived_power() -> None:
    doc = factories.site_document(gpu_models={"H100": {"server_overhead": Decimal("1.25")}})
    (site,) = parse_fleet(factories.fleet(doc))
    # 8 x 700 W x 1.25 = 7 kW
    assert site.halls[0].racks[0].nodes[0].typical_it_kw == Decimal("7")


def test_a_new_gpu_model_can_be_defined() -> None:
    models = {
        "MI355X": {
            "gpu_tdp_w": 1400,
            "gpus_per_node": 8,
            "node_rated_it_kw": 16,
            "nodes_per_rack": 4,
        }
    }
    doc = factories.site_document(gpu_models=models)
    doc["halls"][0]["rack_groups"][0]["node"] = {"gpu_model": "MI355X"}  # type: ignore[index]
    (site,) = parse_fleet(factories.fleet(doc))
    assert site.halls[0].racks[0].nodes[0].typical_it_kw == Decimal("14.56")  # 8x1400x1.3


def test_rack_over_budget_and_site_over_capacity_are_reported() -> None:
    doc = factories.site_document(racks=300, facility_capacity_mw=Decimal(1))
    doc["halls"][0]["rack_groups"][0]["power_budget_kw"] = 50  # type: ignore[index]
    with pytest.raises(InvalidInput) as err:
        parse_fleet(factories.fleet(doc))
    messages = " | ".join(p.message for p in err.value.problems)
    assert "58.24 kW IT" in messages  # 8 x 7.28
    assert "299 more racks" in messages


def test_site_over_capacity() -> None:
    # 300 racks x 58.24 kW x 1.2 = 20.9664 MW facility > 10 MW
    doc = factories.site_document(racks=300)
    with pytest.raises(InvalidInput) as err:
        parse_fleet(factories.fleet(doc))
    (problem,) = err.value.problems
    assert problem.field == "sites[0].facility_capacity_mw"
    assert "20.966 MW facility" in problem.message


def test_duplicates_are_reported() -> None:
    doc = factories.site_document(racks=5)
    doc["halls"].append(doc["halls"][0])  # type: ignore[attr-defined,index]
    with pytest.raises(InvalidInput) as err:
        parse_fleet(factories.fleet(doc, factories.site_document()))
    problems = sorted((p.message, str(p.value)) for p in err.value.problems)
    assert problems == [  # the repeated hall's 5 racks are said once: 3, then the rest
        ("and 2 more duplicate rack names", "r0004"),
        ("duplicate hall name", "hall-1"),
        ("duplicate rack name", "r0001"),
        ("duplicate rack name", "r0002"),
        ("duplicate rack name", "r0003"),
        ("duplicate site name", "test-1"),
    ]
    located = {p.field for p in err.value.problems if p.message == "duplicate rack name"}
    assert located == {"sites[0].halls[1].rack_groups[0].prefix"}  # where they are written


def test_invalid_yaml_names_the_line() -> None:
    with pytest.raises(InvalidInput) as err:
        parse_document("version: 1\nsites: [\n  - {name: x\n", "broken.yaml")
    assert err.value.problems[0].location.startswith("broken.yaml:")


def test_numbers_are_read_exactly() -> None:
    doc = parse_document("a: 1.15\nb: 67.90\nc: 7\n", "x.yaml")
    assert doc.data == {"a": Decimal("1.15"), "b": Decimal("67.90"), "c": 7}


def test_reference_fleet_round_trips() -> None:
    sites = parse_fleet(read_document(EXAMPLES / "fleet.yaml"))
    text = dump_document(fleet_document(sites))
    assert parse_fleet(parse_document(text, "export.yaml")) == sites
    assert len(text.splitlines()) < 150  # compact: 8 groups, not 29,558 nodes
    again = dump_document(fleet_document(parse_fleet(parse_document(text, "e.yaml"))))
    assert again == text


# --- property: any site survives export -> parse unchanged --------------------------------

NODE_SPECS = [
    ("H100", 8, "10.2", "7.28"),
    ("H200", 8, "10.2", "7.28"),
    ("H100", 8, "10.2", "7.5"),
    ("H100", 4, "5.1", "3.64"),
    ("GB200", 4, "6.7", "6.24"),
    ("B200", 8, "14.3", "9"),
]


def node(name: str, spec: tuple[str, int, str, str]) -> Node:
    return Node(name, spec[0], spec[1], Decimal(spec[2]), Decimal(spec[3]))


@st.composite
def sites(draw: st.DrawFn) -> Site:
    halls = []
    for h in range(draw(st.integers(1, 3))):
        racks = []
        numbers = draw(st.lists(st.integers(0, 40), min_size=1, max_size=8, unique=True))
        for k in sorted(numbers):
            irregular = draw(st.booleans()) and draw(st.booleans())
            name = f"x{h}-odd{k}-end" if irregular else f"h{h}-r{k:03d}"
            nodes = tuple(
                node(f"{name}-n{j:02d}", draw(st.sampled_from(NODE_SPECS)))
                for j in range(1, draw(st.integers(1, 10)) + 1)
            )
            budget = Decimal(draw(st.sampled_from(["100", "120", "150.5"])))
            racks.append(Rack(name, budget, nodes))
        halls.append(Hall(f"hall-{h}", tuple(racks)))
    return factories.site(halls=tuple(halls))


def by_name(site: Site) -> Site:
    """Racks of a hall in name order: the format writes rack groups before explicit racks,
    so a hall that interleaves them comes back in another (meaningless) order."""
    return replace(
        site,
        halls=tuple(
            replace(h, racks=tuple(sorted(h.racks, key=lambda r: r.name))) for h in site.halls
        ),
    )


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(sites())
def test_any_site_round_trips_through_the_format(site: Site) -> None:
    text = dump_document(fleet_document([site]))
    (back,) = parse_fleet(parse_document(text, "export.yaml"))
    assert by_name(back) == by_name(site)


NODE_RULE_TEXT = (
    "invalid node name: a node's name becomes a Kubernetes Node name and a Slurm NodeName: "
    "lower-case letters, digits and '-' (a DNS-1123 label), 1-63 characters, alphanumeric "
    "at both ends"
)


@pytest.mark.parametrize("name", ["gpu_01", "gpu.01", "-gpu01", "Gpu01", "n" * 64])
def test_a_node_name_kubernetes_or_slurm_would_refuse_is_refused_by_name(name: str) -> None:
    """Kubernetes refuses a Node named ``gpu_01`` (not a DNS-1123 name); a dot would make a
    Slurm NodeName a domain; neocloud refuses them at import, naming the node."""
    doc = factories.site_document(racks=1)
    doc["halls"][0]["racks"] = [  # type: ignore[index]
        {"name": "x-r1", "power_budget_kw": 82,
         "nodes": [{"name": "x-r1-n01", "gpu_model": "H100"},
                   {"name": name, "gpu_model": "H100"}]}
    ]  # fmt: skip
    with pytest.raises(InvalidInput) as err:
        parse_fleet(factories.fleet(doc))
    (problem,) = err.value.problems
    assert (problem.field, problem.value, problem.message) == (
        "sites[0].halls[0].racks[0].nodes[1].name", name, NODE_RULE_TEXT)  # fmt: skip


def test_a_rack_group_whose_node_names_would_be_refused_names_its_prefix() -> None:
    """``r_`` makes racks ``r_0001`` (a valid rack name) of nodes ``r_0001-n01``: refused."""
    doc = factories.site_document(racks=2)
    doc["halls"][0]["rack_groups"][0]["prefix"] = "r_"  # type: ignore[index]
    with pytest.raises(InvalidInput) as err:
        parse_fleet(factories.fleet(doc))
    (problem,) = err.value.problems
    assert (problem.field, problem.value) == ("sites[0].halls[0].rack_groups[0].prefix", "r_")
    assert problem.message == "rack and node names built from it are invalid: " + NODE_RULE_TEXT
