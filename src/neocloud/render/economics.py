"""A site's economics as rows of exact text (JSON, CSV) and as one self-contained HTML page.

Money is the exact amount as text (``"14666400.00"``), never a float; energy in kWh and
carbon in kg. The HTML page has no script, no style sheet or font from elsewhere: tables,
and the charts as inline SVG handed in as markup.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from datetime import timedelta

from neocloud.domain.billing.periods import BillingPeriod
from neocloud.domain.economics.backlog import Backlog
from neocloud.domain.economics.site_report import USES, SiteFacts, SiteMonth
from neocloud.domain.kernel.money import Money

REPORT_COLUMNS = (
    "period", "agreements", "billed", "recognized", "balance", "recognized_notice_reading",
    "headline_backlog", "enforceable_backlog", "energy_basis", "facility_energy_kwh",
    "energy_cost", "carbon_kg", "opex", "depreciation_facility", "depreciation_servers",
    "depreciation", "margin", "margin_notice_reading", "internal_value",
    "installed_gpu_hours", *(f"{u}_gpu_hours" for u in USES),
)  # fmt: skip
BACKLOG_COLUMNS = ("period", "at", "agreement", "headline_backlog", "enforceable_backlog")

MARGIN_NOTE = (
    "margin = recognized (straight-line over each term) - energy - opex - depreciation; "
    "margin_notice_reading uses the notice-period reading's revenue (as billed). "
    "internal_value (internal GPU-hours x shadow price) is shown apart, not in margin. "
    "energy_basis: metered (telemetry) or planned (facility capacity x the month's hours)."
)


def _m(money: Money) -> str:
    return money.rounded().text


def month_row(m: SiteMonth) -> dict[str, str]:
    """One month as exact text, in ``REPORT_COLUMNS`` order."""
    u = m.use
    servers = ";".join(f"{model}={_m(x)}" for model, x in m.depreciation_servers.items())
    values = (
        m.period.label, str(m.agreements), _m(m.billed), _m(m.recognized), _m(m.balance),
        _m(m.recognized_notice), _m(m.headline_backlog), _m(m.enforceable_backlog),
        m.energy_basis, str(m.facility_kwh), _m(m.energy_cost), str(m.carbon_kg), _m(m.opex),
        _m(m.depreciation_facility), servers, _m(m.depreciation), _m(m.margin),
        _m(m.margin_notice), _m(m.internal_value), str(u.installed),
        *(str(getattr(u, x)) for x in USES),
    )  # fmt: skip
    return dict(zip(REPORT_COLUMNS, values, strict=True))


def report_data(site: SiteFacts, agreements: Sequence[str], months: Sequence[SiteMonth],
                currency: str, sources: Sequence[str]) -> dict[str, object]:  # fmt: skip
    return {
        "site": site.name,
        "timezone": site.timezone,
        "currency": currency,
        "facility_capacity_kw": str(site.facility_capacity_kw),
        "agreements": list(agreements),
        "assumptions": list(sources) or ["defaults (DOMAIN.md §6)"],
        "note": MARGIN_NOTE,
        "months": [
            {**month_row(m),
             "depreciation_servers": {k: _m(v) for k, v in m.depreciation_servers.items()}}
            for m in months
        ],
    }  # fmt: skip


def backlog_row(b: Backlog, timezone: str, *, monthly: bool) -> dict[str, str]:
    label = BillingPeriod.containing(b.at - timedelta(microseconds=1), timezone).label
    return dict(zip(BACKLOG_COLUMNS, (label if monthly else "", b.at.isoformat(), b.key,
                                      _m(b.headline), _m(b.enforceable)), strict=True))  # fmt: skip


# -- HTML ------------------------------------------------------------------------------

STYLE = (
    "body{font-family:sans-serif;margin:2em;color:#222}"
    "table{border-collapse:collapse;margin:1em 0;font-size:12px}"
    "th,td{border:1px solid #bbb;padding:3px 6px;text-align:right}"
    "th:first-child,td:first-child{text-align:left}figure{margin:1em 0}"
)
TABLES = {
    "Revenue (two readings) and backlog": (
        "period", "agreements", "billed", "recognized", "balance",
        "recognized_notice_reading", "headline_backlog", "enforceable_backlog"),
    "Costs and margin": (
        "period", "energy_basis", "facility_energy_kwh", "energy_cost", "carbon_kg", "opex",
        "depreciation_facility", "depreciation_servers", "depreciation", "margin",
        "margin_notice_reading", "internal_value"),
    "Utilisation (GPU-hours)": ("period", "installed_gpu_hours", *(f"{u}_gpu_hours" for u in USES)),
}  # fmt: skip


def _table(title: str, columns: Sequence[str], rows: Sequence[Mapping[str, str]]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(r[c])}</td>" for c in columns) + "</tr>" for r in rows
    )
    return (f"<h2>{html.escape(title)}</h2><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>")  # fmt: skip


def report_html(
    site: SiteFacts,
    agreements: Sequence[str],
    months: Sequence[SiteMonth],
    *,
    currency: str,
    sources: Sequence[str],
    charts: Mapping[str, str],
) -> str:
    """The whole page; ``charts``: title -> SVG markup (trusted: made by our chart code)."""
    rows = [month_row(m) for m in months]
    span = f"{months[0].period.label} to {months[-1].period.label}" if months else "no months"
    title = f"{site.name}: economics {span}"
    meta = (
        f"<p>Months in {html.escape(site.timezone)}; money in {html.escape(currency)}; "
        f"facility capacity {html.escape(str(site.facility_capacity_kw))} kW; agreements: "
        f"{html.escape(', '.join(agreements) or 'none')}; assumptions: "
        f"{html.escape(', '.join(sources) or 'defaults (DOMAIN.md §6)')}.</p>"
        f"<p>{html.escape(MARGIN_NOTE)}</p>"
    )
    tables = "".join(_table(t, cols, rows) for t, cols in TABLES.items())
    figures = "".join(
        f"<figure><figcaption>{html.escape(name)}</figcaption>{svg}</figure>"
        for name, svg in charts.items()
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{STYLE}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>{meta}{tables}<h2>Charts</h2>{figures}</body></html>\n"
    )
