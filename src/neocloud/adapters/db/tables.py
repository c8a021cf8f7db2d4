"""The schema as SQLAlchemy Core tables. Rows never leave ``adapters/db``: repositories map
them to domain objects explicitly.

Core, not the ORM: repositories read and write with explicit statements (bulk inserts of
28,000 nodes, INSERT ... SELECT for allocations), so an identity map, flush ordering and
mapped classes would only cost start-up time (about 60 ms a command, bench/startup.py).

Every column is NOT NULL unless it says ``nullable=True``. Where a column holds a key that
names a row elsewhere (an agreement's site, an invoice's agreement), a foreign key says so:
the database refuses a name that points at nothing. No ``ON DELETE`` there: a site or
agreement that something names cannot be deleted (a fleet import replaces a site in place;
see ``SqlSiteRepository.replace``).
"""

from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from neocloud.adapters.db.types import ExactDecimal, UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)


def col(name: str, kind: Any, *extra: Any, nullable: bool = False, **options: Any) -> Column[Any]:
    """A column, NOT NULL unless told otherwise."""
    return Column(name, kind, *extra, nullable=nullable, **options)


def key(name: str = "id") -> Column[Any]:
    return Column(name, Integer, primary_key=True)


def name(length: int = 63, column: str = "name", **options: Any) -> Column[Any]:
    return col(column, String(length), **options)


def cascade(target: str) -> ForeignKey:
    return ForeignKey(target, ondelete="CASCADE")


sites = Table(
    "sites",
    metadata,
    key(),
    name(unique=True),
    name(200, "display_name"),
    name(100, "city"),
    name(100, "region"),
    name(100, "country"),
    name(64, "timezone"),
    col("facility_capacity_kw", ExactDecimal),
    col("pue", ExactDecimal),
    col("electricity_price_per_mwh", ExactDecimal),
    name(3, "electricity_currency"),
    col("grid_carbon_kg_per_mwh", ExactDecimal),
)

site_gpu_models = Table(  # a site's override of a built-in GPU model, or its own model
    "site_gpu_models",
    metadata,
    Column("site_id", Integer, cascade("sites.id"), primary_key=True),
    Column("name", String(63), primary_key=True),
    col("gpu_tdp_w", ExactDecimal),
    col("server_overhead", ExactDecimal),
    col("gpus_per_node", Integer),
    col("node_rated_it_kw", ExactDecimal),
    name(63, "node_kind"),
    col("nodes_per_rack", Integer),
)

halls = Table(
    "halls",
    metadata,
    key(),
    col("site_id", Integer, cascade("sites.id")),
    name(),
    col("position", Integer),
    UniqueConstraint("site_id", "name"),
)

racks = Table(
    "racks",
    metadata,
    key(),
    col("site_id", Integer, cascade("sites.id")),
    col("hall_id", Integer, cascade("halls.id")),
    name(),
    col("position", Integer),
    col("power_budget_kw", ExactDecimal),
    UniqueConstraint("site_id", "name"),
    Index("ix_racks_hall", "hall_id"),
)

