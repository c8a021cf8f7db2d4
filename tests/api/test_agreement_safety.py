"""What the security review of agreements found, each shown fixed on both engines:

1. a tenant key cannot backdate its notice (``at`` is refused; the notice is dated now);
2. If-Match holds across processes: it is checked under the change's own row lock, so a
   writer that changed the agreement after our read (another API process, the CLI) makes
   ours 412, with nothing written;
3. the audit log says what each change changed, before and after.

The races are forced, not hoped for: a hook on the engine runs the other writer at the one
moment that matters, just before our change takes its lock (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: ``SELECT ... FOR UPDATE`` of the agreement).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event

from neocloud.api.app import create_app
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.agreements.model import Party
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.instants import FixedClock
from neocloud.services import agreement_views, agreements, audit, billing
from neocloud.services.context import Context
from tests import factories
from tests.api.conftest import BUSINESS_NOW, WALL_NOW, World, as_json, new_deal

# --- 1. a tenant's notice is dated when it is received ------------------------------------


def _nothing_written(world: World, entries: int, documents: int) -> None:
    details = agreement_views.agreement_details(world.app.uow(), "deal-a")
    assert details.agreement.notice is None and details.release is None
    assert len(audit.audit_entries(world.app.uow())) == entries
    assert len(billing.list_invoices(world.app.uow())) == documents


def test_a_tenant_key_cannot_backdate_its_notice(world: World) -> None:
    entries = len(audit.audit_entries(world.app.uow()))
    documents = len(billing.list_invoices(world.app.uow()))
    for at in ("2027-01-05", "2027-03-02T12:00:00+00:00", "2026-05-04"):
        response = world.client.post(
            "/v1/agreements/deal-a/notice",
            json={"by": "tenant", "at": at},
            headers=world.as_("lab-a"),
        )
        assert response.status_code == 403, response.text
        problem = response.json()
        assert problem["code"] == "forbidden"
        assert problem["detail"] == (
            f"at='{at}': a tenant's notice is dated when it is received; omit at"
        )
        _nothing_written(world, entries, documents)


def test_a_tenants_notice_is_dated_by_the_business_clock(world: World) -> None:
    response = world.client.post(
        "/v1/agreements/deal-a/notice", json={"by": "tenant"}, headers=world.as_("lab-a")
    )
    assert response.status_code == 200, response.text
    notice = response.json()["notice"]
    # now: 2027-03-02 12:00Z = 06:00 CST; 90 calendar days in Chicago: 2027-05-31 06:00
    # CDT (UTC-5 since 14 March) = 11:00Z
    assert notice == {
        "given_by": "tenant",
        "given_at": "2027-03-02T12:00:00+00:00",
        "effective_at": "2027-05-31T11:00:00+00:00",
    }
    assert response.json()["corrections"] == []  # nothing invoiced lies after 31 May


def test_staff_may_still_record_a_notice_received_earlier(world: World) -> None:
    response = world.client.post(
        "/v1/agreements/deal-a/notice",
        json={"by": "tenant", "at": "2027-02-01"},
        headers=world.as_("operator"),
    )
    assert response.status_code == 200, response.text
    # midnight 1 February in Chicago (CST, UTC-6) = 06:00Z; + 90 days: 2 May 00:00 CDT
    assert response.json()["notice"]["given_at"] == "2027-02-01T06:00:00+00:00"
    assert response.json()["notice"]["effective_at"] == "2027-05-02T05:00:00+00:00"


def test_a_tenant_key_may_not_sign_or_amend_at_all(world: World) -> None:
    created = world.client.post(
        "/v1/agreements", content=new_deal("deal-c", "lab-a"), headers=world.as_("operator")
    )
    assert created.status_code == 201, created.text
    signed = world.client.post(
        "/v1/agreements/deal-c/sign", json={"at": "2026-12-01"}, headers=world.as_("lab-a")
    )
    assert signed.status_code == 403 and signed.json()["code"] == "forbidden"
    body = as_json({"terms": terms("deal-a", "1.00"), "effective_from": "2027-01-01"})
    amended = world.client.post(
        "/v1/agreements/deal-a/amend", content=body, headers=world.as_("lab-a")
    )
    assert amended.status_code == 403 and amended.json()["code"] == "forbidden"
    assert agreement_views.get_agreement(world.app.uow(), "deal-c").signed_at is None
    assert len(agreement_views.get_agreement(world.app.uow(), "deal-a").versions) == 1


# --- 2. If-Match is checked under the change's own lock -----------------------------------


def terms(key: str, fee: str) -> dict[str, object]:
    return factories.agreement_document(
        key, tenant="lab-a" if key == "deal-a" else "lab-b",
        capacity={"gpus": 16, "gpu_model": "H100"}, monthly_fee=Decimal(fee),
    )  # fmt: skip


def amendment(fee: str, start: str = "2027-06-01") -> str:
    """Writers racing here amend from different dates, so that each alone would be valid
    after the other: only If-Match can stop the second."""
    return as_json({"terms": terms("deal-a", fee), "effective_from": start})


def before_the_lock(app: App, other_writer: Callable[[], object]) -> list[int]:
    """Run ``other_writer`` once, the moment this app's next change is about to take its
    lock: the worst moment for a check done before it. Returns [1] once it has run."""
    ran: list[int] = []

    def hook(conn: Any, cursor: Any, statement: str, *args: object) -> None:
        sql = " ".join(statement.split()).upper()
        locking = sql == "BEGIN IMMEDIATE" or (
            sql.endswith("FOR UPDATE") and "FROM AGREEMENTS " in sql
        )
        if locking and not ran:
            ran.append(1)
            other_writer()

    event.listen(app.engine, "before_cursor_execute", hook)
    return ran


SECOND_PROCESS = """
import json, sys
from datetime import datetime
from pathlib import Path
from fastapi.testclient import TestClient
from neocloud.api.app import create_app
from neocloud.bootstrap import App
from neocloud.config import Settings
from neocloud.domain.kernel.instants import FixedClock

