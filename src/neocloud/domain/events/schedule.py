"""The dated events that no command causes, due at an instant: each tranche of the ramp
becoming due, a notice's effective date 90, 30 and 7 days ahead, the term ending 90, 30
and 7 days ahead and at its end.

Days are calendar days in the billing time zone, as the contract counts notice
(``add_calendar_days``): "90 days before" 2029-06-01 00:00 Chicago is 2029-03-03 00:00
Chicago. A scan as of an instant returns every event due by then, so a scan that ran late
catches up (each with the instant it became due); the outbox's dedupe key makes it
idempotent. The key names the instant the reminder is about, so a term moved by an
amendment gets reminders of its own.

What is not said: a draft has no dated events; a reminder that would fall before the fact
it reminds of exists (notice given, agreement signed) is not made (a notice of 30 days
gets no 90-day reminder); a term that notice ends early gets the notice's reminders
instead of the term's.
"""

from __future__ import annotations

from datetime import datetime

from neocloud.domain.agreements.model import CapacityAgreement, Status
from neocloud.domain.events.model import Event, EventKind, agreement_event, iso
from neocloud.domain.kernel.instants import add_calendar_days

REMINDER_DAYS = (90, 30, 7)


def due(agreement: CapacityAgreement, at: datetime) -> list[Event]:
    """Every dated event of ``agreement`` due at or before ``at``, oldest first."""
    if agreement.status is Status.DRAFT:
        return []
    events = [*_milestones(agreement), *_notice_reminders(agreement), *_term_end(agreement)]
    return sorted((e for e in events if e.occurred_at <= at), key=lambda e: e.occurred_at)


def _milestones(agreement: CapacityAgreement) -> list[Event]:
    tranches = agreement.tranches()
    return [
        agreement_event(
            agreement,
            EventKind.RAMP_MILESTONE,
            iso(start),
            start,
            {
                "tranche": number,
                "tranches": len(tranches),
                "from": iso(start),
                "capacity_share": str(share),
            },
        )
        for number, (start, share) in enumerate(tranches, start=1)
    ]


def _notice_reminders(agreement: CapacityAgreement) -> list[Event]:
    notice = agreement.notice
    if notice is None:
        return []
    tz = agreement.terms.billing_timezone
    out = []
    for days in REMINDER_DAYS:
        when = add_calendar_days(notice.effective_at, -days, tz)
        if when >= notice.given_at:
            payload = {
                "days": days,
                "effective_at": iso(notice.effective_at),
                "given_by": notice.given_by.value,
                "given_at": iso(notice.given_at),
            }
            fact = f"{iso(notice.effective_at)}:{days}d"
            out.append(
                agreement_event(agreement, EventKind.NOTICE_EFFECTIVE_SOON, fact, when, payload)
            )
    return out


def _term_end(agreement: CapacityAgreement) -> list[Event]:
    if agreement.notice is not None:
        return []
    end, tz, signed = (
        agreement.terms.term.end,
        agreement.terms.billing_timezone,
        agreement.signed_at,
    )
    out = []
    for days in REMINDER_DAYS:
        when = add_calendar_days(end, -days, tz)
        if signed is None or when >= signed:
            fact = f"{iso(end)}:{days}d"
            payload = {"days": days, "term_end": iso(end)}
            out.append(agreement_event(agreement, EventKind.TERM_ENDING, fact, when, payload))
    out.append(
        agreement_event(agreement, EventKind.TERM_ENDED, iso(end), end, {"term_end": iso(end)})
    )
    return out
