"""What the services need from storage, as protocols; adapters implement them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Self

if TYPE_CHECKING:  # types only: a command imports the domain it uses, not all of it
    from collections.abc import Mapping, Sequence
    from contextlib import AbstractContextManager
    from datetime import datetime
    from decimal import Decimal
    from types import TracebackType

    from neocloud.domain.access.idempotency import StoredResponse
    from neocloud.domain.access.keys import ApiKey
    from neocloud.domain.access.sessions import WebSession
    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.domain.allocation.changes import HoldingChanges, Stored
    from neocloud.domain.allocation.planner import Busy, HolderKind, Holding, RackCapacity
    from neocloud.domain.billing.invoices import DocumentKind, IssuedInvoice
    from neocloud.domain.events.model import Event, EventKind, RecordedEvent
    from neocloud.domain.events.webhooks import Delivery, DeliveryStatus, SendResult, Webhook
    from neocloud.domain.fleet.capacity import SiteSummary
    from neocloud.domain.fleet.inventory import Site
    from neocloud.domain.kernel.audit import AuditEntry
    from neocloud.domain.kernel.instants import Interval
    from neocloud.domain.metering.availability import Failure, Held, Observed, UnitPlan, Window
    from neocloud.domain.metering.metered import DownRun, SiteEnergy, Usage
    from neocloud.domain.metering.report import PartitionStatus, ReadReport, WriteReport
    from neocloud.domain.planning.forecast import DemandForecast, DemandPoint


class SiteRepository(Protocol):
    def add(self, site: Site) -> None: ...
    def lock(self, name: str) -> int:
        """Hold the site until the transaction ends: its racks are neither replaced nor
        allocated by another command meanwhile. Raises NotFound."""
        ...

    def replace(self, site: Site) -> None:
        """The stored site of that name gets this one's header and contents, in place
        (what names the site keeps naming it). Raises NotFound, or Conflict while held."""
        ...

    def exists(self, name: str) -> bool: ...
    def names(self) -> list[str]: ...
    def node_names(self, name: str) -> frozenset[str]:
        """The names of the site's nodes. Raises NotFound."""
        ...

    def get(self, name: str) -> Site:
        """The whole site, halls to nodes. Raises NotFound."""
        ...

    def header(self, name: str) -> Site:
        """The site without its halls (cheap). Raises NotFound."""
        ...

    def summary(self, name: str) -> SiteSummary: ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> None: ...
    def entries(
        self,
        entity_type: str | None = None,
        entity_key: str | None = None,
        *,
        action: str | None = None,
        last: int | None = None,
    ) -> Sequence[AuditEntry]:
        """Entries oldest first; ``last``: only the newest N of those that match."""
        ...

    def version(self) -> tuple[int, int]:
        """(entries, newest id): changes whenever an entry is committed, whatever the order
        ids were taken in (every change is audited in its own transaction)."""
        ...


class AgreementRepository(Protocol):
    def add(self, agreement: CapacityAgreement) -> None: ...
    def save(self, agreement: CapacityAgreement) -> None: ...
    def exists(self, key: str) -> bool: ...
    def all_keys(self, *, site: str | None = None, tenant: str | None = None) -> list[str]: ...
    def get(self, key: str, *, for_update: bool = False) -> CapacityAgreement:
        """Raises NotFound. ``for_update`` locks the agreement until the transaction ends."""
        ...

    def record_availability(
        self, key: str, period: str, ratio: Decimal, at: datetime, source: str = "manual"
    ) -> None: ...
    def recorded_availability(self, key: str, period: str) -> tuple[Decimal, str] | None:
        """The figure recorded for the period and where it came from (manual, metered)."""
        ...

    def availabilities(self, key: str) -> list[tuple[str, Decimal, datetime]]:
        """(period, ratio, recorded at) for every period with a recorded availability."""
        ...

    def record_release(self, key: str, site: str, at: datetime, reason: str) -> None: ...
    def releases(self, site: str | None = None) -> list[tuple[str, str, datetime, str]]: ...
    def availability(self, key: str, period: str) -> Decimal | None: ...


class InvoiceRepository(Protocol):
    def next_number(self, operator: str, kind: DocumentKind) -> str: ...
    def add(self, invoice: IssuedInvoice) -> None: ...
    def exists(self, agreement_key: str, period: str) -> bool: ...
    def get(self, number: str, *, for_update: bool = False) -> IssuedInvoice:
        """Raises NotFound. ``for_update`` locks the document until the transaction ends."""
        ...

    def list(self, agreement_key: str | None = None) -> list[IssuedInvoice]: ...