nodes = Table(
    "nodes",
    metadata,
    key(),
    col("site_id", Integer, cascade("sites.id")),
    col("rack_id", Integer, cascade("racks.id")),
    name(),
    col("position", Integer),
    name(63, "gpu_model"),
    col("gpu_count", Integer),
    col("rated_it_kw", ExactDecimal),
    col("typical_it_kw", ExactDecimal),
    UniqueConstraint("site_id", "name"),
    Index("ix_nodes_rack", "rack_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    key(),
    col("recorded_at", UTCDateTime),  # the system clock: when the entry was written
    col("business_at", UTCDateTime),  # the business clock then (NEOCLOUD_NOW in a demo)
    name(200, "actor"),
    name(100, "action"),
    name(63, "entity_type"),
    name(200, "entity_key"),
    col("details", JSON),
    Index("ix_audit_entity", "entity_type", "entity_key"),
)

agreements = Table(
    "agreements",
    metadata,
    key(),
    name(column="key", unique=True),
    name(column="operator"),
    name(column="tenant"),
    col("site", String(63), ForeignKey("sites.name")),
    name(20, "status"),
    name(20, "notice_given_by", nullable=True),
    col("notice_given_at", UTCDateTime, nullable=True),
    col("notice_effective_at", UTCDateTime, nullable=True),
)

agreement_versions = Table(
    "agreement_versions",
    metadata,
    Column("agreement_id", Integer, cascade("agreements.id"), primary_key=True),
    Column("number", Integer, primary_key=True),
    col("effective_from", UTCDateTime),
    col("recorded_at", UTCDateTime),
    name(200, "actor"),
    name(500, "note"),
    col("terms", JSON),  # the version's canonical terms document
)

agreement_status_history = Table(
    "agreement_status_history",
    metadata,
    Column("agreement_id", Integer, cascade("agreements.id"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    name(20, "status"),
    col("at", UTCDateTime),
)

capacity_releases = Table(  # capacity an agreement gives back at an instant (its notice)
    "capacity_releases",
    metadata,
    key(),
    col("agreement_key", String(63), ForeignKey("agreements.key"), unique=True),
    col("site", String(63), ForeignKey("sites.name")),
    col("release_at", UTCDateTime),
    name(200, "reason"),
)

availability = Table(  # measured availability of an agreement's capacity for one period
    "availability",
    metadata,
    Column("agreement_key", String(63), ForeignKey("agreements.key"), primary_key=True),
    Column("period", String(7), primary_key=True),
    col("availability_ratio", ExactDecimal),
    col("recorded_at", UTCDateTime),
    name(20, "source", server_default="manual"),  # manual | metered
)

document_sequences = Table(  # the last number issued per operator and kind: no gap, no repeat
    "document_sequences",
    metadata,
    Column("operator", String(63), primary_key=True),
    Column("kind", String(20), primary_key=True),
    col("last_number", Integer),
)

invoices = Table(
    "invoices",
    metadata,
    key(),
    name(80, "number", unique=True),
    name(20, "kind"),  # invoice | credit_note | debit_note
    name(column="operator"),
    name(column="tenant"),
    col("agreement_key", String(63), ForeignKey("agreements.key")),
    name(7, "period", nullable=True),  # None for credit and debit notes
    col("refers_to", String(80), ForeignKey("invoices.number"), nullable=True),
    name(3, "currency"),
    col("total", ExactDecimal),
    col("final", Boolean),
    col("issued_at", UTCDateTime),
    UniqueConstraint("agreement_key", "period", "kind"),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    Column("invoice_id", Integer, cascade("invoices.id"), primary_key=True),
    Column("position", Integer, primary_key=True),
    name(30, "kind"),
    name(500, "description"),
    name(80, "precise"),  # the full-precision Decimal, as text
    col("amount", ExactDecimal),
)

allocations = Table(
    # A node held by an agreement, the spare pool or maintenance during [starts_at, ends_at).
    # No two rows of one node overlap: an exclusion constraint on PostgreSQL and triggers on
    # SQLite enforce it (migration 0003), not only the planner.
    "allocations",
    metadata,
    key(),
    col("site_id", Integer, ForeignKey("sites.id")),
    col("rack_id", Integer, ForeignKey("racks.id")),
    col("node_id", Integer, ForeignKey("nodes.id")),
    name(20, "holder_kind"),
    name(column="holder_key"),
    col("starts_at", UTCDateTime),
    col("ends_at", UTCDateTime, nullable=True),
    name(200, "reason"),
    Index("ix_allocations_node", "node_id"),
    Index("ix_allocations_holder", "holder_kind", "holder_key"),
    Index("ix_allocations_rack", "rack_id"),
    CheckConstraint("ends_at IS NULL OR starts_at < ends_at", name="half_open"),
)

maintenance_windows = Table(  # maintenance announced for some of a site's nodes
    "maintenance_windows",
    metadata,
    key(),
    col("site", String(63), ForeignKey("sites.name")),
    col("nodes", JSON),  # the node names, expanded
    col("starts_at", UTCDateTime),
    col("ends_at", UTCDateTime),
    col("announced_at", UTCDateTime),
    name(200, "reason"),
    name(200, "actor"),
    CheckConstraint("starts_at < ends_at", name="half_open"),
    Index("ix_maintenance_site", "site", "starts_at"),
)

node_failures = Table(  # a held node failed at failed_at and was swapped for a spare
    "node_failures",
    metadata,
    key(),
    col("site", String(63), ForeignKey("sites.name")),
    name(column="node"),
    name(column="holder_key"),
    col("failed_at", UTCDateTime),
    col("swapped_at", UTCDateTime),
    CheckConstraint("failed_at <= swapped_at", name="ordered"),
    Index("ix_node_failures_holder", "holder_key"),
)

# --- the service (REST API, dashboard, events, webhooks): migration 0007 ---------------------

api_keys = Table(  # who may call the API: a key is shown once, only its SHA-256 is kept
    "api_keys",
    metadata,
    key(),
    name(32, "key_id", unique=True),  # the public part of the key ("nck_<key_id>_<secret>")
    name(64, "secret_sha256"),  # hex digest of the whole key
    name(20, "role"),  # admin | operator | finance | auditor | tenant
    name(column="tenant", nullable=True),  # the one tenant a tenant key is bound to
    name(200, "label"),
    col("created_at", UTCDateTime),
    col("expires_at", UTCDateTime, nullable=True),
    col("revoked_at", UTCDateTime, nullable=True),
    name(200, "actor"),  # who created it
    CheckConstraint("(role = 'tenant') = (tenant IS NOT NULL)", name="tenant_bound"),
)

web_sessions = Table(  # a dashboard login: the cookie carries a token, only its SHA-256 is kept
    "web_sessions",
    metadata,
    Column("token_sha256", String(64), primary_key=True),
    col("api_key_id", Integer, cascade("api_keys.id")),
    name(64, "csrf_token"),
    col("created_at", UTCDateTime),
    col("expires_at", UTCDateTime),
    Index("ix_web_sessions_key", "api_key_id"),
)

idempotency_keys = Table(  # a POST's Idempotency-Key and the response it got, for a replay
    "idempotency_keys",
    metadata,
    Column("api_key_id", Integer, cascade("api_keys.id"), primary_key=True),
    Column("key", String(200), primary_key=True),
    name(64, "request_sha256"),  # of method, path and body: another request under the key: 422
    col("status_code", Integer),
    col("response_body", Text),
    name(100, "content_type"),
    col("created_at", UTCDateTime),
)

events = Table(  # the outbox: written in the same transaction as the change it reports
    "events",
    metadata,
    key(),
    name(60, "kind"),  # agreement.signed, agreement.notice_given, invoice.issued, ...
    name(200, "dedupe_key", unique=True),  # one event per fact, however often a scan runs
    name(column="operator"),
    name(column="tenant", nullable=True),  # None: an operator-only event
    name(column="agreement_key", nullable=True),
    col("occurred_at", UTCDateTime),  # the business time of the fact
    col("recorded_at", UTCDateTime),  # the system clock when it was written
    col("payload", JSON),
    Index("ix_events_tenant", "tenant", "id"),
)

webhooks = Table(  # a subscription: events of these kinds (all if empty) POSTed to url, signed
    "webhooks",
    metadata,
    key(),
    name(2000, "url"),
    name(128, "secret"),  # the HMAC-SHA256 key, shown once at creation; needed to sign
    name(column="operator"),
    name(column="tenant", nullable=True),  # a tenant's webhook gets only that tenant's events
    col("kinds", JSON),
    col("created_at", UTCDateTime),
    col("removed_at", UTCDateTime, nullable=True),
    name(200, "actor"),
)

webhook_deliveries = Table(  # one event to one webhook: attempts until delivered or given up
    "webhook_deliveries",
    metadata,
    key(),
    col("webhook_id", Integer, ForeignKey("webhooks.id")),
    col("event_id", Integer, ForeignKey("events.id")),
    name(20, "status"),  # pending | delivered | failed (gave up after the last attempt)
    col("attempts", Integer),
    col("next_attempt_at", UTCDateTime, nullable=True),
    col("last_attempt_at", UTCDateTime, nullable=True),
    col("last_status_code", Integer, nullable=True),
    name(500, "last_error", nullable=True),
    col("delivered_at", UTCDateTime, nullable=True),
    UniqueConstraint("webhook_id", "event_id"),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)
