"""Allocation through the CLI on each database: plan, apply, show, what-if, exports,
node failure and release."""

from __future__ import annotations

import json
from pathlib import Path

import hostlist as slurm_hostlist
import kubernetes_validate
import pytest

from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES

DEAL = str(EXAMPLES / "agreements" / "memphis-lease.yaml")


@pytest.fixture
def allocated(loaded: dict[str, str]) -> dict[str, str]:
    env = {**loaded, "NEOCLOUD_NOW": "2026-11-01T05:00:00Z"}
    assert neocloud(env, "agreement", "create", DEAL)[0] == 0
    assert (
        neocloud(env, "agreement", "sign", "memphis-lease", "--at", "2026-05-03T14:00:00-05:00")[0]
        == 0
    )
    code, out, err = neocloud(env, "allocation", "apply", "memphis-lease", "--json")
    assert code == 0, err
    assert json.loads(out)["racks"] == 3_370
    return env


def test_plan_is_a_dry_run(loaded: dict[str, str]) -> None:
    env = {**loaded, "NEOCLOUD_NOW": "2026-11-01T05:00:00Z"}
    neocloud(env, "agreement", "create", DEAL)
    code, out, _ = neocloud(env, "allocation", "plan", "memphis-lease", "--json")
    assert code == 0
    plan = json.loads(out)
    assert [len(s["racks_added"]) for s in plan["steps"]] == [1630, 1218, 522]
    code, out, _ = neocloud(env, "allocation", "show", "--site", "memphis-1", "--json")
    assert json.loads(out)["holdings"] == []


def test_show_along_the_ramp(allocated: dict[str, str]) -> None:
    racks = []
    for day in ("2026-05-15", "2026-06-15", "2026-07-15"):
        _code, out, _ = neocloud(
            allocated,
            "allocation",
            "show",
            "--site",
            "memphis-1",
            "--at",
            f"{day}T12:00:00Z",
            "--json",
        )
        racks.append(len({h["rack"] for h in json.loads(out)["holdings"]}))
    assert racks == [1630, 2848, 3370]


def commands(text: str) -> list[str]:
    return [x for x in text.splitlines() if x.startswith("TZ=UTC scontrol")]


S1 = "h1-r[0001-0810]-n[01-08],h4-nvl[001-120]-n[01-18],h4-r[0001-0700]-n[01-08]"
S2 = "h1-r[0811-0850]-n[01-08],h2-r[0001-0850]-n[01-08],h3-r[0001-0328]-n[01-08]"
S3 = "h3-r[0329-0850]-n[01-08]"


def test_slurm_export_is_the_state_at_the_instant(allocated: dict[str, str]) -> None:
    """Before the ramp: one reservation per step at its start; mid-June: the first two
    running (StartTime=now), July's still ahead; the partition takes reservation jobs only."""

    def export(*extra: str) -> str:
        code, out, err = neocloud(allocated, "allocation", "export", "--site", "memphis-1",
                                  "--format", *extra)  # fmt: skip
        assert code == 0, err
        return out

    create = "TZ=UTC scontrol create reservation ReservationName=nc-memphis-lease-"
    tail = "EndTime=2029-06-01T05:00:00 'Nodes={}' Accounts=frontier-lab Flags=IGNORE_JOBS"
    assert commands(export("slurm", "--at", "2026-04-30T00:00:00Z")) == [
        f"{create}s1 StartTime=2026-05-01T05:00:00 {tail.format(S1)}",
        f"{create}s2 StartTime=2026-06-01T05:00:00 {tail.format(S2)}",
        f"{create}s3 StartTime=2026-07-01T05:00:00 {tail.format(S3)}",
    ]
    assert commands(export("slurm", "--at", "2026-06-15T00:00:00Z")) == [
        f"{create}s1 StartTime=now {tail.format(S1)}",
        f"{create}s2 StartTime=now {tail.format(S2)}",
        f"{create}s3 StartTime=2026-07-01T05:00:00 {tail.format(S3)}",
    ]
    assert commands(export("slurm", "--at", "2029-06-01T05:00:00Z")) == []  # the term ended
    conf = export("slurm-conf", "--nodes").splitlines()
    partition = next(x for x in conf if x.startswith("PartitionName=frontier-lab "))
    nodes = partition.split(" Nodes=")[1].split(" ")[0]
    assert len(set(slurm_hostlist.expand_hostlist(nodes))) == 28_160
    assert partition.endswith(" AllowAccounts=frontier-lab ReqResv=YES State=UP")
    defined = [x.split(" ")[0].removeprefix("NodeName=") for x in conf if x.startswith("NodeName=")]
    assert sum(len(slurm_hostlist.expand_hostlist(x)) for x in defined) == 28_160  # the site


