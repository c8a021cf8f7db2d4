"""Plain typed factories for domain objects, with fixed values and aware-UTC dates."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import CapacityAgreement
from neocloud.domain.fleet.inventory import Hall, Location, Node, Rack, Site
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.money import Money


def node(
    name: str, model: str = "H100", gpus: int = 8, rated: str = "10.2", typical: str = "7.28"
) -> Node:
    return Node(name, model, gpus, Decimal(rated), Decimal(typical))


def rack(name: str, nodes: int = 8, budget: str = "82", model: str = "H100") -> Rack:
    return Rack(
        name, Decimal(budget), tuple(node(f"{name}-n{j:02d}", model) for j in range(1, nodes + 1))
    )


def site(name: str = "test-1", halls: tuple[Hall, ...] = (), **changes: object) -> Site:
    fields: dict[str, object] = {
        "name": name,
        "display_name": "Test site",
        "location": Location("Memphis", "TN", "US"),
        "timezone": "America/Chicago",
        "facility_capacity_kw": Decimal(10_000),
        "pue": Decimal("1.2"),
        "electricity_price_per_mwh": Money(Decimal("67.90"), "USD"),
        "grid_carbon_kg_per_mwh": Decimal("283.47"),
        "halls": halls,
    }
    fields.update(changes)
    return Site(**fields)  # type: ignore[arg-type]


def site_document(name: str = "test-1", racks: int = 2, **changes: object) -> dict[str, object]:
    """A minimal valid site in the fleet format: one hall of ``racks`` H100 racks."""
    doc: dict[str, object] = {
        "name": name,
        "timezone": "America/Chicago",
        "facility_capacity_mw": Decimal(10),
        "pue": Decimal("1.2"),
        "electricity_price": {"per_mwh": Decimal("67.90"), "currency": "USD"},
        "grid_carbon_kg_per_mwh": Decimal("283.47"),
        "halls": [
            {
                "name": "hall-1",
                "rack_groups": [
                    {
                        "prefix": "r",
                        "count": racks,
                        "power_budget_kw": 82,
                        "node": {"gpu_model": "H100"},
                    }
                ],
            }
        ],
    }
    doc.update(changes)
    return doc


def fleet(*sites: dict[str, object]) -> SourceDocument:
    return SourceDocument("test.yaml", {"version": 1, "sites": list(sites)})


def agreement_document(key: str = "deal-1", /, **changes: object) -> dict[str, object]:
    """A small valid agreement on site test-1: USD 1,000,000.00 a month for 2027."""
    doc: dict[str, object] = {
        "key": key,
        "operator": "neocloud",
        "tenant": "lab-a",
        "site": "test-1",
        "capacity": {"facility_mw": Decimal(10)},
        "term": {"start": "2027-01-01", "end": "2028-01-01"},
        "billing_timezone": "America/Chicago",
        "currency": "USD",
        "monthly_fee": Decimal("1000000.00"),
        "termination": {"notice_days": 90, "may_give_notice": ["operator", "tenant"]},
    }
    doc.update(changes)
    return {"version": 1, "agreement": doc}


def signed_agreement(**changes: object) -> CapacityAgreement:
    terms = parse_terms(SourceDocument("test.yaml", agreement_document(**changes)))
    agreement = CapacityAgreement.draft(terms, at=SIGNED_AT, actor="tester")
    agreement.sign(SIGNED_AT)
    return agreement


SIGNED_AT = datetime(2026, 12, 1, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money(Decimal(amount), "USD")


def shared_fixture(name: str) -> Path:
    """A capture from the project's shared fixtures (``shared/fixtures/NAME``), in the
    checkout or a folder above it (``../shared``; mutation testing runs from a copy one
    level down), or where ``NEOCLOUD_SHARED_DIR`` says. Missing, the tests that read it fail
    naming the place (a test of real data is not skipped)."""
    here = Path(__file__).resolve()
    places = [folder / "shared" for folder in here.parents]
    if os.environ.get("NEOCLOUD_SHARED_DIR"):
        places.insert(0, Path(os.environ["NEOCLOUD_SHARED_DIR"]))
    for place in places:
        if (place / "fixtures" / name).is_dir():
            return place / "fixtures" / name
    return here.parents[2] / "shared" / "fixtures" / name
