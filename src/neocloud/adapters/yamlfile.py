"""YAML in and out for hand-written documents, keeping each value's line for error reports.

Every file the product takes is read here, within limits, so that no file can hang the
process, exhaust its memory or crash it (docs/CONVENTIONS.md, "Input limits"):

* at most :data:`MAX_FILE_BYTES`; one document; nesting at most :data:`MAX_DEPTH` deep;
  at most :data:`MAX_VALUES` values, counting each use of an alias as the values it
  repeats (a "billion laughs" file stops here); an alias may not refer to itself;
* text in UTF-8 (a byte-order mark, also UTF-16 or UTF-32 with one, is honoured);
* exact typing: ``1.15`` is ``Decimal("1.15")``, never a float; whole numbers only in
  decimal (YAML 1.1 reads ``010`` as 8, ``0x10`` as 16 and ``1:30`` as 90: refused, so a
  number never means something other than what it looks like); ``.inf``/``.nan`` and
  dates and times stay text, for the field's own check; tags other than the standard
  scalar ones are refused.

The document is built from libyaml's event stream with an explicit stack: libyaml's
composer recurses once per level (a segfault at 100,000 levels), its event parser does not.
Every problem is an :class:`InvalidInput` located as ``file:line``.
"""

from __future__ import annotations

import codecs
from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath

import yaml
import yaml.resolver

from neocloud.domain.kernel.documents import Path, SourceDocument, path_text
from neocloud.domain.kernel.errors import InvalidInput, Problem

