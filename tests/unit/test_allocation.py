"""The planner on small sites worked by hand, and the scheduler exports against the real
grammars (Slurm hostlists via python-hostlist, Kubernetes objects via its JSON schemas)."""

from __future__ import annotations

import json
import re
import shlex
from datetime import UTC, datetime
from decimal import Decimal

import hostlist as slurm_hostlist
import kubernetes_validate
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neocloud.domain.allocation.planner import (
    Busy,
    Demand,
    HolderKind,
    Holding,
    RackCapacity,
    SiteMeasure,
    Tranche,
    demand_of,
    held_share,
    plan_allocation,
    plan_in_halls,
)
from neocloud.domain.allocation.reservations import Reservation, reconcile, reservations_at
from neocloud.domain.kernel.errors import InsufficientCapacity, InvalidInput
from neocloud.render.schedulers import (
    hostlist,
    kubernetes_nodes,
    parse_reservations,
    scontrol_lines,
    slurm_conf,
)
from tests import factories

MAY = datetime(2026, 5, 1, 5, tzinfo=UTC)
JUNE = datetime(2026, 6, 1, 5, tzinfo=UTC)
END = datetime(2029, 6, 1, 5, tzinfo=UTC)


def racks() -> list[RackCapacity]:
    """Hall a: 4 H100 racks; hall b: 4 H100 racks; hall c: 2 GB200 NVL72 racks."""
    h100 = [
        RackCapacity(h, f"{h}-r{i}", "H100", 8, 64, Decimal("58.24"))
        for h in ("a", "b")
        for i in range(1, 5)
    ]
    gb200 = [RackCapacity("c", f"c-r{i}", "GB200", 18, 72, Decimal("112.32")) for i in (1, 2)]
    return h100 + gb200


# every rack's typical facility draw counted at face value: capacity = draw, PUE 1
MEASURE = SiteMeasure(Decimal("690.56"), Decimal("690.56"), Decimal(1))


def gpus(n: int, *tranches: tuple[datetime, str]) -> Demand:
    steps = tuple(Tranche(t, Decimal(s)) for t, s in tranches) or (Tranche(MAY, Decimal(1)),)
    return Demand(END, steps, gpus=n, gpu_model="H100")


def test_whole_racks_of_the_model_asked_for_in_one_hall() -> None:
    plan = plan_allocation("deal", gpus(200), racks(), [], MEASURE)
    # 200 GPUs need 4 racks of 64 (256): never a split rack, never a GB200 rack
    assert plan.racks == ["a-r1", "a-r2", "a-r3", "a-r4"]
    assert plan.halls == {"a": 4}


def test_the_ramp_grows_the_block_and_keeps_what_it_has() -> None:
    plan = plan_allocation("deal", gpus(320, (MAY, "0.4"), (JUNE, "1")), racks(), [], MEASURE)
    # 40 % of 320 = 128 GPUs = 2 racks in May; 320 = 5 racks from June, hall a first
    assert [s.added for s in plan.steps] == [("a-r1", "a-r2"), ("a-r3", "a-r4", "b-r1")]
    assert [s.held for s in plan.steps] == [128, 320]


def test_busy_racks_are_skipped_and_the_refusal_names_the_binding_constraint() -> None:
    busy = [Busy(f"a-r{i}", HolderKind.AGREEMENT, "other", MAY, END) for i in range(1, 5)]
    busy.append(Busy("b-r1", HolderKind.MAINTENANCE, "", JUNE, None))
    plan = plan_allocation("deal", gpus(192), racks(), busy, MEASURE)
    assert plan.racks == ["b-r2", "b-r3", "b-r4"]  # b-r1 goes to maintenance in June
    with pytest.raises(InsufficientCapacity) as no:
        plan_allocation("deal", gpus(300), racks(), busy, MEASURE)
    assert "The largest amount that fits is 192 H100 GPUs." in no.value.message
    assert "agreement other" in no.value.message and "maintenance" in no.value.message


def test_touching_intervals_do_not_block_a_rack() -> None:
    # [2025, MAY) ends as the demand begins; [END, open) begins as it ends: both racks free
    busy = [
        Busy("a-r1", HolderKind.AGREEMENT, "old", datetime(2025, 1, 1, tzinfo=UTC), MAY),
        Busy("a-r2", HolderKind.MAINTENANCE, "", END, None),
    ]
    assert plan_allocation("deal", gpus(128), racks(), busy, MEASURE).racks == ["a-r1", "a-r2"]