def test_slurm_sync_prints_only_what_moves_the_controller(
    allocated: dict[str, str], tmp_path: Path
) -> None:
    """The controller holds step 1 (created on 15 June) and an operator's own reservation;
    the tenant gave notice on 2 November (service ends 31 January 2027, 18:00 UTC)."""
    env = {**allocated, "NEOCLOUD_NOW": "2026-11-03T00:00:00Z"}
    assert neocloud(env, "agreement", "notice", "memphis-lease", "--by", "tenant",
                    "--at", "2026-11-02T18:00:00Z")[0] == 0  # fmt: skip
    current = tmp_path / "current.txt"
    current.write_text(
        "ReservationName=nc-memphis-lease-s1 StartTime=2026-06-15T00:00:00 "
        f"EndTime=2029-06-01T05:00:00 Nodes={S1} Accounts=frontier-lab Flags=IGNORE_JOBS\n"
        "ReservationName=ops-drain StartTime=2026-06-15T00:00:00 EndTime=2026-12-01T00:00:00 "
        "Nodes=h9-r0001-n01 Accounts=ops Flags=SPEC_NODES\n"
    )
    code, out, err = neocloud(env, "allocation", "sync", "--site", "memphis-1",
                              "--current", str(current))  # fmt: skip
    assert code == 0, err
    end = "EndTime=2027-01-31T18:00:00"
    create = "TZ=UTC scontrol create reservation ReservationName=nc-memphis-lease-"
    assert commands(out) == [
        f"TZ=UTC scontrol update ReservationName=nc-memphis-lease-s1 {end}",
        f"{create}s2 StartTime=now {end} 'Nodes={S2}' Accounts=frontier-lab Flags=IGNORE_JOBS",
        f"{create}s3 StartTime=now {end} 'Nodes={S3}' Accounts=frontier-lab Flags=IGNORE_JOBS",
    ]
    code, out, err = neocloud(env, "allocation", "sync", "--site", "memphis-1", "--current",
                              str(tmp_path / "missing.txt"))  # fmt: skip
    assert code != 0 and "current" in err and "missing.txt" in err


def test_k8s_export_validates(allocated: dict[str, str], tmp_path: Path) -> None:
    code, out, _ = neocloud(
        allocated, "allocation", "export", "--site", "atlanta-1", "--format", "k8s"
    )
    assert code == 0
    assert json.loads(out) == {"apiVersion": "v1", "kind": "List", "items": []}
    deal = tmp_path / "small.yaml"  # 256 H100 at atlanta-1: 8 racks of 4 nodes x 8 GPUs
    deal.write_text(
        Path(DEAL)
        .read_text()
        .replace("key: memphis-lease", "key: small")
        .replace("site: memphis-1", "site: atlanta-1")
        .replace("capacity: {facility_mw: 300}", "capacity: {gpus: 256, gpu_model: H100}")
    )
    for command in (
        ("agreement", "create", str(deal)),
        ("agreement", "sign", "small"),
        ("allocation", "apply", "small"),
    ):
        assert neocloud(allocated, *command)[0] == 0
    code, out, _ = neocloud(
        allocated,
        "allocation",
        "export",
        "--site",
        "atlanta-1",
        "--format",
        "k8s",
        "--at",
        "2026-07-15T00:00:00Z",
    )
    items = json.loads(out)["items"]
    assert len(items) == 8 * 4
    for item in items:
        kubernetes_validate.validate(item, "1.33", strict=True)
        assert item["metadata"]["labels"]["neocloud.io/agreement"] == "small"
    held, labels = items[0]["metadata"]["name"], items[0]["metadata"]["labels"]
    cordon = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
    nodes = tmp_path / "nodes.json"  # kubectl get nodes -o json: one held, one not
    nodes.write_text(json.dumps({"kind": "List", "items": [
        {"metadata": {"name": held, "labels": labels}, "spec": {"taints": [cordon]}},
        {"metadata": {"name": "b-r150-n04", "labels": {"neocloud.io/tenant": "gone"}},
         "spec": {"taints": [cordon, {"key": "neocloud.io/tenant", "value": "gone",
                                      "effect": "NoSchedule"}]}},
    ]}))  # fmt: skip
    code, out, err = neocloud(allocated, "allocation", "sync", "--site", "atlanta-1",
                              "--format", "k8s", "--current", str(nodes),
                              "--at", "2026-07-15T00:00:00Z")  # fmt: skip
    assert code == 0, err
    assert [x for x in out.splitlines() if x.startswith("kubectl")] == [
        f"kubectl taint node {held} --overwrite neocloud.io/tenant=frontier-lab:NoSchedule",
        "kubectl label node b-r150-n04 --overwrite neocloud.io/tenant-",
        "kubectl taint node b-r150-n04 --overwrite neocloud.io/tenant:NoSchedule-",
    ]


