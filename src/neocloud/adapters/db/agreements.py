"""Agreements, availability and capacity releases in the database.

An agreement's terms are stored per version as their canonical document (JSON) and parsed
back with the same code that reads agreement files, so there is one definition of terms.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neocloud.adapters.db.tables import (
    AgreementRow,
    AgreementStatusRow,
    AgreementVersionRow,
    AvailabilityRow,
    CapacityReleaseRow,
)
from neocloud.domain.agreements.file import parse_terms, terms_document
from neocloud.domain.agreements.model import (
    AgreementVersion,
    CapacityAgreement,
    Notice,
    Party,
    Status,
)
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import NotFound


def _json_safe(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, Mapping):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


class SqlAgreementRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _row(self, key: str) -> AgreementRow:
        row = self.session.scalar(select(AgreementRow).where(AgreementRow.key == key))
        if row is None:
            raise NotFound(f"agreement {key!r} does not exist")
        return row

    def exists(self, key: str) -> bool:
        return (
            self.session.scalar(select(AgreementRow.id).where(AgreementRow.key == key)) is not None
        )

    def all_keys(self) -> list[str]:
        return list(self.session.scalars(select(AgreementRow.key).order_by(AgreementRow.key)))

    def add(self, agreement: CapacityAgreement) -> None:
        t = agreement.terms
        row = AgreementRow(
            key=agreement.key,
            operator=t.operator,
            tenant=t.tenant,
            site=t.site,
            status=agreement.status.value,
        )
        self.session.add(row)
        self.session.flush()
        self._write(row, agreement)

    def save(self, agreement: CapacityAgreement) -> None:
        """Write state, notice and any new versions and history entries."""
        self._write(self._row(agreement.key), agreement)

    def _write(self, row: AgreementRow, agreement: CapacityAgreement) -> None:
        row.status = agreement.status.value
        if agreement.notice:
            row.notice_given_by = agreement.notice.given_by.value
            row.notice_given_at = agreement.notice.given_at
            row.notice_effective_at = agreement.notice.effective_at
        stored_versions = self._count(AgreementVersionRow, row.id)
        for v in agreement.versions[stored_versions:]:
            self.session.add(
                AgreementVersionRow(
                    agreement_id=row.id,
                    number=v.number,
                    effective_from=v.effective_from,
                    recorded_at=v.recorded_at,
                    actor=v.actor,
                    note=v.note,
                    terms=_json_safe(terms_document(v.terms)),
                )
            )
        stored_history = self._count(AgreementStatusRow, row.id)
        for seq, (status, at) in enumerate(agreement.history[stored_history:], stored_history):
            self.session.add(
                AgreementStatusRow(agreement_id=row.id, seq=seq, status=status.value, at=at)
            )
        self.session.flush()

    def _count(
        self, table: type[AgreementVersionRow] | type[AgreementStatusRow], agreement_id: int
    ) -> int:
        return int(
            self.session.scalar(
                select(func.count()).select_from(table).where(table.agreement_id == agreement_id)
            )
            or 0
        )

    def get(self, key: str) -> CapacityAgreement:
        row = self._row(key)
        versions = [
            AgreementVersion(
                v.number,
                v.effective_from,
                parse_terms(SourceDocument(f"stored {key} v{v.number}", v.terms)),
                v.recorded_at,
                v.actor,
                v.note,
            )
            for v in self.session.scalars(
                select(AgreementVersionRow)
                .where(AgreementVersionRow.agreement_id == row.id)
                .order_by(AgreementVersionRow.number)
            )
        ]
        history = [
            (Status(h.status), h.at)
            for h in self.session.scalars(
                select(AgreementStatusRow)
                .where(AgreementStatusRow.agreement_id == row.id)
                .order_by(AgreementStatusRow.seq)
            )
        ]
        notice = None
        if row.notice_given_by and row.notice_given_at and row.notice_effective_at:
            notice = Notice(
                Party(row.notice_given_by), row.notice_given_at, row.notice_effective_at
            )
        return CapacityAgreement(row.key, Status(row.status), versions, notice, history)

    def record_release(self, key: str, site: str, at: datetime, reason: str) -> None:
        self.session.add(
            CapacityReleaseRow(agreement_key=key, site=site, release_at=at, reason=reason)
        )

    def releases(self, site: str | None = None) -> list[tuple[str, str, datetime, str]]:
        query = select(CapacityReleaseRow).order_by(CapacityReleaseRow.release_at)
        if site:
            query = query.where(CapacityReleaseRow.site == site)
        return [
            (r.agreement_key, r.site, r.release_at, r.reason) for r in self.session.scalars(query)
        ]

    def record_availability(self, key: str, period: str, ratio: Decimal, at: datetime) -> None:
        row = self.session.get(AvailabilityRow, (key, period))
        if row is None:
            self.session.add(
                AvailabilityRow(
                    agreement_key=key, period=period, availability_ratio=ratio, recorded_at=at
                )
            )
        else:
            row.availability_ratio, row.recorded_at = ratio, at

    def availability(self, key: str, period: str) -> Decimal | None:
        row = self.session.get(AvailabilityRow, (key, period))
        return None if row is None else row.availability_ratio
