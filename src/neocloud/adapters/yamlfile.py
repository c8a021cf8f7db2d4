"""YAML in and out for hand-written documents, keeping each value's line for error reports.

Numbers are read exactly: ``1.15`` becomes ``Decimal("1.15")``, never a float. Dates and
times stay text, so the domain decides (and rejects naive ones) with the field's name.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path as FilePath

import yaml

from neocloud.domain.kernel.documents import Path, SourceDocument
from neocloud.domain.kernel.errors import InvalidInput, Problem

_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"


def read_document(path: FilePath) -> SourceDocument:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InvalidInput.single("file", str(path), f"cannot be read: {exc.strerror}") from None
    return parse_document(text, path.name)


def parse_document(text: str, name: str) -> SourceDocument:
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{name}:{mark.line + 1}" if mark else name
        raise InvalidInput(
            [
                Problem(
                    "yaml", getattr(exc, "problem", str(exc)), "the file is not valid YAML", where
                )
            ]
        ) from None
    lines: dict[Path, int] = {}
    data = _build(root, (), lines, name) if root is not None else None
    return SourceDocument(name=name, data=data, lines=lines)


def _build(node: yaml.Node, path: Path, lines: dict[Path, int], name: str) -> object:
    lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        out: dict[str, object] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in out:
                raise InvalidInput(
                    [
                        Problem(
                            key,
                            key,
                            "appears twice in the same mapping",
                            f"{name}:{key_node.start_mark.line + 1}",
                        )
                    ]
                )
            out[key] = _build(value_node, (*path, key), lines, name)
            lines[(*path, key)] = key_node.start_mark.line + 1
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_build(child, (*path, i), lines, name) for i, child in enumerate(node.value)]
    return _scalar(node)


def _scalar(node: yaml.Node) -> object:
    text = str(node.value)
    if node.tag == _INT:
        return (
            int(text.replace("_", ""), 0)
            if text[:2].lower() in ("0x", "0o")
            else int(text.replace("_", ""))
        )
    if node.tag == _FLOAT:
        try:
            return Decimal(text.replace("_", ""))
        except InvalidOperation:
            return text  # .inf / .nan: left as text, refused by the field's own check
    if node.tag == _BOOL:
        return text.lower() in ("true", "yes", "on")
    if node.tag == _NULL:
        return None
    return text


# libyaml's C parser and emitter when PyYAML was built with it (its wheels are): ~10x faster
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Dumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    pass


def _represent_decimal(dumper: yaml.SafeDumper, value: Decimal) -> yaml.ScalarNode:
    text = format(value, "f")
    return dumper.represent_scalar(_FLOAT, text if "." in text else f"{text}.0")


_Dumper.add_representer(Decimal, _represent_decimal)


def dump_document(data: object) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
