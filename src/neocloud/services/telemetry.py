"""Telemetry use cases: ingest what sources produced into the store, matching hosts against
the fleet; say what the store holds. Reading sources (pages, files, NVML, HTTP) is the
adapters' work, wired by ``bootstrap``; the store is reached through ``ports``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from neocloud.domain.billing.invoices import DocumentKind
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.kernel.errors import InvalidInput, NotFound
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.metering.report import IngestReport, Late, Partition

if TYPE_CHECKING:
    from neocloud.domain.metering.report import PartitionStatus
    from neocloud.services.ports import SampleBatch, TelemetryStore, UnitOfWork


def resolve_site(uow: UnitOfWork, site: str | None) -> str:
    """The site samples belong to: the one named (it must exist), or the fleet's only one."""
    with uow:
        if site is not None:
            if not uow.sites.exists(site):
                raise NotFound(f"site {site!r} does not exist")
            return site
        names = uow.sites.names()
    if len(names) == 1:
        return names[0]
    if not names:
        raise NotFound("no sites yet: import the fleet first (`neocloud fleet import FILE`)")
    raise InvalidInput.single(
        "--site", None, f"the fleet has {len(names)} sites ({', '.join(names)}): name one"
    )


def known_nodes(uow: UnitOfWork, sites: list[str]) -> dict[str, frozenset[str]]:
    """Each site's node names; a site the fleet does not have knows no node."""
    with uow:
        return {
            site: uow.sites.node_names(site) if uow.sites.exists(site) else frozenset()
            for site in sites
        }


def ingest(uow: UnitOfWork, store: TelemetryStore, batch: SampleBatch) -> IngestReport:
    """Store what the batch adds (duplicates once, unknown hosts kept and counted), and
    flag what landed in months already invoiced."""
    known = known_nodes(uow, batch.sites)
    written = store.append(batch, known)
    return IngestReport(batch.report, written, tuple(late(uow, written.partitions)))


def late(uow: UnitOfWork, partitions: list[Partition]) -> list[Late]:
    """The invoiced months that samples just written fall in, for nodes their agreement
    held when the samples were taken (the invoice stands; metering the month again says
    what a credit or debit note would change)."""
    if not partitions:
        return []
    flagged = []
    with uow:
        invoices = [d for d in uow.invoices.list() if d.kind is DocumentKind.INVOICE and d.period]
        terms = {key: uow.agreements.get(key).terms for key in {d.agreement_key for d in invoices}}
        for p in partitions:
            if p.first is None or p.last is None:
                continue
            written = Interval(p.first, p.last + timedelta(microseconds=1))
            for invoice in invoices:
                t = terms[invoice.agreement_key]
                month = BillingPeriod.parse(str(invoice.period), t.billing_timezone).interval
                overlap = month.intersection(written)
                if t.site != p.site or overlap is None:
                    continue
                held = {h.node for h in uow.metering.held(p.site, invoice.agreement_key, overlap)}
                if held & p.nodes:
                    flagged.append(
                        Late(invoice.agreement_key, str(invoice.period), invoice.number, p.day,
                             len(held & p.nodes))
                    )  # fmt: skip
    return flagged


def status(store: TelemetryStore) -> list[PartitionStatus]:
    return store.status()


@dataclass(frozen=True, slots=True)
class SimulatedNode:
    name: str
    gpu_model: str
    gpus: int
    tdp_w: float  # float: the simulator's model, nowhere near money


def simulation_fleet(uow: UnitOfWork, site: str) -> tuple[list[SimulatedNode], str]:
    """The site's nodes as the simulator needs them (in site order), and its time zone."""
    with uow:
        whole = uow.sites.get(site)
    catalog = whole.catalog()
    nodes = [
        SimulatedNode(n.name, n.gpu_model, n.gpu_count, float(catalog[n.gpu_model].gpu_tdp_w))
        for _, _, n in whole.nodes()
        if n.gpu_count > 0
    ]
    return nodes, whole.timezone
