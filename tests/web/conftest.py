"""The dashboard's test world: one site, two tenants with an agreement each, invoices,
usage, and a key per role; the dashboard served by a FastAPI app built here (as the API's
``create_app`` will: ``state.neocloud`` and the router at the root).

Site test-1 (America/Chicago): 3 racks of 8 nodes of 8 H100 = 192 GPUs. deal-a (tenant
lab-a): 64 GPUs, USD 100,000.00 a month, a 99 % SLA crediting 10 % below it; January
2027 recorded at 98.5 %. deal-b (tenant lab-b): 64 GPUs, USD 200,000.00 a month, January
at half capacity and half price; the tenant gives notice on 2027-03-01. Both run 2027;
each holds one rack from 2027-01-01; January and February 2027 are invoiced.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from neocloud.bootstrap import App
from neocloud.domain.agreements.model import Party
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import access, agreements, allocation, billing
from neocloud.services.context import Context
from neocloud.services.dashboard import FiguresMemo, UsageMemo
from neocloud.web import router
from tests import factories

BUSINESS_NOW = datetime(2027, 3, 10, 12, tzinfo=UTC)
WALL_NOW = datetime(2026, 6, 1, 9, tzinfo=UTC)
SIGNED = datetime(2026, 12, 1, tzinfo=UTC)
NOTICE_AT = datetime(2027, 3, 1, 6, tzinfo=UTC)  # midnight in Chicago (CST)
ROLES = ("admin", "operator", "finance", "auditor")


@dataclass
class World:
    app: App
    wall: FixedClock
    keys: dict[str, str]  # role (or "lab-a", "lab-b" for the tenants) -> key text
    key_ids: dict[str, str]
    invoices: dict[str, list[str]]  # tenant -> invoice numbers


def fastapi_app(app: App) -> FastAPI:
    web = FastAPI()
    web.state.neocloud = app
    web.state.usage_memo = UsageMemo()  # as create_app: every page is seen through its memos
    web.state.figures_memo = FiguresMemo()
    web.include_router(router)
    return web


def _site(app: App) -> None:
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1", racks=3)))
    with app.uow().write() as uow:
        uow.sites.add(site)
        uow.commit()


def _deals(app: App, ctx: Context) -> None:
    gpus = {"gpus": 64, "gpu_model": "H100"}
    deal_a = factories.agreement_document(
        "deal-a", tenant="lab-a", capacity=gpus, monthly_fee=Decimal("100000.00"),
        sla={"availability_target": Decimal("0.99"),
             "credit_tiers": [{"below": Decimal("0.99"), "credit_share": Decimal("0.10")}]},
    )  # fmt: skip
    deal_b = factories.agreement_document(
        "deal-b", tenant="lab-b", capacity=gpus, monthly_fee=Decimal("200000.00"),
        ramp=[{"start": "2027-01-01", "end": "2027-02-01", "capacity_share": Decimal("0.5"),
               "price_factor": Decimal("0.5")}],
    )  # fmt: skip
    for doc in (deal_a, deal_b):
        agreement = agreements.create_agreement(app.uow(), ctx, SourceDocument("t.yaml", doc))
        agreements.sign_agreement(app.uow(), ctx, agreement.key, SIGNED)
        allocation.apply_for_agreement(app.uow(), ctx, agreement.key)
    agreements.record_availability(app.uow(), ctx, "deal-a", "2027-01", Decimal("0.985"))
    billing.close_month(app.uow(), ctx, "2027-02")
    agreements.give_notice(app.uow(), ctx, "deal-b", by=Party.TENANT, at=NOTICE_AT)


def build_world(app: App) -> World:
    wall = FixedClock(WALL_NOW)
    app.clock, app.wall = FixedClock(BUSINESS_NOW), wall
    ctx = Context("tester", app.clock, wall)
    _site(app)
    _deals(app, ctx)
    keys, ids = {}, {}
    for role in ROLES:
        key, text = access.create_key(app.uow(), ctx, role=role, label=f"{role} person")
        keys[role], ids[role] = text, key.key_id
    for tenant in ("lab-a", "lab-b"):
        key, text = access.create_key(
            app.uow(), ctx, role="tenant", tenant=tenant, label=f"{tenant} person"
        )
        keys[tenant], ids[tenant] = text, key.key_id
    numbers: dict[str, list[str]] = {"lab-a": [], "lab-b": []}
    for invoice in billing.list_invoices(app.uow()):
        numbers[invoice.tenant].append(invoice.number)
    return World(app, wall, keys, ids, numbers)


@pytest.fixture
def world(app: App) -> World:
    return build_world(app)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def served(world: World) -> Iterator[str]:
    """The dashboard on a real HTTP server on loopback (uvicorn in a thread): its URL."""
    port = free_port()
    config = uvicorn.Config(fastapi_app(world.app), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="off")  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    while not server.started and thread.is_alive():
        started.wait(0.01)  # the server's own start flag; no fixed sleep
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


class Visitor:
    """An HTTP client on the served dashboard that keeps its cookies by hand: the cookies
    are ``Secure``, which a cookie jar would not send over the loopback's plain HTTP
    (Chromium does: 127.0.0.1 is a secure context)."""

    def __init__(self, url: str) -> None:
        self.http = httpx.Client(base_url=url, follow_redirects=False, timeout=30)
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []  # every Set-Cookie header seen, as sent

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = dict(kwargs.pop("headers", {}))
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = self.http.request(method, path, headers=headers, **kwargs)
        for header in response.headers.get_list("set-cookie"):
            self.set_cookies.append(header)
            name, _, rest = header.partition("=")
            value = rest.split(";", 1)[0].strip('"')
            if value and "max-age=0" not in header.lower():
                self.cookies[name] = value
            else:
                self.cookies.pop(name, None)
        return response

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, **kwargs)

    def login(self, key: str) -> httpx.Response:
        form = self.get("/login")
        return self.post("/login", data={"api_key": key, "csrf_token": csrf_of(form.text)})

    def close(self) -> None:
        self.http.close()


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


@pytest.fixture
def visitor(served: str) -> Iterator[Visitor]:
    one = Visitor(served)
    yield one
    one.close()
