"""Allocation history in the database. Rows are per node; the planner works per rack.

This module loads and writes; the rules live in the domain (``allocation.planner`` for new
plans, ``allocation.changes`` for releasing and replacing failed nodes). Writing a plan
uses INSERT ... SELECT over a rack's nodes, so a 300 MW plan is a handful of statements;
changes decided by the domain are applied as bulk DELETE / UPDATE by row id. Overlaps are
refused by the database itself (see migration 0003) and come out of here as ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Integer,
    any_,
    delete,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.engine import CursorResult

from neocloud.adapters.db.errors import ONE_HOLDER
from neocloud.adapters.db.repositories import site_id
from neocloud.adapters.db.tables import allocations, halls, nodes, racks
from neocloud.adapters.db.types import UTCDateTime
from neocloud.domain.allocation.changes import HoldingChanges, Stored, Tenure, release
from neocloud.domain.allocation.planner import MIXED, Busy, HolderKind, Holding, RackCapacity
from neocloud.domain.kernel.errors import Conflict, NotFound

KINDS = {kind.value: kind for kind in HolderKind}
CHUNK = 10_000  # ids per IN list: SQLite takes at most 32,766 parameters a statement


def _rowcount(result: object) -> int:
    """Rows a DML statement changed (a CursorResult's rowcount)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


@contextmanager
def _one_holder() -> Iterator[None]:
    """A deadlock as the refusal of a second holder: PostgreSQL reports one (40P01) when
    two transactions inserting the same nodes each wait for the other's exclusion check,
    and aborts one of them: the other allocation got there first. (The exclusion
    constraint itself, and SQLite's trigger, already say so: ``errors.ONE_HOLDER``.)"""
    try:
        yield
    except Conflict as exc:
        cause = exc.__cause__  # the driver's error
        if getattr(cause, "sqlstate", None) == "40P01":
            raise Conflict(ONE_HOLDER) from cause
        raise


class SqlAllocationRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _site_id(self, site: str) -> int:
        return site_id(self.connection, site)

    def rack_capacities(self, site: str) -> list[RackCapacity]:
        """Every rack of the site in site order (hall, then rack position)."""
        rows = self.connection.execute(
            select(
                halls.c.name,
                racks.c.name,
                func.min(nodes.c.gpu_model),
                func.max(nodes.c.gpu_model),
                func.count(),
                func.sum(nodes.c.gpu_count),
                func.sum(nodes.c.typical_it_kw),
            )
            .join(racks, racks.c.hall_id == halls.c.id)
            .join(nodes, nodes.c.rack_id == racks.c.id)
            .where(racks.c.site_id == self._site_id(site))
            .group_by(halls.c.position, halls.c.name, racks.c.position, racks.c.name)
            .order_by(halls.c.position, racks.c.position)
        )
        return [
            RackCapacity(hall, rack, lo if lo == hi else MIXED, int(n), int(gpus), kw)
            for hall, rack, lo, hi, n, gpus, kw in rows
        ]

    def busy(self, site: str) -> list[Busy]:
        rows = self.connection.execute(
            select(
                racks.c.name,
                allocations.c.holder_kind,
                allocations.c.holder_key,
                allocations.c.starts_at,
                allocations.c.ends_at,
            )
            .distinct()
            .join(racks, racks.c.id == allocations.c.rack_id)
            .where(allocations.c.site_id == self._site_id(site))
        )
        return [
            Busy(rack, HolderKind(kind), key, start, end) for rack, kind, key, start, end in rows
        ]

    def holds(self, kind: HolderKind, key: str) -> bool:
        return (
            self.connection.scalar(
                select(allocations.c.id)
                .where(allocations.c.holder_kind == kind.value, allocations.c.holder_key == key)
                .limit(1)
            )
            is not None
        )

    def allocate_racks(
        self,
        site: str,
        rack_names: list[str],
        *,
        kind: HolderKind,
        key: str,
        start: datetime,
        end: datetime | None,
        reason: str,
    ) -> int:
        """Give every node of the racks named to the holder for [start, end); returns the
        node count."""
        if not rack_names:
            return 0
        chosen = (
            select(
                nodes.c.site_id,
                nodes.c.rack_id,
                nodes.c.id,
                literal(kind.value),
                literal(key),
                literal(start, UTCDateTime()),
                literal(end, UTCDateTime()),
                literal(reason),
            )
            .join(racks, racks.c.id == nodes.c.rack_id)
            .where(racks.c.site_id == self._site_id(site), racks.c.name.in_(rack_names))
        )
        with _one_holder():
            result = self.connection.execute(
                insert(allocations).from_select(
                    [
                        "site_id",
                        "rack_id",
                        "node_id",
                        "holder_kind",
                        "holder_key",
                        "starts_at",
                        "ends_at",
                        "reason",
                    ],
                    chosen,
                )
            )
        return _rowcount(result)

    def release_agreement(self, key: str, at: datetime) -> int:
        """End what the agreement holds, spares included, at ``at`` and later (the rule is
        ``changes.release``): the nodes go back to the operator's internal pool. Returns
        the holdings changed."""
        return self._apply(release(self._tenures(allocations.c.holder_key == key), key, at))

    def holdings(self, site: str, at: datetime | None = None) -> list[Holding]:
        """Every holding of the site (at one instant if ``at`` is given), in site order."""
        where = [allocations.c.site_id == self._site_id(site)]
        if at is not None:
            where += [
                allocations.c.starts_at <= at,
                or_(allocations.c.ends_at.is_(None), allocations.c.ends_at > at),
            ]
        return [s.holding for s in self._stored(*where)]

    def node_history(self, site: str, node: str) -> list[Stored]:
        """Every holding of ``node``, oldest first. Raises NotFound for an unknown node."""
        site_id = self._site_id(site)
        found = self._stored(nodes.c.site_id == site_id, nodes.c.name == node)
        if not found and (
            self.connection.scalar(
                select(nodes.c.id).where(nodes.c.site_id == site_id, nodes.c.name == node)
            )
            is None
        ):
            raise NotFound(f"node {node!r} does not exist at this site")
        return found

    def held_by(self, site: str, kind: HolderKind, key: str) -> list[Stored]:
        """The holder's holdings at the site, in site order (hall, rack, node position)."""
        return self._stored(
            allocations.c.site_id == self._site_id(site),
            allocations.c.holder_kind == kind.value,
            allocations.c.holder_key == key,
        )

    def held_gpus(
        self, site: str, kind: HolderKind, key: str
    ) -> list[tuple[datetime, datetime | None, int]]:
        """GROUP BY (starts_at, ends_at) over the holder's rows joined to their nodes: the
        27,000 holdings of the reference lease come back as a few rows."""
        a = allocations.c
        query = (
            select(a.starts_at, a.ends_at, func.sum(nodes.c.gpu_count))
            .join(nodes, nodes.c.id == a.node_id)
            .where(
                a.site_id == self._site_id(site),
                a.holder_kind == kind.value,
                a.holder_key == key,
            )
            .group_by(a.starts_at, a.ends_at)
            .order_by(a.starts_at, a.ends_at)
        )
        return [(s, e, int(g)) for s, e, g in self.connection.execute(query)]

    def apply(self, site: str, changes: HoldingChanges) -> int:
        """Apply ``changes`` to the site's holdings; returns the stored holdings changed.
        Raises Conflict if the result would give a node two holders at one instant."""
        return self._apply(changes, self._site_id(site))

    def _tenures(self, *where: ColumnElement[bool]) -> list[Tenure]:
        """Who holds what when, with row ids: five columns of one table, no joins (a
        release reads every holding of the agreement, 28,160 on the reference site)."""
        query = select(
            allocations.c.id,
            allocations.c.holder_kind,
            allocations.c.holder_key,
            allocations.c.starts_at,
            allocations.c.ends_at,
        ).where(*where)
        rows = self.connection.execute(query).all()
        return [Tenure(row_id, KINDS[k], key, s, e) for row_id, k, key, s, e in rows]

    def _stored(self, *where: ColumnElement[bool]) -> list[Stored]:
        """Holdings with their row ids, in site order (a site's holdings can be 28,160
        rows: one SELECT)."""
        query = (
            select(
                allocations.c.id,
                halls.c.name,
                racks.c.name,
                nodes.c.name,
                nodes.c.gpu_model,
                allocations.c.holder_kind,
                allocations.c.holder_key,
                allocations.c.starts_at,
                allocations.c.ends_at,
                allocations.c.reason,
            )
            .join(nodes, nodes.c.id == allocations.c.node_id)
            .join(racks, racks.c.id == nodes.c.rack_id)
            .join(halls, halls.c.id == racks.c.hall_id)
            .where(*where)
            .order_by(halls.c.position, racks.c.position, nodes.c.position, allocations.c.starts_at)
        )
        rows = self.connection.execute(query).all()
        return [
            Stored(row_id, Holding(h, r, n, m, KINDS[k], key, s, e, why))
            for row_id, h, r, n, m, k, key, s, e, why in rows
        ]

    def _apply(self, changes: HoldingChanges, site_id: int | None = None) -> int:
        """Bulk DELETE and UPDATE by row id, then the INSERTs; returns the rows changed."""
        mine = [] if site_id is None else [allocations.c.site_id == site_id]
        changed = 0
        with _one_holder():
            for named in self._naming(changes.removed):
                changed += _rowcount(
                    self.connection.execute(delete(allocations).where(named, *mine))
                )
            for named in self._naming(changes.ended):
                statement = update(allocations).where(named, *mine).values(ends_at=changes.at)
                changed += _rowcount(self.connection.execute(statement))
            if changes.added:
                self._insert(changes.added, site_id)
        return changed

    def _naming(self, ids: tuple[int, ...]) -> Iterator[ColumnElement[bool]]:
        """Conditions that pick the rows ``ids``: one array parameter on PostgreSQL (faster
        than a long IN list), IN lists of at most CHUNK ids on SQLite."""
        if not ids:
            return
        if self.connection.dialect.name == "postgresql":
            yield allocations.c.id == any_(literal(list(ids), ARRAY(Integer)))
            return
        for i in range(0, len(ids), CHUNK):
            yield allocations.c.id.in_(ids[i : i + CHUNK])

    def _insert(self, added: tuple[Holding, ...], site_id: int | None) -> None:
        if site_id is None:
            raise ValueError("new holdings need the site their nodes are in")
        ids = {
            name: (node_id, rack_id)
            for name, node_id, rack_id in self.connection.execute(
                select(nodes.c.name, nodes.c.id, nodes.c.rack_id).where(
                    nodes.c.site_id == site_id, nodes.c.name.in_({h.node for h in added})
                )
            )
        }
        self.connection.execute(
            insert(allocations),
            [
                {
                    "site_id": site_id,
                    "rack_id": ids[h.node][1],
                    "node_id": ids[h.node][0],
                    "holder_kind": h.kind.value,
                    "holder_key": h.holder,
                    "starts_at": h.start,
                    "ends_at": h.end,
                    "reason": h.reason,
                }
                for h in added
            ],
        )
