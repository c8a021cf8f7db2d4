"""Free text people give (display names, reasons, notes): checked at the door, made safe
to show.

Refused at the door: text that is empty, longer than its field allows, or holds control
characters or invisible formatting (ESC sequences that repaint a terminal, right-to-left
overrides that make ``ABC`` read as ``CBA``, zero-width characters). Tab and newline are
allowed where a field says so. What is already stored (by an older version, or by hand)
is shown through :func:`printable`, which writes such characters as visible escapes.
"""

from __future__ import annotations

import unicodedata

from neocloud.domain.kernel.errors import InvalidInput, Problem

_VISIBLE_WHITESPACE = {" "}


def _hidden(char: str) -> bool:
    """Control (Cc), format (Cf: bidi overrides, zero-width), separators other than the
    space (Zl, Zp, and odd spaces), surrogates and unassigned code points."""
    category = unicodedata.category(char)
    if category in ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"):
        return True
    return category == "Zs" and char not in _VISIBLE_WHITESPACE


def text_problem(
    value: object, field: str, *, max_length: int, multiline: bool = False, location: str = ""
) -> Problem | None:
    """A Problem if ``value`` is not acceptable free text for ``field``, else None."""
    if not isinstance(value, str) or not value.strip():
        return Problem(field, value, "must be non-empty text", location)
    if len(value) > max_length:
        return Problem(field, value, f"is longer than {max_length} characters", location)
    allowed = {"\n", "\t"} if multiline else set()
    for position, char in enumerate(value):
        if char not in allowed and _hidden(char):
            return Problem(
                field,
                value,
                f"holds the invisible or control character U+{ord(char):04X} "
                f"({unicodedata.name(char, 'unnamed')}) at position {position + 1}",
                location,
            )
    return None


def check_text(value: object, field: str, *, max_length: int, multiline: bool = False) -> str:
    """``value`` as free text for ``field``; InvalidInput naming the field if it is not."""
    problem = text_problem(value, field, max_length=max_length, multiline=multiline)
    if problem is not None:
        raise InvalidInput([problem])
    assert isinstance(value, str)
    return value


def printable(text: str) -> str:
    """``text`` with every control or invisible character written as a visible escape
    (``\\x1b``, ``\\u202e``), newlines and tabs kept: safe to print to a terminal."""
    if text.isprintable():
        return text
    return "".join(
        char
        if char in "\n\t" or not _hidden(char)
        else (f"\\x{ord(char):02x}" if ord(char) < 0x100 else f"\\u{ord(char):04x}")
        for char in text
    )
