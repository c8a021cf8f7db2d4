"""Charts (matplotlib, Agg backend): PNG and SVG files, the same bytes on every run.

Each chart module (``planning``, ``economics``, ``risk``) builds a figure from plain rows
and hands it to :func:`save`. Fixed metadata and SVG ids make a chart's files depend on its
data only, so a report can be diffed and a test can compare bytes.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FORMATS = ("png", "svg")
_SVG_META = {"Date": None, "Creator": "neocloud"}
_PNG_META = {"Software": "neocloud"}


@contextmanager
def figure(title: str, *, width_in: float = 9.0, height_in: float = 4.5) -> Iterator[Figure]:
    """A new figure with ``title``, released when the block ends (figures hold memory)."""
    import matplotlib  # noqa: PLC0415 - 0.3 s: only commands that draw

    matplotlib.use("Agg", force=True)
    from matplotlib.figure import Figure  # noqa: PLC0415

    matplotlib.rcParams["svg.hashsalt"] = "neocloud"
    fig = Figure(figsize=(width_in, height_in), dpi=100, layout="constrained")
    fig.suptitle(title)
    try:
        yield fig
    finally:
        fig.clear()


def save(fig: Figure, directory: Path, stem: str) -> list[Path]:
    """Write ``stem.png`` and ``stem.svg`` under ``directory`` (created); their paths."""
    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for fmt in FORMATS:
        path = directory / f"{stem}.{fmt}"
        meta = _SVG_META if fmt == "svg" else _PNG_META
        fig.savefig(path, format=fmt, metadata=meta)
        out.append(path)
    return out


def svg_text(fig: Figure) -> str:
    """The figure as SVG markup, for embedding in an HTML report."""
    import io  # noqa: PLC0415

    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_SVG_META)
    return buf.getvalue()
