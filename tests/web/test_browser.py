"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright; no browser is ever downloaded): log in with a key, click through the main pages,
read the charts' figures from the DOM and compare them with figures worked by hand (or, for
what telemetry decides, taken from the metering service), screenshot every page, log out.

The screenshots go to pytest's tmp_path (the folder is printed: run with -s to see it).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import ConsoleMessage, Page, sync_playwright

from neocloud.domain.kernel.instants import Interval
from neocloud.services import metering, telemetry
from tests.web.conftest import World

CHROMIUM = Path("/usr/bin/chromium")
JANUARY = Interval(datetime(2027, 1, 1, 6, tzinfo=UTC), datetime(2027, 2, 1, 6, tzinfo=UTC))


@pytest.fixture
def browser_page(served: str) -> Iterator[Page]:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: apt-get install chromium (.ci/run does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        page = browser.new_page(base_url=served, viewport={"width": 1280, "height": 900})
        yield page
        browser.close()


NOVEMBER_START = datetime(2026, 11, 1, 5, tzinfo=UTC)  # midnight in Chicago (CDT)


def simulate_january(world: World) -> None:
    """Telemetry of every node from November 2026 through January 2027 (Chicago), so the
    pool is judged in January and own demand has the three months of history a forecast
    needs (the risk page)."""
    nodes, tz = telemetry.simulation_fleet(world.app.uow(), "test-1")
    world.app.simulate_telemetry(site="test-1", nodes=nodes, timezone=tz,
                                 start=NOVEMBER_START, end=JANUARY.end, seed=7,
                                 resolution_s=3600)  # fmt: skip


def figure(page: Page, selector: str, attribute: str) -> Decimal:
    value = page.locator(selector).get_attribute(attribute)
    assert value is not None, selector
    return Decimal(value)


def test_click_through_the_dashboard(world, browser_page, tmp_path):
    simulate_january(world)
    page, shots = browser_page, tmp_path / "screenshots"
    shots.mkdir()
    print(f"\nscreenshots: {shots}")
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if _is_error(m) else None)

    def shot(name: str) -> None:
        page.screenshot(path=shots / f"{name}.png", full_page=True)

    page.goto("/fleet")
    assert page.url.endswith("/login")  # anonymous: to the login page
    shot("01-login")
    page.fill("#api_key", world.keys["admin"])
    page.click("button[type=submit]")
    assert page.url.endswith("/fleet")
    header = page.eval_on_selector("header", "e => getComputedStyle(e).backgroundColor")
    assert header == "rgb(21, 32, 43)"  # the app's own style sheet applied, nothing fetched

    page.goto("/fleet?from=2027-01&to=2027-02")
    shot("02-fleet")
    _check_utilization(page, world)

    page.click("text=Economics")
    page.wait_for_url("**/economics/test-1")
    shot("03-economics")
    _check_economics(page)

    page.goto("/fleet")
    page.click("text=Walk-away risk")
    page.wait_for_url("**/risk/test-1")
    shot("09-risk")
    _check_risk(page)

    page.click("nav >> text=Agreements")
    page.click("a[href='/agreements/deal-b']")
    page.wait_for_url("**/agreements/deal-b")
    shot("04-agreement-timeline")
    _check_timeline(page)

    page.goto("/agreements/deal-a")
    page.click("text=Usage and SLA")
    page.wait_for_url("**/agreements/deal-a/usage")
    shot("05-usage-sla")
    _check_usage(page)

    page.click("nav >> text=Invoices")
    shot("06-invoices")
    first = world.invoices["lab-a"][0]
    assert figure(page, f"tr[data-number='{first}'] td[data-total]", "data-total") == Decimal(
        "90000.00"
    )  # January of deal-a: 100,000.00 less the 10 % SLA credit
    total = page.locator(f"tr[data-number='{first}'] td[data-total]").inner_text()
    assert total == "USD 90,000.00"
    page.click(f"a[href='/invoices/{first}']")
    page.wait_for_url(f"**/invoices/{first}")
    shot("07-invoice")
    assert figure(page, "tr[data-kind='sla_credit'] td[data-amount]", "data-amount") == Decimal(
        "-10000.00"
    )
    sla_line = page.locator("tr[data-kind='sla_credit'] td[data-amount]").inner_text()
    assert sla_line == "USD -10,000.00"
    assert page.locator("[data-field='total']").inner_text() == "USD 90,000.00"
    page.click("text=Printable")
    shot("08-invoice-printable")
    assert page.locator("h1").inner_text() == f"Invoice {first}"

    page.goto("/fleet")
    page.click("text=Log out")
    page.wait_for_url("**/login")
    page.goto("/agreements")
    assert page.url.endswith("/login")  # the session is gone
    assert errors == []  # no refused style, image or script on any page (CSP)
    assert sorted(p.name for p in shots.iterdir()) == [
        "01-login.png", "02-fleet.png", "03-economics.png", "04-agreement-timeline.png",
        "05-usage-sla.png", "06-invoices.png", "07-invoice.png", "08-invoice-printable.png",
        "09-risk.png",
    ]  # fmt: skip