def test_whatif_in_words(allocated: dict[str, str]) -> None:
    code, out, _ = neocloud(
        allocated,
        "allocation",
        "whatif",
        "--site",
        "memphis-1",
        "--mw",
        "20",
        "--from",
        "2027-01-01T06:00:00Z",
        "--months",
        "12",
    )
    assert code == 0 and out.startswith("NO") and "largest amount that fits" in out
    code, out, _ = neocloud(
        allocated,
        "allocation",
        "whatif",
        "--site",
        "memphis-1",
        "--mw",
        "20",
        "--from",
        "2029-06-01T05:00:00Z",
        "--months",
        "6",
        "--json",
    )
    assert json.loads(out)["fits"] is True


def test_show_every_site_without_site(allocated: dict[str, str]) -> None:
    code, out, _ = neocloud(allocated, "allocation", "show", "--json")
    assert code == 0
    views = json.loads(out)
    assert [v["site"] for v in views] == ["atlanta-1", "memphis-1"]
    assert {v["at"] for v in views} == {"2026-11-01T05:00:00+00:00"}  # NEOCLOUD_NOW
    assert views[0]["holdings"] == []
    assert len({h["rack"] for h in views[1]["holdings"]}) == 3_370
    code, out, _ = neocloud(allocated, "allocation", "show")
    assert code == 0
    assert "atlanta-1 at 2026-11-01T05:00:00+00:00" in out
    assert "memphis-1 at 2026-11-01T05:00:00+00:00" in out
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.splitlines()]
    # examples/fleet.yaml: atlanta-1 has 200 + 150 racks, nobody holds them; memphis-1's
    # hall-1 has 850 racks, all held by the deal
    assert ["hall-a", "200", "-", "0", "200"] in rows
    assert ["hall-b", "150", "-", "0", "150"] in rows
    assert ["hall-1", "850", "agreement memphis-lease (850)", "850", "0"] in rows


def test_release_and_fail_node(allocated: dict[str, str]) -> None:
    code, _, err = neocloud(
        allocated, "allocation", "fail-node", "h1-r0001-n01", "--site", "memphis-1"
    )
    assert code == 4 and "no spare H100 node" in err  # the deal kept no spares
    code, out, _ = neocloud(
        allocated, "allocation", "release", "memphis-lease", "--at", "2026-10-01T05:00:00Z"
    )
    assert code == 0 and "28,160 node holdings" in out
    code, out, _ = neocloud(allocated, "allocation", "show", "--site", "memphis-1", "--json")
    assert json.loads(out)["holdings"] == []


DIGITS = "must be a whole number written in digits 0-9 (at most 12)"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--gpus", "-5", "--model", "H100"], f"gpus='-5': {DIGITS}"),
        (["--gpus", "0", "--model", "H100"], "gpus=0: must be a whole number from 1 to 10,000,000"),
        (["--gpus", "١٢", "--model", "H100"], f"gpus='١٢': {DIGITS}"),
        (["--gpus", "10"], "model=None: say which GPU model the GPUs are"),
        (
            ["--gpus", "8", "--model", "H900"],
            "model='H900': site memphis-1 has no GPUs of this model (it has: GB200, H100, H200)",
        ),
        (["--mw", "0"], "mw=0: must be more than 0 and at most 100,000"),
        (["--mw", "-0"], "mw=0: must be more than 0 and at most 100,000"),
        (["--mw", "1e400"], "mw='1e400': must be less than 9,000,000,000,000"),
        (["--mw", "20", "--months", "0"], "months='0': must be 1 to 240"),
    ],
)
def test_whatif_refuses_a_question_that_is_not_one(
    loaded: dict[str, str], options: list[str], says: str
) -> None:
    start = ["--from", "2027-01-01T06:00:00Z"]
    code, out, err = neocloud(
        loaded, "allocation", "whatif", "--site", "memphis-1", *start, *options
    )
    assert (code, out, err) == (2, "", f"error: {says}\n")
    code, _, err = neocloud(
        loaded, "allocation", "whatif", "--site", "memphis-1", "--mw", "1",
        "--from", "0001-01-01T00:00:00+05:00",
    )  # fmt: skip
    assert code == 2
    assert err == "error: from='0001-01-01T00:00:00+05:00': must be in the years 2000 to 2199\n"


@pytest.mark.parametrize(
    ("options", "says"),
    [
        (["--overhead", "0"], "overhead='0': server overhead is 1 (GPUs only) to 3"),
        (["--overhead", "1e400"], "overhead='1e400': must be less than 9,000,000,000,000"),
        (["--gpus", str(10**40)], f"gpus='{10**40}': {DIGITS}"),
        (["--mw", "100000.000001"], "mw=100000.000001: must be more than 0 and at most 100,000"),
    ],
)  # fmt: skip
def test_conversions_refuse_impossible_figures(
    cli_env: dict[str, str], options: list[str], says: str
) -> None:
    gpus = [] if any(o in options for o in ("--gpus", "--mw")) else ["--gpus", "8"]
    command = ["capacity", "convert", "--model", "H100", "--pue", "1.2", *gpus, *options]
    code, _, err = neocloud(cli_env, *command)
    assert (code, err) == (2, f"error: {says}\n")
