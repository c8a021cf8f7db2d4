"""The dashboard's own charts as inline SVG that carries its figures.

Every mark holds what it shows in ``data-*`` attributes (exact decimal text, ISO 8601 UTC
instants), and each chart has a table beside it in the page, so a reader without sight,
and a test, gets the same figures as the picture. Labels are written for people with the
filters of ``formats.py``. Geometry is float (pixels), figures never are.

- ``use_chart``: a site's GPU-hours per month stacked by use, a GPU-hours axis, a legend.
- ``timeline``: an agreement's term, its ramp and its dates on a time axis; the dates'
  labels are set in rows below the bar so none overlaps another, each tied to its instant
  by a leader line.
- ``sla_chart``: availability per month against the SLA's target, a percentage axis.
- ``risk_chart``: revenue and margin per month as P5-P95 ranges, the contracted revenue.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from decimal import Decimal

from markupsafe import Markup, escape

from neocloud.domain.agreements.model import CapacityAgreement
from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.economics.risk import Band, RiskResult
from neocloud.services.dashboard import UsageMonth, UseMonth
from neocloud.web.formats import (
    count,
    exact,
    gpu_hours,
    local_date,
    money,
    number,
    percent,
    utc_text,
)

__all__ = ["exact", "risk_chart", "sla_chart", "timeline", "use_chart"]

USES = ("leased", "internal", "idle", "other")  # bottom to top of each bar
USE_LABELS = {"leased": "leased (agreements)", "internal": "internal (own work)",
              "idle": "idle (reporting, not busy)",
              "other": "other (spare, maintenance, unreported)"}  # fmt: skip
WIDTH = 960
LEFT, RIGHT, TOP, BOTTOM = 84, 24, 44, 52  # the plot's margins
CHAR_PX = 6.8  # a 12 px label's typical character width, to keep labels apart
BAR_MAX_PX = 96.0
ROW_PX = 40  # a timeline label's row: its name and its date


def _attrs(**values: object) -> str:
    return "".join(
        f' {k.rstrip("_").replace("_", "-")}="{escape(str(v))}"' for k, v in values.items()
    )


def _text(x: float, y: float, text: str, *, cls: str = "label", anchor: str = "start") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" class="{cls}" text-anchor="{anchor}">'
            f"{escape(text)}</text>")  # fmt: skip


def nice_step(top: Decimal, ticks: int = 5) -> Decimal:
    """A round tick step (1, 2 or 5 x 10^k) giving about ``ticks`` steps up to ``top``."""
    raw = top / ticks
    power = Decimal(10) ** (raw.adjusted())
    for m in (1, 2, 5, 10):
        if power * m >= raw:
            return power * m
    return power * 10  # pragma: no cover - 10 always reaches raw


def _legend(items: Sequence[tuple[str, str]], y: float) -> str:
    """Swatches with their labels in one row, each placed after the previous one's text."""
    parts, x = [], float(LEFT)
    for cls, label in items:
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" '
                     f'class="{cls}"/>' + _text(x + 17, y, label, cls="legend"))  # fmt: skip
        x += 17 + len(label) * CHAR_PX + 22
    return "".join(parts)


