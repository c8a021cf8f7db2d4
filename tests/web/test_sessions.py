"""Login, logout, CSRF, cookie flags and security headers, over real HTTP on loopback,
on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from neocloud.services import access
from neocloud.services.context import Context
from tests.web.conftest import World, csrf_of

PAGES = ("/", "/fleet", "/agreements", "/agreements/deal-a", "/agreements/deal-a/usage",
         "/invoices", "/invoices/INV-neocloud-000001", "/invoices/INV-neocloud-000001/print",
         "/economics/test-1")  # fmt: skip


def sessions_of(world: World) -> int:
    with world.app.engine.connect() as conn:
        return int(conn.exec_driver_sql("SELECT count(*) FROM web_sessions").scalar_one())


def test_login_opens_a_session_whose_cookie_is_secure_and_only_hashed(world, visitor):
    response = visitor.login(world.keys["lab-a"])
    assert response.status_code == 303 and response.headers["location"] == "/"
    (cookie,) = [c for c in visitor.set_cookies if c.startswith("neocloud_session=")]
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict", "path=/", "max-age=28800"} <= flags
    token = visitor.cookies["neocloud_session"]
    assert len(token) >= 43  # 32 random bytes
    with world.app.uow() as uow:
        stored = uow.sessions.find(hashlib.sha256(token.encode()).hexdigest())
        opened = uow.audit.entries(action="session.open")
    assert stored is not None and stored.key_id == world.key_ids["lab-a"]
    assert stored.expires_at - stored.created_at == timedelta(hours=8)
    with world.app.engine.connect() as conn:  # the token itself is nowhere in the database
        rows = conn.exec_driver_sql("SELECT token_sha256, csrf_token FROM web_sessions").all()
    assert all(token not in row for row in rows)
    assert [e.actor for e in opened] == [f"lab-a person (api key {world.key_ids['lab-a']}, tenant)"]
    assert visitor.get("/agreements").status_code == 200


def test_a_wrong_key_opens_nothing(world, visitor):
    response = visitor.login(world.keys["lab-a"][:-1] + "x")
    assert response.status_code == 401
    assert "not valid" in response.text
    assert "neocloud_session" not in visitor.cookies and sessions_of(world) == 0


def test_anonymous_visitors_are_sent_to_the_login_page(world, visitor):
    for path in PAGES:
        response = visitor.get(path)
        assert (response.status_code, response.headers["location"]) == (303, "/login"), path
    visitor.cookies["neocloud_session"] = "not-a-session"
    assert visitor.get("/fleet").headers["location"] == "/login"


def test_security_headers_on_every_response(world, visitor):
    answers = [visitor.get("/login"), visitor.get("/static/dashboard.css"),
               visitor.get("/static/nothing.js")]  # fmt: skip
    visitor.login(world.keys["admin"])
    answers += [visitor.get(path) for path in PAGES[1:]] + [visitor.get("/agreements/none")]
    assert [a.status_code for a in answers] == [200, 200, 404] + [200] * 8 + [404]
    for answer in answers:
        csp = answer.headers["content-security-policy"]
        assert "default-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "http" not in csp and "*" not in csp and "unsafe" not in csp
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "same-origin"
    assert "script-src" not in answers[3].headers["content-security-policy"]  # no script


def test_logout_needs_the_session_token_and_then_ends_the_session(world, visitor):
    page = visitor.login(world.keys["finance"])
    page = visitor.get("/agreements")
    token = csrf_of(page.text)
    refused = [
        visitor.post("/logout", data={}),
        visitor.post("/logout", data={"csrf_token": "x" * len(token)}),
        visitor.post("/logout", data={"csrf_token": token},
                     headers={"Origin": "https://evil.example"}),
        visitor.post("/logout", data={"csrf_token": token},
                     headers={"Sec-Fetch-Site": "cross-site"}),
        visitor.post("/logout", data={"csrf_token": token},
                     headers={"Referer": "https://evil.example/page"}),
    ]  # fmt: skip
    assert [r.status_code for r in refused] == [403] * 5
    assert sessions_of(world) == 1 and visitor.get("/agreements").status_code == 200
    with world.app.uow() as uow:
        assert uow.audit.entries(action="session.close") == []
    origin = str(visitor.http.base_url).rstrip("/")
    done = visitor.post("/logout", data={"csrf_token": token}, headers={"Origin": origin})
    assert (done.status_code, done.headers["location"]) == (303, "/login")
    assert "neocloud_session" not in visitor.cookies and sessions_of(world) == 0
    with world.app.uow() as uow:
        (closed,) = uow.audit.entries(action="session.close")
    assert closed.entity_key == world.key_ids["finance"]
    first = next(c for c in visitor.set_cookies if c.startswith("neocloud_session="))
    visitor.cookies["neocloud_session"] = first.split(";")[0].split("=", 1)[1]
    assert visitor.get("/agreements").headers["location"] == "/login"  # the old cookie


def test_the_login_form_is_protected_too(world, visitor):
    form = visitor.get("/login")
    token = csrf_of(form.text)
    key = world.keys["admin"]
    refused = [
        visitor.post("/login", data={"api_key": key}),
        visitor.post("/login", data={"api_key": key, "csrf_token": "y" * len(token)}),
        visitor.post("/login", data={"api_key": key, "csrf_token": token},
                     headers={"Origin": "null"}),
    ]  # fmt: skip
    cookie = visitor.cookies.pop("neocloud_login")
    refused.append(visitor.post("/login", data={"api_key": key, "csrf_token": token}))
    assert [r.status_code for r in refused] == [403] * 4
    assert sessions_of(world) == 0
    visitor.cookies["neocloud_login"] = cookie
    assert visitor.post("/login", data={"api_key": key, "csrf_token": token}).status_code == 303


def test_a_revoked_key_ends_its_sessions_at_once(world, visitor):
    visitor.login(world.keys["lab-b"])
    assert visitor.get("/agreements").status_code == 200
    ctx = Context("tester", world.app.clock, world.wall)
    access.revoke_key(world.app.uow(), ctx, world.key_ids["lab-b"])
    assert visitor.get("/agreements").headers["location"] == "/login"


def test_a_session_lasts_eight_hours(world, visitor):
    visitor.login(world.keys["auditor"])
    opened = world.wall.instant
    world.wall.instant = opened + timedelta(hours=8) - timedelta(microseconds=1)
    assert visitor.get("/fleet").status_code == 200
    world.wall.instant = opened + timedelta(hours=8)
    assert visitor.get("/fleet").headers["location"] == "/login"


def test_a_session_ends_when_its_key_expires(world, visitor):
    ctx = Context("tester", world.app.clock, world.wall)
    expires = world.wall.instant + timedelta(hours=1)
    _, key = access.create_key(world.app.uow(), ctx, role="operator", label="short",
                               expires_at=expires)  # fmt: skip
    visitor.login(key)
    assert visitor.get("/fleet").status_code == 200
    world.wall.instant = expires  # the session itself would last 7 hours more
    assert visitor.get("/fleet").headers["location"] == "/login"
