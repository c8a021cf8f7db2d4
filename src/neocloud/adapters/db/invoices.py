"""Issued invoices, credit notes and debit notes: written once, never updated; numbered
without gaps per operator and kind."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, insert, select, update

from neocloud.adapters.db.tables import document_sequences, invoice_lines, invoices
from neocloud.domain.billing.drafts import InvoiceLine, LineKind
from neocloud.domain.billing.invoices import DocumentKind, IssuedInvoice
from neocloud.domain.kernel.errors import Conflict, NotFound
from neocloud.domain.kernel.money import Money

PREFIX = {
    DocumentKind.INVOICE: "INV",
    DocumentKind.CREDIT_NOTE: "CN",
    DocumentKind.DEBIT_NOTE: "DN",
}


class SqlInvoiceRepository:
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def next_number(self, operator: str, kind: DocumentKind) -> str:
        """Take the next number of ``operator``'s ``kind`` series. The UPDATE locks the
        counter row until the transaction ends, so concurrent closes queue behind each other
        instead of skipping or repeating. The series' first use creates its row with
        INSERT ... ON CONFLICT DO NOTHING, so two first uses at once cannot collide either."""
        values = {"operator": operator, "kind": kind.value, "last_number": 0}
        if self.connection.dialect.name == "postgresql":  # imported when used (60 ms)
            from sqlalchemy.dialects import postgresql  # noqa: PLC0415

            pg = postgresql.insert(document_sequences).values(values)
            self.connection.execute(pg.on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects import sqlite  # noqa: PLC0415

            lite = sqlite.insert(document_sequences).values(values)
            self.connection.execute(lite.on_conflict_do_nothing())
        c = document_sequences.c
        number = self.connection.execute(
            update(document_sequences)
            .where(c.operator == operator, c.kind == kind.value)
            .values(last_number=c.last_number + 1)
            .returning(c.last_number)
        ).scalar_one()
        return f"{PREFIX[kind]}-{operator}-{number:06d}"

    def add(self, invoice: IssuedInvoice) -> None:
        invoice_id = self.connection.execute(
            insert(invoices)
            .values(
                number=invoice.number,
                kind=invoice.kind.value,
                operator=invoice.operator,
                tenant=invoice.tenant,
                agreement_key=invoice.agreement_key,
                period=invoice.period,
                refers_to=invoice.refers_to,
                currency=invoice.currency,
                total=invoice.total.amount,
                final=invoice.final,
                issued_at=invoice.issued_at,
            )
            .returning(invoices.c.id)
        ).scalar_one()
        if invoice.lines:
            self.connection.execute(
                insert(invoice_lines),
                [
                    {
                        "invoice_id": invoice_id,
                        "position": i,
                        "kind": line.kind.value,
                        "description": line.description,
                        "precise": str(line.precise),
                        "amount": line.amount,
                    }
                    for i, line in enumerate(invoice.lines)
                ],
            )

    def exists(self, agreement_key: str, period: str) -> bool:
        c = invoices.c
        query = select(c.id).where(
            c.agreement_key == agreement_key,
            c.period == period,
            c.kind == DocumentKind.INVOICE.value,
        )
        return self.connection.execute(query).first() is not None

    def get(self, number: str, *, for_update: bool = False) -> IssuedInvoice:
        """One document; ``for_update`` locks its row until the transaction ends, so notes
        against one invoice are issued one after the other."""
        query = select(invoices).where(invoices.c.number == number)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise NotFound(f"invoice {number!r} does not exist")
        return self._domain(row)

    def list(self, agreement_key: str | None = None) -> list[IssuedInvoice]:
        query = select(invoices).order_by(invoices.c.id)
        if agreement_key:
            query = query.where(invoices.c.agreement_key == agreement_key)
        return [self._domain(r) for r in self.connection.execute(query).all()]

    def _domain(self, row: Row[Any]) -> IssuedInvoice:
        c = invoice_lines.c
        lines = tuple(
            InvoiceLine(
                LineKind(x.kind),
                x.description,
                Decimal(x.precise),
                Money(x.amount, row.currency).rounded().amount,
            )
            for x in self.connection.execute(
                select(invoice_lines).where(c.invoice_id == row.id).order_by(c.position)
            )
        )
        invoice = IssuedInvoice(
            row.number,
            DocumentKind(row.kind),
            row.operator,
            row.tenant,
            row.agreement_key,
            row.period,
            row.refers_to,
            row.currency,
            lines,
            row.final,
            row.issued_at,
        )
        if invoice.total.amount != row.total:  # the stored total guards the stored lines
            raise Conflict(
                f"{row.number}: stored total {row.total} differs from its lines' "
                f"{invoice.total.amount}; the database was changed outside neocloud"
            )
        return invoice
