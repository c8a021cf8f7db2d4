"""A month of telemetry written by hand, for the metering tests: site ``test-1`` with one
rack of two H100 nodes (``r0001-n01`` = A, ``r0001-n02`` = B, 8 GPUs each), held whole by
agreement ``deal-1`` in June 2027 (Chicago: 2027-06-01 05:00Z to 2027-07-01 05:00Z, 30 days,
43,200 minutes), one rollup row per node and minute except where the case says:

* A in maintenance for 8 hours from 2027-06-05 10:00Z, announced 72 h before (the SLA asks
  48): excluded; A silent meanwhile, which does not matter;
* B silent for 2 hours from 2027-06-12 14:00Z, during maintenance announced only 24 h
  before: not excluded; the first 5 minutes are the silence's grace;
* A failed from 2027-06-10 00:00Z to the swap 3 hours later (recorded): down, although its
  telemetry looks fine;
* A's GPU 3 reports Xid 79 for 600 minutes from 2027-06-20 00:00Z;
* B's GPU 7 is missing from its rows for 120 minutes from 2027-06-25 08:00Z.

Each minute's row carries 60,000,000 mJ per reporting GPU (1 kW), so energy is countable
by hand too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pyarrow as pa

from neocloud.adapters.telemetry.schema import NODE_MINUTES
from neocloud.adapters.telemetry.store import ROLLUP_DIR, ParquetStore
from neocloud.bootstrap import App
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreements, allocation, metering
from neocloud.services.context import Context
from tests import factories

START = datetime(2027, 6, 1, 5, tzinfo=UTC)
END = datetime(2027, 7, 1, 5, tzinfo=UTC)
A, B = "r0001-n01", "r0001-n02"
MAINTENANCE_A = (datetime(2027, 6, 5, 10, tzinfo=UTC), timedelta(hours=8))
SILENT_B = (datetime(2027, 6, 12, 14, tzinfo=UTC), timedelta(hours=2))
FAILED_A = (datetime(2027, 6, 10, tzinfo=UTC), timedelta(hours=3))
XID_A3 = (datetime(2027, 6, 20, tzinfo=UTC), timedelta(minutes=600))
MISSING_B7 = (datetime(2027, 6, 25, 8, tzinfo=UTC), timedelta(minutes=120))
FEE = Decimal("1234567.89")
MJ_PER_GPU_MINUTE = 60_000_000
SLA = {
    "availability_target": Decimal("0.999"),
    "measured_per": "gpu",
    "credit_tiers": [
        {"below": Decimal("0.999"), "credit_share": Decimal("0.05")},
        {"below": Decimal("0.996"), "credit_share": Decimal("0.10")},
        {"below": Decimal("0.99"), "credit_share": Decimal("0.30")},
    ],
    "maintenance_notice_hours": 48,
}


def inside(minute: datetime, stretch: tuple[datetime, timedelta]) -> bool:
    return stretch[0] <= minute < stretch[0] + stretch[1]


def rollup_rows(silences: bool = False) -> pa.Table:
    """Every minute of the month for A and B, as the case says."""
    minutes, nodes, reported, critical, energy = [], [], [], [], []
    minute = START
    while minute < END:
        for node in (A, B):
            if node == A and inside(minute, MAINTENANCE_A):
                continue
            if node == B and inside(minute, SILENT_B):
                continue
            mask, bad = 0xFF, 0
            if node == A and inside(minute, XID_A3):
                bad = 1 << 3
            if node == B and inside(minute, MISSING_B7):
                mask = 0x7F
            minutes.append(minute)
            nodes.append(node)
            reported.append(mask)
            critical.append(bad)
            energy.append(bin(mask).count("1") * MJ_PER_GPU_MINUTE)
        minute += timedelta(minutes=1)
    return table_of(minutes, nodes, reported, critical, energy, silences=silences)


def table_of(
    minutes: list[datetime],
    nodes: list[str],
    reported: list[int],
    critical: list[int],
    energy: list[int],
    site: str = "test-1",
    silences: bool = False,
) -> pa.Table:
    """Rollup rows of one minute each, with 1 kW and half utilisation per reporting GPU;
    ``silences``: with each row's silence before it, as a writer that knew the node's
    previous row writes it (else unknown, and metering works the silences out itself)."""
    count = len(minutes)
    silence: list[int | None] = [None] * count
    ended: dict[str, datetime] = {}
    for i in sorted(range(count), key=lambda i: (nodes[i], minutes[i])):
        was = ended.get(nodes[i])
        if silences and was is not None:
            silence[i] = int((minutes[i] - was).total_seconds())
        ended[nodes[i]] = minutes[i] + timedelta(minutes=1)
    return pa.table(
        {
            "minute": pa.array(minutes, pa.timestamp("us", tz="UTC")),
            "span_s": pa.array([60] * count, pa.int32()),
            "site": pa.DictionaryArray.from_arrays(
                pa.array([0] * count, pa.int32()), pa.array([site])
            ),
            "node": pa.array(nodes, pa.string()).dictionary_encode(),
            "gpus_reported": pa.array([bin(m).count("1") for m in reported], pa.int16()),
            "reported_mask": pa.array(reported, pa.int32()),
            "critical_xid_mask": pa.array(critical, pa.int32()),
            "xid_max": pa.array([79 if c else None for c in critical], pa.int32()),
            "energy_mj": pa.array(energy, pa.int64()),
            "energy_resets": pa.array([0] * count, pa.int16()),
            "power_w": pa.array([1000.0 * bin(m).count("1") for m in reported], pa.float32()),
            "util_ratio": pa.array([0.5] * count, pa.float32()),
            "samples": pa.array([1] * count, pa.int32()),
            "silence_before_s": pa.array(silence, pa.int32()),
        }
    ).cast(NODE_MINUTES)


def write_rollups(store: ParquetStore, silences: bool = False) -> None:
    table = rollup_rows(silences)
    days = pa.compute.strftime(table.column("minute"), format="%Y-%m-%d").to_pylist()
    for day in sorted(set(days)):
        rows = table.filter(pa.compute.equal(pa.array(days), day))
        store.write_file(ROLLUP_DIR, "test-1", day, rows, name="hand.parquet")


def setup(app: App, sla: dict[str, object] = SLA) -> Context:
    """The site, the agreement (signed, allocated), maintenance and the failure."""
    doc = factories.site_document("test-1", racks=1)
    doc["halls"][0]["rack_groups"][0]["nodes_per_rack"] = 2  # type: ignore[index]
    (site,) = parse_fleet(factories.fleet(doc))
    with app.uow().write() as uow:
        uow.sites.add(site)
        uow.commit()
    early = Context("ops", FixedClock(datetime(2027, 5, 1, tzinfo=UTC)))
    deal = factories.agreement_document(
        "deal-1", capacity={"gpus": 16, "gpu_model": "H100"}, monthly_fee=FEE, sla=sla
    )
    agreements.create_agreement(app.uow(), early, SourceDocument("d.yaml", deal))
    agreements.sign_agreement(app.uow(), early, "deal-1", datetime(2026, 12, 1, tzinfo=UTC))
    allocation.apply_for_agreement(app.uow(), early, "deal-1")
    for node, (start, length), ahead in ((A, MAINTENANCE_A, 72), (B, SILENT_B, 24)):
        then = Context("ops", FixedClock(start - timedelta(hours=ahead)))
        metering.announce_maintenance(
            app.uow(), then, "test-1", [node], start=start, end=start + length, reason="fw"
        )
    with app.uow().write() as uow:
        uow.metering.add_failure("test-1", A, "deal-1", FAILED_A[0], FAILED_A[0] + FAILED_A[1])
        uow.commit()
    return Context("finance", FixedClock(datetime(2027, 7, 2, tzinfo=UTC)))