def test_the_refusal_names_at_most_five_holders() -> None:
    busy = [  # one holder per H100 rack: h1 .. h8, all overlapping the demand
        Busy(r.rack, HolderKind.AGREEMENT, f"h{i}", MAY, END)
        for i, r in enumerate(racks()[:8], start=1)
    ]
    with pytest.raises(InsufficientCapacity) as no:
        plan_allocation("deal", gpus(64), racks(), busy, MEASURE)
    assert "held by agreement h1, agreement h2, agreement h3, agreement h4, agreement h5." in (
        no.value.message
    )


def test_a_power_demand_is_refused_in_mw() -> None:
    # the whole site draws 8 x 58.24 + 2 x 112.32 = 690.56 kW: 0.691 MW, not 0.800
    demand = Demand(END, (Tranche(MAY, Decimal(1)),), facility_kw=Decimal(800))
    with pytest.raises(InsufficientCapacity) as no:
        plan_allocation("deal", demand, racks(), [], MEASURE)
    assert no.value.message == (
        "cannot allocate 0.800 MW facility: from 2026-05-01T05:00:00+00:00 to "
        "2029-06-01T05:00:00+00:00 the site has free racks for only 0.691 MW facility. "
        "The largest amount that fits is 0.691 MW facility."
    )


def test_held_share_is_what_the_racks_deliver_over_the_contract() -> None:
    h100, gb200 = racks()[:8], racks()[8:]
    assert held_share(gpus(256), h100[:2], MEASURE) == Decimal("0.5")  # 128 of 256 GPUs
    assert held_share(gpus(256), gb200, MEASURE) == 0  # no H100 in GB200 racks
    power = Demand(END, (Tranche(MAY, Decimal(1)),), facility_kw=Decimal("224.64"))
    assert held_share(power, gb200, MEASURE) == 1  # 2 x 112.32 kW


def test_demand_of_takes_facility_power_or_gpus_and_refuses_it_power() -> None:
    facility = demand_of(factories.signed_agreement(capacity={"facility_mw": Decimal(10)}))
    assert (facility.facility_kw, facility.gpus) == (Decimal(10_000), None)
    assert [t.share for t in facility.tranches] == [Decimal(1)]
    counted = demand_of(factories.signed_agreement(capacity={"gpus": 256, "gpu_model": "H100"}))
    assert (counted.facility_kw, counted.gpus, counted.gpu_model) == (None, 256, "H100")
    with pytest.raises(InvalidInput, match="allocation takes facility MW"):
        demand_of(factories.signed_agreement(capacity={"it_mw": Decimal(10)}))


def test_whole_halls_when_the_hall_is_the_unit() -> None:
    # 200 GPUs fit in one hall of 4 racks (256 GPUs); the GB200 hall has no H100
    plan = plan_in_halls("deal", gpus(200), racks(), [], MEASURE)
    assert plan.racks == ["a-r1", "a-r2", "a-r3", "a-r4"] and plan.halls == {"a": 4}
    busy = [Busy("a-r3", HolderKind.MAINTENANCE, "", JUNE, None)]  # one busy rack: hall busy
    plan = plan_in_halls("deal", gpus(200), racks(), busy, MEASURE)
    assert plan.halls == {"b": 4} and plan.steps[0].held == 256
    with pytest.raises(InsufficientCapacity, match="largest amount that fits is 256 H100"):
        plan_in_halls("deal", gpus(300), racks(), busy, MEASURE)
    # a hall counts the draw of all its racks: hall a is 4 x 58.24 = 232.96 kW
    power = Demand(END, (Tranche(MAY, Decimal(1)),), facility_kw=Decimal("232.96"))
    plan = plan_in_halls("deal", power, racks(), [], MEASURE)
    assert plan.halls == {"a": 4} and plan.steps[0].held == Decimal("232.96")


def test_spares_come_from_the_same_halls() -> None:
    plan = plan_allocation("deal", gpus(128), racks(), [], MEASURE, spare_share=Decimal("0.5"))
    assert plan.racks == ["a-r1", "a-r2"] and plan.spares == ("a-r3",)
    # 4 racks in hall a, 2 spares wanted in hall a with none of it free: refused in words
    with pytest.raises(InsufficientCapacity) as no:
        plan_allocation("deal", gpus(256), racks(), [], MEASURE, spare_share=Decimal("0.5"))
    assert no.value.message.startswith("2 spare racks (50% of 4) are wanted in a but only 0 ")
    assert "--" not in no.value.message  # the domain does not name command-line flags


