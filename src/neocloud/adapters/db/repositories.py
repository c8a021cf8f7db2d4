"""Repositories: domain objects in, domain objects out; rows never leave this package.

A site of ~28,000 nodes is written with bulk inserts (one statement per table) and its
summary is computed by the database (GROUP BY).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import Connection, delete, func, insert, select, update

from neocloud.adapters.db.tables import (
    allocations,
    audit_log,
    halls,
    nodes,
    racks,
    site_gpu_models,
    sites,
)
from neocloud.domain.fleet.capacity import HallTotals, ModelTotals, SiteSummary
from neocloud.domain.fleet.inventory import GpuModel, Hall, Location, Node, Rack, Site
from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.errors import Conflict, NotFound
from neocloud.domain.kernel.money import Money


def site_id(connection: Connection, name: str) -> int:
    """The row id of site ``name``; NotFound if there is none."""
    found = connection.scalar(select(sites.c.id).where(sites.c.name == name))
    if found is None:
        raise NotFound(f"site {name!r} does not exist")
    return int(found)


def _header(site: Site) -> dict[str, object]:
    """The site's own fields (not its halls), as its row holds them."""
    return {
        "display_name": site.display_name,
        "city": site.location.city,
        "region": site.location.region,
        "country": site.location.country,
        "timezone": site.timezone,
        "facility_capacity_kw": site.facility_capacity_kw,
        "pue": site.pue,
        "electricity_price_per_mwh": site.electricity_price_per_mwh.amount,
        "electricity_currency": site.electricity_price_per_mwh.currency,
        "grid_carbon_kg_per_mwh": site.grid_carbon_kg_per_mwh,
    }


class SqlSiteRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _id(self, name: str) -> int:
        return site_id(self.connection, name)

    def lock(self, name: str) -> int:
        """Lock site ``name``'s row until the transaction ends (PostgreSQL; SQLite's writing
        transactions hold the whole database): replacing a site's racks and allocating
        them queue behind each other. Returns the row id; NotFound if there is none."""
        query = select(sites.c.id).where(sites.c.name == name).with_for_update()
        found = self.connection.scalar(query)
        if found is None:
            raise NotFound(f"site {name!r} does not exist")
        return int(found)

    def exists(self, name: str) -> bool:
        query = select(sites.c.id).where(sites.c.name == name)
        return self.connection.execute(query).first() is not None

    def names(self) -> list[str]:
        return list(self.connection.scalars(select(sites.c.name).order_by(sites.c.name)))

    def node_names(self, name: str) -> frozenset[str]:
        """The names of the site's nodes (telemetry matches hosts against them)."""
        query = select(nodes.c.name).where(nodes.c.site_id == self._id(name))
        return frozenset(self.connection.scalars(query))

    def add(self, site: Site) -> None:
        new_id = self.connection.execute(
            insert(sites).values(name=site.name, **_header(site)).returning(sites.c.id)
        ).scalar_one()
        self._add_contents(new_id, site)

    def replace(self, site: Site) -> None:
        """Give the stored site ``site.name`` the header, GPU models, halls, racks and nodes
        of ``site``. The site's row is updated in place, not deleted: agreements and
        capacity releases name it. Raises Conflict while any of its racks has holdings."""
        stored = self.lock(site.name)
        held = select(allocations.c.id).where(allocations.c.site_id == stored).limit(1)
        if self.connection.execute(held).first() is not None:
            raise Conflict(
                f"site {site.name} has allocations; it cannot be replaced while racks "
                "are held (release them first)"
            )
        for table in (nodes, racks, halls, site_gpu_models):
            self.connection.execute(delete(table).where(table.c.site_id == stored))
        self.connection.execute(update(sites).where(sites.c.id == stored).values(_header(site)))
        self._add_contents(stored, site)

    def _add_contents(self, site_id: int, site: Site) -> None:
        models = [
            {
                "site_id": site_id,
                "name": m.name,
                "gpu_tdp_w": m.gpu_tdp_w,
                "server_overhead": m.server_overhead,
                "gpus_per_node": m.gpus_per_node,
                "node_rated_it_kw": m.node_rated_it_kw,
                "node_kind": m.node_kind,
                "nodes_per_rack": m.nodes_per_rack,
            }
            for m in site.gpu_models.values()
        ]
        if models:
            self.connection.execute(insert(site_gpu_models), models)
        for position, hall in enumerate(site.halls):
            self._add_hall(site_id, position, hall)

    def _add_hall(self, site_id: int, position: int, hall: Hall) -> None:
        hall_id = self.connection.execute(
            insert(halls)
            .values(site_id=site_id, name=hall.name, position=position)
            .returning(halls.c.id)
        ).scalar_one()
        if not hall.racks:
            return
        rack_ids = self.connection.scalars(
            insert(racks).returning(racks.c.id, sort_by_parameter_order=True),
            [
                {
                    "site_id": site_id,
                    "hall_id": hall_id,
                    "name": r.name,
                    "position": i,
                    "power_budget_kw": r.power_budget_kw,
                }
                for i, r in enumerate(hall.racks)
            ],
        ).all()
        rows = [
            {
                "site_id": site_id,
                "rack_id": rack_id,
                "name": n.name,
                "position": j,
                "gpu_model": n.gpu_model,
                "gpu_count": n.gpu_count,
                "rated_it_kw": n.rated_it_kw,
                "typical_it_kw": n.typical_it_kw,
            }
            for rack_id, rack in zip(rack_ids, hall.racks, strict=True)
            for j, n in enumerate(rack.nodes)
        ]
        if rows:
            self.connection.execute(insert(nodes), rows)

    def header(self, name: str) -> Site:
        row = self.connection.execute(select(sites).where(sites.c.name == name)).first()
        if row is None:
            raise NotFound(f"site {name!r} does not exist")
        m = site_gpu_models.c
        models = {
            r.name: GpuModel(
                name=r.name,
                gpu_tdp_w=r.gpu_tdp_w,
                gpus_per_node=r.gpus_per_node,
                node_rated_it_kw=r.node_rated_it_kw,
                server_overhead=r.server_overhead,
                node_kind=r.node_kind,
                nodes_per_rack=r.nodes_per_rack,
            )
            for r in self.connection.execute(
                select(site_gpu_models).where(m.site_id == row.id).order_by(m.name)
            )
        }
        return Site(
            name=row.name,
            display_name=row.display_name,
            location=Location(row.city, row.region, row.country),
            timezone=row.timezone,
            facility_capacity_kw=row.facility_capacity_kw,
            pue=row.pue,
            electricity_price_per_mwh=Money(
                row.electricity_price_per_mwh, row.electricity_currency
            ),
            grid_carbon_kg_per_mwh=row.grid_carbon_kg_per_mwh,
            gpu_models=models,
        )

    def get(self, name: str) -> Site:
        site = self.header(name)
        site_id = self._id(name)
        n, k, h = nodes.c, racks.c, halls.c
        nodes_by_rack: dict[int, list[Node]] = defaultdict(list)
        for r in self.connection.execute(
            select(n.rack_id, n.name, n.gpu_model, n.gpu_count, n.rated_it_kw, n.typical_it_kw)
            .where(n.site_id == site_id)
            .order_by(n.rack_id, n.position)
        ):
            nodes_by_rack[r.rack_id].append(
                Node(r.name, r.gpu_model, r.gpu_count, r.rated_it_kw, r.typical_it_kw)
            )
        racks_by_hall: dict[int, list[Rack]] = defaultdict(list)
        for k_row in self.connection.execute(
            select(k.id, k.hall_id, k.name, k.power_budget_kw)
            .where(k.site_id == site_id)
            .order_by(k.hall_id, k.position)
        ):
            racks_by_hall[k_row.hall_id].append(
                Rack(k_row.name, k_row.power_budget_kw, tuple(nodes_by_rack[k_row.id]))
            )
        site_halls = tuple(
            Hall(r.name, tuple(racks_by_hall[r.id]))
            for r in self.connection.execute(
                select(h.id, h.name).where(h.site_id == site_id).order_by(h.position)
            )
        )
        return replace(site, halls=site_halls)

    def summary(self, name: str) -> SiteSummary:
        site = self.header(name)
        site_id = self._id(name)
        n, k, h = nodes.c, racks.c, halls.c
        models: dict[int, list[ModelTotals]] = defaultdict(list)
        for r in self.connection.execute(
            select(
                k.hall_id,
                n.gpu_model,
                func.count(),
                func.sum(n.gpu_count),
                func.sum(n.typical_it_kw),
                func.sum(n.rated_it_kw),
            )
            .join(racks, k.id == n.rack_id)
            .where(n.site_id == site_id)
            .group_by(k.hall_id, n.gpu_model)
            .order_by(n.gpu_model)
        ):
            models[r[0]].append(ModelTotals(r[1], int(r[2]), int(r[3]), r[4], r[5]))
        rack_totals = {
            r[0]: (int(r[1]), r[2] or Decimal(0))
            for r in self.connection.execute(
                select(k.hall_id, func.count(), func.sum(k.power_budget_kw))
                .where(k.site_id == site_id)
                .group_by(k.hall_id)
            )
        }
        hall_totals = tuple(
            HallTotals(r.name, *rack_totals.get(r.id, (0, Decimal(0))), tuple(models[r.id]))
            for r in self.connection.execute(
                select(h.id, h.name).where(h.site_id == site_id).order_by(h.position)
            )
        )
        return SiteSummary(site, hall_totals)


class SqlAuditLog:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def record(self, entry: AuditEntry) -> None:
        self.connection.execute(
            insert(audit_log).values(
                recorded_at=entry.recorded_at,
                business_at=entry.business_at,
                actor=entry.actor,
                action=entry.action,
                entity_type=entry.entity_type,
                entity_key=entry.entity_key,
                details=dict(entry.details),
            )
        )

    def entries(
        self,
        entity_type: str | None = None,
        entity_key: str | None = None,
        *,
        action: str | None = None,
        last: int | None = None,
    ) -> Sequence[AuditEntry]:
        c = audit_log.c
        query = select(audit_log).order_by(c.id.desc())
        for column, wanted in ((c.entity_type, entity_type), (c.entity_key, entity_key)):
            if wanted:
                query = query.where(column == wanted)
        if action:
            query = query.where(c.action == action)
        if last is not None:
            query = query.limit(last)
        rows = self.connection.execute(query).all()
        return [
            AuditEntry(
                r.recorded_at,
                r.business_at,
                r.actor,
                r.action,
                r.entity_type,
                r.entity_key,
                r.details,
            )
            for r in reversed(rows)
        ]

    def version(self) -> tuple[int, int]:
        count, newest = self.connection.execute(
            select(func.count(), func.max(audit_log.c.id)).select_from(audit_log)
        ).one()
        return int(count), int(newest or 0)
