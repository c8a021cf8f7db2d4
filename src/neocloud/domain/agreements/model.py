"""Capacity agreements: terms, versions (amendments), lifecycle and notice.

Lifecycle, one transition table, one method that changes state (``transition``)::

    draft -> signed -> commissioning -> active -> notice_given -> terminated
                   \\-> active           \\-> expired   \\-> expired
    (signed and commissioning may also go straight to notice_given)

Date-driven steps (commissioning at the term's start, active when the ramp ends, terminated
at the notice's effective instant, expired at the term's end) are taken by ``advance_to``.

Notice is counted in calendar days in the billing time zone, as contracts write it: 90 days'
notice given 2027-02-10 15:30 in Chicago takes effect 2027-05-11 15:30 Chicago time, though
daylight saving time began in between (``NoticeEffect.SAME_LOCAL_TIME``, the default). A
contract may instead make it effective at the end of that day or of that month. Grace
periods for late tranches are counted the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from neocloud.domain.kernel.errors import Conflict, Forbidden, InvalidInput, InvalidTransition
from neocloud.domain.kernel.instants import (
    Interval,
    add_calendar_days,
    end_of_local_day,
    end_of_local_month,
    require_utc,
)
from neocloud.domain.kernel.money import Money
from neocloud.domain.kernel.quantities import Power


class Party(enum.StrEnum):
    OPERATOR = "operator"
    TENANT = "tenant"


class Status(enum.StrEnum):
    DRAFT = "draft"
    SIGNED = "signed"
    COMMISSIONING = "commissioning"
    ACTIVE = "active"
    NOTICE_GIVEN = "notice_given"
    TERMINATED = "terminated"
    EXPIRED = "expired"


TRANSITIONS: dict[Status, frozenset[Status]] = {
    Status.DRAFT: frozenset({Status.SIGNED}),
    Status.SIGNED: frozenset({Status.COMMISSIONING, Status.ACTIVE, Status.NOTICE_GIVEN}),
    Status.COMMISSIONING: frozenset({Status.ACTIVE, Status.NOTICE_GIVEN}),
    Status.ACTIVE: frozenset({Status.NOTICE_GIVEN, Status.EXPIRED}),
    Status.NOTICE_GIVEN: frozenset({Status.TERMINATED, Status.EXPIRED}),
    Status.TERMINATED: frozenset(),
    Status.EXPIRED: frozenset(),
}
BILLABLE = frozenset(TRANSITIONS) - {Status.DRAFT}


@dataclass(frozen=True, slots=True)
class ContractedCapacity:
    """What is sold: power (IT or facility, never unsaid) or GPUs of a model."""

    power: Power | None = None
    gpus: int | None = None
    gpu_model: str | None = None

    def __str__(self) -> str:
        if self.power is not None:
            return str(self.power)
        return f"{self.gpus:,} {self.gpu_model} GPUs"


@dataclass(frozen=True, slots=True)
class RampPhase:
    """During ``interval`` only ``capacity_share`` is delivered and ``price_factor`` billed."""

    interval: Interval
    capacity_share: Decimal
    price_factor: Decimal


@dataclass(frozen=True, slots=True)
class CreditTier:
    below_ratio: Decimal  # availability strictly below this earns ...
    credit_share: Decimal  # ... this share of the period's charges


@dataclass(frozen=True, slots=True)
class SlaTerms:
    availability_target: Decimal
    measured_per: str  # "gpu" or "node"
    tiers: tuple[CreditTier, ...]
    cap_share: Decimal = Decimal(1)
    maintenance_notice_hours: int = 48

    def credit_share(self, availability_ratio: Decimal) -> Decimal:
        """Share of the period's charges credited at this availability, capped."""
        earned = [t.credit_share for t in self.tiers if availability_ratio < t.below_ratio]
        return min(max(earned, default=Decimal(0)), self.cap_share)


class NoticeEffect(enum.StrEnum):
    """When notice of N days takes effect, counted in calendar days in the billing zone."""

    SAME_LOCAL_TIME = "same_local_time"  # N days later at the same wall-clock time
    END_OF_DAY = "end_of_day"  # at the end of the N-th day (local midnight after it)
    END_OF_MONTH = "end_of_month"  # at the end of the month the N-th day falls in