a = json.loads(sys.argv[1])
now, wall = (FixedClock(datetime.fromisoformat(a[k])) for k in ("now", "wall"))
app = App(Settings(home=Path(a["home"]), database_url=a["url"], actor="second"), now, wall)
with TestClient(create_app(app)) as client:
    r = client.post("/v1/agreements/deal-a/amend", content=a["body"],
                    headers={"Authorization": "Bearer " + a["key"], "If-Match": a["tag"],
                             "Content-Type": "application/json"})
print(json.dumps({"status": r.status_code}))
app.close()
"""


def second_process(world: World, home: Path, tag: str, body: str) -> dict[str, int]:
    """The same amendment through another server process on the same database."""
    args = {
        "home": str(home), "url": world.app.settings.database_url, "key": world.keys["admin"],
        "tag": tag, "body": body, "now": BUSINESS_NOW.isoformat(), "wall": WALL_NOW.isoformat(),
    }  # fmt: skip
    done = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, json.dumps(args)],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def fees(world: World) -> list[str]:
    found = agreement_views.get_agreement(world.app.uow(), "deal-a").versions
    return [v.terms.monthly_fee.text for v in found]


def test_two_server_processes_with_one_if_match_one_wins(world: World, tmp_path: Path) -> None:
    """Both read the same ETag; the other process amends between our read and our write:
    it wins (200), ours is 412 and writes nothing. Before the fix both won."""
    admin = world.as_("admin")
    tag = world.client.get("/v1/agreements/deal-a", headers=admin).headers["etag"]
    answers: list[dict[str, int]] = []
    ran = before_the_lock(
        world.app,
        lambda: answers.append(second_process(world, tmp_path / "b", tag, amendment("1200000"))),
    )
    ours = world.client.post(
        "/v1/agreements/deal-a/amend", content=amendment("1100000.00", "2027-07-01"),
        headers={**admin, "If-Match": tag},
    )  # fmt: skip
    assert ran == [1] and answers == [{"status": 200}]
    assert ours.status_code == 412, ours.text
    assert ours.json()["code"] == "precondition_failed"
    assert fees(world) == ["1000000.00", "1200000.00"]  # exactly one new version: theirs
    (amend,) = audit.audit_entries(world.app.uow(), action="agreement.amend")
    assert amend.details["after"] == {"monthly_fee": "1200000"}


def test_a_cli_change_between_the_read_and_the_write_makes_it_412(world: World) -> None:
    admin = world.as_("admin")
    tag = world.client.get("/v1/agreements/deal-a", headers=admin).headers["etag"]
    cli = App(
        Settings(home=world.app.settings.home, database_url=world.app.settings.database_url,
                 actor="cli-user"),
        FixedClock(BUSINESS_NOW), FixedClock(WALL_NOW),
    )  # fmt: skip
    ctx = Context("cli-user", cli.clock, wall=cli.wall)
    try:
        ran = before_the_lock(
            world.app,
            lambda: agreements.give_notice(cli.uow(), ctx, "deal-a", by=Party.OPERATOR),
        )
        ours = world.client.post(
            "/v1/agreements/deal-a/amend", content=amendment("1100000.00"),
            headers={**admin, "If-Match": tag},
        )  # fmt: skip
    finally:
        cli.close()
    assert ran == [1]
    assert ours.status_code == 412, ours.text
    assert fees(world) == ["1000000.00"]
    stored = agreement_views.get_agreement(world.app.uow(), "deal-a")
    assert stored.notice is not None and stored.notice.given_by is Party.OPERATOR
    assert [e.actor for e in audit.audit_entries(world.app.uow(), action="agreement.amend")] == []


def test_parallel_amends_from_two_apps_with_one_if_match(world: World) -> None:
    """Two apps, each with its own engine, amend at once with the same ETag: exactly one
    wins, whatever the order the database gives them."""
    admin = world.as_("admin")
    tag = world.client.get("/v1/agreements/deal-a", headers=admin).headers["etag"]
    other = App(
        Settings(home=world.app.settings.home, database_url=world.app.settings.database_url,
                 actor="other"),
        FixedClock(BUSINESS_NOW), FixedClock(WALL_NOW),
    )  # fmt: skip
    start = threading.Barrier(2, timeout=60)
    statuses: dict[str, int] = {}

    def amend(client: TestClient, fee: str, effective_from: str) -> None:
        start.wait()
        r = client.post(
            "/v1/agreements/deal-a/amend", content=amendment(fee, effective_from),
            headers={**admin, "If-Match": tag},
        )  # fmt: skip
        statuses[fee] = r.status_code

    try:
        with TestClient(create_app(other)) as second:
            threads = [
                threading.Thread(target=amend, args=(world.client, "1100000.00", "2027-07-01")),
                threading.Thread(target=amend, args=(second, "1200000.00", "2027-06-01")),
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        other.close()
    assert sorted(statuses.values()) == [200, 412], statuses
    (won,) = [fee for fee, status in statuses.items() if status == 200]
    assert fees(world) == ["1000000.00", won]


# --- 3. the audit log says before and after -----------------------------------------------


def test_an_amendment_is_audited_with_each_changed_value_before_and_after(world: World) -> None:
    doc = terms("deal-a", "1100000.50")
    doc["agreement"]["term"] = {"start": "2027-01-01", "end": "2028-07-01"}  # type: ignore[index]
    body = as_json({"terms": doc, "effective_from": "2027-06-01", "note": "longer"})
    response = world.client.post(
        "/v1/agreements/deal-a/amend", content=body, headers=world.as_("admin")
    )
    assert response.status_code == 200, response.text
    (entry,) = audit.audit_entries(world.app.uow(), action="agreement.amend")
    # term instants: midnight in Chicago, CST (UTC-6) in January, CDT (UTC-5) in July
    assert entry.details == {
        "version": 2,
        "effective_from": "2027-06-01T05:00:00+00:00",
        "changed": ["monthly_fee", "term"],
        "before": {
            "monthly_fee": "1000000.00",
            "term": {"start": "2027-01-01T06:00:00+00:00", "end": "2028-01-01T06:00:00+00:00"},
        },
        "after": {
            "monthly_fee": "1100000.50",
            "term": {"start": "2027-01-01T06:00:00+00:00", "end": "2028-07-01T05:00:00+00:00"},
        },
        "note": "longer",
        "corrections": [],
    }


def test_sign_and_notice_are_audited_with_the_status_before_and_after(world: World) -> None:
    operator = world.as_("operator")
    created = world.client.post("/v1/agreements", content=new_deal("deal-c"), headers=operator)
    assert created.status_code == 201, created.text
    signed = world.client.post(
        "/v1/agreements/deal-c/sign", json={"at": "2027-03-01"}, headers=operator
    )
    assert signed.status_code == 200, signed.text
    (sign,) = audit.audit_entries(world.app.uow(), entity_key="deal-c", action="agreement.sign")
    assert sign.details == {
        "signed_at": "2027-03-01T06:00:00+00:00",
        "before": {"status": "draft"},
        "after": {"status": "signed"},
    }
    given = world.client.post(
        "/v1/agreements/deal-c/notice", json={"by": "operator"}, headers=operator
    )
    assert given.status_code == 200, given.text
    found = audit.audit_entries(world.app.uow(), entity_key="deal-c")
    # signed 1 March, within the term (from 1 January): active from the term's start
    # once notice is given on 2 March, then notice given
    assert [(e.action, e.details.get("before"), e.details.get("after")) for e in found[-2:]] == [
        ("agreement.status", {"status": "signed"}, {"status": "active"}),
        ("agreement.notice", {"status": "signed"}, {"status": "notice_given"}),
    ]
    assert found[-2].details["status"] == "active"


def test_a_sourcedocument_amend_through_the_service_is_audited_likewise(world: World) -> None:
    ctx = Context("cli-user", world.app.clock, wall=world.app.wall)
    agreements.amend_agreement(
        world.app.uow(), ctx, "deal-b", SourceDocument("b.yaml", terms("deal-b", "999999.99")),
        effective_from=BUSINESS_NOW,
    )  # fmt: skip
    (entry,) = audit.audit_entries(world.app.uow(), action="agreement.amend")
    assert (entry.details["before"], entry.details["after"]) == (
        {"monthly_fee": "1000000.00"},
        {"monthly_fee": "999999.99"},
    )
