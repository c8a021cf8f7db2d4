"""The exposition parser, by hand and against prometheus_client line by line."""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from typing import Any
from unittest import mock

import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from neocloud.adapters.telemetry import exposition
from neocloud.adapters.telemetry.exposition import by_grammar, parse

PAGE = """# HELP DCGM_FI_DEV_POWER_USAGE Power draw (in W).
# TYPE DCGM_FI_DEV_POWER_USAGE gauge
DCGM_FI_DEV_POWER_USAGE{gpu="0",UUID="GPU-a",Hostname="n1"} 690.5
DCGM_FI_DEV_POWER_USAGE{gpu="1",UUID="GPU-b",Hostname="n1"} NaN 1700000000000
up +Inf
esc{a="x\\\\y\\"z\\nw"} -1e3
"""


def test_a_page_by_hand():
    page = parse(PAGE)
    assert page.names == ["DCGM_FI_DEV_POWER_USAGE"] * 2 + ["up", "esc"]
    assert page.labels[0] == (("gpu", "0"), ("UUID", "GPU-a"), ("Hostname", "n1"))
    assert page.values[0] == 690.5 and math.isnan(page.values[1]) and page.values[2] == math.inf
    assert page.timestamps == [None, 1_700_000_000_000, None, None]
    assert page.labels[3] == (("a", 'x\\y"z\nw'),) and page.values[3] == -1000
    assert page.lines == [3, 4, 5, 6]
    assert page.types == {"DCGM_FI_DEV_POWER_USAGE": "gauge"}
    assert page.rejected == []


def test_bad_lines_are_rejected_with_their_number_and_the_rest_kept():
    text = (
        'ok 1\nbad line here\nx{a="b" 1\nx{a="\\q"} 1\nx 1_0\nx{a="1",a="2"} 3\n'
        "  y 2\nz abc\nfine{} 2\n"
    )
    page = parse(text)
    assert page.names == ["ok", "fine"] and page.lines == [1, 9]
    assert [line for line, _, _ in page.rejected] == [2, 3, 4, 5, 6, 7, 8]
    reasons = dict((line, reason) for line, reason, _ in page.rejected)
    assert "escape" in reasons[4] and "twice" in reasons[6] and "whitespace" in reasons[7]
    assert "not a number" in reasons[8]


def test_a_label_value_may_hold_braces_and_spaces():
    page = parse('m{a="} 5"} 7\nm{a="x y"} 1 2\n')
    assert page.labels == [(("a", "} 5"),), (("a", "x y"),)]
    assert page.values == [7, 1] and page.timestamps == [None, 2]


# ---- differential: prometheus_client reads each line alone -------------------------------


def reference(line: str) -> list[tuple[str, dict[str, str], float, float | None]] | None:
    """prometheus_client's reading of one line (untyped, so names are not munged), or
    None where it refuses it."""
    try:
        families = list(text_string_to_metric_families(line + "\n"))
    except (ValueError, IndexError, KeyError, TypeError):
        return None
    return [
        (s.name, s.labels, float(s.value), None if s.timestamp is None else float(s.timestamp))
        for f in families
        for s in f.samples
    ]


def ours(line: str) -> list[tuple[str, dict[str, str], float, float | None]] | None:
    page = parse(line + "\n")
    if page.rejected:
        return None
    return [
        (n, dict(lab), v, None if t is None else t / 1000)
        for n, lab, v, t in zip(page.names, page.labels, page.values, page.timestamps, strict=True)
    ]


def same(
    a: list[tuple[str, dict[str, str], float, float | None]],
    b: list[tuple[str, dict[str, str], float, float | None]],
) -> bool:
    if len(a) != len(b):
        return False
    for (n1, l1, v1, t1), (n2, l2, v2, t2) in zip(a, b, strict=True):
        values = v1 == v2 or (math.isnan(v1) and math.isnan(v2))
        if n1 != n2 or l1 != l2 or not values or t1 != t2:
            return False
    return True


names = st.from_regex(r"[a-zA-Z_:][a-zA-Z0-9_:]{0,20}", fullmatch=True)
label_names = st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,12}", fullmatch=True).filter(
    lambda n: not n.startswith("__")
)
label_values = st.text(st.characters(codec="utf-8", exclude_characters="\r"), max_size=12)
values = st.one_of(
    st.integers(-(10**15), 10**15).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["NaN", "+Inf", "-Inf", "1e3", ".5", "-0"]),
)


def escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@st.composite
def sample_lines(draw: st.DrawFn) -> str:
    labels = draw(st.dictionaries(label_names, label_values, max_size=5))
    block = ",".join(f'{k}="{escape(v)}"' for k, v in labels.items())
    braces: bool = bool(labels) or draw(st.booleans())
    head = draw(names) + (f"{{{block}}}" if braces else "")
    stamp = draw(st.one_of(st.none(), st.integers(-(10**13), 10**13)))
    return f"{head} {draw(values)}" + ("" if stamp is None else f" {stamp}")


@given(st.lists(sample_lines(), min_size=1, max_size=30))
@settings(max_examples=300)
def test_generated_lines_read_as_prometheus_client_reads_them(lines: list[str]):
    page = parse("\n".join(lines) + "\n")
    assert page.rejected == []
    assert len(page) == len(lines)
    for line in lines:
        theirs, mine = reference(line), ours(line)
        assert theirs is not None and mine is not None
        assert same(mine, theirs), line


def mutate(line: str, draw: Callable[[st.SearchStrategy[Any]], Any]) -> str:
    position: int = draw(st.integers(0, len(line)))
    junk: str = draw(
        st.text(st.sampled_from([*list(' \t{}",=\\#_.e+-xN0'), "\x00", "é"]), max_size=3)
    )
    cut: int = draw(st.integers(0, 2))
    return line[:position] + junk + line[position + cut :]


@given(sample_lines(), st.data())
@settings(max_examples=600)
def test_mutated_lines_what_we_accept_prometheus_client_reads_alike(line: str, data: st.DataObject):
    """Fuzzed lines: we never crash; a line we accept, prometheus_client accepts and reads
    the same way. (It is laxer: it takes lines we refuse, e.g. a second value.)"""
    broken = mutate(line, data.draw).replace("\n", " ")
    mine = ours(broken)
    if mine is not None and mine:
        theirs = reference(broken)
        assert theirs is not None and same(mine, theirs), broken


@given(st.text(max_size=300))
@settings(max_examples=500)
def test_any_text_parses_without_crashing_and_every_line_is_accounted_for(text: str):
    page = parse(text)
    lines = text.split("\n")
    if text.endswith("\n") or not text:
        lines.pop()
    sample_lines_ = set(page.lines)
    rejected = {line for line, _, _ in page.rejected}
    assert not sample_lines_ & rejected
    for number, line in enumerate(lines, start=1):
        if number in sample_lines_ or number in rejected:
            continue
        assert line.strip(" \t") == "" or line.startswith("#"), (number, line)


# ---- the fast path against the full grammar alone, page by page ---------------------------


def columns(page: exposition.Page) -> tuple[object, ...]:
    values = [repr(v) for v in page.values]  # NaN == NaN, -0.0 != 0.0
    return (page.names, page.labels, values, page.timestamps, page.lines, page.types, page.rejected)


def agrees(text: str) -> None:
    """parse() reads ``text`` as the full grammar does, whole and cut in small chunks."""
    expected = columns(by_grammar(text))
    assert columns(parse(text)) == expected, text
    for size in (1, 40):
        with mock.patch.object(exposition, "CHUNK", size):
            assert columns(parse(text)) == expected, (size, text)


BLOCK = 'gpu="0",UUID="GPU-a",Hostname="n1"'
HEAD = "m{" + BLOCK + "}"  # a canonical sample line is HEAD + " " + value
LOOK_CANONICAL = [
    HEAD + " 1",  # canonical, the reference
    HEAD + "} 1",  # a second closing brace
    "m{" + BLOCK + ",} 1",  # a trailing comma (valid)
    "m{" + BLOCK + " } 1",  # a space before the brace (valid)
    "m{" + BLOCK + ',gpu="1"} 1',  # a label twice
    'm{a="\\q"} 1',  # an unknown escape
    'm{a="x} 1',  # an unterminated value
    'm{a="} 1"} 2',  # braces and a space inside a value
    'm{a="x"}{b="y"} 1',  # two blocks
    "m y" + HEAD[1:] + " 1",  # a space in the name
    "9" + HEAD + " 1",  # a name starting with a digit
    HEAD + " 1_0",  # an underscore in the value
    HEAD + " 0x10",  # hex
    HEAD + " \u0661",  # an Arabic-Indic digit, which float() would take
    HEAD + " 1e400",  # past float64: +Inf, as prometheus_client reads it
    HEAD + " nan",
    HEAD + " infinity",
    HEAD + " ",  # no value
    HEAD + " 1 ",  # a trailing space
    HEAD + "  1",  # two spaces
    HEAD + " 1 2",  # a timestamp
    HEAD + " 1 2.5",  # a fractional timestamp
    HEAD + " 1\r",  # a carriage return
    HEAD + " 1\x00",  # a NUL
    HEAD + " 1\x0c",  # a form feed, which float() strips
    "# TYPE " + HEAD + " 1",  # a comment that looks like a sample
    "#" + HEAD + " 1",
    " " + HEAD + " 1",  # leading whitespace
    HEAD[1:] + " 1",  # no name
    "m{} 1",
    "m{ } 1",
    "m{,} 1",
    'm{a="x"\x00} 1',
    'm{a="\u00e9\u20ac"} 1',  # UTF-8 in a value
    "# TYPE m gauge",
    "# TYPE m bogus",
    "# HELP m text } 1",
    "",
    "   ",
]


