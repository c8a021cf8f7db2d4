"""ORM rows. They live only here; repositories map them to domain objects explicitly.

Where a column holds a key that names a row elsewhere (an agreement's site, an invoice's
agreement), a foreign key says so: the database refuses a name that points at nothing.
No ``ON DELETE``: a site or agreement that something names cannot be deleted (a fleet
import replaces a site in place; see ``SqlSiteRepository.replace``).
"""

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, MetaData, String, UniqueConstraint
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


class AgreementRow(Base):
    __tablename__ = "agreements"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(63), unique=True)
    operator: Mapped[str] = mapped_column(String(63))
    tenant: Mapped[str] = mapped_column(String(63))
    site: Mapped[str] = mapped_column(String(63), ForeignKey("sites.name"))
    status: Mapped[str] = mapped_column(String(20))
    notice_given_by: Mapped[str | None] = mapped_column(String(20))
    notice_given_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    notice_effective_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AgreementVersionRow(Base):
    """One version of an agreement's terms, stored as its (canonical) document."""

    __tablename__ = "agreement_versions"
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True)
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(String(500))
    terms: Mapped[dict[str, object]] = mapped_column(JSON)


class AgreementStatusRow(Base):
    __tablename__ = "agreement_status_history"
    agreement_id: Mapped[int] = mapped_column(
        ForeignKey("agreements.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class CapacityReleaseRow(Base):
    """Capacity an agreement gives back at an instant (notice); allocation consumes these."""

    __tablename__ = "capacity_releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    agreement_key: Mapped[str] = mapped_column(
        String(63), ForeignKey("agreements.key"), unique=True
    )
    site: Mapped[str] = mapped_column(String(63), ForeignKey("sites.name"))
    release_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))


class AvailabilityRow(Base):
    """Measured availability of an agreement's capacity for one billing period."""

    __tablename__ = "availability"
    agreement_key: Mapped[str] = mapped_column(
        String(63), ForeignKey("agreements.key"), primary_key=True
    )
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    availability_ratio: Mapped[Decimal] = mapped_column(ExactDecimal)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class DocumentSequenceRow(Base):
    """The last number issued per operator and kind: numbers never skip or repeat."""

    __tablename__ = "document_sequences"
    operator: Mapped[str] = mapped_column(String(63), primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), primary_key=True)
    last_number: Mapped[int]


class InvoiceRow(Base):
    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("agreement_key", "period", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(20))  # invoice | credit_note
    operator: Mapped[str] = mapped_column(String(63))
    tenant: Mapped[str] = mapped_column(String(63))
    agreement_key: Mapped[str] = mapped_column(String(63), ForeignKey("agreements.key"))
    period: Mapped[str | None] = mapped_column(String(7))  # None for credit notes
    refers_to: Mapped[str | None] = mapped_column(String(80), ForeignKey("invoices.number"))
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(ExactDecimal)
    final: Mapped[bool]
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class InvoiceLineRow(Base):
    __tablename__ = "invoice_lines"
    invoice_id: Mapped[int] = mapped_column(
        ForeignKey("invoices.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(30))
    description: Mapped[str] = mapped_column(String(500))
    precise: Mapped[str] = mapped_column(String(80))  # full-precision Decimal, as text
    amount: Mapped[Decimal] = mapped_column(ExactDecimal)


class AllocationRow(Base):
    """A node held by an agreement, the spare pool or maintenance during [starts_at, ends_at).

    No two rows of one node overlap: an exclusion constraint on PostgreSQL and triggers on
    SQLite enforce it (migration 0003), not only the planner.
    """

    __tablename__ = "allocations"
    __table_args__ = (
        Index("ix_allocations_node", "node_id"),
        Index("ix_allocations_holder", "holder_kind", "holder_key"),
        Index("ix_allocations_rack", "rack_id"),
        CheckConstraint("ends_at IS NULL OR starts_at < ends_at", name="half_open"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    rack_id: Mapped[int] = mapped_column(ForeignKey("racks.id"))
    node_id: Mapped[int] = mapped_column(ForeignKey("nodes.id"))
    holder_kind: Mapped[str] = mapped_column(String(20))
    holder_key: Mapped[str] = mapped_column(String(63))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200))
