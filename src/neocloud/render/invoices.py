"""An issued invoice as JSON-ready data, CSV lines, or a printable HTML page."""

from __future__ import annotations

import csv
import html
import io
import re

from neocloud.domain.billing.invoices import IssuedInvoice
from neocloud.domain.kernel.money import MINOR_UNITS, Money, amount_text

NOTES = (
    "Proration is by seconds of the calendar month in the agreement's billing time zone. "
    "Each line is rounded once, half up, to the currency's minor unit; the total is the sum "
    "of the rounded lines. Invoices are never changed: corrections are credit notes."
)


def invoice_data(invoice: IssuedInvoice) -> dict[str, object]:
    return {
        "number": invoice.number, "kind": invoice.kind, "period": invoice.period,
        "agreement": invoice.agreement_key, "operator": invoice.operator,
        "tenant": invoice.tenant, "currency": invoice.currency,
        "issued_at": invoice.issued_at.isoformat(), "final": invoice.final,
        "refers_to": invoice.refers_to,
        "lines": [{"kind": x.kind.value, "description": x.description,
                   "precise": str(x.precise),
                   "amount": amount_text(x.amount, invoice.currency)} for x in invoice.lines],
        "total": invoice.total.text,
    }  # fmt: skip


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(\.[0-9]+)?")


def csv_cell(value: object) -> object:
    """A cell a spreadsheet will not run as a formula: text starting with = + - @ (or a tab
    or carriage return) gets a leading apostrophe (OWASP's advice); numbers, negative ones
    included, stay as they are."""
    if not isinstance(value, str) or not value.startswith(FORMULA_STARTS):
        return value
    return value if PLAIN_NUMBER.fullmatch(value) else "'" + value


CSV_HEADER = ("number", "kind", "period", "agreement", "tenant", "position", "line_kind",
              "description", "precise_amount", "amount", "currency")  # fmt: skip


def invoice_csv(invoices: list[IssuedInvoice], header: bool = True) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    if header:
        writer.writerow(CSV_HEADER)
    for inv in invoices:
        for i, x in enumerate(inv.lines, 1):
            writer.writerow(
                csv_cell(cell)
                for cell in (
                    inv.number,
                    inv.kind,
                    inv.period or "",
                    inv.agreement_key,
                    inv.tenant,
                    i,
                    x.kind.value,
                    x.description,
                    str(x.precise),
                    amount_text(x.amount, inv.currency),
                    inv.currency,
                )
            )
    return out.getvalue()


def _money(amount: Money) -> str:
    return f"{amount.currency} {amount.amount:,.{MINOR_UNITS[amount.currency]}f}"


def invoice_html(invoice: IssuedInvoice) -> str:
    e = html.escape
    title = invoice.kind.value.replace("_", " ").capitalize()
    rows = "\n".join(
        f"<tr><td>{i}</td><td>{e(x.description)}</td>"
        f"<td class=num>{e(_money(Money(x.amount, invoice.currency)))}</td></tr>"
        for i, x in enumerate(invoice.lines, 1)
    )
    about = (
        f"refers to invoice {e(invoice.refers_to)}"
        if invoice.refers_to
        else f"period {e(invoice.period or '')}{' (final invoice)' * invoice.final}"
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>{title} {e(invoice.number)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2.5rem; color: #111; }}
table {{ border-collapse: collapse; width: 100%; margin-top: 1.5rem; }}
th, td {{ border-bottom: 1px solid #ccc; padding: .45rem .6rem; text-align: left; }}
.num {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
tfoot td {{ font-weight: bold; border-top: 2px solid #111; }}
.notes {{ color: #555; font-size: .85rem; margin-top: 2rem; }}
@media print {{ body {{ margin: 0; }} }}
</style></head>
<body>
<h1>{title} {e(invoice.number)}</h1>
<p>From <strong>{e(invoice.operator)}</strong> to <strong>{e(invoice.tenant)}</strong>,
agreement <strong>{e(invoice.agreement_key)}</strong>, {about}.<br>
Issued {e(invoice.issued_at.strftime("%Y-%m-%d %H:%M UTC"))}.</p>
<table>
<thead><tr><th>#</th><th>Description</th><th class=num>Amount</th></tr></thead>
<tbody>
{rows}
</tbody>
<tfoot><tr><td></td><td>Total</td><td class=num>{e(_money(invoice.total))}</td></tr></tfoot>
</table>
<p class=notes>{e(NOTES)}</p>
</body></html>
"""
