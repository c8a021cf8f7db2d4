"""Changes to holdings, worked by hand: releasing an agreement at an instant, and replacing
a failed node from the spares kept for its agreement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from neocloud.domain.allocation.changes import (
    HoldingChanges,
    Stored,
    Tenure,
    failed_holding,
    release,
    stop_at,
    swap_failed_node,
)
from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.kernel.errors import Conflict

MAY = datetime(2026, 5, 1, 5, tzinfo=UTC)
AT = datetime(2026, 6, 15, 12, tzinfo=UTC)
JULY = datetime(2026, 7, 1, 5, tzinfo=UTC)
END = datetime(2029, 6, 1, 5, tzinfo=UTC)
AGREEMENT, SPARE, MAINTENANCE = HolderKind.AGREEMENT, HolderKind.SPARE, HolderKind.MAINTENANCE


def held(
    row_id: int,
    node: str,
    kind: HolderKind = AGREEMENT,
    holder: str = "deal",
    start: datetime = MAY,
    end: datetime | None = END,
    model: str = "H100",
) -> Stored:
    """Node names read hall-rack-node: ``b-r4-n02`` is node 2 of rack b-r4 in hall b."""
    hall, rack = node.partition("-")[0], node.rpartition("-")[0]
    return Stored(row_id, Holding(hall, rack, node, model, kind, holder, start, end))


def when(
    row_id: int,
    kind: HolderKind = AGREEMENT,
    holder: str = "deal",
    start: datetime = MAY,
    end: datetime | None = END,
) -> Tenure:
    return Tenure(row_id, kind, holder, start, end)


# --- release ---------------------------------------------------------------------------


def test_release_removes_what_has_not_started_and_ends_what_runs() -> None:
    tenures = [
        when(1),  # running at AT: ends at AT
        when(2, start=JULY),  # starts later: never happens
        when(3, SPARE),  # the spares kept for the deal go too
        when(4, end=MAY + timedelta(days=10)),  # over before AT: history
        when(5, holder="other"),  # another agreement's
        when(6, MAINTENANCE, holder="", end=None),
        when(7, start=AT),  # starts exactly at AT: never happens
        when(8, end=AT),  # ends exactly at AT: nothing to cut
        when(9, SPARE, end=None),  # open-ended spare: ends at AT
    ]
    changes = release(tenures, "deal", AT)
    assert changes == HoldingChanges(AT, removed=(2, 7), ended=(1, 3, 9))
    assert changes.changed == 5


def test_release_of_nothing_changes_nothing() -> None:
    assert release([when(1, holder="other")], "deal", AT) == HoldingChanges(AT)
    assert release([], "deal", AT).changed == 0


def test_stop_at_is_half_open() -> None:
    # [MAY, AT) already ends at AT; [AT, END) has not begun at AT; [MAY, AT + 1 us) runs
    tenures = [when(1, end=AT), when(2, start=AT), when(3, end=AT + timedelta(microseconds=1))]
    assert stop_at(tenures, AT) == HoldingChanges(AT, removed=(2,), ended=(3,))


def test_a_stored_holding_has_its_tenure() -> None:
    assert held(4, "a-r1-n01", SPARE, end=None).tenure == Tenure(4, SPARE, "deal", MAY, None)


# --- failed node ------------------------------------------------------------------------


def test_the_failed_holding_is_the_agreements_at_that_instant() -> None:
    history = [
        held(1, "b-r1-n01", end=AT),  # the deal's until AT (not at AT)
        held(2, "b-r1-n01", holder="next", start=AT),  # the next agreement's from AT
        held(3, "b-r1-n02", holder="deal"),  # another node
    ]
    assert failed_holding("b-r1-n01", history, AT) == history[1]
    assert failed_holding("b-r1-n01", history, AT - timedelta(microseconds=1)) == history[0]
    with pytest.raises(Conflict, match="not held by an agreement at 2029-06-01"):
        failed_holding("b-r1-n01", history, END)  # the next agreement ended at END
    for kind in (SPARE, MAINTENANCE):
        with pytest.raises(Conflict, match=r"node b-r1-n01 is not held by an agreement"):
            failed_holding("b-r1-n01", [held(4, "b-r1-n01", kind)], AT)
    with pytest.raises(Conflict):  # b-r1-n02's holding says nothing about b-r1-n01
        failed_holding("b-r1-n01", history[2:], AT)


def spares() -> list[Stored]:
    """Candidates in site order (hall a before hall b, racks and nodes by position)."""
    return [
        held(11, "a-r4-n01", SPARE, end=None),  # fits, but in another hall than b
        held(12, "b-r3-n01", SPARE, end=None, model="H200"),  # another model
        held(13, "b-r3-n02", SPARE, holder="other", end=None),  # kept for another deal
        held(14, "b-r3-n03", AGREEMENT, end=None),  # the deal's own node, not a spare
        held(15, "b-r3-n04", SPARE, start=JULY, end=None),  # kept only from July
        held(16, "b-r4-n01", SPARE, end=AT),  # kept only until AT
        held(17, "b-r4-n02", SPARE, end=None),  # fits, in hall b: the one
        held(18, "b-r4-n03", SPARE, end=None),  # fits too, but comes later
    ]


def test_a_failed_node_is_replaced_by_a_spare_in_its_own_hall() -> None:
    failed = held(5, "b-r1-n01")  # the deal's [MAY, END) in hall b
    swap = swap_failed_node(failed, spares(), AT)
    assert swap.failed == Holding(
        "b", "b-r1", "b-r1-n01", "H100", MAINTENANCE, "", AT, None, "failed; was deal's"
    )
    # the spare node is the deal's until the failed holding would have ended (END), not
    # until the spare's own end (none)
    assert swap.replacement == Holding(
        "b", "b-r4", "b-r4-n02", "H100", AGREEMENT, "deal", AT, END, "replaces b-r1-n01"
    )
    assert swap.changes == HoldingChanges(
        AT, removed=(), ended=(5, 17), added=(swap.failed, swap.replacement)
    )


def test_without_a_spare_in_its_hall_the_first_in_site_order() -> None:
    candidates = [held(19, "c-r1-n01", SPARE), *spares()[:6], held(20, "d-r1-n01", SPARE)]
    swap = swap_failed_node(held(5, "b-r1-n01"), candidates, AT)
    assert swap.replacement.node == "c-r1-n01" and swap.changes.ended == (5, 19)


def test_holdings_that_begin_at_the_failure_are_removed_not_ended() -> None:
    failed = held(5, "b-r1-n01", start=AT)
    spare = held(17, "b-r4-n02", SPARE, start=AT)
    swap = swap_failed_node(failed, [spare], AT)
    assert (swap.changes.removed, swap.changes.ended) == ((5, 17), ())


def test_no_fitting_spare_is_a_conflict_in_domain_words() -> None:
    with pytest.raises(Conflict) as no:
        swap_failed_node(held(5, "b-r1-n01"), spares()[1:6], AT)
    assert no.value.message == (
        "no spare H100 node is kept for deal at 2026-06-15T12:00:00+00:00; keep spare racks "
        "with the allocation (spare share) to replace failed nodes"
    )