def _is_error(message: ConsoleMessage) -> bool:
    return message.type == "error"


def _check_utilization(page: Page, world: World) -> None:
    """192 GPUs; each deal holds one rack of 64 from 2027-01-01 (Chicago). January 2027 has
    744 hours, February 672. The pool (the third rack) reported all January and nothing in
    February: its 64 x 744 = 47,616 GPU-hours are internal or idle, telemetry decides which."""

    def use(period: str, kind: str) -> Decimal:
        selector = f"svg[data-chart='utilization'] rect[data-period='{period}'][data-use='{kind}']"
        return figure(page, selector, "data-gpu-hours")

    assert use("2027-01", "leased") == 2 * 64 * 744 == 95232
    assert use("2027-01", "internal") + use("2027-01", "idle") == 64 * 744
    assert use("2027-01", "other") == 0
    hours = metering.site_use(world.app.uow(), world.app.meter(), "test-1", JANUARY,
                              Decimal("0.05"))  # fmt: skip
    assert use("2027-01", "internal") == sum(h.internal for h in hours)
    assert use("2027-01", "idle") == sum(h.idle for h in hours)
    assert use("2027-02", "leased") == 2 * 64 * 672
    assert use("2027-02", "internal") == use("2027-02", "idle") == 0
    assert use("2027-02", "other") == 64 * 672  # unreported
    row = page.locator("table[data-table='utilization'] tr[data-period='2027-01'] td")
    texts = row.all_inner_texts()
    assert texts[1:3] == ["142,848", "95,232"]  # installed 192 x 744, leased
    assert texts[6] == "66.67 %"  # leased share: 128 of 192 GPUs, 2/3 = 66.666...
    feb = page.locator("table[data-table='utilization'] tr[data-period='2027-02'] td")
    assert feb.all_inner_texts()[5] == "43,008"  # other: 64 x 672, unreported
    site = "section[data-site='test-1']"
    assert page.locator(f"{site} [data-field='gpus']").inner_text() == "192"
    capacity = page.locator(f"{site} [data-field='facility-capacity']")
    assert (capacity.inner_text(), capacity.get_attribute("data-kw")) == ("10.00 MW", "10000")
    it_kw = figure(page, f"{site} [data-field='it-power']", "data-kw")
    assert figure(page, f"{site} [data-field='facility-power']", "data-kw") == it_kw * Decimal(
        "1.2"
    )  # facility = IT x PUE 1.2
    assert page.locator(f"{site} [data-field='it-power']").inner_text().endswith(" MW")


def _check_economics(page: Page) -> None:
    """Billed per month, from the terms: January deal-a 100,000 + deal-b at half price
    100,000; February 100,000 + 200,000. Backlog at January's end: the contract values
    (deal-a 12 x 100,000; deal-b 100,000 + 11 x 200,000: 3,500,000) less 200,000 billed."""
    assert page.locator("img[data-chart]").count() == 3

    def cell(period: str, column: str) -> Decimal:
        selector = (
            f"table[data-table='economics'] td[data-period='{period}'][data-column='{column}']"
        )
        return figure(page, selector, "data-value")

    def text(period: str, column: str) -> str:
        selector = (
            f"table[data-table='economics'] td[data-period='{period}'][data-column='{column}']"
        )
        return page.locator(selector).inner_text()

    assert cell("2027-01", "billed") == Decimal("200000.00")
    assert cell("2027-02", "billed") == Decimal("300000.00")
    assert cell("2027-01", "headline_backlog") == Decimal("3300000.00")
    assert text("2027-01", "billed") == "USD 200,000.00"
    assert text("2027-01", "headline_backlog") == "USD 3,300,000.00"
    assert text("2027-01", "leased_gpu_hours") == "95,232"  # 2 x 64 GPUs x 744 h


def _check_timeline(page: Page) -> None:
    """deal-b: term 2027 (Chicago midnights: 06:00Z in winter); the ramp's half from
    January 1 to February 1; notice given 2027-03-01 00:00 CST takes effect 90 calendar
    days later, 2027-05-30 00:00 CDT = 05:00Z; then the full share until that instant."""
    svg = "svg[data-chart='timeline'][data-agreement='deal-b']"
    tranches = page.locator(f"{svg} rect[data-kind='tranche']")
    got = [
        (tranches.nth(i).get_attribute("data-from"), tranches.nth(i).get_attribute("data-to"),
         tranches.nth(i).get_attribute("data-share"))
        for i in range(tranches.count())
    ]  # fmt: skip
    assert got == [
        ("2027-01-01T06:00:00+00:00", "2027-02-01T06:00:00+00:00", "0.5"),
        ("2027-02-01T06:00:00+00:00", "2027-05-30T05:00:00+00:00", "1"),
    ]

    def mark(kind: str) -> str | None:
        return page.locator(f"{svg} line[data-kind='{kind}']").get_attribute("data-at")

    assert mark("signed") == "2026-12-01T00:00:00+00:00"
    assert mark("notice-given") == "2027-03-01T06:00:00+00:00"
    assert mark("notice-effective") == "2027-05-30T05:00:00+00:00"
    assert mark("term-end") == "2028-01-01T06:00:00+00:00"
    # the table in the agreement's billing zone: 00:00Z on 2026-12-01 is 18:00 CST the day
    # before (UTC-6); 2027-05-30 05:00Z is local midnight in CDT (UTC-5)
    row = "table[data-table='timeline'] tr[data-kind='{}'] time"
    signed = page.locator(row.format("signed"))
    assert signed.inner_text() == "2026-11-30 18:00 CST"
    assert signed.get_attribute("datetime") == "2026-12-01T00:00:00+00:00"
    effective = page.locator(row.format("notice-effective"))
    assert effective.inner_text() == "2027-05-30 00:00 CDT"
    assert effective.get_attribute("title") == "2027-05-30T05:00:00+00:00 (America/Chicago)"
    assert page.locator("[data-field='monthly-fee']").inner_text() == "USD 200,000.00"
    _check_labels_apart(page, svg)


