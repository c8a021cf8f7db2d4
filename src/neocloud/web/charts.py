"""The dashboard's own charts as inline SVG that carries its figures.

Every mark holds what it shows in ``data-*`` attributes (exact decimal text, ISO 8601
instants), and each chart has a table beside it in the page, so a reader without sight,
and a test, gets the same figures as the picture. Geometry is float (pixels), figures
never are.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup, escape

from neocloud.domain.agreements.model import CapacityAgreement
from neocloud.services.dashboard import UsageMonth, UseMonth

USES = ("leased", "internal", "idle", "other")
WIDTH, HEIGHT, PAD = 720, 260, 48


def exact(value: Decimal) -> str:
    """A decimal as plain text without exponent or trailing zeros (47616, 0.985)."""
    text = f"{value.normalize():f}"
    return "0" if text in ("-0", "0") else text


def _attrs(**values: object) -> str:
    return "".join(
        f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in values.items()
    )


def use_chart(site: str, months: Sequence[UseMonth]) -> Markup:
    """Stacked bars per month: leased, internal, idle, other GPU-hours."""
    top = max((m.installed for m in months), default=Decimal(0)) or Decimal(1)
    inner_h, inner_w = HEIGHT - 2 * PAD, WIDTH - 2 * PAD
    step = inner_w / max(len(months), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f"{_attrs(class_='chart', data_chart='utilization', data_site=site)}>"
        f"<title>{escape(site)}: GPU-hours by use per month</title>",
        f'<line class="axis" x1="{PAD}" y1="{HEIGHT - PAD}" x2="{WIDTH - PAD}" '
        f'y2="{HEIGHT - PAD}"/>',
    ]
    for i, m in enumerate(months):
        x, y = PAD + i * step + step * 0.15, float(HEIGHT - PAD)
        for use in USES:
            value: Decimal = getattr(m, use)
            h = float(value / top) * inner_h
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{step * 0.7:.1f}" height="{h:.1f}"'
                f"{_attrs(class_=f'use-{use}', data_period=m.period, data_use=use)}"
                f"{_attrs(data_gpu_hours=exact(value))}><title>{escape(m.period)} {use}: "
                f"{exact(value)} GPU-hours</title></rect>"
            )
        parts.append(
            f'<text x="{x + step * 0.35:.1f}" y="{HEIGHT - PAD + 16}" class="label" '
            f'text-anchor="middle">{escape(m.period)}</text>'
        )
    parts.append(_legend(USES, "use"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _legend(names: Sequence[str], prefix: str) -> str:
    items = []
    for i, name in enumerate(names):
        x = PAD + i * 110
        items.append(
            f'<rect x="{x}" y="10" width="12" height="12" class="{prefix}-{name}"/>'
            f'<text x="{x + 16}" y="21" class="label">{escape(name)}</text>'
        )
    return "".join(items)


def timeline(agreement: CapacityAgreement, now: datetime) -> Markup:
    """The agreement's term as a line of time: the ramp's tranches (share of the capacity
    due), signature, notice given and its effective date, the term's end, and now."""
    terms = agreement.terms
    start, end = terms.term.start, terms.term.end
    marks: list[tuple[str, datetime]] = []
    if agreement.signed_at is not None:
        marks.append(("signed", agreement.signed_at))
    if agreement.notice is not None:
        marks += [("notice-given", agreement.notice.given_at),
                  ("notice-effective", agreement.notice.effective_at)]  # fmt: skip
    marks += [("term-start", start), ("term-end", end), ("now", now)]
    lo, hi = min(start, *(at for _, at in marks)), max(end, *(at for _, at in marks))
    span = (hi - lo).total_seconds() or 1.0

    def x(at: datetime) -> float:
        return PAD + (at - lo).total_seconds() / span * (WIDTH - 2 * PAD)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} 240" role="img"'
        f"{_attrs(class_='chart', data_chart='timeline', data_agreement=agreement.key)}>"
        f"<title>{escape(agreement.key)}: term, ramp and notice</title>",
        f'<rect x="{x(start):.1f}" y="60" width="{x(end) - x(start):.1f}" height="14"'
        f"{_attrs(class_='term', data_kind='term', data_from=start.isoformat())}"
        f"{_attrs(data_to=end.isoformat())}/>",
    ]
    tranches = agreement.tranches()
    for i, (since, share) in enumerate(tranches):
        until = tranches[i + 1][0] if i + 1 < len(tranches) else agreement.service_end
        h = float(share) * 40
        parts.append(
            f'<rect x="{x(since):.1f}" y="{120 - h:.1f}" width="{x(until) - x(since):.1f}" '
            f'height="{h:.1f}"{_attrs(class_="tranche", data_kind="tranche")}'
            f"{_attrs(data_from=since.isoformat(), data_to=until.isoformat())}"
            f"{_attrs(data_share=exact(share))}><title>from {since.date()}: {share:.0%} of "
            f"the capacity</title></rect>"
        )
    for row, (kind, at) in enumerate(marks):
        px = x(at)
        parts.append(
            f'<line x1="{px:.1f}" y1="40" x2="{px:.1f}" y2="130"'
            f"{_attrs(class_=f'mark mark-{kind}', data_kind=kind, data_at=at.isoformat())}/>"
            f'<text x="{px:.1f}" y="{146 + 15 * row}" class="label" '
            f'text-anchor="{"start" if px < WIDTH / 2 else "end"}">{escape(kind)} '
            f"{escape(at.date().isoformat())}</text>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def sla_chart(key: str, target: Decimal | None, months: Sequence[UsageMonth]) -> Markup:
    """Availability recorded per month against the SLA's target (the axis from 90 %)."""
    floor = Decimal("0.9")
    shown = [m for m in months if m.availability_ratio is not None]
    step = (WIDTH - 2 * PAD) / max(len(shown), 1)
    inner_h = HEIGHT - 2 * PAD

    def y(ratio: Decimal) -> float:
        return HEIGHT - PAD - float((max(ratio, floor) - floor) / (1 - floor)) * inner_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img"'
        f"{_attrs(class_='chart', data_chart='availability', data_agreement=key)}>"
        f"<title>{escape(key)}: availability per month</title>"
    ]
    for i, m in enumerate(shown):
        ratio = m.availability_ratio or Decimal(0)
        px = PAD + i * step + step * 0.15
        parts.append(
            f'<rect x="{px:.1f}" y="{y(ratio):.1f}" width="{step * 0.7:.1f}" '
            f'height="{HEIGHT - PAD - y(ratio):.1f}"'
            f"{_attrs(class_='availability', data_period=m.period)}"
            f"{_attrs(data_availability=exact(ratio))}><title>{escape(m.period)}: "
            f"{exact(ratio)}</title></rect>"
            f'<text x="{px + step * 0.35:.1f}" y="{HEIGHT - PAD + 16}" class="label" '
            f'text-anchor="middle">{escape(m.period)}</text>'
        )
    if target is not None:
        parts.append(
            f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(target):.1f}" y2="{y(target):.1f}"'
            f"{_attrs(class_='target', data_kind='target', data_ratio=exact(target))}/>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))
