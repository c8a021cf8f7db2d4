"""``neocloud agreement``: capacity agreements from file to notice, and what they are worth."""

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, emit_json, handles_errors, make_app, number_option
from neocloud.render.agreements import agreement_data, corrections_data

if TYPE_CHECKING:
    from datetime import datetime

    from neocloud.domain.agreements.model import CapacityAgreement
    from neocloud.domain.billing.invoices import IssuedInvoice
    from neocloud.domain.billing.value import DealValue
    from neocloud.domain.kernel.instants import Moment

cli = typer.Typer(
    help="Capacity agreements: create, sign, amend, notice, value.", no_args_is_help=True
)


class Who(StrEnum):
    operator = "operator"
    tenant = "tenant"


def _moment(text: str, field: str) -> "Moment":
    """A date (local midnight in the agreement's billing time zone) or an instant."""
    from neocloud.domain.kernel.instants import parse_moment

    return parse_moment(text, field)


def _instant(text: str | None, field: str) -> "Moment | None":
    return None if text is None else _moment(text, field)


AT_HELP = "A date (local midnight in the billing time zone) or ISO 8601 with an offset"


def print_corrections(notes: "list[IssuedInvoice]") -> None:
    """The credit and debit notes that re-billed invoiced months, one line each."""
    for note in notes:
        console().print(
            f"issued {note.number} ({note.kind.value.replace('_', ' ')}) against "
            f"{note.refers_to}: {note.total}"
        )


def _local(instant: "datetime", timezone: str) -> str:
    from zoneinfo import ZoneInfo

    return instant.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


def render_agreement(a: "CapacityAgreement") -> None:
    from rich.table import Table

    from neocloud.domain.kernel.money import plain

    t = a.terms
    table = Table(show_header=False, title=f"agreement {a.key} — {a.status}", title_justify="left")
    table.add_column()
    table.add_column()
    ramp = (
        "; ".join(
            f"{_local(p.interval.start, t.billing_timezone)[:10]}.."
            f"{_local(p.interval.end, t.billing_timezone)[:10]}: "
            f"{plain(p.capacity_share * 100)} % delivered, price x{plain(p.price_factor)}"
            for p in t.ramp
        )
        or "none"
    )
    rows = [
        ("parties", f"{t.operator} (operator) -> {t.tenant} (tenant)"),
        ("site / capacity", f"{t.site} / {t.capacity}"),
        (
            "term",
            f"{_local(t.term.start, t.billing_timezone)} to "
            f"{_local(t.term.end, t.billing_timezone)} {t.billing_timezone} (billing time zone)",
        ),
        ("monthly fee", str(t.monthly_fee)),
        ("ramp", ramp),
        (
            "notice",
            f"{t.termination.notice_days} calendar days "
            f"({t.termination.notice_effective.value.replace('_', ' ')}), by "
            f"{' or '.join(sorted(t.termination.may_give_notice))}",
        ),
        (
            "SLA",
            f"{plain(t.sla.availability_target * 100)} % per {t.sla.measured_per}, credits "
            f"up to {plain(t.sla.cap_share * 100)} %"
            if t.sla
            else "none",
        ),
        ("versions", ", ".join(f"v{v.number} from {v.effective_from.date()}" for v in a.versions)),
    ]
    if a.notice:
        rows.append(
            (
                "notice given",
                f"by the {a.notice.given_by} on "
                f"{a.notice.given_at.isoformat()}, effective "
                f"{a.notice.effective_at.isoformat()}",
            )
        )
    for label, value in rows:
        table.add_row(label, value)
    console().print(table)


