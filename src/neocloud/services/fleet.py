"""Fleet use cases: import a fleet description, export it back, summarise what is installed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from neocloud.domain.fleet.capacity import SiteSummary, hall_totals
from neocloud.domain.fleet.export import fleet_document
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import Conflict
from neocloud.services.observability import use_case

if TYPE_CHECKING:  # protocols for type checking only: importing them costs start-up time
    from neocloud.services.context import Context
    from neocloud.services.ports import UnitOfWork


@dataclass(frozen=True)
class ImportReport:
    sites: tuple[SiteSummary, ...]
    replaced: tuple[str, ...]


@use_case("fleet.import")
def import_fleet(
    uow: UnitOfWork, ctx: Context, doc: SourceDocument, *, replace: bool = False
) -> ImportReport:
    """Validate the whole document, then write every site in one transaction.

    A site that already exists is a conflict unless ``replace`` is set, in which case its
    header, halls, racks and nodes are replaced by the file's, in place: agreements that
    name the site keep naming it. Either all sites are written or none.
    """
    sites = parse_fleet(doc)
    with uow.write():
        existing = tuple(s.name for s in sites if uow.sites.exists(s.name))
        if existing and not replace:
            raise Conflict(
                f"site(s) {', '.join(existing)} already exist; "
                "import again replacing them to change their halls, racks and nodes"
            )
        summaries = []
        for site in sites:
            if site.name in existing:
                uow.sites.replace(site)
            else:
                uow.sites.add(site)
            summary = SiteSummary(site, hall_totals(site))
            summaries.append(summary)
            uow.audit.record(
                ctx.audit(
                    "fleet.replace" if site.name in existing else "fleet.import",
                    "site",
                    site.name,
                    {
                        "source": doc.name,
                        "halls": len(site.halls),
                        "racks": summary.racks,
                        "nodes": summary.nodes,
                        "gpus": summary.gpus,
                    },
                )
            )
        uow.commit()
    return ImportReport(tuple(summaries), existing)


@use_case("fleet.export")
def export_fleet(uow: UnitOfWork, names: list[str] | None = None) -> dict[str, object]:
    """The fleet document for ``names`` (all sites if None); parsing it rebuilds the sites."""
    with uow:
        return fleet_document(uow.sites.get(n) for n in (names or uow.sites.names()))


@use_case("fleet.summaries")
def fleet_summaries(uow: UnitOfWork, names: list[str] | None = None) -> list[SiteSummary]:
    with uow:
        return [uow.sites.summary(n) for n in (names or uow.sites.names())]
