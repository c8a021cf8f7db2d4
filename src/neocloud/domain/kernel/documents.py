"""Reading hand-written documents (fleet files, agreement files) with every problem located.

A :class:`SourceDocument` is plain data (dicts, lists, str, int, Decimal, bool, None) plus the
line each path came from. A :class:`Reader` walks it, converts fields, and collects *every*
problem instead of stopping at the first, so an operator fixes a file in one pass.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TypeVar

from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.kernel.money import (
    LARGEST,
    MICRO_PLACES,
    check_currency,
    decimal_places,
    number_text,
    to_decimal,
)
from neocloud.domain.kernel.names import name_problem
from neocloud.domain.kernel.text import text_problem

Path = tuple[str | int, ...]
MAX_COUNT = 1_000_000_000
"""The largest whole number a field takes unless it says otherwise."""
N = TypeVar("N", int, Decimal)


NOT_ZONES = frozenset({"localtime", "posixrules", "Factory"})


@functools.cache
def iana_zones() -> frozenset[str]:
    """The IANA zone names this system's time zone database holds, without the files that
    sit beside them (``localtime``, a link to the machine's zone, is not a zone name)."""
    return frozenset(zoneinfo.available_timezones()) - NOT_ZONES


def path_text(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


@dataclass(frozen=True)
class SourceDocument:
    name: str
    data: object
    lines: Mapping[Path, int] = field(default_factory=dict)

    def where(self, path: Path) -> str:
        """``name:line`` of ``path``, or of its nearest ancestor that has a line."""
        for n in range(len(path), -1, -1):
            line = self.lines.get(path[:n])
            if line is not None:
                return f"{self.name}:{line}"
        return self.name


def path_of(field: str) -> Path:
    """The path a field's text names: ``sites[0].pue`` -> ``("sites", 0, "pue")``."""
    parts: list[str | int] = []
    for piece in field.replace("]", "").split("."):
        name, *indexes = piece.split("[")
        if name:
            parts.append(name)
        parts.extend(int(i) for i in indexes if i.isdigit())
    return tuple(parts)


def located(exc: InvalidInput, doc: SourceDocument) -> InvalidInput:
    """``exc`` with each problem that has no location placed at its field in ``doc`` (for
    checks made after the file was read: a contract against its site)."""
    return InvalidInput(
        [
            p if p.location else Problem(p.field, p.value, p.message, doc.where(path_of(p.field)))
            for p in exc.problems
        ]
    )


_MISSING = object()


def _line_of(location: str) -> int:
    _, _, line = location.rpartition(":")
    return int(line) if line.isdigit() else 0


class Reader:
    """Typed access to a document that records problems and returns None on bad values."""

    def __init__(self, doc: SourceDocument) -> None:
        self.doc = doc
        self.problems: list[Problem] = []

    def problem(self, path: Path, value: object, message: str) -> None:
        self.problems.append(Problem(path_text(path), value, message, self.doc.where(path)))

    def raise_if_any(self) -> None:
        """Raise every problem found, in the order of the lines they are on."""
        if self.problems:
            ordered = sorted(self.problems, key=lambda p: _line_of(p.location))
            summary = f"{len(ordered)} problems in {self.doc.name}" if len(ordered) > 1 else ""
            raise InvalidInput(ordered, summary)

    def mapping(
        self,
        path: Path,
        value: object,
        *,
        allowed: set[str],
        required: set[str] | frozenset[str] = frozenset(),
    ) -> dict[str, object] | None:
        if not isinstance(value, dict):
            if not path and value is None:
                self.problems.append(Problem("file", self.doc.name, "is empty", self.doc.name))
            else:
                self.problem(path, value, "must be a mapping of field: value")
            return None
        for key in value:
            if key not in allowed:
                self.problem(
                    (*path, str(key)),
                    value[key],
                    f"unknown field; expected one of: {', '.join(sorted(allowed))}",
                )
        for key in sorted(required):
            if value.get(key) is None:  # missing, or written with no value (``key: ~``)
                self.problem((*path, key), None, "is required")
        return value

    def choice(
        self,
        path: Path,
        m: Mapping[str, object],
        key: str,
        choices: Iterable[str],
        default: str | None = None,
    ) -> str | None:
        """One of a few words (``end_of_day``, ``tenant``) at ``m[key]``."""
        return self.word((*path, key), m.get(key), choices, default)

    def word(
        self, path: Path, value: object, choices: Iterable[str], default: str | None = None
    ) -> str | None:
        """``value`` if it is one of ``choices`` (None: ``default``)."""
        if value is None:
            return default
        allowed = tuple(choices)
        if not isinstance(value, str) or value not in allowed:
            self.problem(path, value, f"must be one of {', '.join(allowed)}")
            return None
        return value

    def sequence(self, path: Path, value: object) -> list[object]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.problem(path, value, "must be a list")
            return []
        return value

    def name(
        self,
        path: Path,
        m: Mapping[str, object],
        key: str,
        rule: Callable[[object, str], Problem | None] = name_problem,
    ) -> str | None:
        """A name of something (site, hall, rack, agreement): see ``names.NAME_RULE``;
        ``rule``: a stricter one (``names.node_problem``)."""
        if m.get(key) is None:
            return None  # reported as required where it is
        value = m[key]
        problem = rule(value, key)
        if problem is not None:
            self.problem((*path, key), value, problem.message)
            return None
        return str(value)

    def currency(self, path: Path, m: Mapping[str, object], key: str) -> str | None:
        """An ISO 4217 currency code such as USD."""
        value = m.get(key)
        if value is None:
            return None  # reported as required where it is
        try:
            return check_currency(value, key)
        except InvalidInput as exc:
            self.problem((*path, key), value, exc.problems[0].message)
            return None

    def timezone(self, path: Path, m: Mapping[str, object], key: str) -> str | None:
        """An IANA time zone name such as America/Chicago."""
        value = m.get(key)
        if value is None:
            return None  # reported as required where it is
        if not isinstance(value, str) or value not in iana_zones():
            self.problem((*path, key), value, "not an IANA time zone (e.g. America/Chicago)")
            return None
        return value

    def text(
        self,
        path: Path,
        m: Mapping[str, object],
        key: str,
        default: str | None = None,
        *,
        max_length: int = 200,
    ) -> str | None:
        """Free text (``kernel.text``): non-empty, at most ``max_length`` characters, no
        control or invisible characters."""
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        problem = text_problem(value, path_text((*path, key)), max_length=max_length)
        if problem is not None:
            self.problem((*path, key), value, problem.message)
            return None
        assert isinstance(value, str)
        return value

    def integer(
        self,
        path: Path,
        m: Mapping[str, object],
        key: str,
        *,
        default: int | None = None,
        minimum: int | None = None,
        maximum: int = MAX_COUNT,
    ) -> int | None:
        """A whole number within [minimum, maximum] (at most :data:`MAX_COUNT` unless a field
        says otherwise)."""
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.problem((*path, key), value, "must be a whole number")
            return None
        return self._bounded(path, key, value, minimum, maximum)

    def decimal(
        self,
        path: Path,
        m: Mapping[str, object],
        key: str,
        *,
        default: Decimal | None = None,
        minimum: Decimal | int | None = None,
        maximum: Decimal | int = LARGEST,
        positive: bool = False,
        places: int = MICRO_PLACES,
    ) -> Decimal | None:
        """An exact number within [minimum, maximum] with at most ``places`` decimal places
        (the store keeps millionths; money fields ask for their currency's minor unit)."""
        value = m.get(key, _MISSING)
        if value is _MISSING or value is None:
            return default
        try:
            number = to_decimal(value, path_text((*path, key)))
        except InvalidInput as exc:
            self.problem((*path, key), value, exc.problems[0].message)
            return None
        if positive and number <= 0:
            self.problem((*path, key), value, "must be greater than 0")
            return None
        if decimal_places(number) > places:
            self.problem(
                (*path, key), value, f"has more than {places} decimal places; refusing to round"
            )
            return None
        return self._bounded(path, key, number, minimum, maximum)

    def _bounded(
        self,
        path: Path,
        key: str,
        value: N,
        minimum: Decimal | int | None,
        maximum: Decimal | int | None,
    ) -> N | None:
        if minimum is not None and value < minimum:
            self.problem((*path, key), value, f"must be at least {number_text(minimum)}")
            return None
        if maximum is not None and value > maximum:
            self.problem((*path, key), value, f"must be at most {number_text(maximum)}")
            return None
        return value
