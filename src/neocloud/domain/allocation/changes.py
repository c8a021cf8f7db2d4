"""Changes to holdings at an instant: decided here, applied by the store.

Two rules change what is already held:

- releasing an agreement at an instant: its holdings and the spares kept for it stop then,
  and the nodes go back to the operator's internal pool;
- replacing a failed node: its agreement moves onto a spare node of the same GPU model kept
  for that agreement, and the failed node goes to maintenance.

Both answer with ``HoldingChanges``, which name stored holdings by the store's id
(``Stored``, or ``Tenure`` where only who and when matter). The rules never interpret ids;
they only hand them back to the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.kernel.errors import Conflict

RELEASED_WITH_AGREEMENT = frozenset({HolderKind.AGREEMENT, HolderKind.SPARE})


@dataclass(frozen=True, slots=True)
class Stored:
    """A holding as the store keeps it; ``id`` names it in the changes that follow."""

    id: int
    holding: Holding

    @property
    def tenure(self) -> Tenure:
        h = self.holding
        return Tenure(self.id, h.kind, h.holder, h.start, h.end)


@dataclass(frozen=True, slots=True)
class Tenure:
    """A stored holding as the rules about time read it: who holds it during [start, end)
    (end None = open). Enough to release an agreement; a store can read it without
    looking up where the node is (28,160 of them for the reference deal)."""

    id: int
    kind: HolderKind
    holder: str
    start: datetime
    end: datetime | None


@dataclass(frozen=True, slots=True)
class HoldingChanges:
    """What to do to stored holdings at ``at``.

    ``removed``: holdings that would start at or after ``at``; they never happen.
    ``ended``: holdings that run past ``at``; they end at ``at`` (half-open: not held then).
    ``added``: new holdings, applied after the two above.
    """

    at: datetime
    removed: tuple[int, ...] = ()
    ended: tuple[int, ...] = ()
    added: tuple[Holding, ...] = ()

    @property
    def changed(self) -> int:
        """How many stored holdings change (removed or ended)."""
        return len(self.removed) + len(self.ended)


def stop_at(tenures: Iterable[Tenure], at: datetime) -> HoldingChanges:
    """None of ``tenures`` lasts past ``at``: a holding starting at or after ``at`` is
    removed, one still running after ``at`` (or open-ended) ends at ``at``, and one that
    ended at or before ``at`` is history and stays as it is."""
    removed: list[int] = []
    ended: list[int] = []
    for t in tenures:
        if t.start >= at:
            removed.append(t.id)
        elif t.end is None or t.end > at:
            ended.append(t.id)
    return HoldingChanges(at, tuple(removed), tuple(ended))


def release(tenures: Iterable[Tenure], agreement: str, at: datetime) -> HoldingChanges:
    """The agreement's service ends at ``at``: what it holds and the spares kept for it stop
    then (see ``stop_at``). Holdings of other holders, and maintenance, are not touched."""
    return stop_at(
        (t for t in tenures if t.holder == agreement and t.kind in RELEASED_WITH_AGREEMENT), at
    )


@dataclass(frozen=True, slots=True)
class NodeSwap:
    """A failed node's agreement moves onto a spare node at ``changes.at``.

    ``failed``: the failed node, under maintenance from then on (no end).
    ``replacement``: the spare node, the agreement's until the failed holding would have ended.
    """

    failed: Holding
    replacement: Holding
    changes: HoldingChanges


def failed_holding(node: str, history: Iterable[Stored], at: datetime) -> Stored:
    """The agreement's holding of ``node`` at ``at``, from the node's ``history``.

    Raises Conflict when no agreement holds the node then (free, spare, or in maintenance):
    there is no tenant to give a replacement to.
    """
    for s in history:
        h = s.holding
        if h.node == node and h.kind is HolderKind.AGREEMENT and h.covers(at):
            return s
    raise Conflict(
        f"node {node} is not held by an agreement at {at.isoformat()}; nothing to replace"
    )


def swap_failed_node(failed: Stored, spares: Sequence[Stored], at: datetime) -> NodeSwap:
    """Replace the failed node by a spare: of the same GPU model, kept as a spare for the
    same agreement at ``at``; one in the failed node's hall if there is one, otherwise the
    first in site order. ``spares`` come in site order (hall, rack, node position).

    Both the failed holding and the spare's stop at ``at`` (see ``stop_at``). Raises
    Conflict when no spare fits.
    """
    lost = failed.holding
    fitting = [
        s
        for s in spares
        if s.holding.kind is HolderKind.SPARE
        and s.holding.holder == lost.holder
        and s.holding.gpu_model == lost.gpu_model
        and s.holding.covers(at)
    ]
    if not fitting:
        raise Conflict(
            f"no spare {lost.gpu_model} node is kept for {lost.holder} at {at.isoformat()}; "
            "keep spare racks with the allocation (spare share) to replace failed nodes"
        )
    spare = next((s for s in fitting if s.holding.hall == lost.hall), fitting[0])
    maintenance = replace(
        lost,
        kind=HolderKind.MAINTENANCE,
        holder="",
        start=at,
        end=None,
        reason=f"failed; was {lost.holder}'s",
    )
    replacement = replace(
        spare.holding,
        kind=HolderKind.AGREEMENT,
        holder=lost.holder,
        start=at,
        end=lost.end,
        reason=f"replaces {lost.node}",
    )
    cut = stop_at((failed.tenure, spare.tenure), at)
    return NodeSwap(maintenance, replacement, replace(cut, added=(maintenance, replacement)))