def test_spare_racks_are_rounded_up() -> None:
    # 1 rack x 0.5 = 0.5 -> 1 spare rack; 2 racks x 0.75 = 1.5 -> 2 (never 0 or 1)
    one = plan_allocation("deal", gpus(64), racks(), [], MEASURE, spare_share=Decimal("0.5"))
    assert one.racks == ["a-r1"] and one.spares == ("a-r2",)
    two = plan_allocation("deal", gpus(128), racks(), [], MEASURE, spare_share=Decimal("0.75"))
    assert two.racks == ["a-r1", "a-r2"] and two.spares == ("a-r3", "a-r4")


def test_the_whole_site_power_takes_every_rack() -> None:
    # 300 MW of a 300 MW site: a share of 1, whatever the typical draw is
    measure = SiteMeasure(Decimal(300_000), Decimal("690.56"), Decimal("1.15"))
    demand = Demand(END, (Tranche(MAY, Decimal(1)),), facility_kw=Decimal(300_000))
    assert len(plan_allocation("deal", demand, racks(), [], measure).racks) == 10
    half = Demand(END, (Tranche(MAY, Decimal("0.5")),), facility_kw=Decimal(300_000))
    held = plan_allocation("deal", half, racks(), [], measure).steps[0].held
    assert Decimal(150_000) <= held < Decimal(150_000) + Decimal(112.32 * 300_000 / 690.56)


# --- exports -------------------------------------------------------------------------------

names = st.builds(
    lambda h, r, n: f"h{h}-r{r:04d}-n{n:02d}",
    st.integers(1, 4),
    st.integers(1, 900),
    st.integers(1, 18),
) | st.sampled_from(["odd", "gpu-a", "x9y10"])


@given(st.sets(names, min_size=1, max_size=300))
def test_hostlist_expands_to_exactly_the_nodes(nodes: set[str]) -> None:
    assert set(slurm_hostlist.expand_hostlist(hostlist(nodes))) == nodes


def test_hostlist_is_compact_for_whole_halls() -> None:
    nodes = [
        f"h{h}-r{r:04d}-n{n:02d}" for h in (1, 2, 3) for r in range(1, 851) for n in range(1, 9)
    ]
    assert hostlist(nodes) == "h[1-3]-r[0001-0850]-n[01-08]"


def holdings() -> list[Holding]:
    """Two nodes of the tenant's, one node in maintenance from June, one spare node."""
    agreement = [
        Holding(
            "hall-1",
            "h1-r0001",
            f"h1-r0001-n0{n}",
            "H100",
            HolderKind.AGREEMENT,
            "memphis-lease",
            MAY,
            END,
        )
        for n in (1, 2)
    ]
    return [
        *agreement,
        Holding(
            "hall-1", "h1-r0002", "h1-r0002-n01", "H100", HolderKind.MAINTENANCE, "", JUNE, None
        ),
        Holding(
            "hall-1",
            "h1-r0003",
            "h1-r0003-n01",
            "H100",
            HolderKind.SPARE,
            "memphis-lease",
            MAY,
            END,
        ),
    ]


def test_slurm_lines_follow_the_scontrol_grammar() -> None:
    tenants, steps = {"memphis-lease": "frontier-lab"}, {"memphis-lease": [MAY]}
    at = datetime(2026, 5, 20, tzinfo=UTC)  # the lease running, maintenance from June
    wanted = reservations_at(holdings(), tenants, steps, at)
    lines = scontrol_lines(reconcile(wanted, [], at))
    assert lines == [
        "TZ=UTC scontrol create reservation ReservationName=nc-maint-20260601T050000Z "
        "StartTime=2026-06-01T05:00:00 Duration=UNLIMITED Nodes=h1-r0002-n01 Users=root "
        "Flags=MAINT,IGNORE_JOBS",
        "TZ=UTC scontrol create reservation ReservationName=nc-memphis-lease-s1 "
        "StartTime=now EndTime=2029-06-01T05:00:00 'Nodes=h1-r0001-n[01-02]' "
        "Accounts=frontier-lab Flags=IGNORE_JOBS",
        "TZ=UTC scontrol create reservation ReservationName=nc-memphis-lease-spare-s1 "
        "StartTime=now EndTime=2029-06-01T05:00:00 Nodes=h1-r0003-n01 "
        "Accounts=frontier-lab Flags=IGNORE_JOBS",
    ]
    for line in lines:  # key=value words once sh has read them, as scontrol reads them
        words = shlex.split(line.removeprefix("TZ=UTC scontrol create reservation "))
        assert all(re.fullmatch(r"[A-Za-z]+=[^\s'\"]+", w) for w in words), line
    notice = [Reservation(r.name, r.nodes, r.accounts, r.start, JUNE, r.maintenance)
              for r in wanted]  # fmt: skip
    assert scontrol_lines(reconcile(notice[1:2], wanted, at)) == [
        "TZ=UTC scontrol delete ReservationName=nc-maint-20260601T050000Z",
        "TZ=UTC scontrol delete ReservationName=nc-memphis-lease-spare-s1",
        "TZ=UTC scontrol update ReservationName=nc-memphis-lease-s1 EndTime=2026-06-01T05:00:00",
    ]


