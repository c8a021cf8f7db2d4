"""Repositories: domain objects in, domain objects out; rows never leave this package.

A site of ~28,000 nodes is written with bulk inserts (one statement per table) and its
summary is computed by the database (GROUP BY), so neither needs 28,000 ORM objects.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from decimal import Decimal

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from neocloud.adapters.db.errors import domain_errors
from neocloud.adapters.db.tables import (
    AllocationRow,
    AuditRow,
    HallRow,
    NodeRow,
    RackRow,
    SiteGpuModelRow,
    SiteRow,
)
from neocloud.domain.fleet.capacity import HallTotals, ModelTotals, SiteSummary
from neocloud.domain.fleet.inventory import GpuModel, Hall, Location, Node, Rack, Site
from neocloud.domain.kernel.audit import AuditEntry
from neocloud.domain.kernel.errors import Conflict, NotFound
from neocloud.domain.kernel.money import Money


def site_id(session: Session, name: str) -> int:
    """The row id of site ``name``; NotFound if there is none."""
    found = session.scalar(select(SiteRow.id).where(SiteRow.name == name))
    if found is None:
        raise NotFound(f"site {name!r} does not exist")
    return found


def _write_header(row: SiteRow, site: Site) -> None:
    """The site's own fields (not its halls) onto its row."""
    row.display_name = site.display_name
    row.city = site.location.city
    row.region = site.location.region
    row.country = site.location.country
    row.timezone = site.timezone
    row.facility_capacity_kw = site.facility_capacity_kw
    row.pue = site.pue
    row.electricity_price_per_mwh = site.electricity_price_per_mwh.amount
    row.electricity_currency = site.electricity_price_per_mwh.currency
    row.grid_carbon_kg_per_mwh = site.grid_carbon_kg_per_mwh


class SqlSiteRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _id(self, name: str) -> int:
        return site_id(self.session, name)

    def exists(self, name: str) -> bool:
        return self.session.scalar(select(SiteRow.id).where(SiteRow.name == name)) is not None

    def names(self) -> list[str]:
        return list(self.session.scalars(select(SiteRow.name).order_by(SiteRow.name)))

    def add(self, site: Site) -> None:
        row = SiteRow(name=site.name)
        _write_header(row, site)
        self.session.add(row)
        with domain_errors():
            self.session.flush()
        self._add_contents(row.id, site)

    def replace(self, site: Site) -> None:
        """Give the stored site ``site.name`` the header, GPU models, halls, racks and nodes
        of ``site``. The site's row is updated in place, not deleted: agreements and
        capacity releases name it. Raises Conflict while any of its racks has holdings."""
        row = self.session.scalar(select(SiteRow).where(SiteRow.name == site.name))
        if row is None:
            raise NotFound(f"site {site.name!r} does not exist")
        if (
            self.session.scalar(
                select(AllocationRow.id).where(AllocationRow.site_id == row.id).limit(1)
            )
            is not None
        ):
            raise Conflict(
                f"site {site.name} has allocations; it cannot be replaced while racks "
                "are held (release them first)"
            )
        for table in (NodeRow, RackRow, HallRow, SiteGpuModelRow):
            self.session.execute(delete(table).where(table.site_id == row.id))
        _write_header(row, site)
        with domain_errors():
            self.session.flush()
        self._add_contents(row.id, site)

    def _add_contents(self, site_id: int, site: Site) -> None:
        self.session.add_all(
            SiteGpuModelRow(
                site_id=site_id,
                name=m.name,
                gpu_tdp_w=m.gpu_tdp_w,
                server_overhead=m.server_overhead,
                gpus_per_node=m.gpus_per_node,
                node_rated_it_kw=m.node_rated_it_kw,
                node_kind=m.node_kind,
                nodes_per_rack=m.nodes_per_rack,
            )
            for m in site.gpu_models.values()
        )
        for position, hall in enumerate(site.halls):
            self._add_hall(site_id, position, hall)

    def _add_hall(self, site_id: int, position: int, hall: Hall) -> None:
        hall_id = self.session.scalar(
            insert(HallRow)
            .values(site_id=site_id, name=hall.name, position=position)
            .returning(HallRow.id)
        )
        if not hall.racks:
            return
        rack_ids = self.session.scalars(
            insert(RackRow).returning(RackRow.id, sort_by_parameter_order=True),
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
        nodes = [
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
        if nodes:
            self.session.execute(insert(NodeRow), nodes)

    def header(self, name: str) -> Site:
        row = self.session.scalar(select(SiteRow).where(SiteRow.name == name))
        if row is None:
            raise NotFound(f"site {name!r} does not exist")
        models = {
            m.name: GpuModel(
                name=m.name,
                gpu_tdp_w=m.gpu_tdp_w,
                gpus_per_node=m.gpus_per_node,
                node_rated_it_kw=m.node_rated_it_kw,
                server_overhead=m.server_overhead,
                node_kind=m.node_kind,
                nodes_per_rack=m.nodes_per_rack,
            )
            for m in self.session.scalars(
                select(SiteGpuModelRow)
                .where(SiteGpuModelRow.site_id == row.id)
                .order_by(SiteGpuModelRow.name)
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
        nodes_by_rack: dict[int, list[Node]] = defaultdict(list)
        for r in self.session.execute(
            select(
                NodeRow.rack_id,
                NodeRow.name,
                NodeRow.gpu_model,
                NodeRow.gpu_count,
                NodeRow.rated_it_kw,
                NodeRow.typical_it_kw,
            )
            .where(NodeRow.site_id == site_id)
            .order_by(NodeRow.rack_id, NodeRow.position)
        ):
            nodes_by_rack[r.rack_id].append(
                Node(r.name, r.gpu_model, r.gpu_count, r.rated_it_kw, r.typical_it_kw)
            )
        racks_by_hall: dict[int, list[Rack]] = defaultdict(list)
        for k in self.session.execute(
            select(RackRow.id, RackRow.hall_id, RackRow.name, RackRow.power_budget_kw)
            .where(RackRow.site_id == site_id)
            .order_by(RackRow.hall_id, RackRow.position)
        ):
            racks_by_hall[k.hall_id].append(
                Rack(k.name, k.power_budget_kw, tuple(nodes_by_rack[k.id]))
            )
        halls = tuple(
            Hall(h.name, tuple(racks_by_hall[h.id]))
            for h in self.session.execute(
                select(HallRow.id, HallRow.name)
                .where(HallRow.site_id == site_id)
                .order_by(HallRow.position)
            )
        )
        return replace(site, halls=halls)

    def summary(self, name: str) -> SiteSummary:
        site = self.header(name)
        site_id = self._id(name)
        models: dict[int, list[ModelTotals]] = defaultdict(list)
        for r in self.session.execute(
            select(
                RackRow.hall_id,
                NodeRow.gpu_model,
                func.count(),
                func.sum(NodeRow.gpu_count),
                func.sum(NodeRow.typical_it_kw),
                func.sum(NodeRow.rated_it_kw),
            )
            .join(RackRow, RackRow.id == NodeRow.rack_id)
            .where(NodeRow.site_id == site_id)
            .group_by(RackRow.hall_id, NodeRow.gpu_model)
            .order_by(NodeRow.gpu_model)
        ):
            models[r[0]].append(ModelTotals(r[1], int(r[2]), int(r[3]), r[4], r[5]))
        racks = {
            r[0]: (int(r[1]), r[2] or Decimal(0))
            for r in self.session.execute(
                select(RackRow.hall_id, func.count(), func.sum(RackRow.power_budget_kw))
                .where(RackRow.site_id == site_id)
                .group_by(RackRow.hall_id)
            )
        }
        halls = tuple(
            HallTotals(h.name, *racks.get(h.id, (0, Decimal(0))), tuple(models[h.id]))
            for h in self.session.execute(
                select(HallRow.id, HallRow.name)
                .where(HallRow.site_id == site_id)
                .order_by(HallRow.position)
            )
        )
        return SiteSummary(site, halls)


class SqlAuditLog:
    def __init__(self, session: Session) -> None:
        self.session = session

    def record(self, entry: AuditEntry) -> None:
        self.session.add(
            AuditRow(
                at=entry.at,
                actor=entry.actor,
                action=entry.action,
                entity_type=entry.entity_type,
                entity_key=entry.entity_key,
                details=dict(entry.details),
            )
        )

    def entries(
        self, entity_type: str | None = None, entity_key: str | None = None
    ) -> Sequence[AuditEntry]:
        query = select(AuditRow).order_by(AuditRow.id)
        if entity_type:
            query = query.where(AuditRow.entity_type == entity_type)
        if entity_key:
            query = query.where(AuditRow.entity_key == entity_key)
        return [
            AuditEntry(r.at, r.actor, r.action, r.entity_type, r.entity_key, r.details)
            for r in self.session.scalars(query)
        ]
