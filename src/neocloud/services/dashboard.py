"""Read models of the dashboard's pages, from the same use cases the CLI calls.

- ``site_use_by_month``: a site's GPU-hours by use per local month (``metering.site_use``
  hour by hour, summed): leased (agreements), internal (the operator's busy pool), idle
  (reporting, not busy), and the rest (spare, maintenance, unreported).
- ``agreement_usage``: an agreement's months: GPU-hours its holdings held (allocation
  history x the nodes' GPUs), the availability recorded, the SLA's credit share at it, and
  the SLA credits its invoices carried.
- ``FiguresMemo``: the slow figures (a site's use by month, its economics) kept until
  the database or the telemetry store changes.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, TypeVar

from neocloud.domain.allocation.planner import HolderKind
from neocloud.domain.billing.drafts import LineKind
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.economics.site_report import months_between
from neocloud.domain.kernel.instants import Interval
from neocloud.services import metering
from neocloud.services.observability import use_case

if TYPE_CHECKING:
    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.domain.metering.availability import AvailabilityRules
    from neocloud.services.ports import Meter, UnitOfWork

T = TypeVar("T")
BUSY_UTIL_RATIO = Decimal("0.05")  # as `metering site` and the economics report
SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class UseMonth:
    """GPU-hours of one local month by use; ``other`` = spare + maintenance + unreported."""

    period: str
    installed: Decimal
    leased: Decimal
    internal: Decimal
    idle: Decimal
    other: Decimal


@use_case("dashboard.site_use")
def site_use_by_month(
    uow: UnitOfWork,
    meter: Meter,
    site: str,
    *,
    first: str,
    last: str,
    rules: AvailabilityRules,
) -> list[UseMonth]:
    """Months ``first`` to ``last`` (YYYY-MM in the site's zone) of the site's GPU-hours."""
    with uow:
        tz = uow.sites.header(site).timezone  # NotFound: no such site
    periods = months_between(BillingPeriod.parse(first, tz, "from"),
                             BillingPeriod.parse(last, tz, "to"))  # fmt: skip
    out = []
    for period in periods:
        hours = metering.site_use(uow, meter, site, period.interval, BUSY_UTIL_RATIO, rules=rules)
        total: dict[str, Decimal] = defaultdict(Decimal)
        for h in hours:
            for name in ("installed", "leased", "internal", "idle", "spare", "maintenance",
                         "unreported"):  # fmt: skip
                total[name] += getattr(h, name)
        other = total["spare"] + total["maintenance"] + total["unreported"]
        out.append(UseMonth(period.label, total["installed"], total["leased"],
                            total["internal"], total["idle"], other))  # fmt: skip
    return out


@dataclass(frozen=True, slots=True)
class UsageMonth:
    period: str
    held_gpu_hours: Decimal
    availability_ratio: Decimal | None  # recorded for the month, None if not
    credit_share: Decimal | None  # what the SLA credits at that availability
    credited: Decimal  # SLA credit lines on the month's invoices (negative or 0)


@dataclass(frozen=True, slots=True)
class AgreementUsage:
    agreement: CapacityAgreement
    months: list[UsageMonth]
    gpus_held_now: int


@dataclass(frozen=True, slots=True)
class UsageFacts:
    """What an agreement's usage is made of, as stored: the agreement, its holdings as
    (start, end, GPUs) spans, the availability recorded per month and the SLA credits its
    invoices carried per month. Small (a handful of spans), so it can be kept."""

    agreement: CapacityAgreement
    spans: tuple[tuple[datetime, datetime | None, int], ...]
    recorded: Mapping[str, Decimal]
    credited: Mapping[str, Decimal]


class UsageMemo:
    """The last ``UsageFacts`` read per agreement, under the data version they were read at.

    Why this is correct: every change is audited in its own transaction, the audit entry
    committed with it (allocation: apply, release, node failures and swaps, termination;
    availability, by hand or metered at the close; invoices and notes; signing, amending,
    notice; fleet imports), so a change of anything the usage reads changes the audit
    log's version, ``(entries, newest id)``, and the facts kept under the old one are
    never used again. The count is in the version because PostgreSQL takes ids at insert
    and shows rows at commit: a transaction that took id 10 may commit after the one that
    took id 11, which the newest id alone would not show. The version is read before the
    facts, so facts kept are never older than their version (at worst newer, which only
    costs a read the next time). ``now`` is not part of the key: the months and the GPUs
    held now are computed from the facts on every call (microseconds).

    Why memoize at all: the reference lease holds 27,000 nodes; reading its holdings node
    by node took 0.7-1.1 s a call on the 2-core machine, and even grouped in SQL
    (``held_gpus``: three rows) a read costs a join over those rows, 24-40 ms, too much at
    100 reads a second; kept, a call is 0.3-0.5 ms. A version
    check is one indexed aggregate. One memo per application (per database): versions of
    two databases say nothing about each other."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._kept: dict[str, tuple[tuple[int, int], UsageFacts]] = {}

    def get(self, key: str, version: tuple[int, int]) -> UsageFacts | None:
        with self._lock:
            kept = self._kept.get(key)
        return kept[1] if kept is not None and kept[0] == version else None

    def put(self, key: str, version: tuple[int, int], facts: UsageFacts) -> None:
        with self._lock:
            if len(self._kept) >= self._size and key not in self._kept:
                self._kept.clear()  # rarely: more agreements read than kept
            self._kept[key] = (version, facts)


def _usage_facts(uow: UnitOfWork, key: str) -> UsageFacts:
    """Inside the caller's unit. The holdings are summed in SQL by (start, end): GPU-hours
    are linear in the spans, so sum over groups of GPUs x overlap equals the sum over the
    nodes, and a handful of rows come back instead of one per node."""
    agreement = uow.agreements.get(key)  # NotFound
    spans = uow.allocations.held_gpus(agreement.terms.site, HolderKind.AGREEMENT, key)
    recorded = {p: r for p, r, _ in uow.agreements.availabilities(key)}
    credited: dict[str, Decimal] = defaultdict(Decimal)
    for invoice in uow.invoices.list(key):
        for line in invoice.lines:
            if line.kind is LineKind.SLA_CREDIT and invoice.period is not None:
                credited[invoice.period] += line.amount
    return UsageFacts(agreement, tuple(spans), recorded, dict(credited))


@use_case("dashboard.agreement_usage")
def agreement_usage(
    uow: UnitOfWork, key: str, now: datetime, memo: UsageMemo | None = None
) -> AgreementUsage:
    """The agreement's months from its term's start to the month of ``now`` (at most its
    service end): GPU-hours held, availability, SLA credit share and credits billed.
    ``memo``: keep what was read until the data changes (``UsageMemo``)."""
    with uow:
        version = uow.audit.version() if memo is not None else (0, 0)
        facts = memo.get(key, version) if memo is not None else None
        if facts is None:
            facts = _usage_facts(uow, key)
            if memo is not None:
                memo.put(key, version, facts)
    agreement = facts.agreement
    tz, sla = agreement.terms.billing_timezone, agreement.terms.sla
    last = BillingPeriod.containing(min(now, agreement.service_end), tz)
    first = BillingPeriod.containing(agreement.terms.term.start, tz)
    months = []
    for period in months_between(first, last) if first.start <= last.start else []:
        ratio = facts.recorded.get(period.label)
        months.append(
            UsageMonth(
                period.label,
                _held_hours(facts.spans, period.interval),
                ratio,
                None if ratio is None or sla is None else sla.credit_share(ratio),
                facts.credited.get(period.label, Decimal(0)),
            )
        )
    now_held = sum(
        g for begin, end, g in facts.spans if begin <= now and (end is None or now < end)
    )
    return AgreementUsage(agreement, months, now_held)


def _held_hours(
    spans: Iterable[tuple[datetime, datetime | None, int]], during: Interval
) -> Decimal:
    """GPU-hours the spans held during ``during`` (whole seconds: holdings start and end
    on them)."""
    total = Decimal(0)
    for begin, finish, gpus in spans:
        start, end = max(begin, during.start), min(finish or during.end, during.end)
        if start < end:
            span = end - start
            total += gpus * Decimal(span.days * 86_400 + span.seconds) / SECONDS_PER_HOUR
    return total


@dataclass(frozen=True, slots=True)
class DataVersion:
    """What figures computed from the database and the telemetry store depend on: the
    audit log's version (``UsageMemo``: every change of the database is audited) and the
    store's (its visible files; each is written once and never changed, so the same files
    hold the same samples and rollups)."""

    audit: tuple[int, int]
    telemetry: Hashable


def data_version(uow: UnitOfWork, telemetry: Hashable) -> DataVersion:
    """The version now; ``telemetry``: the store's version, read by the caller before."""
    with uow:
        return DataVersion(uow.audit.version(), telemetry)


class FiguresMemo:
    """Figures that take seconds to compute (a site's use by month reads every node's
    telemetry hour by hour), kept per key under the ``DataVersion`` they were computed at.

    The version is read before the figures are computed, so figures kept are never older
    than their version (``UsageMemo``'s argument); a figure kept under any other version
    is never used. One computation per key at a time: a second request for the same key
    waits for the first one's result instead of computing it again (a thread each).
    Nothing of ``now`` may enter a figure kept here (the callers' keys hold the months)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._key_locks: dict[Hashable, threading.Lock] = {}
        self._kept: dict[Hashable, tuple[DataVersion, object]] = {}

    def get(self, key: Hashable, version: DataVersion, compute: Callable[[], T]) -> T:
        """The figures kept under ``key`` at ``version``, else ``compute()``'s, kept."""
        with self._lock:
            key_lock = self._key_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                kept = self._kept.get(key)
            if kept is not None and kept[0] == version:
                return kept[1]  # type: ignore[return-value]
            value = compute()
            with self._lock:
                if len(self._kept) >= self._size and key not in self._kept:
                    self._kept.clear()  # rarely: more pages and ranges viewed than kept
                self._kept[key] = (version, value)
            return value