@dataclass(frozen=True, slots=True)
class TerminationTerms:
    notice_days: int
    may_give_notice: frozenset[Party]
    fee: Money
    late_delivery_grace_days: int | None = None
    notice_effective: NoticeEffect = NoticeEffect.SAME_LOCAL_TIME

    def effective_at(self, given_at: datetime, tz: str) -> datetime:
        """When notice given at ``given_at`` takes effect (see the module docstring)."""
        day = add_calendar_days(given_at, self.notice_days, tz)
        if self.notice_effective is NoticeEffect.END_OF_DAY:
            return end_of_local_day(day, tz)
        if self.notice_effective is NoticeEffect.END_OF_MONTH:
            return end_of_local_month(day, tz)
        return day


@dataclass(frozen=True, slots=True)
class AgreementTerms:
    """Everything written in one version of an agreement. Instants are UTC."""

    key: str
    operator: str
    tenant: str
    site: str
    capacity: ContractedCapacity
    term: Interval
    currency: str
    billing_timezone: str
    monthly_fee: Money
    termination: TerminationTerms
    ramp: tuple[RampPhase, ...] = ()
    escalator_annual_rate: Decimal | None = None
    prepayment_share: Decimal | None = None
    sla: SlaTerms | None = None

    def phase_at(self, instant: datetime) -> RampPhase | None:
        return next((p for p in self.ramp if p.interval.contains(instant)), None)

    @property
    def ramp_end(self) -> datetime:
        return max((p.interval.end for p in self.ramp), default=self.term.start)


@dataclass(frozen=True, slots=True)
class AgreementVersion:
    number: int
    effective_from: datetime
    terms: AgreementTerms
    recorded_at: datetime
    actor: str
    note: str = ""


@dataclass(frozen=True, slots=True)
class Notice:
    given_by: Party
    given_at: datetime
    effective_at: datetime


