"""Agreements and month close on SQLite and PostgreSQL: round trips, idempotency, crash
safety and gapless numbering."""

from __future__ import annotations

import random
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from neocloud.bootstrap import App
from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.agreements.model import CapacityAgreement, Party, Status
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import InvalidInput, NotFound
from neocloud.domain.kernel.instants import FixedClock
from neocloud.domain.kernel.money import Money
from neocloud.services import agreement_views, agreements, billing
from neocloud.services.context import Context
from tests import factories

LATER = datetime(2028, 2, 1, tzinfo=UTC)  # after every test term: months are closable
CENT = Decimal("0.01")


WRITTEN = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)  # the system clock: when entries are written


def ctx() -> Context:
    return Context("tester", FixedClock(LATER), wall=FixedClock(WRITTEN))


def seed(app: App, keys: tuple[str, ...] = ("deal-a", "deal-b", "deal-c")) -> None:
    (site,) = parse_fleet(factories.fleet(factories.site_document("test-1")))
    with app.uow() as uow:
        uow.sites.add(site)
        uow.commit()
    for i, key in enumerate(keys):
        doc = factories.agreement_document(
            key, monthly_fee=Decimal(f"{1_000_000 + i * 1111}.37"), tenant=f"lab-{i}"
        )
        agreements.create_agreement(app.uow(), ctx(), SourceDocument(f"{key}.yaml", doc))
        agreements.sign_agreement(app.uow(), ctx(), key, datetime(2026, 12, 1, tzinfo=UTC))


def snapshot(app: App) -> list[tuple[object, ...]]:
    return [
        (
            i.number,
            i.agreement_key,
            i.period,
            i.total.amount,
            tuple((x.kind, x.amount, x.precise) for x in i.lines),
        )
        for i in billing.list_invoices(app.uow())
    ]


def test_agreement_round_trips_with_versions_and_notice(app: App) -> None:
    seed(app, ("deal-a",))
    amended = factories.agreement_document(
        "deal-a", monthly_fee=Decimal("1500000.00"), tenant="lab-0"
    )
    agreements.amend_agreement(
        app.uow(),
        ctx(),
        "deal-a",
        SourceDocument("a.yaml", amended),
        effective_from=datetime(2027, 6, 1, 5, tzinfo=UTC),
        note="more racks",
    )
    agreements.give_notice(
        app.uow(), ctx(), "deal-a", by=Party.TENANT, at=datetime(2027, 8, 1, 12, tzinfo=UTC)
    )
    stored = agreement_views.get_agreement(app.uow(), "deal-a")
    assert stored.status is Status.TERMINATED  # the clock is past the effective instant
    assert [v.terms.monthly_fee.amount for v in stored.versions] == [
        Decimal("1000000.37"),
        Decimal("1500000.00"),
    ]
    assert stored.notice is not None
    assert stored.notice.effective_at == datetime(2027, 10, 30, 12, tzinfo=UTC)
    assert [s for s, _ in stored.history] == [
        Status.DRAFT,
        Status.SIGNED,
        Status.ACTIVE,  # from the term's start, before the notice: recorded by the notice
        Status.NOTICE_GIVEN,
        Status.TERMINATED,
    ]
    with app.uow() as uow:
        assert uow.agreements.releases("test-1") == [
            (
                "deal-a",
                "test-1",
                datetime(2027, 10, 30, 12, tzinfo=UTC),
                "notice by the tenant on 2027-08-01T12:00:00+00:00, "
                "effective 2027-10-30T12:00:00+00:00",
            )
        ]
        actions = [e.action for e in uow.audit.entries("agreement", "deal-a")]
    assert actions == [
        "agreement.create",
        "agreement.sign",
        "agreement.amend",
        "agreement.status",  # active
        "agreement.status",  # terminated
        "agreement.notice",
    ]


def test_agreement_on_an_unknown_site_is_refused(app: App) -> None:
    doc = factories.agreement_document(site="atlantis")
    with pytest.raises(NotFound, match="atlantis"):
        agreements.create_agreement(app.uow(), ctx(), SourceDocument("x.yaml", doc))


