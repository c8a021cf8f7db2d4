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

from sqlalchemy import Connection, Row, Table, func, insert, select, update

from neocloud.adapters.db.tables import (
    agreement_status_history,
    agreement_versions,
    agreements,
    availability,
    capacity_releases,
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
    def __init__(self, connection: Connection) -> None:
        self.connection = connection

    def _row(self, key: str, for_update: bool = False) -> Row[Any]:
        query = select(agreements).where(agreements.c.key == key)
        row = self.connection.execute(query.with_for_update() if for_update else query).first()
        if row is None:
            raise NotFound(f"agreement {key!r} does not exist")
        return row

    def exists(self, key: str) -> bool:
        query = select(agreements.c.id).where(agreements.c.key == key)
        return self.connection.execute(query).first() is not None

    def all_keys(self, *, site: str | None = None, tenant: str | None = None) -> list[str]:
        c = agreements.c
        query = select(c.key).order_by(c.key)
        if site:
            query = query.where(c.site == site)
        if tenant:
            query = query.where(c.tenant == tenant)
        return list(self.connection.scalars(query))

    def add(self, agreement: CapacityAgreement) -> None:
        t = agreement.terms
        agreement_id = self.connection.execute(
            insert(agreements)
            .values(key=agreement.key, operator=t.operator, tenant=t.tenant, site=t.site)
            .values(self._state(agreement))
            .returning(agreements.c.id)
        ).scalar_one()
        self._append(agreement_id, agreement)

    def save(self, agreement: CapacityAgreement) -> None:
        """Write state, notice and any new versions and history entries."""
        agreement_id = self._row(agreement.key).id
        self.connection.execute(
            update(agreements).where(agreements.c.id == agreement_id).values(self._state(agreement))
        )
        self._append(agreement_id, agreement)

    @staticmethod
    def _state(agreement: CapacityAgreement) -> dict[str, object]:
        notice = agreement.notice
        return {
            "status": agreement.status.value,
            "notice_given_by": notice.given_by.value if notice else None,
            "notice_given_at": notice.given_at if notice else None,
            "notice_effective_at": notice.effective_at if notice else None,
        }

    def _append(self, agreement_id: int, agreement: CapacityAgreement) -> None:
        """The versions and history entries not stored yet (both only ever grow)."""
        from neocloud.domain.agreements.file import terms_document  # noqa: PLC0415 - writes only

        stored_versions = self._count(agreement_versions, agreement_id)
        new_versions = [
            {
                "agreement_id": agreement_id,
                "number": v.number,
                "effective_from": v.effective_from,
                "recorded_at": v.recorded_at,
                "actor": v.actor,
                "note": v.note,
                "terms": _json_safe(terms_document(v.terms)),
            }
            for v in agreement.versions[stored_versions:]
        ]
        if new_versions:
            self.connection.execute(insert(agreement_versions), new_versions)
        stored_history = self._count(agreement_status_history, agreement_id)
        new_history = [
            {"agreement_id": agreement_id, "seq": seq, "status": status.value, "at": at}
            for seq, (status, at) in enumerate(agreement.history[stored_history:], stored_history)
        ]
        if new_history:
            self.connection.execute(insert(agreement_status_history), new_history)

    def _count(self, table: Table, agreement_id: int) -> int:
        query = select(func.count()).select_from(table)
        return int(self.connection.scalar(query.where(table.c.agreement_id == agreement_id)) or 0)

    def get(self, key: str, *, for_update: bool = False) -> CapacityAgreement:
        row = self._row(key, for_update)
        v, h = agreement_versions.c, agreement_status_history.c
        versions = [
            AgreementVersion(
                r.number, r.effective_from, stored_terms(r.terms), r.recorded_at, r.actor, r.note
            )
            for r in self.connection.execute(
                select(agreement_versions).where(v.agreement_id == row.id).order_by(v.number)
            )
        ]
        history = [
            (Status(r.status), r.at)
            for r in self.connection.execute(
                select(h.status, h.at).where(h.agreement_id == row.id).order_by(h.seq)
            )
        ]
        notice = None
        if row.notice_given_by and row.notice_given_at and row.notice_effective_at:
            notice = Notice(
                Party(row.notice_given_by), row.notice_given_at, row.notice_effective_at
            )
        return CapacityAgreement(row.key, Status(row.status), versions, notice, history)

    def record_release(self, key: str, site: str, at: datetime, reason: str) -> None:
        self.connection.execute(
            insert(capacity_releases).values(
                agreement_key=key, site=site, release_at=at, reason=reason
            )
        )

    def releases(self, site: str | None = None) -> list[tuple[str, str, datetime, str]]:
        c = capacity_releases.c
        query = select(c.agreement_key, c.site, c.release_at, c.reason).order_by(c.release_at)
        if site:
            query = query.where(c.site == site)
        return [tuple(r) for r in self.connection.execute(query)]

    def record_availability(
        self, key: str, period: str, ratio: Decimal, at: datetime, source: str = "manual"
    ) -> None:
        c = availability.c
        values = {"availability_ratio": ratio, "recorded_at": at, "source": source}
        updated = self.connection.execute(
            update(availability).where(c.agreement_key == key, c.period == period).values(values)
        )
        if not updated.rowcount:
            self.connection.execute(
                insert(availability).values(agreement_key=key, period=period, **values)
            )

    def recorded_availability(self, key: str, period: str) -> tuple[Decimal, str] | None:
        """The figure recorded for the period and where it came from (manual, metered)."""
        c = availability.c
        query = select(c.availability_ratio, c.source).where(
            c.agreement_key == key, c.period == period
        )
        row = self.connection.execute(query).first()
        return None if row is None else (row[0], str(row[1]))

    def availability(self, key: str, period: str) -> Decimal | None:
        c = availability.c
        query = select(c.availability_ratio).where(c.agreement_key == key, c.period == period)
        return self.connection.scalar(query)

    def availabilities(self, key: str) -> list[tuple[str, Decimal, datetime]]:
        c = availability.c
        query = (
            select(c.period, c.availability_ratio, c.recorded_at)
            .where(c.agreement_key == key)
            .order_by(c.period)
        )
        return [tuple(r) for r in self.connection.execute(query)]


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
