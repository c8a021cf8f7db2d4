"""A tenant's session sees its own pages and nothing of the other tenant's: every page URL
with the other tenant's objects is 404 (as if they did not exist), the operator's pages are
403, and no page of its own names the other tenant, its agreement or its invoices."""

from __future__ import annotations

import pytest

from tests.web.conftest import World

OTHER = {"lab-a": "lab-b", "lab-b": "lab-a"}
DEAL = {"lab-a": "deal-a", "lab-b": "deal-b"}


def object_pages(tenant: str, world: World) -> list[str]:
    deal = DEAL[tenant]
    pages = [f"/agreements/{deal}", f"/agreements/{deal}/usage"]
    for number in world.invoices[tenant]:
        pages += [f"/invoices/{number}", f"/invoices/{number}/print"]
    return pages


@pytest.mark.parametrize("tenant", ["lab-a", "lab-b"])
def test_a_tenant_sees_only_its_own(world, visitor, tenant):
    other = OTHER[tenant]
    assert len(world.invoices[tenant]) == len(world.invoices[other]) == 2
    visitor.login(world.keys[tenant])
    own = ["/agreements", "/invoices", *object_pages(tenant, world)]
    foreign_names = [other, DEAL[other], *world.invoices[other]]
    for path in own:
        page = visitor.get(path)
        assert page.status_code == 200, path
        assert DEAL[tenant] in page.text, path
        assert [n for n in foreign_names if n in page.text] == [], path
        assert 'href="/fleet"' not in page.text and "/economics" not in page.text, path
    for path in object_pages(other, world):
        page = visitor.get(path)
        assert page.status_code == 404, path
        assert [n for n in foreign_names if n in page.text] == [], path
    missing = visitor.get("/agreements/no-such-deal")  # the same answer as a foreign one
    assert missing.status_code == 404
    assert missing.text == visitor.get(f"/agreements/{DEAL[other]}").text
    for path in ("/fleet", "/economics/test-1", "/fleet?from=2027-01&to=2027-02"):
        assert visitor.get(path).status_code == 403, path
    assert visitor.get("/").headers["location"] == "/agreements"


@pytest.mark.parametrize("role", ["admin", "operator", "finance", "auditor"])
def test_the_operators_roles_see_every_tenant(world, visitor, role):
    visitor.login(world.keys[role])
    for path in ("/fleet", "/economics/test-1", "/agreements", "/invoices",
                 *object_pages("lab-a", world), *object_pages("lab-b", world)):  # fmt: skip
        assert visitor.get(path).status_code == 200, (role, path)
    listing = visitor.get("/invoices").text
    assert all(n in listing for n in world.invoices["lab-a"] + world.invoices["lab-b"])
    assert visitor.get("/").headers["location"] == "/fleet"
