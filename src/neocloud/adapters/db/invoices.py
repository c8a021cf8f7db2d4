"""Issued invoices, credit notes and debit notes: written once, never updated; numbered
without gaps per operator and kind."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from neocloud.adapters.db.tables import DocumentSequenceRow, InvoiceLineRow, InvoiceRow
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
    def __init__(self, session: Session) -> None:
        self.session = session

    def next_number(self, operator: str, kind: DocumentKind) -> str:
        """Take the next number of ``operator``'s ``kind`` series, locking the counter row so
        that concurrent closes queue behind each other instead of skipping or repeating. The
        series' first use creates its row with INSERT ... ON CONFLICT DO NOTHING, so two
        first uses at once cannot collide either."""
        values = {"operator": operator, "kind": kind.value, "last_number": 0}
        if self.session.get_bind().dialect.name == "postgresql":  # imported when used (60 ms)
            from sqlalchemy.dialects import postgresql  # noqa: PLC0415

            pg = postgresql.insert(DocumentSequenceRow).values(values)
            self.session.execute(pg.on_conflict_do_nothing())
        else:
            from sqlalchemy.dialects import sqlite  # noqa: PLC0415

            lite = sqlite.insert(DocumentSequenceRow).values(values)
            self.session.execute(lite.on_conflict_do_nothing())
        row = self.session.scalars(
            select(DocumentSequenceRow)
            .where(DocumentSequenceRow.operator == operator, DocumentSequenceRow.kind == kind)
            .with_for_update()
            .execution_options(populate_existing=True)
        ).one()
        row.last_number += 1
        self.session.flush()
        return f"{PREFIX[kind]}-{operator}-{row.last_number:06d}"

    def add(self, invoice: IssuedInvoice) -> None:
        row = InvoiceRow(
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
        self.session.add(row)
        self.session.flush()
        self.session.add_all(
            InvoiceLineRow(
                invoice_id=row.id,
                position=i,
                kind=line.kind.value,
                description=line.description,
                precise=str(line.precise),
                amount=line.amount,
            )
            for i, line in enumerate(invoice.lines)
        )
        self.session.flush()

    def exists(self, agreement_key: str, period: str) -> bool:
        return (
            self.session.scalar(
                select(InvoiceRow.id).where(
                    InvoiceRow.agreement_key == agreement_key,
                    InvoiceRow.period == period,
                    InvoiceRow.kind == DocumentKind.INVOICE.value,
                )
            )
            is not None
        )

    def get(self, number: str, *, for_update: bool = False) -> IssuedInvoice:
        """One document; ``for_update`` locks its row until the transaction ends, so notes
        against one invoice are issued one after the other."""
        query = select(InvoiceRow).where(InvoiceRow.number == number)
        row = self.session.scalar(query.with_for_update() if for_update else query)
        if row is None:
            raise NotFound(f"invoice {number!r} does not exist")
        return self._domain(row)

    def list(self, agreement_key: str | None = None) -> list[IssuedInvoice]:
        query = select(InvoiceRow).order_by(InvoiceRow.id)
        if agreement_key:
            query = query.where(InvoiceRow.agreement_key == agreement_key)
        return [self._domain(r) for r in self.session.scalars(query)]

    def _domain(self, row: InvoiceRow) -> IssuedInvoice:
        lines = tuple(
            InvoiceLine(
                LineKind(x.kind),
                x.description,
                Decimal(x.precise),
                Money(x.amount, row.currency).rounded().amount,
            )
            for x in self.session.scalars(
                select(InvoiceLineRow)
                .where(InvoiceLineRow.invoice_id == row.id)
                .order_by(InvoiceLineRow.position)
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