def test_lines_that_look_canonical_are_decided_by_the_full_grammar():
    agrees("\n".join(LOOK_CANONICAL) + "\n")
    for line in LOOK_CANONICAL:
        agrees(line + "\n")
        agrees(f"{HEAD} 1\n{line}\n{HEAD} 2")  # among canonical lines, no last newline
    page = parse("\n".join(LOOK_CANONICAL) + "\n")
    refused = {line for line, _, _ in page.rejected}
    assert {2, 5, 6, 7, 9, 10, 11, 12, 13, 14} <= refused and 1 not in refused
    assert page.lines[:3] == [1, 3, 4] and page.labels[0] == page.labels[1] == page.labels[2]


def test_a_tab_anywhere_sends_every_line_to_the_full_grammar():
    text = f"{HEAD} 1\n{HEAD}\t2\n{HEAD} 3 \t\n"
    agrees(text)
    assert parse(text).values == [1.0, 2.0, 3.0]


def test_hostile_pages_never_crash():
    for text in [
        "\ud800",
        HEAD + ' 1\nm{a="\ud800"} 2\n',  # a lone surrogate: not UTF-8
        "{" * 1000 + " " + "}" * 1000,
        "m{" + 'a="x",' * 2000 + "} 1\n",
        "\x00" * 100,
        "\n" * 1000,
        "m{} 1\n" * 1000 + "m{",
        "}" * 10 + " 1",
    ]:
        agrees(text)


def test_one_label_set_whichever_path_read_it():
    page = parse(f"{HEAD} 1\n{HEAD}  2\n{HEAD} 3 5\nn{{{BLOCK},}} 4\n")
    assert page.lines == [1, 2, 3, 4] and len(page.label_table) == 1
    assert page.label_codes.tolist() == [0, 0, 0, 0] and page.name_table == ["m", "n"]


@st.composite
def mutated_lines(draw: st.DrawFn) -> str:
    return mutate(draw(sample_lines()), draw).replace("\n", " ")


page_lines = st.one_of(
    sample_lines(),
    mutated_lines(),
    st.sampled_from(LOOK_CANONICAL),
    st.sampled_from(["# TYPE m gauge", "# TYPE x counter", "# HELP m x", "#", "", " "]),
)


@given(st.lists(page_lines, min_size=1, max_size=40), st.booleans())
@settings(max_examples=300)
def test_pages_read_as_the_full_grammar_reads_them(lines: list[str], newline: bool):
    agrees("\n".join(lines) + ("\n" if newline else ""))


decimals = st.from_regex(
    r"[+-]?([0-9]{1,30}(\.[0-9]{0,30})?|\.[0-9]{1,30})([eE][+-]?[0-9]{1,4})?", fullmatch=True
)
value_like = st.text(st.sampled_from("0123456789.eE+-"), min_size=1, max_size=12)


@given(st.lists(st.one_of(decimals, value_like), min_size=1, max_size=20))
@settings(max_examples=500)
def test_values_arrow_casts_are_read_as_float_reads_them(texts: list[str]):
    """Values of digits, dots, exponents and signs are cast by Arrow: whatever it takes,
    float takes to the same bits; what it refuses, float decides."""
    agrees("".join(f'm{{a="b"}} {text}\n' for text in texts))
    for text in texts:
        try:
            cast = pc.cast(pa.array([text]), pa.float64())[0].as_py()
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            continue
        assert struct.pack("<d", cast) == struct.pack("<d", float(text)), text


def test_values_arrow_refuses_are_read_one_by_one():
    text = "".join(f"m{{}} {v}\n" for v in ["1", "2.5", "1e400", "1e-400", "1e", "+1", "NaN"])
    agrees(text)
    assert parse(text).values[:2] == [1.0, 2.5]
