"""A fast parser for the Prometheus text exposition format 0.0.4 (what DCGM exporter serves).

    # HELP name text
    # TYPE name counter|gauge|histogram|summary|untyped
    name{label="value",...} value [timestamp_ms]

The full grammar is one regular expression that classifies every line (:data:`LINE`): a
sample's name, label block, value and timestamp; a comment; a blank line; or anything
else, which is rejected with its line number and reason. Values are Go/Prometheus floats
(``NaN``, ``+Inf``, ``-Inf`` included); timestamps integer milliseconds. Escapes in label
values: ``\\\\``, ``\\"`` and ``\\n`` only.

Most lines of a DCGM page are ``name{labels} value``, and the label blocks repeat (every
field of one GPU carries the same labels). Those lines take a fast path with no Python
work per sample line: the page's UTF-8 bytes are scanned in chunks of about 1 MiB by numpy (each
line's end, first ``{`` and last space); one Arrow string array over the bytes holds each
such line's name and label block, and Arrow's dictionary encoding (a hash table that
compares the bytes, so exact whatever the input) numbers the distinct ones; each distinct
name is checked by :data:`NAME` and each distinct block parsed by :func:`parse_labels`
(cached across pages), once. Values are gathered and cast by Arrow when they hold only
digits, ``.``, ``e``, ``E``, ``+`` and ``-`` (correctly rounded, as ``float`` is; the tests
check it bit for bit), else read by ``float``. A line with a part that fails its check,
and every line the fast path does not take (comments, timestamps, a tab anywhere on the
page), goes through the full grammar, which decides; :func:`by_grammar` reads a page by
the full grammar alone, and the tests hold :func:`parse` to it. A :class:`Page` is
columns: numpy arrays of codes into tables of the distinct names and label sets, values,
timestamps and line numbers.

Stricter than ``prometheus_client``'s parser (which is lax by its own account): no leading
whitespace before a sample, no second value, no fractional timestamp, no unknown escape,
no duplicate label. What both accept they read alike; ``tests/unit/test_exposition.py``
checks it line by line on generated and fuzzed pages.
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

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
    """A parsed page, by column. The i-th sample is named ``name_table[name_codes[i]]``,
    labelled ``label_table[label_codes[i]]``, has value ``value_array[i]``, came from line
    ``line_array[i]`` (1-based, ascending) and has timestamp ``stamp_array[i]`` where
    ``stamped[i]``. The two tables hold each distinct name and label set once, in order of
    first appearance. ``types`` are the page's TYPE lines; ``rejected`` lists (line, reason,
    text) for every line that is not valid. ``names``, ``labels``, ``values``,
    ``timestamps`` and ``lines`` give the same columns as lists (None: no timestamp)."""

    name_table: list[str] = field(default_factory=list)
    name_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    label_table: list[Labels] = field(default_factory=list)
    label_codes: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    value_array: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    stamp_array: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    stamped: np.ndarray = field(default_factory=lambda: np.zeros(0, np.bool_))
    line_array: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    types: dict[str, str] = field(default_factory=dict)
    rejected: list[tuple[int, str, str]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.line_array)

    @property
    def names(self) -> list[str]:
        table = self.name_table
        return [table[k] for k in self.name_codes.tolist()]

    @property
    def labels(self) -> list[Labels]:
        table = self.label_table
        return [table[k] for k in self.label_codes.tolist()]

    @property
    def values(self) -> list[float]:
        return list(self.value_array.tolist())

    @property
    def timestamps(self) -> list[int | None]:
        stamps, stamped = self.stamp_array.tolist(), self.stamped.tolist()
        return [s if t else None for s, t in zip(stamps, stamped, strict=True)]

    @property
    def lines(self) -> list[int]:
        return list(self.line_array.tolist())


def parse(text: str) -> Page:
    """Every sample of an exposition page, and every line refused with its reason.

    Sample lines in the form exporters write (``name{labels} value``: one space before
    the value, no timestamp) take the fast path (:func:`_scan`, :func:`_fast`; see the
    module's docstring); every other line, and any line with a part that fails its
    check, goes through the full grammar (:data:`LINE`), which decides."""
    page, rows = Page(), _Rows()
    if not text:
        return page
    try:
        chunks = _chunks(text)
    except UnicodeEncodeError:  # lone surrogates: no bytes to scan
        return by_grammar(text)
    tabs = "\t" in text
    scans = [_scan(raw, tabs=tabs) for raw in chunks]
    fast = _fast(scans)
    numbers: list[int] = []
    texts: list[str] = []
    base = 0
    for scan in scans:
        rest = np.union1d(scan.rest, scan.suspect)
        raw = scan.raw
        numbers.extend((rest + base).tolist())
        texts.extend(
            raw[s:e].decode()
            for s, e in zip(scan.starts[rest].tolist(), scan.ends[rest].tolist(), strict=True)
        )
        base += len(scan.starts)
    if numbers:
        _slow(page, rows, texts, numbers)
    _finish(page, fast, rows)
    return page


def by_grammar(text: str) -> Page:
    """The page read by the full grammar alone, line by line: what :func:`parse` reads
    for a page it cannot encode (lone surrogates), and what the tests compare it with."""
    page, rows = Page(), _Rows()
    lines = text.split("\n")
    if text.endswith("\n") or not text:
        lines.pop()
    # all lines but blank ones and comments other than TYPE (which need no checking)
    numbers = [
        k
        for k, line in enumerate(lines)
        if line and not (line[0] == "#" and not line.startswith("# TYPE"))
    ]
    if numbers:
        _slow(page, rows, [lines[k] for k in numbers], numbers)
    _finish(page, None, rows)
    return page


CHUNK = 1 << 20  # bytes scanned at a time: numpy's passes stay in the cache
NL, SPACE, HASH, OPEN, CLOSE = (ord(c) for c in "\n #{}")
TYPE_PREFIX = b"# TYPE"


def _chunks(text: str) -> list[bytes]:
    """The page as UTF-8 in pieces of about CHUNK characters, each cut after a newline."""
    if len(text) <= CHUNK:
        return [text.encode()]
    pieces, begin = [], 0
    while begin < len(text):
        end = text.find("\n", begin + CHUNK)
        end = len(text) if end < 0 else end + 1
        pieces.append(text[begin:end].encode())
        begin = end
    return pieces


@dataclass
class _Scan:
    """One chunk's lines (byte bounds ``starts``/``ends``, newline excluded): the fast
    path's lines ``picked`` with their names and label blocks ``segments`` and their
    values ``numbers`` (``valued``: the value is a number), the lines for the full grammar
    ``rest``, and the picked lines the fast path could not prove valid ``suspect`` (filled
    by :func:`_fast`). Indexes are line numbers within the chunk."""

    raw: bytes
    starts: np.ndarray
    ends: np.ndarray
    picked: np.ndarray
    segments: pa.Array | None
    numbers: np.ndarray
    valued: np.ndarray
    rest: np.ndarray
    suspect: np.ndarray


def _scan(raw: bytes, *, tabs: bool) -> _Scan:
    data = np.frombuffer(raw, np.uint8)
    ends = np.flatnonzero(data == NL)
    if data[-1] != NL:
        ends = np.append(ends, len(data))
    starts = np.zeros_like(ends)
    starts[1:] = ends[:-1] + 1
    picked, segments = np.zeros(0, np.int64), None
    numbers, valued = np.zeros(0, np.float64), np.zeros(0, np.bool_)
    if not tabs:  # a tab anywhere: every line to the full grammar, as always
        picked, segments, numbers, valued = _segments(raw, data, starts, ends)
    rest = np.ones(len(starts), np.bool_)
    rest[picked] = False
    rest &= ends > starts
    first = data[np.minimum(starts, len(data) - 1)]
    comments = np.flatnonzero(rest & (first == HASH))
    if len(comments):
        at = starts[comments]
        typed = ends[comments] - at >= len(TYPE_PREFIX)
        for k, byte in enumerate(TYPE_PREFIX):
            typed &= data[np.minimum(at + k, len(data) - 1)] == byte
        rest[comments[~typed]] = False
    return _Scan(
        raw, starts, ends, picked, segments, numbers, valued, np.flatnonzero(rest), picked[:0]
    )


def _segments(
    raw: bytes, data: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, pa.Array | None, np.ndarray, np.ndarray]:
    """Lines ``name{...} value`` (a ``{`` past the first byte, the line's last space after
    it, right after a ``}``); one string array over the chunk's bytes holding per such
    line its name, ``{block} `` (with that space) and two nulls (the value and the bytes
    up to the next line: not hashed); and the values (:func:`_numbers`)."""
    braces = np.flatnonzero(data == OPEN)
    spaces = np.flatnonzero(data == SPACE)
    none = np.zeros(0, np.int64)
    if not len(braces) or not len(spaces):
        return none, None, none.astype(np.float64), none.astype(np.bool_)
    brace = braces[np.minimum(np.searchsorted(braces, starts), len(braces) - 1)]
    last = np.searchsorted(spaces, ends) - 1
    space = spaces[np.maximum(last, 0)]
    ok = (last >= 0) & (brace > starts) & (brace < space) & (space < ends)
    ok &= data[np.maximum(space - 1, 0)] == CLOSE
    picked = np.flatnonzero(ok)
    if not len(picked):
        return picked, None, none.astype(np.float64), none.astype(np.bool_)
    cuts = np.empty((len(picked), 4), np.int64)
    cuts[:, 0], cuts[:, 1] = starts[picked], brace[picked]
    cuts[:, 2], cuts[:, 3] = space[picked] + 1, ends[picked]
    valid = np.full((cuts.size + 7) // 8, 0b00110011, np.uint8)  # bits 1100 1100 ...
    # UTF-8 throughout: every cut is at an ASCII byte
    offsets, bytes_, nulls = pa.py_buffer(cuts), pa.py_buffer(raw), pa.py_buffer(valid)
    segments = pa.LargeStringArray.from_buffers(cuts.size - 1, offsets, bytes_, nulls)
    numbers, valued = _numbers(data, cuts[:, 2], cuts[:, 3])
    return picked, segments, numbers, valued


VALUE_BYTES = np.zeros(256, np.bool_)
VALUE_BYTES[np.frombuffer(b"0123456789.eE+-", np.uint8)] = True


def _numbers(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The values ``data[starts[i]:ends[i]]`` as numbers, and whether each is one, as
    :func:`_number` reads them. Values of digits, ``.``, ``e``, ``E``, ``+`` and ``-``
    only are cast by Arrow (fast_float, correctly rounded as ``float`` is); when Arrow
    refuses one of them, or a value holds any other byte, ``_number`` reads each."""
    lengths = ends - starts
    offsets = np.zeros(len(starts) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    gathered = data[np.arange(offsets[-1]) + np.repeat(starts - offsets[:-1], lengths)]
    values = pa.LargeStringArray.from_buffers(
        len(starts), pa.py_buffer(offsets), pa.py_buffer(gathered)
    )
    if VALUE_BYTES[gathered].all():
        try:
            cast = pc.cast(values, pa.float64())
            return cast.to_numpy(zero_copy_only=False), np.ones(len(starts), np.bool_)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    texts = values.to_pylist()
    read = {text: _number(text) for text in set(texts)}
    numbers = [read[text] for text in texts]
    valued = np.array([not isinstance(n, str) for n in numbers], np.bool_)
    return np.array([n if v else np.nan for n, v in zip(numbers, valued, strict=True)]), valued


@dataclass
class _Fast:
    """The fast path's samples, in line order (0-based line numbers of the page)."""

    lines: np.ndarray
    names: np.ndarray
    labels: np.ndarray
    values: np.ndarray
    name_table: list[str]
    label_table: list[Labels]
    complete: bool  # every picked line was proven valid


def _fast(scans: list[_Scan]) -> _Fast | None:
    """Numbers the distinct parts of all picked lines, checks each distinct part once and
    keeps the lines whose parts all pass; marks the others ``suspect`` in their scan."""
    used = [scan for scan in scans if scan.segments is not None]
    if not used:
        return None
    encoded = pc.dictionary_encode(pa.chunked_array([scan.segments for scan in used]))
    dictionary = encoded.chunk(0).dictionary
    if not all(_same_buffers(chunk.dictionary, dictionary) for chunk in encoded.chunks):
        encoded = encoded.unify_dictionaries()  # one dictionary for all chunks, surely
        dictionary = encoded.chunk(0).dictionary
    parts = dictionary.to_pylist()
    ids = [_codes(chunk.indices) for chunk in encoded.chunks]
    name_ids = np.concatenate([k[0::4] for k in ids])
    block_ids = np.concatenate([k[1::4] for k in ids])
    name_table, name_of = _checked_names(parts, name_ids)
    label_table, label_of = _checked_blocks(parts, block_ids)
    names, labels = name_of[name_ids], label_of[block_ids]
    numbers = np.concatenate([scan.numbers for scan in used])
    good = (names >= 0) & (labels >= 0) & np.concatenate([scan.valued for scan in used])
    lines, base, at = [], 0, 0
    for scan in scans:
        if scan.segments is not None:
            here = good[at : at + len(scan.picked)]
            scan.suspect = scan.picked[~here]
            lines.append(scan.picked + base)
            at += len(scan.picked)
        base += len(scan.starts)
    return _Fast(
        np.concatenate(lines)[good],
        names[good],
        labels[good],
        numbers[good],
        name_table,
        label_table,
        bool(good.all()),
    )


def _codes(indices: pa.Array) -> np.ndarray:
    """An index array's values, nulls included (what they hold there is not used)."""
    kind = np.dtype(indices.type.to_pandas_dtype())
    at = indices.offset * kind.itemsize
    return np.frombuffer(indices.buffers()[1], kind, count=len(indices), offset=at)


def _same_buffers(one: pa.Array, other: pa.Array) -> bool:
    return len(one) == len(other) and [b.address for b in one.buffers() if b] == [
        b.address for b in other.buffers() if b
    ]


def _checked_names(parts: list[str], ids: np.ndarray) -> tuple[list[str], np.ndarray]:
    """The valid names among ``parts[ids]``, and per part its code there (-1: none)."""
    table: list[str] = []
    code = np.full(len(parts), -1, np.int64)
    for k in _distinct(ids, len(parts)):
        if _NAME.fullmatch(parts[k]):
            code[k] = len(table)
            table.append(parts[k])
    return table, code


def _checked_blocks(parts: list[str], ids: np.ndarray) -> tuple[list[Labels], np.ndarray]:
    """The distinct label sets of the valid blocks among ``parts[ids]`` (each ``{...} ``),
    and per part its code there (-1: not a valid block)."""
    table: dict[Labels, int] = {}
    code = np.full(len(parts), -1, np.int64)
    for k in _distinct(ids, len(parts)):
        block = parts[k][1:-1]  # "{...} " -> "...}", as the cache keeps it
        labels = _BLOCKS[block] if block in _BLOCKS else _block_or_none(block)
        if labels is not None:
            code[k] = table.setdefault(labels, len(table))
    return list(table), code


def _distinct(ids: np.ndarray, size: int) -> list[int]:
    present = np.zeros(size, np.bool_)
    present[ids] = True
    return list(np.flatnonzero(present).tolist())


@dataclass
class _Rows:
    """The full grammar's samples, as lists (0-based line numbers)."""

    names: list[str] = field(default_factory=list)
    labels: list[Labels] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    stamps: list[int | None] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)


def _finish(page: Page, fast: _Fast | None, rows: _Rows) -> None:
    """The page's columns: the fast path's and the full grammar's samples, by line, with
    tables of the names and label sets the samples use, in order of first use."""
    name_table = [] if fast is None else list(fast.name_table)
    label_table = [] if fast is None else list(fast.label_table)
    name_code = {name: k for k, name in enumerate(name_table)}
    label_code = {labels: k for k, labels in enumerate(label_table)}
    slow_names = [name_code.setdefault(n, len(name_code)) for n in rows.names]
    name_table.extend(list(name_code)[len(name_table) :])
    slow_labels = [label_code.setdefault(lab, len(label_code)) for lab in rows.labels]
    label_table.extend(list(label_code)[len(label_table) :])
    columns = [
        np.array(rows.lines, np.int64),
        np.array(slow_names, np.int64),
        np.array(slow_labels, np.int64),
        np.array(rows.values, np.float64),
        np.array([0 if s is None else s for s in rows.stamps], np.int64),
        np.array([s is not None for s in rows.stamps], np.bool_),
    ]
    if fast is not None:
        fast_columns = [fast.lines, fast.names, fast.labels, fast.values]
        fast_columns += [np.zeros(len(fast.lines), np.int64), np.zeros(len(fast.lines), np.bool_)]
        if rows.lines:
            columns = [np.concatenate(pair) for pair in zip(fast_columns, columns, strict=True)]
            order = np.argsort(columns[0], kind="stable")
            columns = [column[order] for column in columns]
        else:
            columns = fast_columns
        if rows.lines or not fast.complete:  # else the tables are in order of first use
            name_table, columns[1] = _by_first_use(name_table, columns[1])
            label_table, columns[2] = _by_first_use(label_table, columns[2])
    page.line_array = columns[0] + 1
    page.name_codes, page.label_codes, page.value_array = columns[1], columns[2], columns[3]
    page.stamp_array, page.stamped = columns[4], columns[5]
    page.name_table, page.label_table = name_table, label_table
    page.rejected.sort()


Item = TypeVar("Item")


def _by_first_use(table: list[Item], codes: np.ndarray) -> tuple[list[Item], np.ndarray]:
    """The entries of ``table`` that ``codes`` use, in order of first use, and the codes
    renumbered to match."""
    used, first = np.unique(codes, return_index=True)
    order = used[np.argsort(first)]
    renumber = np.full(len(table), -1, np.int64)
    renumber[order] = np.arange(len(order))
    return [table[k] for k in order.tolist()], renumber[codes]


_BLOCKS: dict[str, Labels | None] = {}  # label blocks seen (after the "{"), parsed once
_NAME = re.compile(NAME)
MAX_CACHED_BLOCKS = 1_000_000


def _block_or_none(block: str) -> Labels | None:
    if len(_BLOCKS) > MAX_CACHED_BLOCKS:
        _BLOCKS.clear()
    labels = None
    if block[-1:] == "}":
        with contextlib.suppress(LabelError):
            labels = parse_labels("{" + block)
    _BLOCKS[block] = labels
    return labels


def _slow(page: Page, rows: _Rows, texts: list[str], numbers: list[int]) -> None:
    """The full grammar for the lines ``texts`` (``numbers``: 0-based, ascending). A line
    that starts with ``#`` is a comment whatever follows, so the grammar is run only on
    the others; each distinct TYPE comment is read once."""
    samples = []
    read: dict[str, tuple[str, str] | str | None] = {}
    for k, text in enumerate(texts):
        if text[0] != "#":
            samples.append(k)
            continue
        found = read[text] if text in read else read.setdefault(text, _read_comment(text))
        if isinstance(found, str):
            page.rejected.append((numbers[k] + 1, found, text))
        elif found is not None:
            page.types[found[0]] = found[1]
    if samples:
        _precise(page, rows, [texts[k] for k in samples], [numbers[k] for k in samples])


def _precise(page: Page, rows: _Rows, texts: list[str], numbers: list[int]) -> None:
    """The full grammar for the lines the fast path left (``numbers``: 0-based)."""
    matched = LINE.findall("\n".join(texts))
    names, blocks, values, stamps, comments, others = zip(*matched, strict=True)
    for k, other in enumerate(others):
        if other:
            page.rejected.append((numbers[k] + 1, _why(other), other))
    for k, comment in enumerate(comments):
        if comment:
            found = _read_comment(comment)
            if isinstance(found, str):
                page.rejected.append((numbers[k] + 1, found, comment))
            elif found is not None:
                page.types[found[0]] = found[1]
    picked = [k for k, name in enumerate(names) if name]
    if picked:
        _samples(page, rows, picked, names, blocks, values, stamps, numbers)


def _samples(
    page: Page,
    rows: _Rows,
    picked: list[int],
    names: tuple[str, ...],
    blocks: tuple[str, ...],
    values: tuple[str, ...],
    stamps: tuple[str, ...],
    numbers: list[int],
) -> None:
    parsed: dict[str, Labels | str] = {}
    for k in picked:
        block = blocks[k]
        if block not in parsed:
            try:
                parsed[block] = parse_labels(block) if block else ()
            except LabelError as exc:
                parsed[block] = str(exc)
        labels, number = parsed[block], _number(values[k])
        reason = labels if isinstance(labels, str) else number if isinstance(number, str) else ""
        reason = reason or _stamp_problem(stamps[k])
        if reason:
            shown = _line_text(names[k], blocks[k], values[k])
            page.rejected.append((numbers[k] + 1, reason, shown))
            continue
        rows.names.append(names[k])
        rows.labels.append(labels)  # type: ignore[arg-type]
        rows.values.append(number)  # type: ignore[arg-type]
        rows.stamps.append(int(stamps[k]) if stamps[k] else None)
        rows.lines.append(numbers[k])


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


def _read_comment(text: str) -> tuple[str, str] | str | None:
    """A TYPE comment's (name, type), or why it is refused; None for any other comment."""
    match = COMMENT.match(text)
    if match is None or match.group(1) is None:
        return None  # a free comment
    keyword, name, rest = match.groups()
    if keyword != "TYPE":
        return None
    kind = (rest or "").strip(" \t")
    if kind not in TYPES:
        return f"unknown metric type {kind!r}"
    return name, kind


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
