"""Own demand as a file: the CSV format, read with every bad row located (docs/PLANNING.md).

    month,gpu_model,gpus
    2022-11,H100,61234.5

One row per calendar month and GPU model: ``gpus`` is the mean number of that model's GPUs
the operator's own work kept busy over the month (a count, 0 or more, decimals allowed).
Each model's months must run without a gap; a month may not repeat for a model. Every
problem is reported at once, each with its line and field (``InvalidInput``).
"""

from __future__ import annotations

import csv
import io
import itertools
import math
import re
from collections.abc import Collection, Iterable, Sequence
from datetime import date

from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.names import model_problem
from neocloud.domain.planning.forecast import DemandPoint

COLUMNS = ("month", "gpu_model", "gpus")
MONTH_PATTERN = re.compile(r"(\d{4})-(\d{2})")
MAX_ROWS = 100_000  # far more than decades of monthly rows for every model
MAX_GPUS = 10_000_000.0  # a month's mean above this is a typo, not a fleet


def parse_month(text: str, field: str = "month", location: str = "") -> date:
    """``YYYY-MM`` -> the month's first day; InvalidInput otherwise."""
    found = MONTH_PATTERN.fullmatch(text.strip())
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1900:  # 4 digits: to 9999
        raise InvalidInput([Problem(field, text, "must be a month, YYYY-MM", location)])
    return date(int(found[1]), int(found[2]), 1)


def next_month(month: date, months: int = 1) -> date:
    """The first day of the month ``months`` after ``month``."""
    years, month0 = divmod(month.month - 1 + months, 12)
    return date(month.year + years, month0 + 1, 1)


def months_between(first: date, last: date) -> int:
    """Whole months from ``first`` to ``last`` (0 when the same month)."""
    return (last.year - first.year) * 12 + last.month - first.month


def parse_demand_csv(
    text: str, source: str = "demand", known_models: Collection[str] | None = None
) -> tuple[DemandPoint, ...]:
    """The rows of a demand CSV, by model then month; InvalidInput listing every problem."""
    reader = csv.reader(io.StringIO(text))
    header = next(reader, None)
    if header is None or not any(cell.strip() for cell in header):
        raise InvalidInput.single("demand", source, "is empty: it needs a header and months")
    problems, index = _header(header, source)
    points: list[DemandPoint] = []
    for line, row in enumerate(reader, start=2):
        if line > MAX_ROWS + 1:
            problems.append(Problem("demand", source, f"has more than {MAX_ROWS:,} rows"))
            break
        if not any(cell.strip() for cell in row):
            continue
        if index is not None:
            point = _row(row, index, f"{source}:{line}", known_models, problems)
            if point is not None:
                points.append(point)
    if problems:
        raise InvalidInput(problems)
    return check_series(points, source, locations=_lines(text, source))


def check_series(
    points: Iterable[DemandPoint],
    source: str = "demand",
    *,
    locations: dict[tuple[date, str], str] | None = None,
) -> tuple[DemandPoint, ...]:
    """The series by model then month, refused when empty, repeated or with a gap."""
    ordered = sorted(points, key=lambda p: (p.gpu_model, p.month))
    if not ordered:
        raise InvalidInput.single(
            "demand", source, "has no months of demand: give at least one row per GPU model"
        )
    where = locations or {}
    problems: list[Problem] = []
    for before, after in itertools.pairwise(ordered):
        if before.gpu_model != after.gpu_model:
            continue
        at = where.get((after.month, after.gpu_model), source)
        gap = months_between(before.month, after.month)
        if gap == 0:
            problems.append(Problem("month", _ym(after.month),
                                    f"repeats for {after.gpu_model}", at))  # fmt: skip
        elif gap > 1:
            missing = f"{_ym(next_month(before.month))}..{_ym(next_month(after.month, -1))}"
            problems.append(Problem("month", _ym(after.month),
                                    f"leaves a gap for {after.gpu_model}: {missing} missing",
                                    at))  # fmt: skip
    if problems:
        raise InvalidInput(problems)
    return tuple(ordered)


def by_model(points: Sequence[DemandPoint]) -> dict[str, tuple[DemandPoint, ...]]:
    """Each model's months, oldest first."""
    out: dict[str, list[DemandPoint]] = {}
    for p in sorted(points, key=lambda p: (p.gpu_model, p.month)):
        out.setdefault(p.gpu_model, []).append(p)
    return {model: tuple(ps) for model, ps in out.items()}


