"""What an ingest did, counted in samples (one metric's value for one GPU at one instant).

    read       = kept + duplicate        (samples that parsed and passed validation)
    rejected   lines (or rows) refused, each with its source, line number and reason
    unmatched  kept samples whose host the fleet does not know (kept all the same)
    conflicting  duplicates whose value differs from the one stored (the stored one stays)
    ignored    series outside the store's schema, counted by name (DCGM's other fields)

Nothing is dropped without a count: every line of the input is a kept, duplicate,
rejected or ignored sample, a comment, or blank.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

MAX_LISTED = 100  # rejected lines and unmatched hosts listed one by one; all are counted


@dataclass(frozen=True, slots=True)
class Rejected:
    source: str
    line: int  # 1-based line (or row) number in the source; 0 for the whole source
    reason: str
    text: str = ""

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        shown = f": {self.text[:80]!r}" if self.text else ""
        return f"{where}: {self.reason}{shown}"


@dataclass
class ReadReport:
    """What reading sources found, before the store was asked."""

    sources: list[str] = field(default_factory=list)
    samples: int = 0
    duplicate: int = 0  # the same sample again within what was read
    conflicting: int = 0  # ... with a different value (the first one read stays)
    rejected: list[Rejected] = field(default_factory=list)
    rejected_count: int = 0
    ignored: Counter[str] = field(default_factory=Counter)

    def reject(self, source: str, line: int, reason: str, text: str = "") -> None:
        self.rejected_count += 1
        if len(self.rejected) < MAX_LISTED:
            self.rejected.append(Rejected(source, line, reason, text))

    def merge(self, other: ReadReport) -> None:
        self.sources.extend(other.sources)
        self.samples += other.samples
        self.duplicate += other.duplicate
        self.conflicting += other.conflicting
        self.rejected_count += other.rejected_count
        room = MAX_LISTED - len(self.rejected)
        self.rejected.extend(other.rejected[: max(room, 0)])
        self.ignored.update(other.ignored)


@dataclass(frozen=True, slots=True)
class Partition:
    site: str
    day: str  # YYYY-MM-DD, UTC
    rows: int
    file: str  # the file written, relative to the store
    nodes: frozenset[str] = frozenset()  # the hosts of the rows written
    first: datetime | None = None  # their first and last sample
    last: datetime | None = None


@dataclass(frozen=True, slots=True)
class Late:
    """Telemetry written for a month already invoiced, for nodes the agreement held then:
    kept, and flagged, since metering the month again may now propose a credit note."""

    agreement: str
    period: str
    invoice: str
    day: str
    nodes: int  # nodes of the agreement's with samples written for that day


@dataclass
class WriteReport:
    """What the store did with the samples it was given."""

    kept: int = 0
    duplicate: int = 0
    conflicting: int = 0
    unmatched: int = 0
    unmatched_hosts: set[str] = field(default_factory=set)
    partitions: list[Partition] = field(default_factory=list)

    def merge(self, other: WriteReport) -> None:
        self.kept += other.kept
        self.duplicate += other.duplicate
        self.conflicting += other.conflicting
        self.unmatched += other.unmatched
        self.unmatched_hosts |= other.unmatched_hosts
        self.partitions.extend(other.partitions)


@dataclass(frozen=True, slots=True)
class IngestReport:
    read: ReadReport
    written: WriteReport
    late: tuple[Late, ...] = ()

    @property
    def clean(self) -> bool:
        """Nothing was rejected."""
        return self.read.rejected_count == 0

    def as_dict(self) -> dict[str, object]:
        r, w = self.read, self.written
        return {
            "sources": r.sources,
            "samples_read": r.samples,
            "kept": w.kept,
            "duplicate": r.duplicate + w.duplicate,
            "conflicting": r.conflicting + w.conflicting,
            "rejected": r.rejected_count,
            "unmatched": w.unmatched,
            "unmatched_hosts": sorted(w.unmatched_hosts)[:MAX_LISTED],
            "unmatched_host_count": len(w.unmatched_hosts),
            "ignored": dict(sorted(r.ignored.items())),
            "rejected_lines": [
                {"source": x.source, "line": x.line, "reason": x.reason, "text": x.text}
                for x in r.rejected
            ],
            "partitions": [
                {"site": p.site, "day": p.day, "rows": p.rows, "file": p.file} for p in w.partitions
            ],
            "late": [
                {
                    "agreement": x.agreement,
                    "period": x.period,
                    "invoice": x.invoice,
                    "day": x.day,
                    "nodes": x.nodes,
                }
                for x in self.late
            ],
        }


@dataclass(frozen=True, slots=True)
class PartitionStatus:
    """What the store holds for one site and UTC day."""

    site: str
    day: str
    files: int
    rows: int
    nodes: int
    first: datetime | None
    last: datetime | None
    bytes: int
