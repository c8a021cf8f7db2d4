"""`allocation sync --format slurm` against a real slurmctld 22.05 loaded with the whole
reference site (28,160 nodes, defined by `allocation export --format slurm-conf --nodes`).

The reference deal, at 280 MW so that spare racks fit beside it, signed and allocated with
2 % spares, lives through its ramp (1 May, 1 June, 1 July 2026), a node failure (10 August
12:00 UTC) and the tenant's notice (2 November 18:00 UTC: service ends 31 January 2027 at
18:00 UTC). At every boundary and one second either side the controller's clock is set
there, `TZ=UTC scontrol -o show reservation` is handed to `allocation sync`, and its output
is run from a shell in the site's zone (America/Chicago). Then what the controller holds
and runs must be what `allocation show --at` says: the same nodes per account, the same
ends; and a second sync has nothing to do.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.allocation.reservations import reconcile, reservations_at
from neocloud.render.schedulers import scontrol_lines, slurm_conf
from tests.cli.test_cli import neocloud
from tests.conftest import EXAMPLES
from tests.slurm_controller import SlurmController, slurm_controller

SECOND = timedelta(seconds=1)
RAMP = [datetime(2026, m, 1, 5, tzinfo=UTC) for m in (5, 6, 7)]
FAILED = datetime(2026, 8, 10, 12, tzinfo=UTC)
NOTICE = datetime(2026, 11, 2, 18, tzinfo=UTC)
SERVICE_END = datetime(2027, 1, 31, 18, tzinfo=UTC)  # 90 days after the notice
TERM_END = datetime(2029, 6, 1, 5, tzinfo=UTC)
FAILED_NODE = "h3-r0001-n03"  # an H200 of the second step: an H200 spare replaces it


def around(instant: datetime) -> list[datetime]:
    return [instant - SECOND, instant, instant + SECOND]


@pytest.fixture(scope="module")
def site(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[dict[str, str], SlurmController]]:
    home = tmp_path_factory.mktemp("slurm-sync")
    env = {"NEOCLOUD_HOME": str(home), "NEOCLOUD_ACTOR": "test",
           "NEOCLOUD_DATABASE_URL": f"sqlite:///{home / 'neocloud.db'}",
           "NEOCLOUD_NOW": "2026-05-03T15:00:00Z"}  # fmt: skip
    deal = home / "lease.yaml"
    reference = (EXAMPLES / "agreements" / "memphis-lease.yaml").read_text()
    deal.write_text(reference.replace("facility_mw: 300", "facility_mw: 280"))
    for command in (
        ("init",), ("fleet", "import", str(EXAMPLES / "fleet.yaml")),
        ("agreement", "create", str(deal)),
        ("agreement", "sign", "memphis-lease", "--at", "2026-05-03T09:00:00-05:00"),
        ("allocation", "apply", "memphis-lease", "--spare-share", "0.02"),
    ):  # fmt: skip
        code, _, err = neocloud(env, *command)
        assert code == 0, err
    code, conf, err = neocloud(env, "allocation", "export", "--site", "memphis-1",
                               "--format", "slurm-conf", "--nodes")  # fmt: skip
    assert code == 0, err
    nodes = [x for x in conf.splitlines() if x.startswith("NodeName=")]
    partitions = [x for x in conf.splitlines() if x.startswith("PartitionName=")]
    start = datetime(2026, 4, 30, 12, tzinfo=UTC)
    with slurm_controller(nodes=nodes, partitions=partitions, now=start) as slurm:
        yield env, slurm


def sync(env: dict[str, str], slurm: SlurmController, at: datetime, tmp: Path) -> list[str]:
    """The commands `allocation sync` prints for what the controller holds now."""
    current = tmp / "current.txt"
    current.write_text(slurm.check(["scontrol", "-o", "show", "reservation"], tz="UTC"))
    code, out, err = neocloud(env, "allocation", "sync", "--site", "memphis-1", "--current",
                              str(current), "--at", at.isoformat())  # fmt: skip
    assert code == 0, err
    script = tmp / "sync.sh"
    script.write_text(out)
    return [x for x in out.splitlines() if not x.startswith(("#", "set -e"))]


def apply_from_chicago(slurm: SlurmController, tmp: Path) -> None:
    done = subprocess.run(["sh", str(tmp / "sync.sh")], env=slurm.env | {"TZ": "America/Chicago"},
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr


def expected(env: dict[str, str], at: datetime) -> dict[str, tuple[set[str], set[datetime | None]]]:
    """From `allocation show --at`: per account (maintenance: "MAINT"), the nodes held at
    ``at`` and the ends of their holdings."""
    code, out, err = neocloud(env, "allocation", "show", "--site", "memphis-1", "--at",
                              at.isoformat(), "--json")  # fmt: skip
    assert code == 0, err
    found: dict[str, tuple[set[str], set[datetime | None]]] = {}
    for h in json.loads(out)["holdings"]:
        key = "MAINT" if h["holder_kind"] == "maintenance" else "frontier-lab"
        nodes, ends = found.setdefault(key, (set(), set()))
        nodes.add(h["node"])
        ends.add(datetime.fromisoformat(h["end"]) if h["end"] else None)
    return found


def running(
    slurm: SlurmController, at: datetime
) -> dict[str, tuple[set[str], set[datetime | None]]]:
    """What the controller runs at ``at`` (start <= at < end), as ``expected`` puts it; an
    end a year after its start is the one Slurm gives a reservation without one."""
    found: dict[str, tuple[set[str], set[datetime | None]]] = {}
    for r in slurm.reservations().values():
        if not r.start <= at < r.end:
            continue
        key = "MAINT" if "MAINT" in r.flags else ",".join(r.accounts)
        nodes, ends = found.setdefault(key, (set(), set()))
        assert not nodes & set(r.nodes), f"{r.name}: a node in two reservations"
        nodes.update(r.nodes)
        ends.add(None if r.end - r.start == timedelta(days=365) else r.end)
    return found


def check_at(env: dict[str, str], slurm: SlurmController, at: datetime, tmp: Path) -> list[str]:
    slurm.set_clock(at)
    lines = sync(env, slurm, at, tmp)
    apply_from_chicago(slurm, tmp)
    assert running(slurm, at) == expected(env, at), at
    assert sync(env, slurm, at, tmp) == [], f"{at}: a second sync has more to do"
    return lines


def test_the_deal_through_ramp_failure_and_notice(
    site: tuple[dict[str, str], SlurmController], tmp_path: Path
) -> None:
    env, slurm = site
    before = check_at(env, slurm, datetime(2026, 4, 30, 12, tzinfo=UTC), tmp_path)
    # an empty controller before the ramp: the three steps and the spares, at their starts
    assert [x.split()[4] for x in before] == [
        "ReservationName=nc-memphis-lease-s1", "ReservationName=nc-memphis-lease-s2",
        "ReservationName=nc-memphis-lease-s3", "ReservationName=nc-memphis-lease-spare-s1",
    ]  # fmt: skip
    assert all("StartTime=now" not in x for x in before)
    for boundary in RAMP:
        for at in around(boundary):
            # each step was made ahead with its own start: Slurm starts it, nothing to do
            assert check_at(env, slurm, at, tmp_path) == [], at

    env["NEOCLOUD_NOW"] = FAILED.isoformat()
    code, _, err = neocloud(env, "allocation", "fail-node", FAILED_NODE, "--site", "memphis-1",
                            "--at", FAILED.isoformat())  # fmt: skip
    assert code == 0, err
    first = check_at(env, slurm, FAILED - SECOND, tmp_path)  # the failure known a second early
    # a second ahead: the failed node and the spare that replaces it leave their steps at
    # 12:00 (set apart until then); the maintenance reservation waits for its start
    s2 = "h1-r[0695-0850]-n[01-08],h2-r[0001-0850]-n[01-08],h3-r0001-n[01-02,04-08],h3-r[0002-0131]-n[01-08]"  # noqa: E501
    assert [x.split()[2:5] for x in first] == [
        ["update", "ReservationName=nc-memphis-lease-s2", f"'Nodes={s2}'"],
        ["update", "ReservationName=nc-memphis-lease-spare-s1",
         "'Nodes=h3-r0619-n[02-08],h3-r[0620-0681]-n[01-08]'"],
        ["create", "reservation", "ReservationName=nc-maint-20260810T120000Z"],
        ["create", "reservation", "ReservationName=nc-memphis-lease-s2-until-20260810T120000Z"],
        ["create", "reservation",
         "ReservationName=nc-memphis-lease-spare-s1-until-20260810T120000Z"],
    ]  # fmt: skip
    # at 12:00 the two set apart have ended (Slurm counts their nodes taken until it purges
    # them: deleted first); the spare joins the step of the swap's instant (July's)
    assert [x.split()[2:5] for x in check_at(env, slurm, FAILED, tmp_path)] == [
        ["delete", "ReservationName=nc-memphis-lease-s2-until-20260810T120000Z", "||"],
        ["delete", "ReservationName=nc-memphis-lease-spare-s1-until-20260810T120000Z", "||"],
        ["update", "ReservationName=nc-memphis-lease-s3",
         "'Nodes=h3-r0619-n01,h3-r[0132-0618]-n[01-08]'"],
    ]  # fmt: skip
    check_at(env, slurm, FAILED + SECOND, tmp_path)
    assert FAILED_NODE in slurm.reservations()["nc-maint-20260810T120000Z"].nodes
    assert FAILED_NODE not in slurm.reservations()["nc-memphis-lease-s2"].nodes

    env["NEOCLOUD_NOW"] = NOTICE.isoformat()
    code, _, err = neocloud(env, "agreement", "notice", "memphis-lease", "--by", "tenant",
                            "--at", NOTICE.isoformat())  # fmt: skip
    assert code == 0, err
    notice = check_at(env, slurm, NOTICE, tmp_path)
    assert sorted(x.split()[3] for x in notice) == [
        f"ReservationName=nc-memphis-lease-{s}" for s in ("s1", "s2", "s3", "spare-s1")
    ]
    assert all(x.endswith("EndTime=2027-01-31T18:00:00") for x in notice)
    for at in (NOTICE + SECOND, *around(SERVICE_END)):
        check_at(env, slurm, at, tmp_path)
    assert sorted(slurm.reservations()) == ["nc-maint-20260810T120000Z"]


def test_the_tenants_partition_takes_only_jobs_in_its_reservations() -> None:
    """The partition neocloud writes (ReqResv=YES): a tenant's job without a reservation is
    refused at submission, even on nodes it holds from a later step; one in its reservation
    is taken; another account's is refused the reservation."""
    at = datetime(2026, 8, 1, 5, tzinfo=UTC)
    later = datetime(2026, 8, 15, 5, tzinfo=UTC)
    holdings = [Holding("h1", "r1", f"n0{i}", "H100", HolderKind.AGREEMENT, "lease",
                        at if i < 3 else later, TERM_END) for i in (1, 2, 3, 4)]  # fmt: skip
    tenants, steps = {"lease": "lab"}, {"lease": [at, later]}
    conf = slurm_conf("s", holdings, tenants, at).splitlines()
    partitions = [x for x in conf if x.startswith("PartitionName=")]
    assert partitions == ["PartitionName=lab Nodes=n[01-04] AllowAccounts=lab ReqResv=YES State=UP"]
    with slurm_controller(nodes=["NodeName=n0[1-4] CPUs=4 Gres=gpu:8"], partitions=partitions,
                          now=at) as slurm:  # fmt: skip
        lines = scontrol_lines(reconcile(reservations_at(holdings, tenants, steps, at), [], at))
        for line in lines:
            slurm.check(shlex.split(line)[1:], tz="America/Chicago")
        sbatch = ["sbatch", "-p", "lab", "--wrap", "true"]
        refused = slurm.run([*sbatch, "-A", "lab", "-w", "n03"])
        assert refused.rc == 1 and "Access/permission denied" in refused.stderr
        assert slurm.run([*sbatch, "-A", "lab", "--reservation", "nc-lease-s1"]).rc == 0
        other = slurm.run([*sbatch, "-A", "other", "--reservation", "nc-lease-s1"])
        assert other.rc == 1 and "Access denied to requested reservation" in other.stderr