def test_closing_a_month_twice_changes_nothing(app: App) -> None:
    seed(app)
    first = billing.close_month(app.uow(), ctx(), "2027-01")
    assert [i.number for i in first.issued] == [f"INV-neocloud-{n:06d}" for n in (1, 2, 3)]
    before = snapshot(app)
    second = billing.close_month(app.uow(), ctx(), "2027-01")
    assert second.issued == [] and second.already_issued == ["deal-a", "deal-b", "deal-c"]
    assert snapshot(app) == before


def test_earlier_open_months_are_invoiced_first_in_period_order(app: App) -> None:
    """Closing March before January and February invoices January, then February, then
    March: numbers follow time, none is skipped."""
    seed(app)
    report = billing.close_month(app.uow(), ctx(), "2027-03")
    got = [(i.number, i.period, i.agreement_key) for i in report.issued]
    expected = [
        (f"INV-neocloud-{3 * m + d + 1:06d}", period, key)
        for m, period in enumerate(["2027-01", "2027-02", "2027-03"])
        for d, key in enumerate(["deal-a", "deal-b", "deal-c"])
    ]
    assert got == expected
    again = billing.close_month(app.uow(), ctx(), "2027-02")
    assert again.issued == [] and again.already_issued == ["deal-a", "deal-b", "deal-c"]


class Crash(Exception):
    pass


class DyingUnitOfWork:
    """The real unit of work, except that the process "dies" before the n-th invoice write."""

    def __init__(self, app: App, after: int) -> None:
        self.real, self.after, self.written = app.uow(), after, 0

    def write(self) -> DyingUnitOfWork:
        self.real.write()
        return self

    def __enter__(self) -> object:
        entered = self.real.__enter__()
        real_add = entered.invoices.add

        def add(invoice: object) -> None:
            if self.written == self.after:
                raise Crash(f"killed after {self.after} invoices")
            self.written += 1
            real_add(invoice)  # type: ignore[arg-type]

        entered.invoices.add = add  # type: ignore[method-assign]
        return entered

    def __exit__(self, *exc: object) -> None:
        self.real.__exit__(*exc)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self.real, name)


def close_with_crash(app: App, period: str, after: int) -> None:
    """A close that dies after writing ``after`` invoices leaves nothing at all behind: the
    whole close is one transaction, not one per invoice."""
    before = snapshot(app)
    with pytest.raises(Crash):
        billing.close_month(DyingUnitOfWork(app, after), ctx(), period)  # type: ignore[arg-type]
    assert snapshot(app) == before


@pytest.mark.parametrize("seed_value", [1, 2, 3])
def test_a_close_killed_half_way_and_rerun_gives_the_same_invoices(
    app: App, seed_value: int, tmp_path: object
) -> None:
    periods = ["2027-01", "2027-02", "2027-03", "2027-04"]
    seed(app)
    rng = random.Random(seed_value)
    crash_period, crash_after = rng.choice(periods), rng.randrange(1, 3)
    for period in periods:
        if period == crash_period:
            close_with_crash(app, period, crash_after)
        billing.close_month(app.uow(), ctx(), period)
    crashed = snapshot(app)
    # the same closes, uninterrupted, on a fresh database of the same engine
    reference = App(replace(app.settings, database_url=_fresh_url(app)), app.clock)
    try:
        seed(reference)
        for period in periods:
            billing.close_month(reference.uow(), ctx(), period)
        assert crashed == snapshot(reference)
    finally:
        reference.close()
        _drop(reference.settings.database_url)
    numbers = [row[0] for row in crashed]
    assert numbers == [f"INV-neocloud-{n:06d}" for n in range(1, 13)]  # gapless