class AllocationRepository(Protocol):
    def rack_capacities(self, site: str) -> list[RackCapacity]: ...
    def busy(self, site: str) -> list[Busy]: ...
    def holds(self, kind: HolderKind, key: str) -> bool: ...
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
    ) -> int: ...
    def release_agreement(self, key: str, at: datetime) -> int:
        """End the agreement's holdings, spares included, at ``at`` (``changes.release``);
        returns the holdings changed."""
        ...

    def holdings(self, site: str, at: datetime | None = None) -> list[Holding]: ...
    def node_history(self, site: str, node: str) -> list[Stored]:
        """Every holding of the node, oldest first. Raises NotFound."""
        ...

    def held_by(self, site: str, kind: HolderKind, key: str) -> list[Stored]:
        """The holder's holdings at the site, in site order (hall, rack, node position)."""
        ...

    def apply(self, site: str, changes: HoldingChanges) -> int:
        """Apply changes the domain decided; Conflict if a node would have two holders."""
        ...

    def held_gpus(
        self, site: str, kind: HolderKind, key: str
    ) -> list[tuple[datetime, datetime | None, int]]:
        """The holder's holdings grouped by (start, end), each with its nodes' GPUs summed
        (now): a handful of rows where ``held_by`` gives one per node."""
        ...


class MeteringRecords(Protocol):
    """Maintenance windows, node failures and the holdings metering judges."""

    def add_window(self, site: str, window: Window, actor: str) -> int: ...
    def windows(self, site: str, during: Interval | None = None) -> list[Window]: ...
    def add_failure(
        self, site: str, node: str, holder: str, failed_at: datetime, swapped_at: datetime
    ) -> None: ...
    def failures(self, holder: str, during: Interval) -> list[Failure]: ...
    def held(self, site: str, holder: str, during: Interval) -> list[Held]:
        """The nodes ``holder`` (an agreement) holds during ``during``, spares not."""
        ...

    def nodes(self, site: str) -> list[tuple[str, int]]:
        """Every node of the site with its GPUs."""
        ...

    def holdings(
        self, site: str, during: Interval
    ) -> list[tuple[str, str, datetime, datetime | None]]:
        """Every holding overlapping ``during``: node, holder kind, start, end."""
        ...


class Meter(Protocol):
    """The metering queries over the telemetry store (DuckDB, or Spark): docs/METERING.md."""

    engine: str

    def prepare(self, site: str, during: Interval, critical_xids: frozenset[int]) -> None:
        """Make sure the rollups of the days ``during`` touches describe their samples."""
        ...

    def measure(self, site: str, plan: UnitPlan, grace_s: int) -> tuple[Observed, Usage]:
        """What telemetry says of the plan's segments, and the energy and utilisation of
        everything it held (segments, excluded and failed stretches alike)."""
        ...

    def explain(self, site: str, plan: UnitPlan, grace_s: int) -> list[DownRun]: ...
    def site_use(
        self,
        site: str,
        period: Interval,
        nodes: Sequence[tuple[str, int]],
        holdings: Sequence[tuple[str, datetime, datetime | None]],
        busy_util_ratio: Decimal,
    ) -> dict[int, tuple[int, int]]:
        """Per UTC hour (epoch µs): busy and idle GPU-µs of the nodes nobody holds."""
        ...

    def site_energy(self, site: str, period: Interval, nodes: Sequence[str]) -> SiteEnergy:
        """GPU board energy (mJ) of each of ``nodes`` in the UTC hours starting inside
        ``period`` (node-hour rollup), and how many of those hours any of them reported."""
        ...


class ApiKeyRepository(Protocol):
    def add(self, key: ApiKey) -> None: ...
    def find(self, key_id: str) -> ApiKey | None: ...
    def get(self, key_id: str) -> ApiKey:
        """NotFound if there is no such key."""
        ...

    def row_id(self, key_id: str) -> int: ...
    def all(self) -> list[ApiKey]: ...
    def revoke(self, key_id: str, at: datetime) -> None: ...