def use_chart(site: str, months: Sequence[UseMonth], timezone: str) -> Markup:
    """Stacked bars per local month: leased, internal, idle and other GPU-hours, on an
    axis of GPU-hours; each bar's installed total above it."""
    height = 340
    plot_h, plot_w = height - TOP - BOTTOM, WIDTH - LEFT - RIGHT
    installed = max((m.installed for m in months), default=Decimal(0))
    step_v = nice_step(installed or Decimal(1))
    top = step_v * ((installed / step_v).to_integral_value(rounding="ROUND_CEILING") or 1)
    base = float(height - BOTTOM)

    def y(value: Decimal) -> float:
        return base - float(value / top) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img"'
        f"{_attrs(class_='chart', data_chart='utilization', data_site=site)}>"
        f"<title>{escape(site)}: GPU-hours by use per month ({escape(timezone)})</title>",
        _legend([(f"use-{u}", USE_LABELS[u]) for u in USES], 18),
    ]
    tick = Decimal(0)
    while tick <= top:
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/>' + _text(LEFT - 8, y(tick) + 4, count(tick),
                                                     anchor="end"))  # fmt: skip
        tick += step_v
    parts.append(
        f'<text class="axis-title" transform="translate(18 {TOP + plot_h / 2:.1f}) '
        f'rotate(-90)" text-anchor="middle">GPU-hours</text>'
        + _text(
            LEFT + plot_w / 2, height - 8, f"month ({timezone})", cls="axis-title", anchor="middle"
        )
    )
    step = plot_w / max(len(months), 1)
    width = min(step * 0.6, BAR_MAX_PX)
    for i, m in enumerate(months):
        x = LEFT + i * step + (step - width) / 2
        parts.append(_bar(m, x, width, y))
        parts.append(_text(x + width / 2, base + 18, m.period, anchor="middle"))
        parts.append(_text(x + width / 2, y(m.installed) - 6, f"{gpu_hours(m.installed)} "
                           "installed", cls="label", anchor="middle"))  # fmt: skip
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _bar(m: UseMonth, x: float, width: float, y: Callable[[Decimal], float]) -> str:
    """One month's stacked segments, each with its GPU-hours and share of installed."""
    parts, below = [], Decimal(0)
    for use in USES:
        value: Decimal = getattr(m, use)
        y0, y1 = y(below), y(below + value)
        share = percent(value / m.installed if m.installed else None)
        parts.append(
            f'<rect x="{x:.1f}" y="{y1:.1f}" width="{width:.1f}" height="{y0 - y1:.1f}"'
            f"{_attrs(class_=f'use-{use}', data_period=m.period, data_use=use)}"
            f"{_attrs(data_gpu_hours=exact(value))}><title>{escape(m.period)} {use}: "
            f"{gpu_hours(value)} GPU-hours ({share} of installed)</title></rect>"
        )
        if y0 - y1 >= 18:
            parts.append(_text(x + width / 2, (y0 + y1) / 2 + 4, share, cls="in-bar",
                               anchor="middle"))  # fmt: skip
        below += value
    return "".join(parts)


MARK_LABELS = {"signed": "signed", "term-start": "term starts", "term-end": "term ends",
               "notice-given": "notice given", "notice-effective": "notice effective",
               "now": "today"}  # fmt: skip


def _marks(agreement: CapacityAgreement, now: datetime) -> list[tuple[str, datetime]]:
    terms = agreement.terms
    marks: list[tuple[str, datetime]] = []
    if agreement.signed_at is not None:
        marks.append(("signed", agreement.signed_at))
    marks.append(("term-start", terms.term.start))
    if agreement.notice is not None:
        marks += [("notice-given", agreement.notice.given_at),
                  ("notice-effective", agreement.notice.effective_at)]  # fmt: skip
    marks += [("term-end", terms.term.end), ("now", now)]
    return sorted(marks, key=lambda m: m[1])


GAP_PX = 8.0


def place_labels(
    xs: Sequence[float], widths: Sequence[float], left: float, right: float
) -> list[tuple[int, bool]]:
    """Each label's (row, flipped), row 0 nearest the bar: a label starts at its mark's x,
    or ends there (flipped). Set from the right, each takes the first row (then the first
    side) where it overlaps no label set already, its leader line (from the bar down to its
    row) crosses no label above it, and no leader already drawn crosses it; else a new
    row, where it overlaps nothing."""
    placed: list[tuple[float, int, float, float]] = []  # x, row, lo, hi

    def fits(x: float, row: int, lo: float, hi: float) -> bool:
        for px, r, a, b in placed:
            if r == row and not (hi + GAP_PX <= a or lo >= b + GAP_PX):
                return False  # two labels in one row overlap
            if r < row and a - GAP_PX / 2 <= x <= b + GAP_PX / 2:
                return False  # this leader would cross that label
            if r > row and lo - GAP_PX / 2 <= px <= hi + GAP_PX / 2:
                return False  # that leader would cross this label
        return True

    out: dict[int, tuple[int, bool]] = {}
    # right to left: a mark to the left goes below, its leader passing left of the labels
    # above it, which start at their own marks
    for i in sorted(range(len(xs)), key=lambda k: -xs[k]):
        x, w = xs[i], widths[i]
        sides = [s for s in (False, True) if (x - w >= left if s else x + w <= right)] or [True]
        rows = max((r for _, r, _, _ in placed), default=-1) + 2
        choice = next(((r, s) for r in range(rows) for s in sides
                       if fits(x, r, *((x - w, x) if s else (x, x + w)))),
                      (rows - 1, sides[0]))  # fmt: skip
        lo, hi = (x - w, x) if choice[1] else (x, x + w)
        placed.append((x, choice[0], lo, hi))
        out[i] = choice
    return [out[i] for i in range(len(xs))]