def _drop(url_text: str) -> None:
    """Drop a database ``_fresh_url`` made on PostgreSQL: test runs leave none behind."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    url = make_url(url_text)
    if url.get_backend_name() != "postgresql":
        return
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'))
    admin.dispose()


def _fresh_url(app: App) -> str:
    """A second empty database on the same engine as ``app``."""
    from sqlalchemy import create_engine, text  # noqa: PLC0415
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    from neocloud.adapters.db import migrate  # noqa: PLC0415
    from neocloud.adapters.db.uow import make_engine  # noqa: PLC0415

    url = make_url(app.settings.database_url)
    if url.get_backend_name() == "sqlite":
        fresh = url.set(database=str(url.database) + ".reference").render_as_string(False)
    else:
        name = f"{url.database}_ref_{random.randrange(10**8)}"
        admin = create_engine(url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        fresh = url.set(database=name).render_as_string(False)
    engine = make_engine(fresh)
    migrate.upgrade(engine)
    engine.dispose()
    return fresh


def test_a_month_that_has_not_ended_is_not_closed(app: App) -> None:
    seed(app, ("deal-a",))
    early = Context("tester", FixedClock(datetime(2027, 3, 31, 12, tzinfo=UTC)))
    report = billing.close_month(app.uow(), early, "2027-03")
    assert report.issued == [] and list(report.failed) == ["deal-a"]
    assert report.failed["deal-a"].message == (
        "period='2027-03': has not ended yet for deal-a (ends 2027-04-01T05:00:00+00:00)"
    )  # midnight CDT on April 1
    assert billing.list_invoices(app.uow()) == []


def test_notice_final_invoice_and_nothing_after(app: App) -> None:
    seed(app, ("deal-a",))
    agreements.give_notice(
        app.uow(), ctx(), "deal-a", by=Party.OPERATOR, at=datetime(2027, 3, 16, 5, tzinfo=UTC)
    )  # midnight CDT March 16 + 90 calendar days: midnight CDT June 14 = 05:00Z
    for period in ("2027-05", "2027-06", "2027-07"):
        billing.close_month(app.uow(), ctx(), period)
    invoices = {i.period: i for i in billing.list_invoices(app.uow())}
    assert sorted(p for p in invoices if p) == [f"2027-0{m}" for m in range(1, 7)]
    # June 2027 in Chicago starts 05:00Z; 13 of 30 days in service
    assert invoices["2027-06"].final
    assert invoices["2027-06"].total.amount == (Decimal("1000000.37") * 13 / 30).quantize(
        Decimal("0.01")
    )
    assert agreement_views.get_agreement(app.uow(), "deal-a").status is Status.TERMINATED


def add_sla(app: App, effective_from: datetime, note: str = "") -> None:
    """deal-a gains a 99 % SLA (10 % credit below it) from ``effective_from``."""
    sla = {
        "availability_target": Decimal("0.99"),
        "credit_tiers": [{"below": Decimal("0.99"), "credit_share": Decimal("0.1")}],
    }
    doc = factories.agreement_document(
        "deal-a", sla=sla, tenant="lab-0", monthly_fee=Decimal("1000000.37")
    )
    agreements.amend_agreement(
        app.uow(), ctx(), "deal-a", SourceDocument("a.yaml", doc),
        effective_from=effective_from, note=note,
    )  # fmt: skip


def test_sla_credit_and_credit_notes(app: App) -> None:
    seed(app, ("deal-a",))
    add_sla(app, datetime(2027, 2, 1, 6, tzinfo=UTC))
    agreements.record_availability(app.uow(), ctx(), "deal-a", "2027-02", Decimal("0.98"))
    january, invoice = billing.close_month(app.uow(), ctx(), "2027-02").issued
    assert january.period == "2027-01" and january.total.amount == Decimal("1000000.37")
    # 1,000,000.37 - 10 % = 1,000,000.37 - 100,000.037 -> credit rounded to 100,000.04
    assert invoice.total.amount == Decimal("1000000.37") - Decimal("100000.04")
    note = billing.issue_credit_note(
        app.uow(), ctx(), invoice.number, Money(Decimal("250.00"), "USD"), "metering correction"
    )
    assert note.number == "CN-neocloud-000001" and note.refers_to == invoice.number
    assert note.total.amount == Decimal("-250.00")
    assert billing.get_invoice(app.uow(), invoice.number) == invoice  # never changed
    with pytest.raises(InvalidInput, match="exceeds"):
        billing.issue_credit_note(
            app.uow(), ctx(), invoice.number, Money(Decimal("9999999.00"), "USD"), "too much"
        )
    # the cap is what is still open, not the invoice's total: 900,000.33 - 250.00 is left
    open_now = Decimal("1000000.37") - Decimal("100000.04") - Decimal("250.00")
    with pytest.raises(InvalidInput, match="still open"):
        billing.issue_credit_note(
            app.uow(), ctx(), invoice.number, Money(open_now + CENT, "USD"), "one cent too far"
        )
    last = billing.issue_credit_note(
        app.uow(), ctx(), invoice.number, Money(open_now, "USD"), "the rest"
    )
    assert last.number == "CN-neocloud-000002" and last.total.amount == -open_now
    with pytest.raises(InvalidInput, match="still open"):
        billing.issue_credit_note(app.uow(), ctx(), invoice.number, Money(CENT, "USD"), "more")
    with pytest.raises(InvalidInput, match="credit notes correct invoices"):
        billing.issue_credit_note(app.uow(), ctx(), last.number, Money(CENT, "USD"), "x")
    with app.uow() as uow:
        audited = [(e.action, e.entity_key) for e in uow.audit.entries("invoice")]
    assert audited == [
        ("invoice.issue", january.number),
        ("invoice.issue", invoice.number),
        ("invoice.credit_note", "CN-neocloud-000001"),
        ("invoice.credit_note", "CN-neocloud-000002"),
    ]


def test_availability_recorded_after_the_close_rebills_the_sla_credit(app: App) -> None:
    seed(app, ("deal-a",))
    sla = {
        "availability_target": Decimal("0.99"),
        "credit_tiers": [
            {"below": Decimal("0.99"), "credit_share": Decimal("0.1")},
            {"below": Decimal("0.95"), "credit_share": Decimal("0.3")},
        ],
    }
    doc = factories.agreement_document("deal-a", sla=sla, tenant="lab-0")
    agreements.amend_agreement(
        app.uow(), ctx(), "deal-a", SourceDocument("a.yaml", doc),
        effective_from=datetime(2027, 1, 15, 6, tzinfo=UTC),
    )  # fmt: skip
    (invoice,) = billing.close_month(app.uow(), ctx(), "2027-01").issued
    # the fee was 1,000,000.37 until Jan 15 06:00Z and 1,000,000.00 after: by seconds of
    # January (31 days from 06:00Z on the 1st), 14 days at the first fee, 17 at the second
    fee = (Decimal("1000000.37") * 14 / 31).quantize(CENT) + (
        (Decimal("1000000.00") * 31 / 31).quantize(CENT)
        - (Decimal("1000000.00") * 14 / 31).quantize(CENT)
    )
    assert invoice.total.amount == fee
    notes = agreements.record_availability(app.uow(), ctx(), "deal-a", "2027-01", Decimal("0.97"))
    (note,) = notes
    assert note.refers_to == invoice.number and note.total.amount == -(fee / 10).quantize(CENT)
    # exactly on a tier's bound earns nothing more: only strictly below 0.95 earns 30 %
    assert (
        agreements.record_availability(app.uow(), ctx(), "deal-a", "2027-01", Decimal("0.95")) == []
    )
    (more,) = agreements.record_availability(
        app.uow(), ctx(), "deal-a", "2027-01", Decimal("0.9499")
    )
    ten, thirty = (fee / 10).quantize(CENT), (fee * 3 / 10).quantize(CENT)
    assert more.kind == "credit_note" and more.total.amount == -(thirty - ten)
    (back,) = agreements.record_availability(app.uow(), ctx(), "deal-a", "2027-01", Decimal(1))
    assert back.kind == "debit_note" and back.total.amount == thirty
    assert back.number == "DN-neocloud-000001"
    total = sum(i.total.amount for i in billing.list_invoices(app.uow()))
    assert total == fee  # availability 100 %: the whole fee, as if no credit had been given


def test_concurrent_credit_notes_never_exceed_the_invoice(app: App) -> None:
    """Eight real connections credit 300,000.00 each against one invoice of 1,000,000.37
    at once: three fit, five are refused by the cap, none is lost to a database error."""
    seed(app, ("deal-a",))
    (invoice,) = billing.close_month(app.uow(), ctx(), "2027-01").issued
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def attempt() -> None:
        start.wait()
        try:
            billing.issue_credit_note(
                app.uow(), ctx(), invoice.number, Money(Decimal("300000.00"), "USD"), "race"
            )
            outcomes.append("issued")
        except InvalidInput as exc:
            assert "still open" in exc.message
            outcomes.append("refused")

    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["issued"] * 3 + ["refused"] * 5
    notes = [i for i in billing.list_invoices(app.uow()) if i.refers_to == invoice.number]
    assert sum(n.total.amount for n in notes) == Decimal("-900000.00")
    assert sorted(n.number for n in notes) == [f"CN-neocloud-{k:06d}" for k in (1, 2, 3)]


def test_every_change_is_audited_with_what_changed(app: App) -> None:
    seed(app, ("deal-a",))
    add_sla(app, datetime(2027, 3, 1, 6, tzinfo=UTC), note="SLA added")
    billing.close_month(app.uow(), ctx(), "2027-03")
    agreements.record_availability(app.uow(), ctx(), "deal-a", "2027-03", Decimal("0.98"))
    billing.issue_credit_note(
        app.uow(), ctx(), "INV-neocloud-000001", Money(Decimal("1.00"), "USD"), "goodwill"
    )
    agreements.give_notice(
        app.uow(), ctx(), "deal-a", by=Party.TENANT, at=datetime(2027, 2, 1, 18, tzinfo=UTC)
    )  # effective 2027-05-02 17:00Z: nothing invoiced (January to March) lies after it
    with app.uow() as uow:
        entries = uow.audit.entries()
    got = [(e.actor, e.action, e.entity_key) for e in entries]
    assert {(e.recorded_at, e.business_at) for e in entries} == {(WRITTEN, LATER)}
    assert got == [
        ("tester", "agreement.create", "deal-a"),
        ("tester", "agreement.sign", "deal-a"),
        ("tester", "agreement.amend", "deal-a"),
        ("tester", "agreement.status", "deal-a"),  # active from the term's start
        ("tester", "invoice.issue", "INV-neocloud-000001"),
        ("tester", "invoice.issue", "INV-neocloud-000002"),
        ("tester", "invoice.issue", "INV-neocloud-000003"),
        ("tester", "invoice.credit_note", "CN-neocloud-000001"),  # the late availability
        ("tester", "agreement.availability", "deal-a"),
        ("tester", "invoice.credit_note", "CN-neocloud-000002"),
        ("tester", "agreement.status", "deal-a"),  # terminated: the clock is past May 2
        ("tester", "agreement.notice", "deal-a"),
    ]
    details = {e.action: e.details for e in entries}
    amended = dict(details["agreement.amend"])
    sla = amended.pop("after")["sla"]  # type: ignore[index]
    assert amended == {
        "version": 2,
        "effective_from": "2027-03-01T06:00:00+00:00",
        "changed": ["sla"],
        "before": {"sla": None},  # none before: added
        "note": "SLA added",
        "corrections": [],
    }
    # what add_sla wrote, decimals as their exact text (the rest: the format's defaults)
    assert sla["availability_target"] == "0.99"
    assert sla["credit_tiers"] == [{"below": "0.99", "credit_share": "0.1"}]
    # the status entry of the notice names the state it left
    assert entries[-2].details == {
        "status": "terminated",
        "before": {"status": "notice_given"},
        "after": {"status": "terminated"},
    }
    assert details["agreement.availability"] == {
        "period": "2027-03",
        "availability_ratio": "0.98",
        "corrections": ["CN-neocloud-000001"],
    }
    assert details["invoice.credit_note"] == {
        "agreement": "deal-a",
        "total": "-1.00",
        "refers_to": "INV-neocloud-000001",
        "amount": "1.00",
        "reason": "goodwill",
    }
    assert details["agreement.notice"] == {
        "by": "tenant",
        "given_at": "2027-02-01T18:00:00+00:00",
        "effective_at": "2027-05-02T17:00:00+00:00",
        "before": {"status": "active"},
        "after": {"status": "terminated"},  # the clock (LATER) is past the effective instant
        "corrections": [],
    }
    assert entries[4].details == {
        "agreement": "deal-a", "total": "1000000.37", "period": "2027-01"
    }  # fmt: skip


def test_what_happened_cannot_be_recorded_as_happening_later(app: App) -> None:
    seed(app, ("deal-a",))
    with pytest.raises(InvalidInput, match="in the future"):
        agreements.give_notice(
            app.uow(), ctx(), "deal-a", by=Party.TENANT, at=LATER + timedelta(seconds=1)
        )
    doc = factories.agreement_document("deal-b")
    agreements.create_agreement(app.uow(), ctx(), SourceDocument("b.yaml", doc))
    with pytest.raises(InvalidInput, match="in the future"):
        agreements.sign_agreement(app.uow(), ctx(), "deal-b", LATER + timedelta(seconds=1))
    assert agreement_views.get_agreement(app.uow(), "deal-b").status is Status.DRAFT
    assert agreement_views.get_agreement(app.uow(), "deal-a").notice is None


def test_availability_is_measured_for_months_of_the_term_that_have_begun(app: App) -> None:
    seed(app, ("deal-a",))  # term 2027; the clock reads 2028-02-01
    early = Context("tester", FixedClock(datetime(2027, 3, 31, tzinfo=UTC)))
    with pytest.raises(InvalidInput, match="has not started"):
        agreements.record_availability(app.uow(), early, "deal-a", "2027-04", Decimal("0.9"))
    for outside in ("2026-12", "2028-01"):
        with pytest.raises(InvalidInput, match="outside the agreement's term") as err:
            agreements.record_availability(app.uow(), ctx(), "deal-a", outside, Decimal("0.9"))
        assert (err.value.problems[0].field, err.value.problems[0].value) == ("period", outside)
    with pytest.raises(InvalidInput, match="more than 6 decimal places"):
        agreements.record_availability(app.uow(), ctx(), "deal-a", "2027-03", Decimal("0.9876543"))
    assert (
        agreements.record_availability(app.uow(), ctx(), "deal-a", "2027-03", Decimal("0.987654"))
        == []
    )
    assert agreement_views.agreement_details(app.uow(), "deal-a").availability == [
        ("2027-03", Decimal("0.987654"), LATER)
    ]


def test_an_agreement_that_cannot_be_invoiced_does_not_stop_the_others(app: App) -> None:
    """An agreement stored before today's checks (USD 8.5 trillion a month with half its
    value prepaid: January's invoice would be 8.5 + 51 trillion, which the door now
    refuses) whose invoice the store refuses: the close reports it, undoes its part alone
    and invoices the others, numbers without a gap."""
    seed(app, ("deal-a",))
    doc = factories.agreement_document(
        "deal-b",
        monthly_fee=Decimal("8500000000000.00"),
        prepayment={"share_of_value": Decimal("0.5")},
    )
    huge = CapacityAgreement.draft(
        parse_terms(SourceDocument("b.yaml", doc)), at=factories.SIGNED_AT, actor="old"
    )
    huge.sign(factories.SIGNED_AT)
    with app.uow().write() as uow:  # straight into the store, as an older version wrote it
        uow.agreements.add(huge)
        uow.commit()
    report = billing.close_month(app.uow(), ctx(), "2027-02")
    assert [(i.number, i.agreement_key, i.period) for i in report.issued] == [
        ("INV-neocloud-000001", "deal-a", "2027-01"),
        ("INV-neocloud-000002", "deal-a", "2027-02"),  # deal-b's January gave its number back
    ]
    assert list(report.failed) == ["deal-b"]
    problem = report.failed["deal-b"]
    assert isinstance(problem, InvalidInput) and "too large to store exactly" in problem.message
    assert [i.agreement_key for i in billing.list_invoices(app.uow())] == ["deal-a"] * 2
    again = billing.close_month(app.uow(), ctx(), "2027-02")  # nothing changed meanwhile
    assert again.issued == [] and again.already_issued == ["deal-a"]
    assert list(again.failed) == ["deal-b"]