MAX_FILE_BYTES = 4 * 1024 * 1024
"""4 MiB: the 28,160-node reference site written out node by node is about 2.2 MB (fleet
files group racks: the example is 6 KB); a file at the limit imports in about 7 s
(bench/hostile_input.py)."""
MAX_DEPTH = 32
MAX_VALUES = 2_000_000

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_STR = "tag:yaml.org,2002:str"
_CONSTANTS: dict[str, dict[str, object]] = {
    _BOOL: {w: w in ("true", "yes", "on") for w in ("true", "yes", "on", "false", "no", "off")},
    _NULL: {w: None for w in ("", "~", "null")},
}
_SCALAR_TAGS = {_INT, _FLOAT, _BOOL, _NULL, _STR, "tag:yaml.org,2002:timestamp"}
_COLLECTION_TAGS = {None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def read_document(path: FilePath) -> SourceDocument:
    """The YAML file at ``path``; InvalidInput naming the file if it cannot be taken."""
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise InvalidInput.single("file", str(path), f"cannot be read: {exc.strerror}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise InvalidInput.single(
            "file", str(path), f"is larger than {MAX_FILE_BYTES // 2**20} MiB, the limit for a file"
        )
    return parse_document(decode(raw, path.name), path.name)


def decode(raw: bytes, name: str) -> str:
    """Text of a file: UTF-8, or UTF-16/32 when a byte-order mark says so."""
    encoding = next((e for bom, e in _BOMS if raw.startswith(bom)), "utf-8")
    try:
        return raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise InvalidInput(
            [
                Problem(
                    "encoding",
                    f"byte 0x{raw[exc.start]:02x}",
                    f"is not {encoding.upper().removesuffix('-SIG')} text; save the file as UTF-8",
                    f"{name}:{line}",
                )
            ]
        ) from None


def parse_document(text: str, name: str) -> SourceDocument:
    if len(text) > MAX_FILE_BYTES:
        raise InvalidInput.single(
            "file", name, f"is larger than {MAX_FILE_BYTES // 2**20} MiB, the limit for a file"
        )
    builder = _Builder(name)
    try:
        scalar, take = builder.scalar, builder.take
        for event in yaml.parse(text, Loader=_Loader):
            if type(event) is yaml.ScalarEvent:  # most events: the fast path
                scalar(event)
            else:
                take(event)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        problem = Problem(
            "yaml", getattr(exc, "problem", str(exc)), "the file is not valid YAML", where
        )
        raise InvalidInput([problem]) from None
    return SourceDocument(name=name, data=builder.root, lines=builder.lines)


def _line(event: yaml.Event) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 0


class _Open:
    """A mapping or list being built: its path, contents, anchor and value count."""

    __slots__ = ("anchor", "key", "path", "size", "value")

    def __init__(self, path: Path, value: dict[str, object] | list[object], anchor: str | None):
        self.path, self.value, self.anchor = path, value, anchor
        self.key: str | None = None  # a mapping's key waiting for its value
        self.size = 1


class _Builder:
    """Plain data from libyaml events, within the module's limits."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.root: object = None
        self.lines: dict[Path, int] = {}
        self.stack: list[_Open] = []
        self.anchors: dict[str, tuple[object, int]] = {}  # anchor -> (value, its size)
        self.open_anchors: set[str] = set()
        self.values = 0
        self.documents = 0

    def refuse(self, event: yaml.Event, field: str, value: object, why: str) -> InvalidInput:
        return InvalidInput([Problem(field, value, why, f"{self.name}:{_line(event)}")])

    def take(self, event: yaml.Event) -> None:
        if isinstance(event, yaml.DocumentStartEvent):
            self.documents += 1
            if self.documents > 1:
                raise self.refuse(event, "yaml", "---", "a file holds one document")
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            self._open(event)
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            done = self.stack.pop()
            if done.anchor is not None:
                self.open_anchors.discard(done.anchor)
                self.anchors[done.anchor] = (done.value, done.size)
            self._place(event, done.value, done.size)
        elif isinstance(event, yaml.ScalarEvent):
            self.scalar(event)
        elif isinstance(event, yaml.AliasEvent):
            self._alias(event)

    def _here(self) -> Path:
        """The path the next value gets."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if isinstance(top.value, list):
            return (*top.path, len(top.value))
        return top.path if top.key is None else (*top.path, top.key)

    def _path(self, event: yaml.Event) -> Path:
        """The path the next value gets, and its line."""
        path = self._here()
        self.lines.setdefault(path, _line(event))
        return path

    def _field(self, fallback: str) -> str:
        return path_text(self._here()) or fallback

    def _count(self, event: yaml.Event, size: int) -> None:
        self.values += size
        if self.values > MAX_VALUES:
            raise self.refuse(
                event, "yaml", self.values, f"more than {MAX_VALUES:,} values (aliases included)"
            )

    def _open(self, event: yaml.MappingStartEvent | yaml.SequenceStartEvent) -> None:
        if event.tag not in _COLLECTION_TAGS:
            raise self.refuse(
                event, self._field("tag"), event.tag, "is a tag neocloud does not take"
            )
        if self._is_key_position():
            raise self.refuse(event, "yaml", "{...}", "a mapping key must be plain text")
        if len(self.stack) >= MAX_DEPTH:
            raise self.refuse(
                event, self._field("yaml"), len(self.stack) + 1, f"nests deeper than {MAX_DEPTH}"
            )
        self._count(event, 1)
        value: dict[str, object] | list[object] = (
            {} if isinstance(event, yaml.MappingStartEvent) else []
        )
        self.stack.append(_Open(self._path(event), value, event.anchor))
        if event.anchor is not None:
            self.open_anchors.add(event.anchor)

    def _is_key_position(self) -> bool:
        return (
            bool(self.stack)
            and isinstance(self.stack[-1].value, dict)
            and self.stack[-1].key is None
        )

    def _place(self, event: yaml.Event, value: object, size: int) -> None:
        """Put a finished value into the collection it belongs to (or make it the root)."""
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        if isinstance(top.value, list):
            top.value.append(value)
        elif top.key is None:  # this value is a key
            if isinstance(value, dict | list):
                raise self.refuse(event, "yaml", "{...}", "a mapping key must be plain text")
            key = value if isinstance(value, str) else str(value)
            if key in top.value:
                raise self.refuse(event, key, key, "appears twice in the same mapping")
            top.key = key
            self.lines[(*top.path, key)] = _line(event)
        else:
            top.value[top.key] = value
            top.key = None

    def scalar(self, event: yaml.ScalarEvent) -> None:
        """A scalar: a key, a mapping's value or a list's item (written out for speed: a
        large fleet file is millions of these)."""
        self.values += 1
        if self.values > MAX_VALUES or event.anchor is not None or not self.stack:
            self._count(event, 0)
            self._other_scalar(event)
            return
        top = self.stack[-1]
        top.size += 1
        container = top.value
        if isinstance(container, list):
            self.lines[(*top.path, len(container))] = _line(event)
            container.append(self._typed(event))
        elif top.key is None:
            key = str(event.value)  # keys are names, as written
            if key in container:
                raise self.refuse(event, key, key, "appears twice in the same mapping")
            top.key = key
            self.lines[(*top.path, key)] = _line(event)
        else:
            container[top.key] = self._typed(event)
            top.key = None

    def _other_scalar(self, event: yaml.ScalarEvent) -> None:
        """The root scalar, or one with an anchor."""
        key = self._is_key_position()
        if not key:
            self._path(event)
        value = str(event.value) if key else self._typed(event)
        if event.anchor is not None:
            self.anchors[event.anchor] = (value, 1)
        self._place(event, value, 1)

    def _alias(self, event: yaml.AliasEvent) -> None:
        if event.anchor in self.open_anchors:
            raise self.refuse(event, self._field("alias"), f"*{event.anchor}", "refers to itself")
        if event.anchor not in self.anchors:
            raise self.refuse(
                event, self._field("alias"), f"*{event.anchor}", "names no anchor above it"
            )
        value, size = self.anchors[event.anchor]
        if not self._is_key_position():
            self._path(event)
        self._count(event, size)
        self._place(event, value, size)

    def _typed(self, event: yaml.ScalarEvent) -> object:
        tag = event.tag
        if tag is None and not event.implicit[0]:  # quoted, no tag: text
            return event.value
        if tag is None or tag == "!":
            tag = _RESOLVER.resolve(yaml.ScalarNode, event.value, event.implicit)  # type: ignore[no-untyped-call]
        if tag not in _SCALAR_TAGS:
            raise self.refuse(event, self._field("tag"), tag, "is a tag neocloud cannot take")
        text = str(event.value)
        if tag == _INT:
            return self._integer(event, text)
        if tag == _FLOAT:
            try:
                return Decimal(text.replace("_", ""))
            except InvalidOperation:  # .inf, .nan, 1:30.5: text, refused by the field
                return text
        return _CONSTANTS.get(tag, {}).get(text.lower(), text)

    def _integer(self, event: yaml.ScalarEvent, text: str) -> int:
        digits = text.replace("_", "")
        unsigned = digits.lstrip("+-")
        if unsigned.isdigit() and unsigned.isascii() and (unsigned == "0" or unsigned[0] != "0"):
            if len(unsigned) > 30:
                raise self.refuse(event, self._field("number"), text, "has more than 30 digits")
            return int(digits)
        raise self.refuse(
            event,
            self._field("number"),
            text,
            "write whole numbers in decimal without leading zeros (YAML 1.1 reads 010 as 8, "
            "0x10 as 16, 1:30 as 90)",
        )


# libyaml's C parser when PyYAML was built with it (its wheels are): ~10x faster
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_RESOLVER = yaml.resolver.Resolver()


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    return dumper.represent_scalar(_FLOAT, text if "." in text else f"{text}.0")


_Dumper.add_representer(Decimal, _represent_decimal)


def dump_document(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
