"""The agreement description format (YAML, ``version: 1``): parse into terms, write back.

Dates: ``2026-05-01`` means local midnight in the agreement's ``billing_timezone``; a date
and time must carry its UTC offset (``2026-05-03T09:00:00-05:00``); one without is naive and
refused. Every problem is reported with its location; see ``docs/AGREEMENT_FORMAT.md``.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from neocloud.domain.agreements.model import (
    AgreementTerms,
    ContractedCapacity,
    CreditTier,
    NoticeEffect,
    Party,
    RampPhase,
    SlaTerms,
    TerminationTerms,
)
from neocloud.domain.kernel.documents import Path, Reader, SourceDocument, path_text
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.domain.kernel.instants import Interval, parse_moment, resolve
from neocloud.domain.kernel.money import MICRO_PLACES, MINOR_UNITS, Money
from neocloud.domain.kernel.names import model_problem
from neocloud.domain.kernel.quantities import MAX_GPUS, MAX_MW, Power, PowerBasis

FORMAT_VERSION = 1

KEYS = {"key", "operator", "tenant", "site", "capacity", "term", "billing_timezone", "currency",
        "monthly_fee", "ramp", "escalator", "prepayment", "sla", "termination"}  # fmt: skip
REQUIRED = KEYS - {"ramp", "escalator", "prepayment", "sla"}


def parse_terms(doc: SourceDocument) -> AgreementTerms:
    """Validate an agreement document; raise InvalidInput listing every problem."""
    r = Reader(doc)
    top = r.mapping(
        (), doc.data, allowed={"version", "agreement"}, required={"version", "agreement"}
    )
    if top is None:
        r.raise_if_any()
    assert top is not None
    if top.get("version") not in (None, FORMAT_VERSION):
        r.problem(("version",), top["version"], f"unsupported format version; use {FORMAT_VERSION}")
    p: Path = ("agreement",)
    m = r.mapping(p, top.get("agreement"), allowed=KEYS, required=REQUIRED)
    if m is None:
        r.raise_if_any()
    assert m is not None
    terms = _terms(r, p, m)
    r.raise_if_any()
    assert terms is not None
    return terms


def _terms(r: Reader, p: Path, m: Mapping[str, object]) -> AgreementTerms | None:
    names = {k: r.name(p, m, k) for k in ("key", "operator", "tenant", "site")}
    tz = r.timezone(p, m, "billing_timezone")
    currency = r.currency(p, m, "currency")
    fee = r.decimal(
        p, m, "monthly_fee", minimum=0, places=MINOR_UNITS.get(str(currency), MICRO_PLACES)
    )
    term = _interval(r, (*p, "term"), m.get("term"), tz)
    ramp = _ramp(r, (*p, "ramp"), m.get("ramp"), tz, term)
    escalator = _share_block(
        r, (*p, "escalator"), m.get("escalator"), "annual_rate", maximum=Decimal("0.5")
    )
    prepayment = _share_block(r, (*p, "prepayment"), m.get("prepayment"), "share_of_value")
    sla = _sla(r, (*p, "sla"), m.get("sla"))
    termination = _termination(r, (*p, "termination"), m.get("termination"), str(currency or "USD"))
    capacity = _capacity(r, (*p, "capacity"), m.get("capacity"))
    if r.problems or None in (*names.values(), tz, currency, fee, term, termination, capacity):
        return None
    return AgreementTerms(
        key=str(names["key"]),
        operator=str(names["operator"]),
        tenant=str(names["tenant"]),
        site=str(names["site"]),
        capacity=capacity,  # type: ignore[arg-type]
        term=term,  # type: ignore[arg-type]
        currency=str(currency),
        billing_timezone=str(tz),
        monthly_fee=Money(fee, str(currency)),  # type: ignore[arg-type]
        termination=termination,  # type: ignore[arg-type]
        ramp=ramp,
        escalator_annual_rate=escalator,
        prepayment_share=prepayment,
        sla=sla,
    )


def instant(r: Reader, path: Path, value: object, tz: str | None) -> datetime | None:
    """A date (local midnight in ``tz``) or an ISO date-time with an offset, as UTC; in
    the years neocloud takes (``kernel.instants``)."""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    try:
        moment = parse_moment(text, path_text(path))
        if isinstance(moment, datetime):
            return moment
        return None if tz is None else resolve(moment, tz, path_text(path))  # tz: reported
    except InvalidInput as exc:
        r.problem(path, value, exc.problems[0].message)
        return None


def _interval(r: Reader, p: Path, raw: object, tz: str | None) -> Interval | None:
    m = r.mapping(p, raw, allowed={"start", "end"}, required={"start", "end"})
    if m is None or "start" not in m or "end" not in m:
        return None
    start = instant(r, (*p, "start"), m["start"], tz)
    end = instant(r, (*p, "end"), m["end"], tz)
    if start is None or end is None:
        return None
    if end <= start:
        r.problem((*p, "end"), m["end"], f"must be after start ({m['start']})")
        return None
    return Interval(start, end)


def _ratio(
    r: Reader, p: Path, m: Mapping[str, object], key: str, maximum: Decimal = Decimal(1)
) -> Decimal | None:
    return r.decimal(p, m, key, minimum=0, maximum=maximum)


def _ramp(
    r: Reader, p: Path, raw: object, tz: str | None, term: Interval | None
) -> tuple[RampPhase, ...]:
    phases: list[tuple[int, RampPhase]] = []
    for i, item in enumerate(r.sequence(p, raw)):
        m = r.mapping(
            (*p, i),
            item,
            allowed={"start", "end", "capacity_share", "price_factor"},
            required={"start", "end", "capacity_share", "price_factor"},
        )
        if m is None:
            continue
        interval = _interval(r, (*p, i), {"start": m.get("start"), "end": m.get("end")}, tz)
        share = _ratio(r, (*p, i), m, "capacity_share")
        factor = _ratio(r, (*p, i), m, "price_factor")
        if interval and share is not None and factor is not None:
            if term and not (term.start <= interval.start and interval.end <= term.end):
                r.problem((*p, i), f"{m.get('start')}..{m.get('end')}", "lies outside the term")
            phases.append((i, RampPhase(interval, share, factor)))
    phases.sort(key=lambda ip: ip[1].interval.start)
    for (_, a), (j, b) in itertools.pairwise(phases):
        if a.interval.overlaps(b.interval):
            r.problem(
                (*p, j),
                f"{b.interval.start.isoformat()}..",
                f"overlaps the phase ending {a.interval.end.isoformat()}",
            )
    return tuple(phase for _, phase in phases)


def _share_block(
    r: Reader, p: Path, raw: object, key: str, maximum: Decimal = Decimal(1)
) -> Decimal | None:
    if raw is None:
        return None
    m = r.mapping(p, raw, allowed={key}, required={key})
    return None if m is None else _ratio(r, p, m, key, maximum)


def _sla(r: Reader, p: Path, raw: object) -> SlaTerms | None:
    if raw is None:
        return None
    m = r.mapping(
        p,
        raw,
        allowed={
            "availability_target",
            "measured_per",
            "credit_tiers",
            "cap_share",
            "maintenance_notice_hours",
        },
        required={"availability_target", "credit_tiers"},
    )
    if m is None:
        return None
    target = _ratio(r, p, m, "availability_target")
    measured = r.choice(p, m, "measured_per", ("gpu", "node"), default="gpu")
    tiers = []
    for i, item in enumerate(r.sequence((*p, "credit_tiers"), m.get("credit_tiers"))):
        t = r.mapping(
            (*p, "credit_tiers", i),
            item,
            allowed={"below", "credit_share"},
            required={"below", "credit_share"},
        )
        if t is not None:
            below = _ratio(r, (*p, "credit_tiers", i), t, "below")
            share = _ratio(r, (*p, "credit_tiers", i), t, "credit_share")
            if below is not None and share is not None:
                tiers.append(CreditTier(below, share))
    cap = _ratio(r, p, m, "cap_share") if "cap_share" in m else Decimal(1)
    hours = r.integer(p, m, "maintenance_notice_hours", default=48, minimum=0, maximum=720)
    if target is None or cap is None or hours is None or measured is None:
        return None
    return SlaTerms(
        target, str(measured), tuple(sorted(tiers, key=lambda t: -t.below_ratio)), cap, hours
    )


def _termination(r: Reader, p: Path, raw: object, currency: str) -> TerminationTerms | None:
    m = r.mapping(
        p,
        raw,
        allowed={
            "notice_days",
            "notice_effective",
            "may_give_notice",
            "fee",
            "late_delivery_grace_days",
        },
        required={"notice_days", "may_give_notice"},
    )
    if m is None:
        return None
    days = r.integer(p, m, "notice_days", minimum=0, maximum=3650)
    parties = []
    who_may = r.sequence((*p, "may_give_notice"), m.get("may_give_notice"))
    for i, who in enumerate(who_may):
        party = r.word((*p, "may_give_notice", i), who, [x.value for x in Party])
        if party is not None:
            parties.append(Party(party))
    fee = r.decimal(p, m, "fee", default=Decimal(0), minimum=0, places=MINOR_UNITS[currency])
    grace = r.integer(p, m, "late_delivery_grace_days", minimum=0, maximum=3650)
    effect = r.choice(
        p, m, "notice_effective", [e.value for e in NoticeEffect], NoticeEffect.SAME_LOCAL_TIME
    )
    if days is None or fee is None or effect is None:
        return None
    return TerminationTerms(
        days, frozenset(parties), Money(fee, currency), grace, NoticeEffect(str(effect))
    )


def _capacity(r: Reader, p: Path, raw: object) -> ContractedCapacity | None:
    m = r.mapping(p, raw, allowed={"facility_mw", "it_mw", "gpus", "gpu_model"})
    if m is None:
        return None
    given = [k for k in ("facility_mw", "it_mw", "gpus") if k in m]
    if len(given) != 1:
        r.problem(p, sorted(m), "give exactly one of facility_mw, it_mw or gpus (+ gpu_model)")
        return None
    if given[0] == "gpus":
        gpus = r.integer(p, m, "gpus", minimum=1, maximum=MAX_GPUS)
        model = m.get("gpu_model")
        problem = model_problem(model, path_text((*p, "gpu_model")))
        if model is None:
            r.problem((*p, "gpu_model"), None, "is required with gpus")
        elif problem is not None:
            r.problem((*p, "gpu_model"), model, problem.message)
            model = None
        return ContractedCapacity(gpus=gpus, gpu_model=str(model)) if gpus and model else None
    mw = r.decimal(p, m, given[0], positive=True, maximum=MAX_MW)
    basis = PowerBasis.FACILITY if given[0] == "facility_mw" else PowerBasis.IT
    return ContractedCapacity(power=Power.from_mw(mw, basis)) if mw else None


def terms_document(t: AgreementTerms) -> dict[str, object]:
    """Terms in the agreement format (instants as UTC ISO text); parses back to ``t``."""
    doc: dict[str, object] = {
        "key": t.key,
        "operator": t.operator,
        "tenant": t.tenant,
        "site": t.site,
        "capacity": _capacity_document(t.capacity),
        "term": _interval_document(t.term),
        "billing_timezone": t.billing_timezone,
        "currency": t.currency,
        "monthly_fee": t.monthly_fee.amount,
    }
    if t.ramp:
        doc["ramp"] = [
            {
                **_interval_document(ph.interval),
                "capacity_share": ph.capacity_share,
                "price_factor": ph.price_factor,
            }
            for ph in t.ramp
        ]
    if t.escalator_annual_rate is not None:
        doc["escalator"] = {"annual_rate": t.escalator_annual_rate}
    if t.prepayment_share is not None:
        doc["prepayment"] = {"share_of_value": t.prepayment_share}
    if t.sla:
        doc["sla"] = {
            "availability_target": t.sla.availability_target,
            "measured_per": t.sla.measured_per,
            "credit_tiers": [
                {"below": x.below_ratio, "credit_share": x.credit_share} for x in t.sla.tiers
            ],
            "cap_share": t.sla.cap_share,
            "maintenance_notice_hours": t.sla.maintenance_notice_hours,
        }
    term = t.termination
    doc["termination"] = {
        "notice_days": term.notice_days,
        "notice_effective": term.notice_effective.value,
        "may_give_notice": sorted(x.value for x in term.may_give_notice),
        "fee": term.fee.amount,
    }
    if term.late_delivery_grace_days is not None:
        doc["termination"]["late_delivery_grace_days"] = term.late_delivery_grace_days  # type: ignore[index]
    return {"version": FORMAT_VERSION, "agreement": doc}


def _interval_document(i: Interval) -> dict[str, object]:
    return {"start": i.start.isoformat(), "end": i.end.isoformat()}


def _capacity_document(c: ContractedCapacity) -> dict[str, object]:
    if c.power is not None:
        key = "facility_mw" if c.power.basis is PowerBasis.FACILITY else "it_mw"
        return {key: c.power.mw}
    return {"gpus": c.gpus, "gpu_model": c.gpu_model}