def _header(header: list[str], source: str) -> tuple[list[Problem], dict[str, int] | None]:
    names = [cell.strip().lower() for cell in header]
    missing = [c for c in COLUMNS if c not in names]
    if missing:
        return [Problem("columns", ",".join(header), f"missing {', '.join(missing)}: the "
                        f"header must name {', '.join(COLUMNS)}", f"{source}:1")], None  # fmt: skip
    return [], {c: names.index(c) for c in COLUMNS}


def _row(
    row: list[str],
    index: dict[str, int],
    at: str,
    known: Collection[str] | None,
    problems: list[Problem],
) -> DemandPoint | None:
    """The row's point; None when its month or GPUs are refused (a refused model is only
    added to ``problems``: any problem refuses the whole file)."""
    cells = {c: row[i].strip() if i < len(row) else "" for c, i in index.items()}
    try:
        month: date | None = parse_month(cells["month"], "month", at)
    except InvalidInput as bad:
        problems.extend(bad.problems)
        month = None
    model = cells["gpu_model"]
    if (wrong := model_problem(model, "gpu_model", at)) is not None:
        problems.append(wrong)
    elif known is not None and model not in known:
        problems.append(Problem("gpu_model", model, "is not installed at the site (it has: "
                                f"{', '.join(sorted(known)) or 'none'})", at))  # fmt: skip
    gpus = _gpus(cells["gpus"], at, problems)
    if month is None or gpus is None:
        return None
    return DemandPoint(month, model, gpus)


def _gpus(text: str, at: str, problems: list[Problem]) -> float | None:
    try:
        value = float(text)
    except ValueError:
        problems.append(Problem("gpus", text, "must be a number of GPUs (e.g. 61234.5)", at))
        return None
    if not math.isfinite(value) or value < 0 or value > MAX_GPUS:
        problems.append(Problem("gpus", text, f"must be 0 or more, at most {MAX_GPUS:,.0f}", at))
        return None
    return value


def _lines(text: str, source: str) -> dict[tuple[date, str], str]:
    """Where each (month, model) last appears, for the gap and repeat messages."""
    out: dict[tuple[date, str], str] = {}
    reader = csv.reader(io.StringIO(text))
    names = [cell.strip().lower() for cell in next(reader)]  # the header, read once already
    m, g = names.index("month"), names.index("gpu_model")
    for line, row in enumerate(reader, start=2):
        try:
            key = (parse_month(row[m]), row[g].strip())
        except (InvalidInput, IndexError):
            continue
        out[key] = f"{source}:{line}"
    return out


def _ym(month: date) -> str:
    return month.isoformat()[:7]


# -- own demand from metering ------------------------------------------------------------

MIN_REPORTED_SHARE = 0.5
"""A month counts as recorded when telemetry covers at least half of the pool's GPU-time."""


def month_of_pool(
    month: date,
    gpu_model: str,
    *,
    month_us: int,
    pool_gpu_us: int,
    busy_gpu_us: int,
    idle_gpu_us: int,
) -> DemandPoint | None:
    """One model's own demand in a month from its internal pool (the GPUs nobody holds):
    busy GPU-µs / the month's µs = the mean GPUs busy. None when telemetry reported less
    than ``MIN_REPORTED_SHARE`` of the pool (the month is not known); a month with no pool
    at all (everything held) is 0 GPUs."""
    if month_us <= 0:
        raise InvalidInput.single("month", _ym(month), "has no duration")
    if busy_gpu_us + idle_gpu_us < MIN_REPORTED_SHARE * pool_gpu_us:  # no pool: never
        return None
    return DemandPoint(month, gpu_model, busy_gpu_us / month_us)


def recorded_run(
    months: Sequence[date], found: Sequence[DemandPoint | None], gpu_model: str
) -> tuple[DemandPoint, ...]:
    """The months from the first recorded one to the last; a month not recorded in
    between is an InvalidInput (a forecast needs months without gaps)."""
    known = [i for i, p in enumerate(found) if p is not None]
    if not known:
        return ()
    inner = found[known[0] : known[-1] + 1]
    missing = [months[known[0] + i] for i, p in enumerate(inner) if p is None]
    if missing:
        raise InvalidInput.single("telemetry", _ym(missing[0]), f"the {gpu_model} internal pool "
                                  "is mostly unreported this month: give --demand FILE.csv "
                                  "or ingest the month's telemetry")  # fmt: skip
    return tuple(p for p in inner if p is not None)