class EventLog(Protocol):
    """The outbox: events written in the transaction of the change they report."""

    def add(self, event: Event, recorded_at: datetime) -> RecordedEvent | None:
        """The event as stored; None when an event with its dedupe key is stored already."""
        ...

    def get(self, event_id: int) -> RecordedEvent:
        """Raises NotFound."""
        ...

    def list(
        self,
        *,
        tenant: str | None = None,
        kind: EventKind | None = None,
        agreement_key: str | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[RecordedEvent]:
        """Oldest first; ``since``: only events with a greater id."""
        ...


class WebhookRepository(Protocol):
    def add(
        self,
        *,
        url: str,
        secret: str,
        operator: str,
        tenant: str | None,
        kinds: frozenset[EventKind],
        created_at: datetime,
        actor: str,
    ) -> Webhook: ...
    def get(self, webhook_id: int) -> Webhook:
        """Raises NotFound (a removed webhook is still found)."""
        ...

    def list(self, *, tenant: str | None = None, removed: bool = False) -> list[Webhook]: ...
    def remove(self, webhook_id: int, at: datetime) -> None: ...


class DeliveryLog(Protocol):
    """One row per (webhook, event): its status and its last attempt."""

    def add(self, webhook_id: int, event_id: int, due_at: datetime) -> None: ...
    def claim_due(
        self, at: datetime, *, lease_until: datetime, limit: int
    ) -> list[tuple[Delivery, Webhook, RecordedEvent]]:
        """Pending deliveries due at ``at``, taken until ``lease_until`` (no other worker
        sends them meanwhile)."""
        ...

    def save(self, delivery: Delivery) -> None: ...
    def give_up(self, webhook_id: int, error: str) -> int: ...
    def list(
        self,
        *,
        webhook_id: int | None = None,
        status: DeliveryStatus | None = None,
        tenant: str | None = None,
        event_id: int | None = None,
        since: int | None = None,
        limit: int = 100,
    ) -> list[Delivery]: ...


class SessionRepository(Protocol):
    def add(self, session: WebSession) -> None: ...
    def find(self, token_sha256: str) -> WebSession | None: ...
    def remove(self, token_sha256: str) -> bool: ...


class IdempotencyKeys(Protocol):
    def find(self, api_key_id: int, key: str) -> StoredResponse | None: ...
    def reserve(self, api_key_id: int, key: str, pending: StoredResponse) -> StoredResponse | None:
        """Hold the key for a request now running (None), or what holds it already."""
        ...

    def complete(self, api_key_id: int, key: str, response: StoredResponse) -> None: ...
    def release(self, api_key_id: int, key: str) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: everything done inside is committed together or not at all."""

    @property
    def sites(self) -> SiteRepository: ...
    @property
    def audit(self) -> AuditLog: ...
    @property
    def agreements(self) -> AgreementRepository: ...
    @property
    def invoices(self) -> InvoiceRepository: ...
    @property
    def allocations(self) -> AllocationRepository: ...
    @property
    def metering(self) -> MeteringRecords: ...
    @property
    def api_keys(self) -> ApiKeyRepository: ...
    @property
    def events(self) -> EventLog: ...
    @property
    def webhooks(self) -> WebhookRepository: ...
    @property
    def deliveries(self) -> DeliveryLog: ...
    @property
    def sessions(self) -> SessionRepository: ...
    @property
    def idempotency(self) -> IdempotencyKeys: ...

    def write(self) -> Self:
        """This unit changes something: take the locks that keep concurrent writers from
        deciding on the same state. Only a writing unit may commit."""
        ...

    def __enter__(self) -> Self: ...
    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
    def commit(self) -> None: ...
    def savepoint(self) -> AbstractContextManager[None]:
        """A part of the transaction that an error inside undoes alone (SAVEPOINT): the
        rest stays, to be committed or not with the whole."""
        ...


class SampleBatch(Protocol):
    """Telemetry read from sources, ready for the store (its rows stay in the adapter)."""

    @property
    def sites(self) -> list[str]: ...
    @property
    def report(self) -> ReadReport: ...


class TelemetryStore(Protocol):
    """The Parquet store (docs/TELEMETRY.md): append-only, deduplicated per sample."""

    def append(self, batch: SampleBatch, known: dict[str, frozenset[str]]) -> WriteReport:
        """Write what the batch adds; ``known`` = each site's node names (others unmatched)."""
        ...

    def status(self) -> list[PartitionStatus]: ...


class Forecaster(Protocol):
    """Own demand forecast for one GPU model (statsmodels in ``adapters/forecast.py``)."""

    def forecast(
        self, site: str, gpu_model: str, history: Sequence[DemandPoint], months: int
    ) -> DemandForecast:
        """``months`` months after the last of ``history`` (consecutive months, oldest
        first), with intervals, the level shift found and a backtest."""
        ...


if TYPE_CHECKING:
    from neocloud.domain.economics.risk import RiskInputs, RiskResult


class RiskSimulator(Protocol):
    """Monte Carlo of walk-away risk (docs/RISK.md): the same seed gives the same result."""

    def simulate(self, inputs: RiskInputs, *, paths: int, seed: int) -> RiskResult: ...


class WebhookSender(Protocol):
    """POSTs one delivery (httpx in ``adapters/webhooks.py``), within a bounded timeout."""

    def send(self, url: str, body: bytes, headers: Mapping[str, str]) -> SendResult:
        """What the endpoint answered, or the error (refused, timed out) that stopped it."""
        ...
