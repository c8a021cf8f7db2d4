"""What metering reads from the database besides holdings: announced maintenance windows
and node failures (from the failure to the swap)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, insert, or_, select

from neocloud.adapters.db.repositories import site_id
from neocloud.adapters.db.tables import allocations, maintenance_windows, node_failures, nodes
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.availability import Failure, Held, Window


class SqlMeteringRecords:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def add_window(self, site: str, window: Window, actor: str) -> int:
        return int(
            self.connection.execute(
                insert(maintenance_windows)
                .values(
                    site=site,
                    nodes=sorted(window.nodes),
                    starts_at=window.interval.start,
                    ends_at=window.interval.end,
                    announced_at=window.announced_at,
                    reason=window.reason,
                    actor=actor,
                )
                .returning(maintenance_windows.c.id)
            ).scalar_one()
        )

    def windows(self, site: str, during: Interval | None = None) -> list[Window]:
        """Windows of the site (overlapping ``during`` if given), in start order."""
        c = maintenance_windows.c
        query = select(maintenance_windows).where(c.site == site).order_by(c.starts_at, c.id)
        if during is not None:
            query = query.where(c.starts_at < during.end, c.ends_at > during.start)
        return [
            Window(frozenset(r.nodes), Interval(r.starts_at, r.ends_at), r.announced_at, r.reason)
            for r in self.connection.execute(query)
        ]

    def add_failure(self, site: str, node: str, holder: str, failed_at: datetime,
                    swapped_at: datetime) -> None:  # fmt: skip
        self.connection.execute(
            insert(node_failures).values(
                site=site, node=node, holder_key=holder, failed_at=failed_at, swapped_at=swapped_at
            )
        )

    def failures(self, holder: str, during: Interval) -> list[Failure]:
        c = node_failures.c
        query = (
            select(c.node, c.failed_at, c.swapped_at)
            .where(c.holder_key == holder, c.failed_at < during.end, c.swapped_at > during.start)
            .where(c.failed_at < c.swapped_at)
            .order_by(c.failed_at)
        )
        return [Failure(n, Interval(a, b)) for n, a, b in self.connection.execute(query)]

    def held(self, site: str, holder: str, during: Interval) -> list[Held]:
        """The nodes the agreement holds in ``during`` (its own holdings, spares not)."""
        a, n = allocations.c, nodes.c
        query = (
            select(n.name, n.gpu_count, a.starts_at, a.ends_at)
            .join(nodes, n.id == a.node_id)
            .where(
                a.site_id == site_id(self.connection, site),
                a.holder_kind == "agreement",
                a.holder_key == holder,
                a.starts_at < during.end,
                or_(a.ends_at.is_(None), a.ends_at > during.start),
            )
            .order_by(n.name, a.starts_at)
        )
        return [Held(name, gpus, s, e) for name, gpus, s, e in self.connection.execute(query)]

    def nodes(self, site: str) -> list[tuple[str, int]]:
        """Every node of the site with its GPUs."""
        query = select(nodes.c.name, nodes.c.gpu_count).where(
            nodes.c.site_id == site_id(self.connection, site)
        )
        return [
            (name, gpus) for name, gpus in self.connection.execute(query.order_by(nodes.c.name))
        ]

    def holdings(
        self, site: str, during: Interval
    ) -> list[tuple[str, str, datetime, datetime | None]]:
        """Every holding of the site's nodes overlapping ``during``: node, holder kind
        (agreement, spare, maintenance), start, end."""
        a, n = allocations.c, nodes.c
        query = (
            select(n.name, a.holder_kind, a.starts_at, a.ends_at)
            .join(nodes, n.id == a.node_id)
            .where(
                a.site_id == site_id(self.connection, site),
                a.starts_at < during.end,
                or_(a.ends_at.is_(None), a.ends_at > during.start),
            )
        )
        return [(name, kind, s, e) for name, kind, s, e in self.connection.execute(query)]