def _quarters(lo: datetime, hi: datetime, timezone: str) -> list[BillingPeriod]:
    """The local quarters' first months from ``lo`` to ``hi``."""
    p = BillingPeriod.containing(lo, timezone)
    out = []
    while p.start <= hi:
        if p.month in (1, 4, 7, 10) and p.start >= lo:
            out.append(p)
        index = p.year * 12 + p.month
        p = BillingPeriod(index // 12, index % 12 + 1, timezone)
    return out


def timeline(agreement: CapacityAgreement, now: datetime) -> Markup:
    """The agreement's term as a line of time in its billing zone: the ramp's tranches
    (share of the capacity due), signature, notice given and its effective date, the
    term's end, and now; quarter ticks on top, labels in rows below."""
    terms, tz = agreement.terms, agreement.terms.billing_timezone
    start, end = terms.term.start, terms.term.end
    marks = _marks(agreement, now)
    lo, hi = min(start, marks[0][1]), max(end, marks[-1][1])
    span = (hi - lo).total_seconds() or 1.0
    left, right = 40.0, WIDTH - 40.0

    def x(at: datetime) -> float:
        return left + (at - lo).total_seconds() / span * (right - left)

    texts = [(MARK_LABELS[k], local_date(at, tz)) for k, at in marks]
    widths = [max(len(a), len(b)) * CHAR_PX for a, b in texts]
    rows = place_labels([x(at) for _, at in marks], widths, left, right)
    height = 164 + ROW_PX * (max(r for r, _ in rows) + 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img"'
        f"{_attrs(class_='chart', data_chart='timeline', data_agreement=agreement.key)}>"
        f"<title>{escape(agreement.key)}: term, ramp and notice ({escape(tz)})</title>",
    ]
    for q in _quarters(lo, hi, tz):
        parts.append(f'<line class="grid" x1="{x(q.start):.1f}" x2="{x(q.start):.1f}" y1="26" '
                     f'y2="118"/>' + _text(x(q.start), 20, q.label, anchor="middle"))  # fmt: skip
    parts.append(
        f'<rect x="{x(start):.1f}" y="40" width="{x(end) - x(start):.1f}" height="14"'
        f"{_attrs(class_='term', data_kind='term', data_from=utc_text(start))}"
        f"{_attrs(data_to=utc_text(end))}><title>term: {local_date(start, tz)} to "
        f"{local_date(end, tz)} ({escape(tz)})</title></rect>"
    )
    parts.append(_tranches(agreement, x))
    for (kind, at), (label, when), (row, flip) in zip(marks, texts, rows, strict=True):
        px, ly = x(at), 154 + ROW_PX * row
        lx, anchor = (px - 4, "end") if flip else (px + 4, "start")
        parts.append(
            f'<line x1="{px:.1f}" y1="32" x2="{px:.1f}" y2="118"'
            f"{_attrs(class_=f'mark mark-{kind}', data_kind=kind, data_at=utc_text(at))}>"
            f"<title>{escape(label)}: {escape(utc_text(at))}</title></line>"
            f'<line class="leader" x1="{px:.1f}" y1="118" x2="{px:.1f}" y2="{ly + 8:.1f}"/>'
            + _text(lx, ly - 11, label, cls=f"mark-label mark-label-{kind}", anchor=anchor)
            + _text(lx, ly + 6, when, anchor=anchor)
        )
    parts.append(_legend([("term", "term"), ("tranche", "capacity due (ramp)")], height - 8))
    parts.append(_text(right, height - 8, f"dates in {tz}", cls="label", anchor="end"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _tranches(agreement: CapacityAgreement, x: Callable[[datetime], float]) -> str:
    tranches, tz = agreement.tranches(), agreement.terms.billing_timezone
    parts = []
    for i, (since, share) in enumerate(tranches):
        until = tranches[i + 1][0] if i + 1 < len(tranches) else agreement.service_end
        x0, x1 = x(since), x(until)
        h = float(share) * 52
        parts.append(
            f'<rect x="{x0:.1f}" y="{118 - h:.1f}" width="{x1 - x0:.1f}" '
            f'height="{h:.1f}"{_attrs(class_="tranche", data_kind="tranche")}'
            f"{_attrs(data_from=utc_text(since), data_to=utc_text(until))}"
            f"{_attrs(data_share=exact(share))}><title>from {local_date(since, tz)}: "
            f"{percent(share, 0)} of the capacity due</title></rect>"
        )
        if x1 - x0 > 44:
            parts.append(_text((x0 + x1) / 2, 112, percent(share, 0), cls="in-bar",
                               anchor="middle"))  # fmt: skip
    return "".join(parts)


def sla_chart(key: str, target: Decimal | None, months: Sequence[UsageMonth]) -> Markup:
    """Availability recorded per month against the SLA's target, on an axis from 90 % to
    100 %; a month with none recorded says so."""
    height = 300
    floor = Decimal("0.9")
    plot_h, plot_w = height - TOP - BOTTOM, WIDTH - LEFT - RIGHT
    base = float(height - BOTTOM)

    def y(ratio: Decimal) -> float:
        return base - float((max(ratio, floor) - floor) / (1 - floor)) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img"'
        f"{_attrs(class_='chart', data_chart='availability', data_agreement=key)}>"
        f"<title>{escape(key)}: availability per month</title>"
    ]
    for tick in (Decimal("0.90"), Decimal("0.92"), Decimal("0.94"), Decimal("0.96"),
                 Decimal("0.98"), Decimal("1")):  # fmt: skip
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/>' + _text(LEFT - 8, y(tick) + 4, percent(tick, 0),
                                                     anchor="end"))  # fmt: skip
    parts.append(
        f'<text class="axis-title" transform="translate(18 {TOP + plot_h / 2:.1f}) '
        f'rotate(-90)" text-anchor="middle">availability</text>'
    )
    step = plot_w / max(len(months), 1)
    width = min(step * 0.6, BAR_MAX_PX)
    for i, m in enumerate(months):
        px = LEFT + i * step + (step - width) / 2
        parts.append(_text(px + width / 2, base + 18, m.period, anchor="middle"))
        ratio = m.availability_ratio
        if ratio is None:
            parts.append(_text(px + width / 2, base - 8, "not recorded", cls="label",
                               anchor="middle"))  # fmt: skip
            continue
        inside = base - y(ratio) >= 26
        below = " below-target" if target is not None and ratio < target else ""
        parts.append(
            f'<rect x="{px:.1f}" y="{y(ratio):.1f}" width="{width:.1f}" '
            f'height="{base - y(ratio):.1f}"'
            f"{_attrs(class_=f'availability{below}', data_period=m.period)}"
            f"{_attrs(data_availability=exact(ratio))}><title>{escape(m.period)}: "
            f"{percent(ratio)}</title></rect>"
            + _text(
                px + width / 2,
                y(ratio) + (18 if inside else -6),
                percent(ratio),
                cls="in-bar" if inside else "label",
                anchor="middle",
            )
        )
    if target is not None:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(target):.1f}" y2="{y(target):.1f}"'
            f"{_attrs(class_='target', data_kind='target', data_ratio=exact(target))}/>"
            + _text(
                WIDTH - RIGHT,
                y(target) - 6,
                f"target {percent(target)}",
                cls="target-label",
                anchor="end",
            )
        )
    parts.append(f'<line class="axis" x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))


def risk_chart(site: str, result: RiskResult) -> Markup:
    """Per month, revenue and margin as P5-P95 ranges with the P50 marked, and the revenue
    the agreements contract for if no tenant walks away (a dot), on a money axis."""
    height = 360
    plot_h, plot_w = height - TOP - BOTTOM, WIDTH - LEFT - RIGHT
    figures = [x for m in result.months
               for x in (m.revenue.p5, m.revenue.p95, m.margin.p5, m.margin.p95,
                         m.contracted_revenue)]  # fmt: skip
    lo, hi = min([Decimal(0), *figures]), max([Decimal(0), *figures])
    step_v = nice_step((hi - lo) or Decimal(1), 6)
    bottom = step_v * (lo / step_v).to_integral_value(rounding="ROUND_FLOOR")
    top = step_v * (hi / step_v).to_integral_value(rounding="ROUND_CEILING")
    top = top if top > bottom else bottom + step_v
    base = float(height - BOTTOM)

    def y(value: Decimal) -> float:
        return base - float((value - bottom) / (top - bottom)) * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" role="img"'
        f"{_attrs(class_='chart', data_chart='risk', data_site=site)}>"
        f"<title>{escape(site)}: revenue and margin per month, P5 to P95</title>",
        _legend([("band-revenue", "revenue P5–P95 (line: P50)"),
                 ("band-margin", "margin P5–P95 (line: P50)"),
                 ("contracted", "contracted revenue, nobody walks away")], 18),
    ]  # fmt: skip
    tick = bottom
    while tick <= top:
        cls = "axis" if tick == 0 else "grid"
        parts.append(f'<line class="{cls}" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}"/>' + _text(LEFT - 8, y(tick) + 4, _millions(tick),
                                                     anchor="end"))  # fmt: skip
        tick += step_v
    parts.append(
        f'<text class="axis-title" transform="translate(16 {TOP + plot_h / 2:.1f}) '
        f'rotate(-90)" text-anchor="middle">{escape(result.currency)} millions</text>'
    )
    step = plot_w / max(len(result.months), 1)
    width = min(step * 0.3, BAR_MAX_PX / 2)
    for i, m in enumerate(result.months):
        month = m.month.isoformat()[:7]
        x0 = LEFT + i * step + step / 2 - width - 2
        for j, (name, band) in enumerate((("revenue", m.revenue), ("margin", m.margin))):
            parts.append(_band(month, name, band, x=x0 + j * (width + 4), width=width, y=y))
        parts.append(
            f'<circle cx="{x0 + width / 2:.1f}" cy="{y(m.contracted_revenue):.1f}" r="4"'
            f"{_attrs(class_='contracted', data_month=month)}"
            f"{_attrs(data_contracted=exact(m.contracted_revenue))}><title>{month} contracted "
            f"revenue: {escape(money(m.contracted_revenue, result.currency))}</title></circle>"
        )
        parts.append(_text(LEFT + i * step + step / 2, base + 18, month, anchor="middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


def _millions(value: Decimal) -> str:
    return number(value / 1_000_000, 2)


def _band(
    month: str, name: str, band: Band, *, x: float, width: float, y: Callable[[Decimal], float]
) -> str:
    attrs = _attrs(
        class_=f"band-{name}",
        data_month=month,
        data_figure=name,
        data_p5=exact(band.p5),
        data_p50=exact(band.p50),
        data_p95=exact(band.p95),
    )
    return (
        f'<rect x="{x:.1f}" y="{y(band.p95):.1f}" width="{width:.1f}" '
        f'height="{max(y(band.p5) - y(band.p95), 1.5):.1f}"{attrs}><title>{month} {name}: '
        f"P5 {_millions(band.p5)} M, P50 {_millions(band.p50)} M, P95 {_millions(band.p95)} M"
        f"</title></rect>"
        f'<line class="p50" x1="{x:.1f}" x2="{x + width:.1f}" y1="{y(band.p50):.1f}" '
        f'y2="{y(band.p50):.1f}"/>'
    )
