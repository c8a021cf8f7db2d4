"""``/v1/invoices`` and ``/v1/billing``: issued invoices and credit notes (JSON, CSV, HTML),
credit notes against an invoice, the month close."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import HTMLResponse, PlainTextResponse
from pydantic import Field

from neocloud.api import schemas as s
from neocloud.api.deps import Caller, guard, number, page, period
from neocloud.api.routers.common import LIST, READ, WRITE, Cursor, From, Limit, To
from neocloud.domain.access.policy import Area, Verb
from neocloud.domain.kernel.errors import InvalidInput, NeocloudError, Problem
from neocloud.services.authorization import Kind

router = APIRouter(tags=["billing"])
ONE: tuple[Kind, str] = ("invoice", "number")
Format = Literal["json", "csv", "html"]
MEDIA = {"json": "application/json", "csv": "text/csv", "html": "text/html"}


@router.get("/v1/invoices", response_model=s.InvoicePage, responses=LIST)
def list_invoices(
    request: Request,
    agreement: str | None = Query(None, max_length=63),
    start: str | None = From,
    end: str | None = To,
    cursor: str | None = Cursor,
    limit: int = Limit,
    caller: Caller = Depends(guard(Verb.READ, Area.BILLING)),
) -> dict[str, object]:
    """Invoices and credit/debit notes (a tenant key: its own), by number; ``from``/``to``:
    issued in ``[from, to)``."""
    from neocloud.services import billing

    window = period(start, end)
    found = billing.list_invoices(caller.app.uow(), agreement)
    chosen = [i for i in found if caller.visible(i.tenant) and window.holds(i.issued_at)]
    out = page(request, chosen, lambda i: i.number, cursor, limit)
    out["items"] = [s.invoice_out(i) for i in out["items"]]  # type: ignore[attr-defined]
    return out


def _format(request: Request, given: Format | None) -> Format:
    """``format`` if given, else the first of JSON, CSV, HTML the Accept header names."""
    if given is not None:
        return given
    accept = request.headers.get("accept", "")
    for kind, media in (("csv", "text/csv"), ("html", "text/html")):
        if media in accept and "application/json" not in accept:
            return kind  # type: ignore[return-value]
    return "json"


@router.get(
    "/v1/invoices/{number}",
    response_model=s.InvoiceOut,
    responses={
        200: {"content": {"text/csv": {"schema": {"type": "string"}},
                          "text/html": {"schema": {"type": "string"}}}},
        **READ,
    },
)  # fmt: skip
def get_invoice(
    number: str,
    request: Request,
    format: Format | None = Query(None, description="json, csv or html (else by Accept)"),
    caller: Caller = Depends(guard(Verb.READ, Area.BILLING, ONE)),
) -> Any:
    """One invoice or note: lines (precise and rounded), total; as JSON, CSV or a
    printable HTML page."""
    from neocloud.render.invoices import invoice_csv, invoice_html
    from neocloud.services import billing

    invoice = billing.get_invoice(caller.app.uow(), number)
    kind = _format(request, format)
    if kind == "csv":
        return PlainTextResponse(invoice_csv([invoice]), media_type="text/csv")
    if kind == "html":
        return HTMLResponse(invoice_html(invoice))
    return s.invoice_out(invoice)


@router.post(
    "/v1/invoices/{number}/credit-notes",
    status_code=201,
    response_model=s.InvoiceOut,
    responses=WRITE,
)
def credit_note(
    number: str,
    body: s.CreditNoteRequest,
    response: Response,
    caller: Caller = Depends(guard(Verb.WRITE, Area.BILLING, ONE)),
) -> dict[str, Any]:
    """Correct an issued invoice with a credit note (at most what is still open)."""
    from neocloud.domain.kernel.money import Money
    from neocloud.services import billing

    uow = caller.app.uow()
    invoice = billing.get_invoice(uow, number)
    amount = Money(number_of(body.amount), invoice.currency)
    note = billing.issue_credit_note(uow, caller.context(), number, amount, body.reason)
    response.headers["Location"] = f"/v1/invoices/{note.number}"
    return s.invoice_out(note)


def number_of(text: str) -> Any:
    value = number(text, "amount")
    if value == 0:
        raise InvalidInput.single("amount", text, "must be more than 0")
    return value


class CloseRequest(s.Strict):
    period: str = Field(max_length=7, description="The month to close, YYYY-MM")
    availability_source: Literal["auto", "metered", "manual"] = "manual"


class CloseOut(s.Out):
    period: str
    issued: list[s.InvoiceOut]
    already_issued: list[str]
    nothing_to_bill: list[str]
    failed: dict[str, str]


@router.post("/v1/billing/close", response_model=CloseOut, responses=WRITE)
def close_month(
    body: CloseRequest, caller: Caller = Depends(guard(Verb.WRITE, Area.BILLING))
) -> dict[str, Any]:
    """Issue one invoice per billable agreement for a month that has ended (idempotent:
    closing again issues nothing new). SLA availability: ``manual`` (recorded by hand),
    ``metered`` (telemetry) or ``auto`` (recorded, else metered)."""
    from neocloud.services import billing

    app = caller.app
    source = billing.AvailabilitySource(body.availability_source)
    meter = None if source is billing.AvailabilitySource.MANUAL else app.meter()
    report = billing.close_month(app.uow(), caller.context(), body.period, meter=meter,
                                 source=source, rules=app.rules())  # fmt: skip
    if report.failed and not (report.issued or report.already_issued):
        raise _nothing_closed(report.period, report.failed)
    return {
        "period": report.period,
        "issued": [s.invoice_out(i) for i in report.issued],
        "already_issued": list(report.already_issued),
        "nothing_to_bill": list(report.nothing_to_bill),
        "failed": {k: e.message for k, e in report.failed.items()},
    }


def _nothing_closed(period: str, failed: Mapping[str, NeocloudError]) -> NeocloudError:
    """Nothing could be invoiced: the error of the first agreement that failed (the CLI's
    exit code says the same), naming every agreement and why."""
    first = next(iter(failed.values()))
    detail = f"nothing invoiced for {period}: " + "; ".join(
        f"{key}: {e.message}" for key, e in failed.items()
    )
    if isinstance(first, InvalidInput):
        why = [Problem("agreement", key, e.message, "body.period") for key, e in failed.items()]
        return InvalidInput(why, detail)
    return type(first)(detail)