def _check_labels_apart(page: Page, svg: str) -> None:
    """No two of the timeline's labels overlap as Chromium lays them out."""
    boxes = page.eval_on_selector_all(
        f"{svg} text", "ts => ts.map(t => { const b = t.getBBox(); "
        "return [t.textContent, b.x, b.y, b.x + b.width, b.y + b.height]; })",
    )  # fmt: skip
    assert len(boxes) >= 12  # six dates, two lines each
    for i, (a, ax0, ay0, ax1, ay1) in enumerate(boxes):
        for b, bx0, by0, bx1, by1 in boxes[i + 1 :]:
            apart = ax1 <= bx0 or bx1 <= ax0 or ay1 <= by0 or by1 <= ay0
            assert apart, f"labels {a!r} and {b!r} overlap"


def _check_usage(page: Page) -> None:
    """deal-a: January recorded at 98.5 %, below the 99 % target: 10 % of 100,000.00 credited;
    its rack of 64 GPUs held all January (744 h) and February (672 h)."""
    svg = "svg[data-chart='availability'][data-agreement='deal-a']"
    assert figure(page, f"{svg} rect[data-period='2027-01']", "data-availability") == Decimal(
        "0.985"
    )
    assert figure(page, f"{svg} line[data-kind='target']", "data-ratio") == Decimal("0.99")
    cells = page.locator("table[data-table='usage'] tr[data-period='2027-01'] td")
    assert cells.all_inner_texts() == [
        "2027-01",
        "47,616",
        "98.50 %",
        "10.00 %",
        "USD -10,000.00",
    ]  # 64 x 744 GPU-hours; fmt: skip
    assert cells.nth(4).get_attribute("data-amount") == "-10000"
    feb = page.locator("table[data-table='usage'] tr[data-period='2027-02'] td")
    assert feb.all_inner_texts()[1:3] == ["43,008", "—"]  # 64 x 672; none recorded
    assert page.locator("[data-field='gpus-held']").inner_text() == "64"
    assert page.locator("[data-field='target']").inner_text() == "99.00 %"


def _check_risk(page: Page) -> None:
    """12 months from March 2027 (the business clock's). Contracted revenue, as if no
    tenant walks away: deal-a 100,000.00 a month through December 2027 (its term ends
    2028-01-01); deal-b 200,000.00 a month until its notice takes effect on 2027-05-30
    local midnight, so May pays 29 of its 31 days: 200,000 x 29 / 31 = 187,096.774...;
    the run gives each month to the cent."""

    def contracted(month: str) -> Decimal:
        selector = f"svg[data-chart='risk'] circle[data-month='{month}']"
        return figure(page, selector, "data-contracted")

    may_b = Decimal(200_000) * 29 / 31
    assert contracted("2027-03") == contracted("2027-04") == Decimal(300_000)
    assert contracted("2027-05") == (Decimal(100_000) + may_b).quantize(Decimal("0.01"))
    assert contracted("2027-06") == contracted("2027-12") == Decimal(100_000)
    assert contracted("2028-01") == contracted("2028-02") == 0
    assert page.locator("svg[data-chart='risk'] rect[data-figure='revenue']").count() == 12
    for month in ("2027-03", "2027-06", "2027-12"):
        band = page.locator(
            f"svg[data-chart='risk'] rect[data-month='{month}'][data-figure='revenue']"
        )
        p5, p50, p95 = (Decimal(band.get_attribute(f"data-p{q}") or "") for q in (5, 50, 95))
        assert p5 <= p50 <= p95 <= contracted(month)  # walking away only takes revenue away
    cell = page.locator(
        "table[data-table='risk'] tr[data-month='2027-03'] td[data-column='contracted']"
    )
    assert cell.inner_text() == "USD 300,000.00"
    assert page.locator("[data-field='hazard']").inner_text() == "1.00 % a month per agreement"
    assert page.locator("[data-field='paths']").get_attribute("data-value") == "2000"
