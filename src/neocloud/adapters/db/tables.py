"""ORM rows. They live only here; repositories map them to domain objects explicitly."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, ForeignKey, Index, MetaData, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from neocloud.adapters.db.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class SiteRow(Base):
    __tablename__ = "sites"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(63), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    city: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100))
    country: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64))
    facility_capacity_kw: Mapped[Decimal] = mapped_column(ExactDecimal)
    pue: Mapped[Decimal] = mapped_column(ExactDecimal)
    electricity_price_per_mwh: Mapped[Decimal] = mapped_column(ExactDecimal)
    electricity_currency: Mapped[str] = mapped_column(String(3))
    grid_carbon_kg_per_mwh: Mapped[Decimal] = mapped_column(ExactDecimal)


class SiteGpuModelRow(Base):
    """A site's override of a built-in GPU model, or a model the site defines."""

    __tablename__ = "site_gpu_models"
    site_id: Mapped[int] = mapped_column(
        ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    gpu_tdp_w: Mapped[Decimal] = mapped_column(ExactDecimal)
    server_overhead: Mapped[Decimal] = mapped_column(ExactDecimal)
    gpus_per_node: Mapped[int]
    node_rated_it_kw: Mapped[Decimal] = mapped_column(ExactDecimal)
    node_kind: Mapped[str] = mapped_column(String(63))
    nodes_per_rack: Mapped[int]


class HallRow(Base):
    __tablename__ = "halls"
    __table_args__ = (UniqueConstraint("site_id", "name"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    position: Mapped[int]


class RackRow(Base):
    __tablename__ = "racks"
    __table_args__ = (UniqueConstraint("site_id", "name"), Index("ix_racks_hall", "hall_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    hall_id: Mapped[int] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    position: Mapped[int]
    power_budget_kw: Mapped[Decimal] = mapped_column(ExactDecimal)


class NodeRow(Base):
    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("site_id", "name"), Index("ix_nodes_rack", "rack_id"))
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    rack_id: Mapped[int] = mapped_column(ForeignKey("racks.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(63))
    position: Mapped[int]
    gpu_model: Mapped[str] = mapped_column(String(63))
    gpu_count: Mapped[int]
    rated_it_kw: Mapped[Decimal] = mapped_column(ExactDecimal)
    typical_it_kw: Mapped[Decimal] = mapped_column(ExactDecimal)


class AuditRow(Base):
    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_entity", "entity_type", "entity_key"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(63))
    entity_key: Mapped[str] = mapped_column(String(200))
    details: Mapped[dict[str, object]] = mapped_column(JSON)
