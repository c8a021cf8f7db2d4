"""Allocation history in the database. Rows are per node; the planner works per rack.

Writing uses INSERT ... SELECT over a rack's nodes, so a 300 MW plan is a handful of
statements. Overlaps are refused by the database itself (see migration 0003) and come out
of here as ``Conflict``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import delete, func, insert, literal, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from neocloud.adapters.db.repositories import site_id
from neocloud.adapters.db.tables import AllocationRow, HallRow, NodeRow, RackRow
from neocloud.adapters.db.types import UTCDateTime
from neocloud.domain.allocation.planner import Busy, HolderKind, Holding, RackCapacity
from neocloud.domain.kernel.errors import Conflict, NotFound


def _rowcount(result: object) -> int:
    """Rows a DML statement changed (a CursorResult's rowcount)."""
    return int(cast(CursorResult[Any], result).rowcount or 0)


@contextmanager
def _one_holder() -> Iterator[None]:
    try:
        yield
    except IntegrityError as exc:
        if "ex_allocations_one_holder" in str(exc.orig) or "23P01" in str(
            getattr(exc.orig, "sqlstate", "")
        ):
            raise Conflict(
                "some of these racks already have a holder at that time "
                "(another allocation got there first); plan again"
            ) from None
        raise


class SqlAllocationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _site_id(self, site: str) -> int:
        return site_id(self.session, site)

    def rack_capacities(self, site: str) -> list[RackCapacity]:
        """Every rack of the site in site order (hall, then rack position)."""
        rows = self.session.execute(
            select(
                HallRow.name,
                RackRow.name,
                func.min(NodeRow.gpu_model),
                func.max(NodeRow.gpu_model),
                func.count(),
                func.sum(NodeRow.gpu_count),
                func.sum(NodeRow.typical_it_kw),
            )
            .join(RackRow, RackRow.hall_id == HallRow.id)
            .join(NodeRow, NodeRow.rack_id == RackRow.id)
            .where(RackRow.site_id == self._site_id(site))
            .group_by(HallRow.position, HallRow.name, RackRow.position, RackRow.name)
            .order_by(HallRow.position, RackRow.position)
        )
        return [
            RackCapacity(hall, rack, lo if lo == hi else "mixed", int(n), int(gpus), kw)
            for hall, rack, lo, hi, n, gpus, kw in rows
        ]

    def busy(self, site: str) -> list[Busy]:
        rows = self.session.execute(
            select(
                RackRow.name,
                AllocationRow.holder_kind,
                AllocationRow.holder_key,
                AllocationRow.starts_at,
                AllocationRow.ends_at,
            )
            .distinct()
            .join(RackRow, RackRow.id == AllocationRow.rack_id)
            .where(AllocationRow.site_id == self._site_id(site))
        )
        return [
            Busy(rack, HolderKind(kind), key, start, end) for rack, kind, key, start, end in rows
        ]

    def holds(self, kind: HolderKind, key: str) -> bool:
        return (
            self.session.scalar(
                select(AllocationRow.id)
                .where(AllocationRow.holder_kind == kind.value, AllocationRow.holder_key == key)
                .limit(1)
            )
            is not None
        )

    def allocate_racks(
        self,
        site: str,
        racks: list[str],
        *,
        kind: HolderKind,
        key: str,
        start: datetime,
        end: datetime | None,
        reason: str,
    ) -> int:
        """Give every node of ``racks`` to the holder for [start, end); returns node count."""
        if not racks:
            return 0
        nodes = (
            select(
                NodeRow.site_id,
                NodeRow.rack_id,
                NodeRow.id,
                literal(kind.value),
                literal(key),
                literal(start, UTCDateTime()),
                literal(end, UTCDateTime()),
                literal(reason),
            )
            .join(RackRow, RackRow.id == NodeRow.rack_id)
            .where(RackRow.site_id == self._site_id(site), RackRow.name.in_(racks))
        )
        with _one_holder():
            result = self.session.execute(
                insert(AllocationRow).from_select(
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
                    nodes,
                )
            )
            self.session.flush()
        return _rowcount(result)

    def release_agreement(self, key: str, at: datetime) -> int:
        """End what the agreement holds, spares included, at ``at`` and later: the racks go
        back to the operator's internal pool. Returns the holdings changed."""
        mine = AllocationRow.holder_kind.in_(
            [HolderKind.AGREEMENT.value, HolderKind.SPARE.value]
        ) & (AllocationRow.holder_key == key)
        later = delete(AllocationRow).where(mine, AllocationRow.starts_at >= at)
        removed = _rowcount(self.session.execute(later))
        running = or_(AllocationRow.ends_at.is_(None), AllocationRow.ends_at > at)
        cut = update(AllocationRow).where(mine, running).values(ends_at=at)
        return removed + _rowcount(self.session.execute(cut))

    def holdings(self, site: str, at: datetime | None = None) -> list[Holding]:
        """Every holding of the site (at one instant if ``at`` is given), in site order."""
        query = (
            select(
                HallRow.name,
                RackRow.name,
                NodeRow.name,
                NodeRow.gpu_model,
                AllocationRow.holder_kind,
                AllocationRow.holder_key,
                AllocationRow.starts_at,
                AllocationRow.ends_at,
            )
            .join(NodeRow, NodeRow.id == AllocationRow.node_id)
            .join(RackRow, RackRow.id == NodeRow.rack_id)
            .join(HallRow, HallRow.id == RackRow.hall_id)
            .where(AllocationRow.site_id == self._site_id(site))
            .order_by(HallRow.position, RackRow.position, NodeRow.position, AllocationRow.starts_at)
        )
        if at is not None:
            query = query.where(
                AllocationRow.starts_at <= at,
                or_(AllocationRow.ends_at.is_(None), AllocationRow.ends_at > at),
            )
        return [
            Holding(h, r, n, m, HolderKind(k), key, s, e)
            for h, r, n, m, k, key, s, e in self.session.execute(query)
        ]

    def swap_failed_node(self, site: str, node: str, at: datetime) -> tuple[Holding, Holding]:
        """Move ``node``'s holder at ``at`` onto a spare node of the same model kept for that
        holder, send the failed node to maintenance; returns (failed, replacement)."""
        site_id = self._site_id(site)
        failed = self._holding_row(site_id, node, at)
        if failed is None or failed[0].holder_kind != HolderKind.AGREEMENT.value:
            raise Conflict(
                f"node {node} is not held by an agreement at {at.isoformat()}; nothing to replace"
            )
        row, model, hall = failed
        spare = self.session.execute(
            select(AllocationRow, NodeRow.name)
            .join(NodeRow, NodeRow.id == AllocationRow.node_id)
            .join(RackRow, RackRow.id == NodeRow.rack_id)
            .join(HallRow)
            .where(
                AllocationRow.site_id == site_id,
                AllocationRow.holder_kind == HolderKind.SPARE.value,
                AllocationRow.holder_key == row.holder_key,
                NodeRow.gpu_model == model,
                AllocationRow.starts_at <= at,
                or_(AllocationRow.ends_at.is_(None), AllocationRow.ends_at > at),
            )
            .order_by(HallRow.name != hall, RackRow.position, NodeRow.position)
            .limit(1)
        ).first()
        if spare is None:
            raise Conflict(
                f"no spare {model} node is kept for {row.holder_key} at "
                f"{at.isoformat()}; allocate with --spare-share to keep spares"
            )
        spare_row, spare_name = spare
        holder, until = row.holder_key, row.ends_at
        with _one_holder():
            for r in (row, spare_row):
                self._cut(r, at)
            self.session.add_all(
                [
                    AllocationRow(
                        site_id=site_id,
                        rack_id=row.rack_id,
                        node_id=row.node_id,
                        holder_kind=HolderKind.MAINTENANCE.value,
                        holder_key="",
                        starts_at=at,
                        ends_at=None,
                        reason=f"failed; was {holder}'s",
                    ),
                    AllocationRow(
                        site_id=site_id,
                        rack_id=spare_row.rack_id,
                        node_id=spare_row.node_id,
                        holder_kind=HolderKind.AGREEMENT.value,
                        holder_key=holder,
                        starts_at=at,
                        ends_at=until,
                        reason=f"replaces {node}",
                    ),
                ]
            )
            self.session.flush()
        return (self._holding(site, node, at), self._holding(site, spare_name, at))

    def _cut(self, row: AllocationRow, at: datetime) -> None:
        if row.starts_at >= at:
            self.session.delete(row)
        else:
            row.ends_at = at
        self.session.flush()

    def _holding_row(
        self, site_id: int, node: str, at: datetime
    ) -> tuple[AllocationRow, str, str] | None:
        found = self.session.execute(
            select(AllocationRow, NodeRow.gpu_model, HallRow.name)
            .join(NodeRow, NodeRow.id == AllocationRow.node_id)
            .join(RackRow, RackRow.id == NodeRow.rack_id)
            .join(HallRow)
            .where(
                NodeRow.site_id == site_id,
                NodeRow.name == node,
                AllocationRow.starts_at <= at,
                or_(AllocationRow.ends_at.is_(None), AllocationRow.ends_at > at),
            )
        ).first()
        if found is None:
            if (
                self.session.scalar(
                    select(NodeRow.id).where(NodeRow.site_id == site_id, NodeRow.name == node)
                )
                is None
            ):
                raise NotFound(f"node {node!r} does not exist at this site")
            return None
        return found[0], found[1], found[2]

    def _holding(self, site: str, node: str, at: datetime) -> Holding:
        return next(h for h in self.holdings(site, at) if h.node == node)
