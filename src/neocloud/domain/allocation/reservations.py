"""Slurm reservations as a reconciliation: what must be true at an instant, and the changes
that move a controller there from what it holds (docs/SCHEDULERS.md).

A reservation is named once and keeps its name whatever happens later: one per agreement
and ramp step (``nc-<agreement>-s<k>``: step ``k`` is the ``k``-th start of the agreement's
capacity along its ramp; a node swapped in after a failure joins the step of the swap's
instant), one per agreement's spares and step (``nc-<agreement>-spare-s<k>``), and one per
start of maintenance (``nc-maint-<UTC start>``). At an instant a reservation holds the nodes
held then (or, before it starts, those that start it); one that has started reads as
running, whatever instant Slurm recorded for it; one whose holdings have all ended is gone.
Nodes whose holdings end before the rest of theirs (a failed node, a spare swapped in, as
seen before the swap) are set apart until then: ``<name>-until-<UTC end>``.
Only names neocloud writes (``nc-`` and its name characters) are its: a sync never touches
the others.

A reservation without an end (maintenance until the node is back) is one Slurm ends a year
after its start (22.05 makes ``Duration=UNLIMITED`` 365 days): any end still ahead is
taken for it, and once Slurm has purged it the next sync makes it again.
"""

from __future__ import annotations

import bisect
import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import UTC, datetime

from neocloud.domain.allocation.planner import HolderKind, Holding

PREFIX = "nc-"
OURS = re.compile(r"nc-[A-Za-z0-9][A-Za-z0-9._-]*")  # what neocloud names; anything else is not its


@dataclass(frozen=True, slots=True)
class Reservation:
    """A reservation as the controller holds it: ``start`` is when it began (or begins),
    ``end`` None for no end; ``maintenance`` reservations carry no accounts."""

    name: str
    nodes: frozenset[str]
    accounts: frozenset[str]
    start: datetime
    end: datetime | None
    maintenance: bool = False

    def running(self, at: datetime) -> bool:
        return self.start <= at


class Action(enum.StrEnum):
    DELETE = "delete"
    UPDATE = "update"
    CREATE = "create"


@dataclass(frozen=True, slots=True)
class Change:
    """One ``scontrol`` command: ``fields`` are those to set (all of them on create);
    ``start_now``: created as already running (``StartTime=now``)."""

    action: Action
    reservation: Reservation
    fields: frozenset[str] = frozenset()
    start_now: bool = False
    ended: bool = False  # a delete of one Slurm may purge first: its failure is no error


def step_of(starts: Sequence[datetime], instant: datetime) -> int:
    """1-based: the last of the agreement's capacity starts at or before ``instant``."""
    return max(1, bisect.bisect_right(sorted(starts), instant))


def name_of(h: Holding, steps: Mapping[str, Sequence[datetime]]) -> str:
    if h.kind is HolderKind.MAINTENANCE:
        return f"{PREFIX}maint-{_stamp(h.start)}"
    step = step_of(steps.get(h.holder, ()), h.start)
    kind = "" if h.kind is HolderKind.AGREEMENT else "spare-"
    return f"{PREFIX}{h.holder}-{kind}s{step}"


def reservations_at(
    holdings: Iterable[Holding],
    tenants: Mapping[str, str],
    steps: Mapping[str, Sequence[datetime]],
    at: datetime,
) -> list[Reservation]:
    """What the controller must hold at ``at``: per name, the nodes held then, else (not
    started yet) those of its first start; ended holdings count for nothing."""
    groups: dict[str, list[Holding]] = {}
    for h in holdings:
        if h.end is None or h.end > at:
            groups.setdefault(name_of(h, steps), []).append(h)
    out = []
    for name, found in sorted(groups.items()):
        chosen = [h for h in found if h.start <= at]
        if not chosen:
            first = min(h.start for h in found)
            chosen = [h for h in found if h.start == first]
        ends = {h.end for h in chosen}
        last = None if None in ends else max(e for e in ends if e is not None)
        for end in ends:  # the whole list is sorted by name below
            # nodes whose holding ends before the others' leave at their own end
            part = [h for h in chosen if h.end == end]
            label = name if end == last else f"{name}-until-{_stamp(end)}"
            out.append(_reservation(label, part, tenants, end))
    return sorted(out, key=lambda r: r.name)


def _stamp(instant: datetime | None) -> str:
    assert instant is not None
    return f"{instant.astimezone(UTC):%Y%m%dT%H%M%SZ}"


def _reservation(
    name: str, part: list[Holding], tenants: Mapping[str, str], end: datetime | None
) -> Reservation:
    h = part[0]
    maintenance = h.kind is HolderKind.MAINTENANCE
    return Reservation(
        name,
        frozenset(x.node for x in part),
        frozenset() if maintenance else frozenset({tenants.get(h.holder, h.holder)}),
        min(x.start for x in part),
        end,
        maintenance,
    )


def reconcile(
    desired: Iterable[Reservation],
    current: Iterable[Reservation],
    at: datetime,
    site_nodes: AbstractSet[str] | None = None,
) -> list[Change]:
    """The changes that make the controller's ``nc-`` reservations those ``desired`` at
    ``at``: deletions first, then updates (those that only give nodes up before those that
    take some), then creations, so that no step asks for a node another still holds.
    ``site_nodes``: the site's; a reservation on any other node is another site's sync's."""
    mine = {
        c.name: c
        for c in current
        if OURS.fullmatch(c.name) and (site_nodes is None or c.nodes <= site_nodes)
    }
    wanted = {d.name: d for d in desired}
    deletes = []
    for name, held in sorted(mine.items()):
        if held.end is not None and held.end <= at:
            # ended, not purged yet: Slurm still counts its nodes as taken at its end
            deletes.append(Change(Action.DELETE, held, ended=True))
            del mine[name]
        elif name not in wanted:
            deletes.append(Change(Action.DELETE, held))
    updates: list[Change] = []
    creates: list[Change] = []
    for name, d in sorted(wanted.items()):
        c = mine.get(name)
        if c is not None and c.running(at) and not d.running(at):
            deletes.append(Change(Action.DELETE, c))  # started too early: a start cannot move back
            c = None
        if c is None:
            fields = frozenset({"nodes", "accounts", "start", "end"})
            creates.append(Change(Action.CREATE, d, fields, start_now=d.running(at)))
            continue
        changed = {
            field
            for field, same in (
                ("nodes", c.nodes == d.nodes),
                ("accounts", c.accounts == d.accounts),
                ("end", c.end == d.end or (d.end is None and c.end is not None)),
                ("start", d.running(at) or c.start == d.start),
            )
            if not same
        }
        if changed:
            updates.append(Change(Action.UPDATE, d, frozenset(changed)))
    updates.sort(key=lambda u: not (u.reservation.nodes <= mine[u.reservation.name].nodes))
    return [*deletes, *updates, *creates]
