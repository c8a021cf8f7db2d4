"""Charts of a site's economics: revenue billed vs recognized with the balance, headline vs
enforceable backlog, energy cost and carbon. Amounts are exact until here; floats are made
only to draw (matplotlib plots floats), in millions of the currency or tonnes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from neocloud.adapters.charts import figure, save, svg_text
from neocloud.domain.economics.site_report import SiteMonth

if TYPE_CHECKING:
    from matplotlib.figure import Figure

MILLION = Decimal(1_000_000)


def _mn(amount: Decimal) -> float:
    return float(amount / MILLION)


def revenue(fig: Figure, months: Sequence[SiteMonth], currency: str) -> None:
    ax = fig.add_subplot()
    x = list(range(len(months)))
    ax.bar([i - 0.2 for i in x], [_mn(m.billed.amount) for m in months], 0.4, label="billed")
    ax.bar([i + 0.2 for i in x], [_mn(m.recognized.amount) for m in months], 0.4,
           label="recognized (straight-line)")  # fmt: skip
    ax.plot(x, [_mn(m.balance.amount) for m in months], color="black", marker=".",
            label="balance (+ asset / - deferred)")  # fmt: skip
    _months_axis(ax, months, f"{currency} M")


def backlog(fig: Figure, months: Sequence[SiteMonth], currency: str) -> None:
    ax = fig.add_subplot()
    x = list(range(len(months)))
    ax.plot(x, [_mn(m.headline_backlog.amount) for m in months], marker=".",
            label="headline backlog")  # fmt: skip
    ax.plot(x, [_mn(m.enforceable_backlog.amount) for m in months], marker=".",
            label="enforceable backlog (notice clause)")  # fmt: skip
    _months_axis(ax, months, f"{currency} M at the month's end")


def energy(fig: Figure, months: Sequence[SiteMonth], currency: str) -> None:
    ax = fig.add_subplot()
    x = list(range(len(months)))
    for basis, colour in (("metered", "tab:blue"), ("planned", "tab:gray")):
        chosen = [(i, m) for i, m in zip(x, months, strict=True) if m.energy_basis == basis]
        if chosen:  # never one colour for both: the basis is part of the figure
            ax.bar([i for i, _ in chosen], [_mn(m.energy_cost.amount) for _, m in chosen], 0.6,
                   color=colour, label=f"energy cost ({basis})")  # fmt: skip
    twin = ax.twinx()
    tonnes = [float(m.carbon_kg / 1000) for m in months]
    twin.plot(x, tonnes, color="tab:green", marker=".", label="carbon (t CO2)")
    twin.set_ylabel("t CO2")
    twin.set_ylim(0, max(tonnes, default=0) * 1.2 or 1)
    _months_axis(ax, months, f"{currency} M")
    handles = [*ax.get_legend_handles_labels()[0], *twin.get_legend_handles_labels()[0]]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=3,
              fontsize="small")  # fmt: skip


def _months_axis(ax: object, months: Sequence[SiteMonth], ylabel: str) -> None:
    ax.set_xticks(range(len(months)), [m.period.label for m in months], rotation=90)  # type: ignore[attr-defined]
    ax.set_ylabel(ylabel)  # type: ignore[attr-defined]
    ax.grid(axis="y", alpha=0.3)  # type: ignore[attr-defined]
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncols=3, fontsize="small")  # type: ignore[attr-defined]


CHARTS: dict[str, tuple[str, Callable[[Figure, Sequence[SiteMonth], str], None]]] = {
    "revenue": ("Revenue billed vs recognized, and the balance", revenue),
    "backlog": ("Backlog: headline vs enforceable", backlog),
    "energy": ("Energy cost and carbon", energy),
}


def write_charts(
    months: Sequence[SiteMonth], currency: str, site: str, directory: Path
) -> list[Path]:
    """``economics-<chart>.png`` and ``.svg`` for each chart, under ``directory``."""
    out: list[Path] = []
    for stem, (title, draw) in CHARTS.items():
        with figure(f"{site}: {title}") as fig:
            draw(fig, months, currency)
            out += save(fig, directory, f"economics-{stem}")
    return out


def chart_svgs(months: Sequence[SiteMonth], currency: str, site: str) -> dict[str, str]:
    """Each chart's title -> its SVG element (without the XML prologue), for HTML."""
    out = {}
    for title, draw in CHARTS.values():
        with figure(f"{site}: {title}") as fig:
            draw(fig, months, currency)
            text = svg_text(fig)
        out[title] = text[text.index("<svg") :]
    return out