@dataclass
class CapacityAgreement:
    key: str
    status: Status
    versions: list[AgreementVersion]
    notice: Notice | None = None
    history: list[tuple[Status, datetime]] = field(default_factory=list)

    @classmethod
    def draft(cls, terms: AgreementTerms, *, at: datetime, actor: str) -> CapacityAgreement:
        at = require_utc(at, "at")
        version = AgreementVersion(1, terms.term.start, terms, at, actor)
        return cls(terms.key, Status.DRAFT, [version], None, [(Status.DRAFT, at)])

    @property
    def terms(self) -> AgreementTerms:
        return self.versions[-1].terms

    @property
    def first_terms(self) -> AgreementTerms:
        return self.versions[0].terms

    def terms_at(self, instant: datetime) -> AgreementTerms:
        """The version in force at ``instant`` (amendments take effect at their date)."""
        in_force = [v for v in self.versions if v.effective_from <= instant]
        return (in_force[-1] if in_force else self.versions[0]).terms

    def version_boundaries(self) -> list[datetime]:
        return [v.effective_from for v in self.versions[1:]]

    @property
    def service_end(self) -> datetime:
        """When billing stops: the notice's effective instant, else the term's end."""
        end = self.terms.term.end
        return min(end, self.notice.effective_at) if self.notice else end

    @property
    def service_window(self) -> Interval:
        return Interval(self.terms.term.start, self.service_end)

    def transition(self, to: Status, at: datetime) -> None:
        """The one method that changes state; refuses what the transition table forbids."""
        if to not in TRANSITIONS[self.status]:
            allowed = ", ".join(sorted(TRANSITIONS[self.status])) or "none (final)"
            raise InvalidTransition(
                f"agreement {self.key} is {self.status}; cannot become {to} (allowed: {allowed})"
            )
        when = require_utc(at, "at")  # before anything changes: a refusal leaves no trace
        self.status = to
        self.history.append((to, when))

    def sign(self, at: datetime) -> None:
        self.transition(Status.SIGNED, at)

    @property
    def signed_at(self) -> datetime | None:
        """When the agreement was signed (its history says), None while a draft."""
        return next((at for status, at in self.history if status is Status.SIGNED), None)

    def notice_effective_at(self, given_at: datetime) -> datetime:
        """When notice given at ``given_at`` would take effect under the terms in force."""
        terms = self.terms_at(given_at)
        return terms.termination.effective_at(given_at, terms.billing_timezone)

    def grace_deadline(self, tranche_start: datetime) -> datetime:
        """When the grace period for a tranche due at ``tranche_start`` ends (calendar days
        in the billing time zone); a tranche not delivered by then may end the agreement."""
        terms = self.terms_at(tranche_start)
        grace = terms.termination.late_delivery_grace_days
        if grace is None:
            raise Forbidden(f"agreement {self.key} gives no right to terminate for late delivery")
        return add_calendar_days(tranche_start, grace, terms.billing_timezone)

    def give_notice(self, *, by: Party, at: datetime) -> Notice:
        """Notice by ``by`` at ``at``; effective ``notice_days`` calendar days later."""
        at = require_utc(at, "at")
        termination = self.terms_at(at).termination
        if by not in termination.may_give_notice:
            raise Forbidden(f"the {by} may not give notice under agreement {self.key}")
        if not self.terms.term.contains(at):
            raise InvalidInput.single("at", at.isoformat(), "notice must be given within the term")
        signed = self.signed_at
        if signed is not None and at < signed:
            raise InvalidInput.single(
                "at", at.isoformat(), f"is before the agreement was signed ({signed.isoformat()})"
            )
        effective = self.notice_effective_at(at)
        if effective >= self.terms.term.end:
            raise Conflict(
                f"notice given {at.isoformat()} would take effect "
                f"{effective.isoformat()}, after the term ends "
                f"{self.terms.term.end.isoformat()}: the agreement expires first"
            )
        self.transition(Status.NOTICE_GIVEN, at)
        self.notice = Notice(by, at, effective)
        return self.notice

    def tranches(self) -> list[tuple[datetime, Decimal]]:
        """(from, share of the contracted capacity due) along the ramp, then 1 to the end."""
        terms = self.terms
        steps = [(p.interval.start, p.capacity_share) for p in terms.ramp]
        if terms.ramp_end < self.service_end:
            steps.append((max(terms.ramp_end, terms.term.start), Decimal(1)))
        return [(start, share) for start, share in steps if start < self.service_end]

    def terminate_for_late_delivery(
        self, *, tranche_start: datetime, at: datetime, delivered_share: Decimal
    ) -> Notice:
        """The tenant's right: a tranche not delivered by the end of its grace period ends
        the agreement at ``at``, with no notice period."""
        at = require_utc(at, "at")
        deadline = self.grace_deadline(require_utc(tranche_start, "tranche"))
        due = dict(self.tranches()).get(tranche_start)
        if due is None:
            starts = ", ".join(t.isoformat() for t, _ in self.tranches())
            raise InvalidInput.single(
                "tranche",
                tranche_start.isoformat(),
                f"no tranche starts then; tranches start {starts}",
            )
        if at < deadline:
            raise InvalidInput.single(
                "at",
                at.isoformat(),
                f"the grace period for this tranche runs until {deadline.isoformat()}",
            )
        if delivered_share >= due:
            raise Conflict(
                f"the tranche was delivered in time: {delivered_share:.1%} of the "
                f"capacity was held at {deadline.isoformat()}, {due:.0%} was due"
            )
        self.transition(Status.NOTICE_GIVEN, at)
        self.notice = Notice(Party.TENANT, at, at)
        return self.notice

    def amend(
        self,
        terms: AgreementTerms,
        *,
        effective_from: datetime,
        at: datetime,
        actor: str,
        note: str = "",
    ) -> AgreementVersion:
        """A new version in force from ``effective_from``; earlier versions are kept."""
        effective_from = require_utc(effective_from, "effective_from")
        if self.status in (Status.TERMINATED, Status.EXPIRED):
            raise InvalidTransition(f"agreement {self.key} is {self.status}; it cannot change")
        current = self.terms
        for name in ("key", "operator", "tenant", "site", "currency", "billing_timezone"):
            if getattr(terms, name) != getattr(current, name):
                raise InvalidInput.single(
                    name, getattr(terms, name), f"an amendment cannot change {name}"
                )
        if terms.term.start != current.term.start:
            raise InvalidInput.single(
                "term.start",
                terms.term.start.isoformat(),
                "an amendment cannot move the start of the term",
            )
        if not (self.versions[-1].effective_from < effective_from < terms.term.end):
            raise InvalidInput.single(
                "effective_from",
                effective_from.isoformat(),
                "must fall after the last version took effect and before the end of the term",
            )
        version = AgreementVersion(
            len(self.versions) + 1, effective_from, terms, require_utc(at, "at"), actor, note
        )
        self.versions.append(version)
        return version

    def advance_to(self, instant: datetime) -> list[Status]:
        """Take the date-driven steps due by ``instant``; return the states entered."""
        entered = []
        for status, due in self._due_steps():
            if due <= instant and status in TRANSITIONS[self.status]:
                self.transition(status, due)
                entered.append(status)
        return entered

    def _due_steps(self) -> list[tuple[Status, datetime]]:
        terms = self.terms
        start = Status.COMMISSIONING if terms.ramp else Status.ACTIVE
        steps = [(start, terms.term.start), (Status.ACTIVE, terms.ramp_end)]
        if self.notice:
            steps.append((Status.TERMINATED, self.notice.effective_at))
        steps.append((Status.EXPIRED, terms.term.end))
        return steps
