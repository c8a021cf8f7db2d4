"""The Slurm test controller (``tests/slurm_controller.py``) against a real slurmctld 22.05,
and what the Slurm export relies on, each checked there: the zone scontrol reads times in,
the forms it takes, the ten minutes' grace for a start in the past, reservations on nodes
no slurmd serves, updates of a running reservation, partitions at run time.

The controller's clock stands still where the test puts it (libfaketime), so every
"now" below is exact. Expected values are worked by hand from the commands' words.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta

import pytest

from tests.slurm_controller import SlurmControllerError, require_slurm, slurm_controller

T0 = datetime(2026, 8, 1, 5, 0, tzinfo=UTC)  # midnight in Memphis (CDT, UTC-5)
SMALL = ["NodeName=n[01-08] CPUs=4 Gres=gpu:8"]
CHICAGO = "America/Chicago"


def create(name: str, *fields: str) -> list[str]:
    return ["scontrol", "create", "reservation", f"ReservationName={name}", *fields]


def one_hour(name: str, start: str, node: str = "n01") -> list[str]:
    return create(name, f"StartTime={start}", "Duration=60", f"Nodes={node}", "Accounts=t")


def utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def uts(instant: datetime) -> str:
    return f"uts{int(instant.timestamp())}"


def test_a_small_cluster_starts_on_the_chosen_clock_and_stops_cleanly():
    with slurm_controller(nodes=SMALL, now=T0) as slurm:
        assert slurm.controller_time() == T0
        listing = slurm.check(["sinfo", "--Node", "--noheader", "--format=%N %T %G"])
        assert listing.split("\n")[:2] == ["n01 unknown gpu:8", "n02 unknown gpu:8"]
        assert len(listing.split()) == 8 * 3
        slurm.set_clock(T0 + timedelta(days=3, seconds=7))
        assert slurm.controller_time() == utc(2026, 8, 4, 5, 0, 7)
        pids = [int((slurm.root / f"{d}.pid").read_text()) for d in ("slurmctld", "munged")]
        root = slurm.root
    assert not root.exists()
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def test_the_daemons_stop_when_the_test_fails_inside():
    with pytest.raises(ZeroDivisionError), slurm_controller(nodes=SMALL) as slurm:
        pid = int((slurm.root / "slurmctld.pid").read_text())
        _ = 1 / 0
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.parametrize(
    ("ci", "outcome"), [("true", pytest.fail.Exception), ("", pytest.skip.Exception)]
)
def test_without_slurm_ci_fails_and_a_laptop_skips(monkeypatch, ci, outcome):
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="apt-get install slurmctld slurm-client munge faketime"):
        require_slurm()


def test_a_controller_that_cannot_start_says_why():
    with (
        pytest.raises(SlurmControllerError, match="no-such-node"),
        slurm_controller(nodes=SMALL, partitions=["PartitionName=p Nodes=no-such-node"]),
    ):
        pass


def test_a_reservation_created_updated_while_running_and_deleted():
    with slurm_controller(nodes=SMALL, now=T0) as slurm:
        start, end = "StartTime=2026-08-02T00:00:00", "EndTime=2026-09-01T00:00:00"
        slurm.check(create("lease", start, end, "Nodes=n[01-03]", "Accounts=tenant-a"), tz="UTC")
        lease = slurm.reservations()["lease"]
        assert (lease.start, lease.end) == (utc(2026, 8, 2), utc(2026, 9, 1))
        assert lease.nodes == ("n01", "n02", "n03")
        assert (lease.accounts, lease.users, lease.state) == (("tenant-a",), (), "INACTIVE")
        assert lease.flags == {"SPEC_NODES"}  # Slurm's own for a list of nodes

        slurm.set_clock(utc(2026, 8, 10, 12))
        assert slurm.reservations()["lease"].state == "ACTIVE"
        update = ["scontrol", "update", "ReservationName=lease"]
        slurm.check([*update, "EndTime=2026-10-01T00:00:00", "Nodes=n[02-05]"], tz="UTC")
        lease = slurm.reservations()["lease"]
        assert (lease.start, lease.end) == (utc(2026, 8, 2), utc(2026, 10, 1))
        assert lease.nodes == ("n02", "n03", "n04", "n05")
        moved = slurm.run([*update, "StartTime=2026-08-03T00:00:00"], tz="UTC")
        assert (moved.rc, moved.stderr.splitlines()[0]) == (
            1,
            "Error updating the reservation: Reservation already started",
        )
        ended = slurm.run([*update, "EndTime=now"])  # an end must lie after now
        assert "Invalid time specified" in ended.stderr
        slurm.check([*update, "EndTime=now+1"])
        assert slurm.reservations()["lease"].end == utc(2026, 8, 10, 12, 0, 1)

        slurm.check(["scontrol", "delete", "reservation", "lease"])
        assert slurm.reservations() == {}
        assert slurm.run(["scontrol", "delete", "reservation", "lease"]).rc == 1


@pytest.mark.parametrize(
    ("start", "tz", "expected"),
    [
        ("2026-09-01T05:00:00", "UTC", utc(2026, 9, 1, 5)),
        ("2026-09-01T05:00:00", CHICAGO, utc(2026, 9, 1, 10)),  # CDT, UTC-5
        ("2026-09-01T05:00", CHICAGO, utc(2026, 9, 1, 10)),
        ("2026-09-01", CHICAGO, utc(2026, 9, 1, 5)),  # local midnight
        ("2026-11-01T01:30:00", CHICAGO, utc(2026, 11, 1, 6, 30)),  # twice that night: CDT
        ("2027-03-14T02:30:00", CHICAGO, utc(2027, 3, 14, 8, 30)),  # never that night: CST
        (uts(utc(2026, 9, 1, 5)), CHICAGO, utc(2026, 9, 1, 5)),  # epoch seconds, any TZ
        (uts(utc(2026, 9, 1, 5)), "UTC", utc(2026, 9, 1, 5)),
        ("now", CHICAGO, T0),
        ("now+90minutes", CHICAGO, T0 + timedelta(minutes=90)),
        # A trailing offset is read as a second time of day, which replaces the first.
        ("2026-09-01T10:00:00-03:30", "UTC", utc(2026, 9, 1, 3, 30)),
        ("2026-09-01T10:00:00-00:00", CHICAGO, utc(2026, 9, 1, 5)),
    ],
)
def test_scontrol_reads_a_time_in_its_own_zone(start: str, tz: str, expected: datetime):
    # slurmctld runs in Tokyo: only the zone of the scontrol process counts.
    with slurm_controller(nodes=SMALL, now=T0, controller_tz="Asia/Tokyo") as slurm:
        assert slurm.controller_time() == T0
        slurm.check(one_hour("r", start), tz=tz)
        reservation = slurm.reservations()["r"]
        assert (reservation.start, reservation.end) == (expected, expected + timedelta(hours=1))


@pytest.mark.parametrize(
    "start", ["2026-09-01T05:00:00Z", "2026-09-01T05:00:00+00:00", "1788238800"]
)
def test_scontrol_refuses_a_zone_letter_a_plus_offset_and_bare_epoch_seconds(start: str):
    with slurm_controller(nodes=SMALL, now=T0) as slurm:
        done = slurm.run(one_hour("r", start))
        assert done.rc == 1
        assert done.stderr.startswith("Invalid time specification")
        assert slurm.reservations() == {}


def test_a_line_that_sets_its_own_tz_means_one_instant_from_any_shell():
    line = "TZ=UTC scontrol create reservation ReservationName=r StartTime=2026-09-01T05:00:00"
    with slurm_controller(nodes=SMALL, now=T0) as slurm:
        slurm.check(["bash", "-c", f"{line} Duration=60 Nodes=n01 Accounts=a"], tz=CHICAGO)
        assert slurm.reservations()["r"].start == utc(2026, 9, 1, 5)
        chicago = slurm.check(["scontrol", "-o", "show", "reservation", "r"], tz=CHICAGO)
        assert "StartTime=2026-09-01T00:00:00 EndTime=2026-09-01T01:00:00" in chicago


def test_a_start_more_than_ten_minutes_past_is_refused():
    with slurm_controller(nodes=SMALL, now=T0) as slurm:
        slurm.check(one_hour("a", "2026-08-01T04:50:00"))
        late = slurm.run(one_hour("b", "2026-08-01T04:49:59", node="n02"))
        assert (late.rc, late.stderr) == (
            1,
            "Error creating the reservation: Invalid time specified\n",
        )
        slurm.check(one_hour("c", "now", node="n03"))
        found = slurm.reservations()
        assert sorted(found) == ["a", "c"]
        assert (found["a"].start, found["a"].state) == (utc(2026, 8, 1, 4, 50), "ACTIVE")
        assert (found["c"].start, found["c"].state) == (T0, "ACTIVE")


def test_reservations_take_nodes_no_slurmd_serves_and_any_account_name():
    nodes = [*SMALL, "NodeName=f[01-02] CPUs=4 State=FUTURE"]
    with slurm_controller(nodes=nodes, now=T0) as slurm:
        slurm.check(["scontrol", "update", "NodeName=n07", "State=DRAIN", "Reason=test"])
        slurm.check(["scontrol", "update", "NodeName=n08", "State=DOWN", "Reason=test"])
        window = ("StartTime=2026-08-02T00:00:00", "EndTime=2026-08-03T00:00:00")
        states = {"unknown": "n01", "drained": "n07", "down": "n08", "future": "f01"}
        for name, node in states.items():
            slurm.check(create(name, *window, f"Nodes={node}", "Accounts=no-such-account"))
        assert {r.name: r.nodes for r in slurm.reservations().values()} == {
            name: (node,) for name, node in states.items()
        }
        nobody = slurm.run(create("nobody", *window, "Nodes=n02", "Flags=MAINT"))
        assert "Either Users/Groups and/or Accounts must be specified" in nobody.stderr
        stranger = slurm.run(create("stranger", *window, "Nodes=n02", "Users=no-such-user"))
        assert stranger.stderr == "Error creating the reservation: Invalid user id\n"


def test_overlap_needs_maint_or_overlap_and_intervals_are_half_open():
    with slurm_controller(nodes=SMALL, now=T0) as slurm:
        lease = ("StartTime=2026-08-01T05:00:00", "EndTime=2027-08-01T05:00:00")
        slurm.check(create("lease", *lease, "Nodes=n[01-04]", "Accounts=tenant-a"))
        window = ("StartTime=2026-08-05T00:00:00", "EndTime=2026-08-07T00:00:00")
        refused = slurm.run(create("m0", *window, "Nodes=n[01-02]", "Users=root"))
        assert "Requested reservation overlaps with another reservation" in refused.stderr
        slurm.check(create("m1", *window, "Nodes=n[01-02]", "Users=root", "Flags=MAINT"))
        slurm.check(create("m2", *window, "Nodes=n[03-04]", "Users=root", "Flags=OVERLAP"))
        after = ("StartTime=2027-08-01T05:00:00", "EndTime=2027-09-01T05:00:00")
        slurm.check(create("next", *after, "Nodes=n[01-04]", "Accounts=tenant-b"))  # touches
        found = slurm.reservations()
        assert found["m1"].flags == {"MAINT", "SPEC_NODES"}
        assert found["m2"].flags == {"OVERLAP", "SPEC_NODES"}
        assert found["next"].start == found["lease"].end == utc(2027, 8, 1, 5)


def test_partitions_in_the_config_and_at_run_time():
    tenant = "PartitionName=tenant-a Nodes=n[01-04] AllowAccounts=tenant-a ReqResv=YES State=UP"
    with slurm_controller(nodes=SMALL, partitions=[tenant]) as slurm:
        fields = slurm.partitions()["tenant-a"]
        assert (fields["Nodes"], fields["AllowAccounts"], fields["ReqResv"]) == (
            "n[01-04]",
            "tenant-a",
            "YES",
        )
        slurm.check(["scontrol", "create", "PartitionName=tenant-b", "Nodes=n[05-06]"])
        slurm.check(["scontrol", "update", "PartitionName=tenant-b", "AllowAccounts=tenant-b"])
        slurm.check(
            ["scontrol", "update", "PartitionName=tenant-b", "ReqResv=YES", "Nodes=n[05-08]"]
        )
        fields = slurm.partitions()["tenant-b"]
        assert (fields["Nodes"], fields["AllowAccounts"], fields["ReqResv"]) == (
            "n[05-08]",
            "tenant-b",
            "YES",
        )
        worded = slurm.run(["scontrol", "create", "partition", "PartitionName=tenant-c"])
        assert "Invalid input: partition" in worded.stderr  # no noun before the fields
        slurm.check(["scontrol", "delete", "PartitionName=tenant-b"])
        assert sorted(slurm.partitions()) == ["tenant-a"]


# The reference site (examples/fleet.yaml): halls 1-3 of 850 racks and hall 4 of 700 racks of
# 8 HGX nodes, and 120 NVL72 racks of 18 trays: 3 x 6,800 + 5,600 + 2,160 = 28,160 nodes.
SITE = [
    "NodeName=h[1-3]-r[0001-0850]-n[01-08] CPUs=112 Gres=gpu:8",
    "NodeName=h4-r[0001-0700]-n[01-08] CPUs=112 Gres=gpu:8",
    "NodeName=h4-nvl[001-120]-n[01-18] CPUs=144 Gres=gpu:4",
]
LEASES = {
    "lease-1": "h1-r[0001-0810]-n[01-08],h4-nvl[001-120]-n[01-18],h4-r[0001-0700]-n[01-08]",
    "lease-2": "h1-r[0811-0850]-n[01-08],h2-r[0001-0850]-n[01-08],h3-r[0001-0328]-n[01-08]",
    "lease-3": "h3-r[0329-0850]-n[01-08]",
}


def racks(prefix: str, first: int, last: int, digits: int = 4, nodes: int = 8) -> set[str]:
    numbers = range(first, last + 1)
    return {f"{prefix}{r:0{digits}d}-n{n:02d}" for r in numbers for n in range(1, nodes + 1)}


def test_the_whole_reference_site():
    nodes = ",".join(LEASES.values())
    partition = f"PartitionName=frontier-lab Nodes={nodes} AllowAccounts=frontier-lab ReqResv=YES"
    with slurm_controller(nodes=SITE, partitions=[partition], now=utc(2026, 4, 30, 12)) as slurm:
        fields = slurm.partitions()["frontier-lab"]
        assert (fields["TotalNodes"], fields["ReqResv"]) == ("28160", "YES")
        for name, nodes in LEASES.items():
            term = ("StartTime=2026-05-01T05:00:00", "EndTime=2029-06-01T05:00:00")
            slurm.check(create(name, *term, f"Nodes={nodes}", "Accounts=frontier-lab"), tz="UTC")
        found = slurm.reservations()
        hall_4 = racks("h4-r", 1, 700) | racks("h4-nvl", 1, 120, digits=3, nodes=18)
        expected = {
            "lease-1": racks("h1-r", 1, 810) | hall_4,
            "lease-2": racks("h1-r", 811, 850) | racks("h2-r", 1, 850) | racks("h3-r", 1, 328),
            "lease-3": racks("h3-r", 329, 850),
        }
        assert {name: len(r.nodes) for name, r in found.items()} == {
            "lease-1": 810 * 8 + 700 * 8 + 120 * 18,
            "lease-2": 40 * 8 + 850 * 8 + 328 * 8,
            "lease-3": 522 * 8,
        }
        assert {name: set(r.nodes) for name, r in found.items()} == expected
        assert {(r.start, r.end, r.accounts) for r in found.values()} == {
            (utc(2026, 5, 1, 5), utc(2029, 6, 1, 5), ("frontier-lab",))
        }


def test_the_real_clock_cannot_be_moved():
    with slurm_controller(nodes=SMALL) as slurm, pytest.raises(SlurmControllerError):
        slurm.set_clock(T0)
