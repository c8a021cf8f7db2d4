"""Agreements, availability and capacity releases in the database.

An agreement's terms are stored per version as their canonical document (JSON, written by
``terms_document``). They are read back as stored (``stored_terms``), not re-validated by
the file parser: terms accepted once stay readable even if the format's rules tighten.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from neocloud.adapters.db.tables import (
    AgreementRow,
    AgreementStatusRow,
    AgreementVersionRow,
    AvailabilityRow,
    CapacityReleaseRow,
)
from neocloud.domain.agreements.model import (
    AgreementTerms,
    AgreementVersion,
    CapacityAgreement,
    ContractedCapacity,
    CreditTier,
    Notice,
    NoticeEffect,
    Party,
    RampPhase,
    SlaTerms,
    Status,
    TerminationTerms,
)
from neocloud.domain.kernel.errors import NotFound
from neocloud.domain.kernel.instants import Interval
from neocloud.domain.kernel.money import Money
from neocloud.domain.kernel.quantities import Power, PowerBasis


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

    def _row(self, key: str, for_update: bool = False) -> AgreementRow:
        query = select(AgreementRow).where(AgreementRow.key == key)
        row = self.session.scalar(query.with_for_update() if for_update else query)
        if row is None:
            raise NotFound(f"agreement {key!r} does not exist")
        return row

    def exists(self, key: str) -> bool:
        return (
            self.session.scalar(select(AgreementRow.id).where(AgreementRow.key == key)) is not None
        )

    def all_keys(self, *, site: str | None = None, tenant: str | None = None) -> list[str]:
        query = select(AgreementRow.key).order_by(AgreementRow.key)
        if site:
            query = query.where(AgreementRow.site == site)
        if tenant:
            query = query.where(AgreementRow.tenant == tenant)
        return list(self.session.scalars(query))

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
        from neocloud.domain.agreements.file import terms_document  # noqa: PLC0415 - writes only

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

    def get(self, key: str, *, for_update: bool = False) -> CapacityAgreement:
        row = self._row(key, for_update)
        versions = [
            AgreementVersion(
                v.number,
                v.effective_from,
                stored_terms(v.terms),
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

    def availabilities(self, key: str) -> list[tuple[str, Decimal, datetime]]:
        rows = self.session.scalars(
            select(AvailabilityRow)
            .where(AvailabilityRow.agreement_key == key)
            .order_by(AvailabilityRow.period)
        )
        return [(r.period, r.availability_ratio, r.recorded_at) for r in rows]


def _instant(text: object) -> datetime:
    return datetime.fromisoformat(str(text))


def _interval(m: Mapping[str, object]) -> Interval:
    return Interval(_instant(m["start"]), _instant(m["end"]))


def _dec(value: object) -> Decimal:
    return Decimal(str(value))


def _map(value: object) -> Mapping[str, Any]:
    assert isinstance(value, Mapping)
    return value


def stored_terms(document: Mapping[str, object]) -> AgreementTerms:
    """Terms as ``terms_document`` stored them (canonical: UTC instants, exact numbers as
    text); the inverse of ``terms_document`` without the file format's validation."""
    a = _map(document["agreement"])
    currency = str(a["currency"])
    capacity = _map(a["capacity"])
    if "gpus" in capacity:
        contracted = ContractedCapacity(gpus=int(capacity["gpus"]), gpu_model=capacity["gpu_model"])
    else:
        basis = PowerBasis.FACILITY if "facility_mw" in capacity else PowerBasis.IT
        mw = capacity["facility_mw" if basis is PowerBasis.FACILITY else "it_mw"]
        contracted = ContractedCapacity(power=Power.from_mw(_dec(mw), basis))
    t = _map(a["termination"])
    sla = _map(a["sla"]) if a.get("sla") else None
    return AgreementTerms(
        key=a["key"],
        operator=a["operator"],
        tenant=a["tenant"],
        site=a["site"],
        capacity=contracted,
        term=_interval(_map(a["term"])),
        currency=currency,
        billing_timezone=a["billing_timezone"],
        monthly_fee=Money(_dec(a["monthly_fee"]), currency),
        termination=TerminationTerms(
            int(t["notice_days"]),
            frozenset(Party(p) for p in t["may_give_notice"]),
            Money(_dec(t.get("fee", 0)), currency),
            t.get("late_delivery_grace_days"),
            NoticeEffect(t.get("notice_effective", NoticeEffect.SAME_LOCAL_TIME.value)),
        ),
        ramp=tuple(
            RampPhase(_interval(p), _dec(p["capacity_share"]), _dec(p["price_factor"]))
            for p in a.get("ramp", ())
        ),
        escalator_annual_rate=_dec(_map(a["escalator"])["annual_rate"])
        if a.get("escalator")
        else None,
        prepayment_share=_dec(_map(a["prepayment"])["share_of_value"])
        if a.get("prepayment")
        else None,
        sla=None
        if sla is None
        else SlaTerms(
            _dec(sla["availability_target"]),
            str(sla["measured_per"]),
            tuple(
                CreditTier(_dec(x["below"]), _dec(x["credit_share"])) for x in sla["credit_tiers"]
            ),
            _dec(sla["cap_share"]),
            int(sla["maintenance_notice_hours"]),
        ),
    )
