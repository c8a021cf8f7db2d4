"""A fast parser for the Prometheus text exposition format 0.0.4 (what DCGM exporter serves).

    # HELP name text
    # TYPE name counter|gauge|histogram|summary|untyped
    name{label="value",...} value [timestamp_ms]

One regular expression classifies every line of a page in one pass (C speed): a sample's
name, label block, value and timestamp; a comment; a blank line; or anything else, which is
rejected with its line number and reason. Label blocks repeat on a DCGM page (every field
of one GPU carries the same labels), so each distinct block is parsed once. Values are
Go/Prometheus floats (``NaN``, ``+Inf``, ``-Inf`` included); timestamps integer
milliseconds. Escapes in label values: ``\\\\``, ``\\"`` and ``\\n`` only.

Stricter than ``prometheus_client``'s parser (which is lax by its own account): no leading
whitespace before a sample, no second value, no fractional timestamp, no unknown escape,
no duplicate label. What both accept they read alike; ``tests/unit/test_exposition.py``
checks it line by line on generated and fuzzed pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import count, repeat

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL_NAME = r"[a-zA-Z_][a-zA-Z0-9_]*"
QUOTED = r'"(?:[^"\\\n]++|\\.)*+"'
# One line, classified: (name, labels, value, timestamp) | comment | blank | other.
LINE = re.compile(
    rf"^(?:({NAME})[ \t]*(\{{(?:[^\"}}\n]++|{QUOTED})*+\}})?[ \t]+([^ \t\n_]+)"
    rf"(?:[ \t]+(-?[0-9]+))?[ \t]*|(#[^\n]*)|[ \t]*|([^\n]*))$",
    re.MULTILINE,
)
LABEL = re.compile(rf"[ \t]*({LABEL_NAME})[ \t]*=[ \t]*({QUOTED})[ \t]*(,|$)")
ESCAPE = re.compile(r"\\(.)")
ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
COMMENT = re.compile(rf"#[ \t]+(HELP|TYPE)[ \t]+({NAME})(?:[ \t]+(.*))?$|#.*$")
TYPES = frozenset({"counter", "gauge", "histogram", "summary", "untyped"})
INT64 = 2**63

Labels = tuple[tuple[str, str], ...]


class LabelError(ValueError):
    pass


def _unescape(quoted: str) -> str:
    body = quoted[1:-1]
    if "\\" not in body:
        return body

    def one(match: re.Match[str]) -> str:
        try:
            return ESCAPES[match.group(1)]
        except KeyError:
            raise LabelError(f"unknown escape \\{match.group(1)} in a label value") from None

    return ESCAPE.sub(one, body)


def parse_labels(block: str) -> Labels:
    """``{a="x",b="y"}`` -> (("a", "x"), ("b", "y")); LabelError says why not."""
    inner = block[1:-1]
    labels: list[tuple[str, str]] = []
    seen: set[str] = set()
    position = 0
    while position < len(inner):
        match = LABEL.match(inner, position)
        if match is None:
            if inner[position:].strip(" \t") == "":
                break
            raise LabelError(f"malformed label at {inner[position:][:40]!r}")
        name, quoted, comma = match.groups()
        if name in seen:
            raise LabelError(f"label {name} appears twice")
        seen.add(name)
        labels.append((name, _unescape(quoted)))
        position = match.end()
        if not comma and position < len(inner):
            raise LabelError("labels must be separated by commas")
    return tuple(labels)


@dataclass
class Page:
    """A parsed page, by column: the i-th sample is ``names[i]``, ``labels[i]``, ... and
    came from line ``lines[i]`` (1-based). ``timestamps[i]`` is None where the line had
    none. ``rejected`` lists (line, reason, text) for every line that is not valid."""

    names: list[str] = field(default_factory=list)
    labels: list[Labels] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    timestamps: list[int | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.names)


def parse(text: str) -> Page:
    """Every sample of an exposition page, and every line refused with its reason.

    Sample lines in the form exporters write (``name{labels} value``: one space before
    the value, no timestamp) take a fast path of C-level string methods mapped over all
    lines at once; every other line (comments, timestamps, tabs, anything odd), and any
    line the fast path cannot prove valid, goes through the full grammar (:data:`LINE`),
    which decides."""
    page = Page()
    lines = text.split("\n")
    if text.endswith("\n") or not text:
        lines.pop()
    if not lines:
        return page
    spaces = list(map(str.rfind, lines, repeat(" ")))
    braces = list(map(str.find, lines, repeat("{")))
    fast = [
        i
        for i, line, brace, space in zip(count(), lines, braces, spaces)
        if 0 < brace < space and line[space - 1] == "}"
    ]
    slow = _fast(page, fast, lines, braces, spaces) if "\t" not in text else fast
    rest = _others(lines, fast, slow)
    if rest:
        from_fast = len(page.lines)
        _precise(page, [lines[i] for i in rest], rest)
        if from_fast and len(page.lines) > from_fast:
            _reorder(page)
    return page


def _others(lines: list[str], fast: list[int], slow: list[int]) -> list[int]:
    """Line indexes for the full grammar: all but the fast path's samples, less blank
    lines and comments other than TYPE (which need no checking)."""
    taken = set(fast).difference(slow)
    return [
        i
        for i, line in enumerate(lines)
        if i not in taken and line and not (line[0] == "#" and not line.startswith("# TYPE"))
    ]


def _fast(
    page: Page, picked: list[int], lines: list[str], braces: list[int], spaces: list[int]
) -> list[int]:
    """Samples of the canonical lines ``picked``; returns those it could not prove valid."""
    if not picked:
        return []
    chosen = [lines[i] for i in picked]
    at_brace = [braces[i] for i in picked]
    at_space = [spaces[i] for i in picked]
    names = [line[:b] for line, b in zip(chosen, at_brace, strict=False)]
    blocks = [line[b + 1 : s] for line, b, s in zip(chosen, at_brace, at_space, strict=False)]
    values = [line[s + 1 :] for line, s in zip(chosen, at_space, strict=False)]
    parsed = list(map(_BLOCKS.get, blocks))
    if None in parsed:
        for k in [k for k, p in enumerate(parsed) if p is None]:
            block = blocks[k]
            if block not in _BLOCKS:
                _BLOCKS[block] = _block_or_none(block)
            parsed[k] = _BLOCKS[block]
    unknown = set(names).difference(_NAMES)
    suspect = bool(unknown) and not all(map(_name_ok, unknown))
    joined = "".join(values)
    suspect = suspect or None in parsed or "_" in joined or not joined.isascii()
    try:
        numbers = list(map(float, values))
    except ValueError:
        suspect = True
    if suspect:
        return _fast_checked(page, picked, names, parsed, values)
    page.names, page.labels, page.values = names, parsed, numbers  # type: ignore[assignment]
    page.timestamps = [None] * len(picked)
    page.lines = list(map((1).__add__, picked))
    return []


def _fast_checked(
    page: Page,
    picked: list[int],
    names: list[str] | tuple[str, ...],
    parsed: list[Labels | None],
    values: list[str],
) -> list[int]:
    """The fast path line by line, when some line in it is not valid."""
    slow = []
    for i, name, labels, value in zip(picked, names, parsed, values, strict=True):
        number = _number(value)
        if labels is None or isinstance(number, str) or name not in _NAMES:
            slow.append(i)
            continue
        page.names.append(name)
        page.labels.append(labels)
        page.values.append(number)
        page.timestamps.append(None)
        page.lines.append(i + 1)
    return slow


_BLOCKS: dict[str, Labels | None] = {}  # label blocks seen (after the "{"), parsed once
_NAMES: set[str] = set()
_INT = re.compile(r"-?[0-9]+")
_NAME = re.compile(NAME)
MAX_CACHED_BLOCKS = 1_000_000


def _block_or_none(block: str) -> Labels | None:
    if len(_BLOCKS) > MAX_CACHED_BLOCKS:
        _BLOCKS.clear()
    if block[-1:] != "}":
        return None
    try:
        return parse_labels("{" + block)
    except LabelError:
        return None


def _name_ok(name: str) -> bool:
    if _NAME.fullmatch(name) is None:
        return False
    _NAMES.add(name)
    return True


def _reorder(page: Page) -> None:
    order = sorted(range(len(page.lines)), key=page.lines.__getitem__)
    page.names = [page.names[k] for k in order]
    page.labels = [page.labels[k] for k in order]
    page.values = [page.values[k] for k in order]
    page.timestamps = [page.timestamps[k] for k in order]
    page.lines = [page.lines[k] for k in order]


def _precise(page: Page, texts: list[str], numbers: list[int]) -> None:
    """The full grammar for the lines the fast path left (``numbers``: 0-based)."""
    rows = LINE.findall("\n".join(texts))
    names, blocks, values, stamps, comments, others = zip(*rows, strict=True)
    for k, other in enumerate(others):
        if other:
            page.rejected.append((numbers[k] + 1, _why(other), other))
    for k, comment in enumerate(comments):
        if comment:
            _comment(page, numbers[k] + 1, comment)
    picked = [k for k, name in enumerate(names) if name]
    if picked:
        _samples(page, picked, names, blocks, values, stamps, numbers)
    page.rejected.sort()


def _samples(
    page: Page,
    picked: list[int],
    names: tuple[str, ...],
    blocks: tuple[str, ...],
    values: tuple[str, ...],
    stamps: tuple[str, ...],
    numbers: list[int],
) -> None:
    parsed: dict[str, Labels | str] = {}
    for block in {blocks[k] for k in picked}:
        try:
            parsed[block] = parse_labels(block) if block else ()
        except LabelError as exc:
            parsed[block] = str(exc)
    for k in picked:
        labels, number = parsed[blocks[k]], _number(values[k])
        reason = labels if isinstance(labels, str) else number if isinstance(number, str) else ""
        reason = reason or _stamp_problem(stamps[k])
        line = numbers[k] + 1
        if reason:
            page.rejected.append((line, reason, _line_text(names[k], blocks[k], values[k])))
            continue
        page.names.append(names[k])
        page.labels.append(labels)  # type: ignore[arg-type]
        page.values.append(number)  # type: ignore[arg-type]
        page.timestamps.append(int(stamps[k]) if stamps[k] else None)
        page.lines.append(line)


def _number(text: str) -> float | str:
    if not text.isascii() or "_" in text:
        return f"value {text!r} is not a number"
    try:
        return float(text)
    except ValueError:
        return f"value {text!r} is not a number"


def _stamp_problem(stamp: str) -> str:
    if stamp and not -INT64 <= int(stamp) < INT64:
        return f"timestamp {stamp} is out of the int64 millisecond range"
    return ""


def _line_text(name: str, block: str, value: str) -> str:
    return f"{name}{block} {value}"


def _comment(page: Page, line: int, text: str) -> None:
    match = COMMENT.match(text)
    if match is None or match.group(1) is None:
        return  # a free comment
    keyword, name, rest = match.groups()
    if keyword == "TYPE":
        kind = (rest or "").strip(" \t")
        if kind not in TYPES:
            page.rejected.append((line, f"unknown metric type {kind!r}", text))
            return
        page.types[name] = kind


def _why(line: str) -> str:
    stripped = line.lstrip(" \t")
    if stripped != line and stripped and not stripped.startswith("#"):
        return "leading whitespace before a sample"
    head = re.match(NAME, stripped)
    if head is None:
        return "not a sample, comment or blank line: no metric name"
    rest = stripped[head.end() :].lstrip(" \t")
    if rest.startswith("{"):
        try:
            parse_labels(_block_prefix(rest))
        except LabelError as exc:
            return str(exc)
        if _block_prefix(rest) == rest or (not rest.endswith(("}",)) and "}" not in rest):
            return "unterminated label block"
        return "malformed value or timestamp after the labels"
    if not rest:
        return "a metric name without a value"
    return "malformed value or timestamp"


def _block_prefix(text: str) -> str:
    """The label block at the start of ``text`` up to its closing brace (or all of it)."""
    match = re.match(rf"\{{(?:[^\"}}\n]|{QUOTED})*\}}", text)
    return match.group(0) if match else text + "}"