def test_the_partition_takes_only_jobs_in_a_reservation() -> None:
    text = slurm_conf("memphis-1", holdings(), {"memphis-lease": "frontier-lab"}, MAY,
                      {"h1-r0001-n01": 8, "h1-r0001-n02": 8, "h4-nvl001-n01": 4})  # fmt: skip
    assert text.splitlines()[1:] == [
        "GresTypes=gpu",
        "NodeName=h4-nvl001-n01 Gres=gpu:4 State=UNKNOWN",
        "NodeName=h1-r0001-n[01-02] Gres=gpu:8 State=UNKNOWN",
        # the tenant's two nodes: not the spare, not the maintenance node
        "PartitionName=frontier-lab Nodes=h1-r0001-n[01-02] AllowAccounts=frontier-lab "
        "ReqResv=YES State=UP",
    ]
    assert "PartitionName" not in slurm_conf("memphis-1", holdings(), {}, END)  # all ended


ONE_LINERS = """\
ReservationName=nc-memphis-lease-s1 StartTime=2026-05-01T05:00:00 EndTime=2029-06-01T05:00:00 Duration=1127-00:00:00 Nodes=h1-r0001-n[01-02] NodeCnt=2 CoreCnt=2 Features=(null) PartitionName=(null) Flags=IGNORE_JOBS,SPEC_NODES TRES=cpu=2 Users=(null) Groups=(null) Accounts=frontier-lab Licenses=(null) State=ACTIVE BurstBuffer=(null) Watts=n/a MaxStartDelay=(null)
ReservationName=nc-maint-20260601T050000Z StartTime=2026-06-01T05:00:00 EndTime=Unknown Duration=UNLIMITED Nodes=h1-r0002-n01 NodeCnt=1 CoreCnt=1 Features=(null) PartitionName=(null) Flags=MAINT,IGNORE_JOBS,SPEC_NODES TRES=cpu=1 Users=root Groups=(null) Accounts=(null) Licenses=(null) State=INACTIVE BurstBuffer=(null) Watts=n/a MaxStartDelay=(null)
"""  # noqa: E501


def test_the_controllers_reservations_read_from_one_liners_and_json() -> None:
    lease = Reservation("nc-memphis-lease-s1", frozenset({"h1-r0001-n01", "h1-r0001-n02"}),
                        frozenset({"frontier-lab"}), MAY, END)  # fmt: skip
    maint = Reservation("nc-maint-20260601T050000Z", frozenset({"h1-r0002-n01"}), frozenset(),
                        JUNE, None, maintenance=True)  # fmt: skip
    assert parse_reservations(ONE_LINERS) == [lease, maint]
    blocks = ONE_LINERS.replace(" Nodes=", "\n   Nodes=").replace(
        "\nReservationName", "\n\nReservationName"
    )
    assert parse_reservations(blocks) == [lease, maint]  # without -o: a block each
    assert parse_reservations("No reservations in the system\n") == []
    doc = {"reservations": [
        {"name": "nc-memphis-lease-s1", "node_list": "h1-r0001-n[01-02]",
         "accounts": "frontier-lab", "start_time": 1777611600, "end_time": 1874984400,
         "flags": ["IGNORE_JOBS", "SPEC_NODES"]},
        {"name": "nc-maint-20260601T050000Z", "node_list": "h1-r0002-n01", "accounts": "",
         "start_time": {"set": True, "number": 1780290000},
         "end_time": {"set": True, "infinite": True, "number": 0}, "flags": ["MAINT"]},
    ]}  # fmt: skip
    assert parse_reservations(json.dumps(doc)) == [lease, maint]
    with pytest.raises(InvalidInput) as caught:
        parse_reservations("ReservationName=x Nodes=a1\n")
    assert caught.value.problems[0].field == "current reservation 1"
    with pytest.raises(InvalidInput) as caught:
        parse_reservations("slurm_load_reservations error: Unable to contact slurm controller")
    assert caught.value.problems[0].field == "current"


# Label syntax as the Kubernetes documentation states it ("Labels and Selectors"): a value
# is empty or up to 63 characters, alphanumeric at both ends, with - _ . between; a key is
# an optional DNS-subdomain prefix and "/", then a name with the same rules as a value.
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS_LABEL = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
LABEL_KEY = re.compile(
    rf"^(?P<prefix>{DNS_LABEL}(\.{DNS_LABEL})*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{{0,61}}[A-Za-z0-9])?$"
)


