"""Slurm reservations as a reconciliation, worked by hand. Agreement ``lease`` (tenant
``lab``) ramps on 1 May, 1 June and 1 July 2026; n1 and n2 from May, n3 from June, n4 from
July, s1 its spare from May. On 10 August at 12:00 n2 fails: its holding ends, it goes to
maintenance, and s1 serves the agreement from then (step 3: July's)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.allocation.reservations import (
    Action,
    Change,
    Reservation,
    name_of,
    reconcile,
    reservations_at,
    step_of,
)

MAY, JUN, JUL = (datetime(2026, m, 1, 5, tzinfo=UTC) for m in (5, 6, 7))
END = datetime(2029, 6, 1, 5, tzinfo=UTC)
FAIL = datetime(2026, 8, 10, 12, tzinfo=UTC)
SECOND = timedelta(seconds=1)
STEPS = {"lease": [MAY, JUN, JUL]}
TENANTS = {"lease": "lab"}
A, S, M = HolderKind.AGREEMENT, HolderKind.SPARE, HolderKind.MAINTENANCE


def held(node: str, kind: HolderKind, start: datetime, end: datetime | None) -> Holding:
    return Holding("h1", "r1", node, "H100", kind, "" if kind is M else "lease", start, end)


HOLDINGS = [
    held("n1", A, MAY, END), held("n2", A, MAY, FAIL), held("n3", A, JUN, END),
    held("n4", A, JUL, END), held("s1", S, MAY, FAIL), held("n2", M, FAIL, None),
    held("s1", A, FAIL, END),
]  # fmt: skip


PRE_FAILURE = [*HOLDINGS[:4], held("s1", S, MAY, END)]
PRE_FAILURE[1] = held("n2", A, MAY, END)


def res(name: str, nodes: str, start: datetime, end: datetime | None) -> Reservation:
    maint = name.startswith("nc-maint")
    accounts = frozenset() if maint else frozenset({"lab"})
    return Reservation(name, frozenset(nodes.split()), accounts, start, end, maint)


def test_steps_count_the_capacity_starts_up_to_the_instant() -> None:
    assert [step_of([MAY, JUN, JUL], t) for t in (MAY - SECOND, MAY, JUN - SECOND, JUN, FAIL)] == [
        1, 1, 1, 2, 3]  # fmt: skip
    assert step_of([], FAIL) == 1
    assert name_of(held("s1", A, FAIL, END), STEPS) == "nc-lease-s3"
    assert name_of(held("s1", S, MAY, FAIL), STEPS) == "nc-lease-spare-s1"
    assert name_of(held("n2", M, FAIL, None), STEPS) == "nc-maint-20260810T120000Z"


def test_in_may_the_later_steps_wait_for_their_start() -> None:
    assert reservations_at(HOLDINGS, TENANTS, STEPS, MAY + timedelta(days=14)) == [
        res("nc-lease-s1", "n1", MAY, END),
        # seen from before the failure, n2 leaves on 10 August: set apart until then
        res("nc-lease-s1-until-20260810T120000Z", "n2", MAY, FAIL),
        res("nc-lease-s2", "n3", JUN, END),
        res("nc-lease-s3", "n4", JUL, END),  # s1 joins it only on 10 August
        res("nc-lease-spare-s1", "s1", MAY, FAIL),
        # known ahead only when exporting the past; MAINT may overlap other reservations
        res("nc-maint-20260810T120000Z", "n2", FAIL, None),
    ]


def test_at_the_failure_the_node_leaves_its_step_and_the_spare_joins_the_swap_s() -> None:
    assert reservations_at(HOLDINGS, TENANTS, STEPS, FAIL) == [
        res("nc-lease-s1", "n1", MAY, END),
        res("nc-lease-s2", "n3", JUN, END),
        res("nc-lease-s3", "n4 s1", JUL, END),
        res("nc-maint-20260810T120000Z", "n2", FAIL, None),
    ]
    assert reservations_at(HOLDINGS, TENANTS, STEPS, END) == [
        res("nc-maint-20260810T120000Z", "n2", FAIL, None)
    ]


def test_the_failure_is_one_delete_two_updates_and_a_create_in_a_safe_order() -> None:
    # the controller as synced before the failure was recorded
    before = reservations_at(PRE_FAILURE, TENANTS, STEPS, FAIL - SECOND)
    after = reservations_at(HOLDINGS, TENANTS, STEPS, FAIL)
    changes = reconcile(after, before, FAIL)
    assert [(c.action, c.reservation.name, sorted(c.fields), c.start_now) for c in changes] == [
        (Action.DELETE, "nc-lease-spare-s1", [], False),
        (Action.UPDATE, "nc-lease-s1", ["nodes"], False),  # gives n2 up first
        (Action.UPDATE, "nc-lease-s3", ["nodes"], False),  # then takes s1
        (Action.CREATE, "nc-maint-20260810T120000Z", ["accounts", "end", "nodes", "start"], True),
    ]
    assert reconcile(after, after, FAIL) == []  # once applied, nothing more to do


def test_a_notice_moves_every_end_and_a_release_deletes() -> None:
    notice_end = datetime(2026, 11, 1, 5, tzinfo=UTC)
    cut = [Holding(*(h.hall, h.rack, h.node, h.gpu_model, h.kind, h.holder, h.start),
                   notice_end if h.end == END else h.end) for h in HOLDINGS]  # fmt: skip
    at = FAIL + timedelta(days=1)
    changes = reconcile(reservations_at(cut, TENANTS, STEPS, at),
                        reservations_at(HOLDINGS, TENANTS, STEPS, at), at)  # fmt: skip
    assert [(c.action, c.reservation.name, sorted(c.fields)) for c in changes] == [
        (Action.UPDATE, name, ["end"]) for name in ("nc-lease-s1", "nc-lease-s2", "nc-lease-s3")
    ]
    assert all(c.reservation.end == notice_end for c in changes)
    # synced before the notice was recorded, the controller still runs them to 2029
    stale = reservations_at(HOLDINGS, TENANTS, STEPS, notice_end)
    gone = reconcile(reservations_at(cut, TENANTS, STEPS, notice_end), stale, notice_end)
    assert [(c.action, c.reservation.name) for c in gone] == [
        (Action.DELETE, name) for name in ("nc-lease-s1", "nc-lease-s2", "nc-lease-s3")
    ]
    # synced after it, they end at the notice's end by themselves; Slurm purges them, but
    # until it has, it counts their nodes as taken: deleted, whether or not still there
    last = reservations_at(cut, TENANTS, STEPS, notice_end - SECOND)
    ended = reconcile(reservations_at(cut, TENANTS, STEPS, notice_end), last, notice_end)
    assert [(c.action, c.reservation.name, c.ended) for c in ended] == [
        (Action.DELETE, name, True) for name in ("nc-lease-s1", "nc-lease-s2", "nc-lease-s3")
    ]


def test_what_slurm_recorded_as_a_running_start_is_left_and_foreign_names_too() -> None:
    at = MAY + timedelta(days=3)
    created_late = res("nc-lease-s1", "n1", MAY + timedelta(days=2), END)  # made with now
    until = res("nc-lease-s1-until-20260810T120000Z", "n2", MAY + timedelta(days=2), FAIL)
    moved = res("nc-lease-s2", "n3", JUN + timedelta(hours=1), END)  # future: start differs
    foreign = Reservation("ops-drain", frozenset({"n9"}), frozenset({"ops"}), MAY, None)
    early = res("nc-lease-s3", "n4", MAY, END)  # running, though July is its start
    spare = res("nc-lease-spare-s1", "s1", MAY, FAIL)
    maint = res("nc-maint-20260810T120000Z", "n2", FAIL, None)
    changes = reconcile(reservations_at(HOLDINGS, TENANTS, STEPS, at),
                        [created_late, until, moved, foreign, early, spare, maint], at)  # fmt: skip
    assert [(c.action, c.reservation.name, sorted(c.fields), c.start_now) for c in changes] == [
        (Action.DELETE, "nc-lease-s3", [], False),
        (Action.UPDATE, "nc-lease-s2", ["start"], False),
        (Action.CREATE, "nc-lease-s3", ["accounts", "end", "nodes", "start"], False),
    ]
    assert changes[1].reservation.start == JUN and changes[2].reservation.start == JUL
    accounts = res("nc-lease-s1", "n1 n2", MAY, END)
    accounts = Reservation(accounts.name, accounts.nodes, frozenset({"other"}), MAY, END)
    (change,) = reconcile([res("nc-lease-s1", "n1 n2", MAY, END)], [accounts], at)
    assert change.fields == {"accounts"}


def test_an_unbounded_reservation_takes_the_year_slurm_gives_it() -> None:
    """slurmctld 22.05 ends a Duration=UNLIMITED reservation 365 days after its start."""
    wanted = res("nc-maint-20260810T120000Z", "n2", FAIL, None)
    a_year = res("nc-maint-20260810T120000Z", "n2", FAIL, FAIL + timedelta(days=365))
    assert reconcile([wanted], [a_year], FAIL + timedelta(days=364)) == []
    # its year is up: gone (Slurm purges it), then made again
    gone, again = reconcile([wanted], [a_year], FAIL + timedelta(days=365))
    assert (gone.action, gone.ended, again.action, again.start_now) == (
        Action.DELETE, True, Action.CREATE, True)  # fmt: skip


def test_names_and_accounts_without_a_known_ramp_or_tenant(monkeypatch: pytest.MonkeyPatch) -> None:
    """An agreement neocloud has no ramp for is one step; without a tenant its key is the
    account. Names are in UTC whatever the machine's zone (here Chicago)."""
    monkeypatch.setenv("TZ", "America/Chicago")
    time.tzset()
    try:
        chicago = FAIL.astimezone(ZoneInfo("America/Chicago"))
        other = Holding("h1", "r1", "x1", "H100", A, "other", chicago, None)
        assert name_of(other, STEPS) == "nc-other-s1"
        assert name_of(held("n2", M, chicago, None), STEPS) == "nc-maint-20260810T120000Z"
        (r,) = reservations_at([other], {}, {}, FAIL)
        assert (r.name, r.accounts, r.end) == ("nc-other-s1", frozenset({"other"}), None)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_a_node_with_an_end_beside_nodes_without_one_is_set_apart() -> None:
    found = [held("n1", A, MAY, None), held("n2", A, MAY, FAIL)]
    assert reservations_at(found, TENANTS, STEPS, MAY) == [
        res("nc-lease-s1", "n1", MAY, None),
        res("nc-lease-s1-until-20260810T120000Z", "n2", MAY, FAIL),
    ]


def test_an_update_that_takes_no_node_goes_before_one_that_takes_some() -> None:
    """s1 takes n9 (after), s2 only ends earlier (before): whatever their names' order."""
    current = [res("nc-lease-s1", "n1", MAY, END), res("nc-lease-s2", "n3", JUN, END)]
    wanted = [res("nc-lease-s1", "n1 n9", MAY, END), res("nc-lease-s2", "n3", JUN, FAIL)]
    changes = reconcile(wanted, current, FAIL - SECOND)
    assert [(c.reservation.name, sorted(c.fields)) for c in changes] == [
        ("nc-lease-s2", ["end"]), ("nc-lease-s1", ["nodes"])]  # fmt: skip


def test_a_name_neocloud_would_not_write_is_not_its_own() -> None:
    """Names come back from the controller: one that only looks like neocloud's (shell
    text after the prefix) is someone else's, never deleted or echoed into a command."""
    odd = Reservation("nc-x;touch /tmp/pwned", frozenset({"n9"}), frozenset(), MAY, END)
    assert reconcile([], [odd, res("nc-lease-s1", "n1", MAY, END)], MAY) == [
        Change(Action.DELETE, res("nc-lease-s1", "n1", MAY, END))
    ]
