"""Charts (matplotlib, Agg backend): PNG and SVG files, the same bytes on every run.

Each chart module (``planning``, ``economics``, ``risk``) builds a figure from plain rows
and hands it to :func:`save`. Fixed metadata and SVG ids make a chart's files depend on its
data only, so a report can be diffed and a test can compare bytes.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from neocloud.adapters.files import replace_file
from neocloud.domain.kernel.errors import InvalidInput

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
    """Write ``stem.png`` and ``stem.svg`` under ``directory`` (created); their paths.

    Each file is rendered in memory, written beside its final name and renamed over it: a
    full disk or a file-size limit leaves the old file (if any), never half a chart.
    InvalidInput naming ``--charts`` if the folder or a file cannot be written."""
    out = []
    try:
        directory.mkdir(parents=True, exist_ok=True)
        for fmt in FORMATS:
            path = directory / f"{stem}.{fmt}"
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, metadata=_SVG_META if fmt == "svg" else _PNG_META)
            replace_file(path, buf.getvalue())
            out.append(path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise InvalidInput.single(
            "--charts", str(directory), f"cannot be written: {reason}"
        ) from None
    return out


def svg_text(fig: Figure) -> str:
    """The figure as SVG markup, for embedding in an HTML report."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata=_SVG_META)
    return buf.getvalue()