@cli.command("create")
@handles_errors
def create(
    file: Path = typer.Argument(..., help="Agreement file (docs/AGREEMENT_FORMAT.md)."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Validate an agreement file completely and store it as a draft."""
    from neocloud.services import agreements as service

    with make_app() as app:
        app.require_database()
        agreement = service.create_agreement(app.uow(), app.context(), app.read_yaml(file))
    if as_json:
        emit_json(agreement_data(agreement))
    else:
        console().print(
            f"created agreement {agreement.key} (draft); sign it with "
            f"`neocloud agreement sign {agreement.key}`"
        )


@cli.command("sign")
@handles_errors
def sign(
    key: str, at: str = typer.Option(None, "--at", help=f"When: {AT_HELP}; now if omitted.")
) -> None:
    """Record the signature: draft -> signed."""
    from neocloud.services import agreements as service

    with make_app() as app:
        app.require_database()
        agreement = service.sign_agreement(app.uow(), app.context(), key, _instant(at, "at"))
    console().print(f"agreement {key} is {agreement.status}")


@cli.command("amend")
@handles_errors
def amend(
    key: str,
    file: Path,
    effective_from: str = typer.Option(
        ..., "--effective-from", help=f"When the new terms apply: {AT_HELP}."
    ),
    note: str = typer.Option("", "--note", help="Why (kept in the history)."),
) -> None:
    """A new version of the terms from a date; earlier versions are kept."""
    from neocloud.services import agreements as service

    with make_app() as app:
        app.require_database()
        changed = service.amend_agreement(
            app.uow(),
            app.context(),
            key,
            app.read_yaml(file),
            effective_from=_moment(effective_from, "effective_from"),
            note=note,
        )
    console().print(f"agreement {key} now has {len(changed.agreement.versions)} versions")
    print_corrections(changed.corrections)


@cli.command("show")
@handles_errors
def show(key: str, as_json: bool = typer.Option(False, "--json")) -> None:
    """Terms, status, versions, notice and recorded availability of one agreement."""
    from neocloud.services import agreement_views as views

    with make_app() as app:
        app.require_database()
        details = views.agreement_details(app.uow(), key)
    agreement, measured, release = details.agreement, details.availability, details.release
    if as_json:
        data = agreement_data(agreement)
        data["availability"] = [
            {"period": p, "availability_ratio": r, "recorded_at": at.isoformat()}
            for p, r, at in measured
        ]
        data["capacity_released"] = (
            None if release is None else {"at": release[0].isoformat(), "reason": release[1]}
        )
        emit_json(data)
        return
    render_agreement(agreement)
    for period, ratio, at in measured:
        console().print(f"availability {period}: {ratio} (recorded {at.isoformat()})")
    if release is not None:
        console().print(f"capacity released {release[0].isoformat()}: {release[1]}")


@cli.command("list")
@handles_errors
def list_(
    site: str = typer.Option(None, "--site", help="Only agreements on this site."),
    tenant: str = typer.Option(None, "--tenant", help="Only this tenant's agreements."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Every agreement (or a site's, or a tenant's) with its status."""
    from rich.table import Table

    from neocloud.services import agreement_views as views

    with make_app() as app:
        app.require_database()
        agreements = views.list_agreements(app.uow(), site=site, tenant=tenant)
    if as_json:
        emit_json([agreement_data(a) for a in agreements])
        return
    table = Table("key", "status", "tenant", "site", "monthly fee", "service ends")
    for a in agreements:
        table.add_row(
            a.key,
            a.status,
            a.terms.tenant,
            a.terms.site,
            str(a.terms.monthly_fee),
            a.service_end.isoformat(),
        )
    console().print(table)


@cli.command("notice")
@handles_errors
def notice(
    key: str,
    by: Who = typer.Option(..., "--by", help="Which party gives notice."),
    at: str = typer.Option(None, "--at", help=f"When: {AT_HELP}; now if omitted."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Give notice: service, billing and capacity end notice_days calendar days later.

    Calendar days in the billing time zone, at the same local time (or at the end of that
    day or month, as the terms say). Months already invoiced after it are credited."""
    from neocloud.domain.agreements.model import Party
    from neocloud.services import agreements as service

    with make_app() as app:
        app.require_database()
        given = service.give_notice(
            app.uow(), app.context(), key, by=Party(by.value), at=_instant(at, "at")
        )
    result = given.notice
    if as_json:
        emit_json(
            {
                "agreement": key,
                "given_by": result.given_by.value,
                "given_at": result.given_at.isoformat(),
                "effective_at": result.effective_at.isoformat(),
                "corrections": corrections_data(given.corrections),
            }
        )
    else:
        tz = given.billing_timezone
        console().print(
            f"notice on {key} by the {result.given_by} at "
            f"{result.given_at.isoformat()}: service, billing and capacity end "
            f"{result.effective_at.isoformat()} ({_local(result.effective_at, tz)} {tz})"
        )
        print_corrections(given.corrections)


@cli.command("terminate")
@handles_errors
def terminate(
    key: str,
    late_tranche: str = typer.Option(
        ..., "--late-tranche", help=f"Start of the tranche delivered late: {AT_HELP}."
    ),
    at: str = typer.Option(None, "--at", help=f"When: {AT_HELP}; now if omitted."),
) -> None:
    """The tenant's right to end the agreement when a tranche is late past its grace period."""
    from neocloud.services import allocation as allocation_service

    with make_app() as app:
        app.require_database()
        result = allocation_service.terminate_for_late_delivery(
            app.uow(),
            app.context(),
            key,
            tranche_start=_moment(late_tranche, "late_tranche"),
            at=_instant(at, "at"),
        )
    console().print(
        f"{key} terminated by the tenant at {result.notice.effective_at.isoformat()} "
        "(tranche delivered late); billing, service and capacity end then"
    )
    print_corrections(result.corrections)


@cli.command("availability")
@handles_errors
def availability(
    key: str,
    period: str = typer.Argument(..., help="YYYY-MM"),
    ratio: str = typer.Argument(..., help="Availability 0..1, e.g. 0.985"),
) -> None:
    """Record a period's measured availability (the SLA credit's input)."""
    from neocloud.domain.kernel.money import plain
    from neocloud.services import agreements as service

    value = number_option(ratio, "availability")
    with make_app() as app:
        app.require_database()
        notes = service.record_availability(app.uow(), app.context(), key, period, value)
    console().print(f"{key} {period}: availability {plain(value * 100)} %")
    print_corrections(notes)


def value_json(v: "DealValue") -> dict[str, object]:
    return {
        "as_of": v.as_of.isoformat(), "currency": v.currency,
        "headline_total": v.headline_total.text, "contracted_total": v.contracted_total.text,
        "earned_to_date": v.earned_to_date.text, "billed_to_date": v.billed_to_date.text,
        "remaining": v.remaining.text, "enforceable_remaining": v.enforceable_remaining.text,
        "enforceable_until": v.enforceable_until.isoformat(),
    }  # fmt: skip


@cli.command("value")
@handles_errors
def value(
    key: str,
    as_of: str = typer.Option(None, "--as-of", help=f"{AT_HELP}; now if omitted."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Headline value, billed to date, remaining, and what the notice clause makes enforceable."""
    from rich.table import Table

    from neocloud.services import agreement_views as views

    with make_app() as app:
        app.require_database()
        v = views.value_agreement(app.uow(), app.context(), key, _instant(as_of, "as_of"))
        when = v.as_of
    if as_json:
        emit_json(value_json(v))
        return
    table = Table(
        "figure",
        "amount",
        "what it counts",
        title=f"{key} as of {when.isoformat()}",
        title_justify="left",
    )
    for label, money, note in (
        ("headline total", v.headline_total, "every month of the term as written"),
        ("contracted total", v.contracted_total, "the term, cut at a notice already given"),
        ("earned to date", v.earned_to_date, "charges for service before the date"),
        ("billed to date", v.billed_to_date, "invoices issued (credits, prepayment included)"),
        ("remaining", v.remaining, "contracted total - earned to date"),
        (
            "enforceable remaining",
            v.enforceable_remaining,
            f"owed if notice were given now: service until {v.enforceable_until.date()}",
        ),
    ):
        table.add_row(label, f"{money.currency} {money.rounded().amount:,.2f}", note)
    console().print(table)