def test_label_grammar_is_the_documented_one() -> None:
    assert LABEL_KEY.match("neocloud.io/holder-kind") and LABEL_KEY.match("app")
    for wrong in ("neocloud.io/holder kind", "neocloud.io/", "Neocloud.io/x", "-a", "a/b/c"):
        assert not LABEL_KEY.match(wrong), wrong
    assert LABEL_VALUE.match("") and not LABEL_VALUE.match("frontier lab")


def test_kubernetes_nodes_validate_against_the_api_schema() -> None:
    objects = kubernetes_nodes(holdings(), {"memphis-lease": "frontier-lab"})
    items = objects["items"]
    assert isinstance(items, list)
    assert [i["metadata"]["name"] for i in items] == [
        "h1-r0001-n01",
        "h1-r0001-n02",
        "h1-r0002-n01",
        "h1-r0003-n01",
    ]
    for item in items:
        kubernetes_validate.validate(item, "1.33", strict=True)
        for key, value in item["metadata"]["labels"].items():
            assert LABEL_KEY.match(key) and len(key.partition("/")[0]) <= 253, key
            assert LABEL_VALUE.match(value) and len(value) <= 63, (key, value)
    taints = [item["spec"]["taints"] for item in items]
    tenant = [{"key": "neocloud.io/tenant", "value": "frontier-lab", "effect": "NoSchedule"}]
    assert taints[0] == taints[1] == tenant
    assert taints[2] == [
        {"key": "neocloud.io/maintenance", "value": "true", "effect": "NoSchedule"}
    ]
    # a spare is kept for the tenant, not given to it: its own taint key, so the tenant's
    # pods (which tolerate neocloud.io/tenant) do not land on it
    assert taints[3] == [
        {"key": "neocloud.io/spare", "value": "frontier-lab", "effect": "NoSchedule"}
    ]
    assert items[3]["metadata"]["labels"] == {
        "neocloud.io/holder-kind": "spare",
        "neocloud.io/gpu-model": "H100",
        "neocloud.io/rack": "h1-r0003",
        "neocloud.io/hall": "hall-1",
        "neocloud.io/agreement": "memphis-lease",
        "neocloud.io/tenant": "frontier-lab",
    }


def test_what_the_controller_holds_that_is_not_neocloud_s_is_not_read() -> None:
    """Slurm takes names with spaces and shell text: such a name is no name of neocloud's,
    however it starts (``nc-memphis-lease-s1 shadow`` does not hide the real step 1), and
    its node list is never expanded (a foreign reservation's may be huge or broken)."""
    real = ONE_LINERS.splitlines()[0]
    shadow = real.replace("nc-memphis-lease-s1", "nc-memphis-lease-s1 shadow").replace(
        "Nodes=h1-r0001-n[01-02]", "Nodes=h1-r[0001-"
    )
    shell = real.replace("nc-memphis-lease-s1", "nc-a;touch${IFS}/tmp/x")
    (found,) = parse_reservations("\n".join([shadow, real, shell]) + "\n")
    assert (found.name, found.end) == ("nc-memphis-lease-s1", END)
    with pytest.raises(InvalidInput) as caught:
        parse_reservations(real + "\n" + real + "\n")
    assert (caught.value.problems[0].value, caught.value.problems[0].message) == (
        "nc-memphis-lease-s1", "names two reservations")  # fmt: skip
    with pytest.raises(InvalidInput) as caught:
        parse_reservations(real.replace("Nodes=h1-r0001-n[01-02]", "Nodes=h1-r[0001-") + "\n")
    assert caught.value.problems[0].field == "current reservation 1"
    with pytest.raises(InvalidInput) as caught:  # an offset would be dropped: refused
        parse_reservations(real.replace("StartTime=2026-05-01T05:00:00",
                                        "StartTime=2026-05-01T05:00:00+09:00") + "\n")  # fmt: skip
    assert "carries a zone" in caught.value.problems[0].message


def test_a_sync_leaves_other_sites_reservations_alone() -> None:
    other_site = Reservation("nc-atl-deal-s1", frozenset({"a-r001-n01"}),
                             frozenset({"acme"}), MAY, END)  # fmt: skip
    mine = Reservation("nc-memphis-lease-s1", frozenset({"h1-r0001-n01"}),
                       frozenset({"frontier-lab"}), MAY, END)  # fmt: skip
    changes = reconcile([], [other_site, mine], JUNE, frozenset({"h1-r0001-n01"}))
    assert [c.reservation.name for c in changes] == ["nc-memphis-lease-s1"]
