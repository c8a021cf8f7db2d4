"""A small world for the API on each database: one site of four racks, two tenants with
one signed, allocated, invoiced agreement each, and an API key per role."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from neocloud.api.app import create_app
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import access, agreements, allocation, billing, events, webhooks
from neocloud.services.context import Context
from tests import factories

BUSINESS_NOW = datetime(2027, 3, 2, 12, 0, tzinfo=UTC)  # January and February 2027 closed
WALL_NOW = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)  # the system clock: keys, audit
SIGNED = datetime(2026, 12, 1, tzinfo=UTC)
ROLES = ("admin", "operator", "finance", "auditor")


@dataclass
class World:
    app: App
    client: TestClient
    keys: dict[str, str]  # admin, operator, finance, auditor, lab-a, lab-b -> key text
    invoices: dict[str, list[str]]  # agreement key -> invoice numbers
    webhooks: dict[str, int]  # lab-b (its own), operator (every event) -> webhook id
    events: dict[str, list[int]]  # tenant -> its event ids

    def as_(self, who: str) -> dict[str, str]:
        """Headers of a request by ``who``, its body (if any) sent as JSON."""
        return {"Authorization": f"Bearer {self.keys[who]}", "Content-Type": "application/json"}


def deal(key: str, tenant: str) -> SourceDocument:
    doc = factories.agreement_document(
        key, tenant=tenant, capacity={"gpus": 16, "gpu_model": "H100"}
    )
    return SourceDocument(f"{key}.yaml", doc)


def build(app: App) -> World:
    doc = factories.site_document("test-1", racks=4)
    doc["halls"][0]["rack_groups"][0]["nodes_per_rack"] = 2  # type: ignore[index]
    (site,) = parse_fleet(factories.fleet(doc))
    with app.uow().write() as uow:
        uow.sites.add(site)
        uow.commit()
    ops = Context("setup", FixedClock(SIGNED), wall=app.wall)
    hooks = {  # before the events, so that each gets its deliveries
        "lab-b": webhooks.add_webhook(
            app.uow(), ops, url="https://hooks.lab-b.example/neocloud", tenant="lab-b"
        )[0].id,
        "operator": webhooks.add_webhook(app.uow(), ops, url="http://127.0.0.1:9/ops")[0].id,
    }
    for key, tenant in (("deal-a", "lab-a"), ("deal-b", "lab-b")):
        agreements.create_agreement(app.uow(), ops, deal(key, tenant))
        agreements.sign_agreement(app.uow(), ops, key, SIGNED)
        allocation.apply_for_agreement(app.uow(), ops, key)
    later = Context("setup", app.clock, wall=app.wall)
    for month in ("2027-01", "2027-02"):
        billing.close_month(app.uow(), later, month)
    keys = {}
    for role in ROLES:
        keys[role] = access.create_key(app.uow(), later, role=role, label=f"{role} key")[1]
    for tenant in ("lab-a", "lab-b"):
        keys[tenant] = access.create_key(
            app.uow(), later, role="tenant", tenant=tenant, label=f"{tenant} key"
        )[1]
    invoices: dict[str, list[str]] = {}
    for invoice in billing.list_invoices(app.uow()):
        invoices.setdefault(invoice.agreement_key, []).append(invoice.number)
    found: dict[str, list[int]] = {}
    for event in events.list_events(app.uow(), limit=1000):
        found.setdefault(event.event.tenant or "", []).append(event.id)
    return World(app, TestClient(create_app(app)), keys, invoices, hooks, found)


@pytest.fixture
def api_app(database_url: str, tmp_path: Path) -> Iterator[App]:
    application = App(
        Settings(home=tmp_path, database_url=database_url, actor="tester"),
        FixedClock(BUSINESS_NOW),
        FixedClock(WALL_NOW),
    )
    yield application
    application.close()


@pytest.fixture
def world(api_app: App) -> Iterator[World]:
    built = build(api_app)
    with built.client:
        yield built


def as_json(data: object) -> str:
    """JSON with exact numbers written as JSON numbers (``1000000.00``, not a string)."""

    def mark(value: object) -> str:
        if isinstance(value, Decimal):
            return f"__decimal__{value}"
        raise TypeError(type(value).__name__)

    return re.sub(r'"__decimal__([-0-9.]+)"', r"\1", json.dumps(data, default=mark))


def new_deal(key: str = "deal-c", tenant: str = "lab-a", **changes: object) -> str:
    """A valid agreement document as a JSON request body."""
    doc = factories.agreement_document(
        key, tenant=tenant, capacity={"gpus": 16, "gpu_model": "H100"}, **changes
    )
    return as_json(doc)
