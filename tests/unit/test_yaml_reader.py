"""The one reader every file goes through: its limits, its typing, its encodings.

Expected values are what YAML's own rules and the limits in ``adapters/yamlfile.py`` say,
written out here; ``fuzz`` tests feed arbitrary text and structures and accept only a
document or an InvalidInput, never another exception.
"""

from __future__ import annotations

import codecs
import contextlib
import time
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neocloud.adapters.yamlfile import (
    MAX_DEPTH,
    MAX_FILE_BYTES,
    MAX_VALUES,
    parse_document,
    read_document,
)
from neocloud.domain.agreements.file import parse_terms
from neocloud.domain.fleet.file import parse_fleet
from neocloud.domain.kernel.documents import SourceDocument
from neocloud.domain.kernel.errors import InvalidInput, Problem

DECIMAL_ONLY = (
    "write whole numbers in decimal without leading zeros (YAML 1.1 reads 010 as 8, 0x10 as "
    "16, 1:30 as 90)"
)


def problem(text: str, name: str = "f.yaml") -> Problem:
    with pytest.raises(InvalidInput) as err:
        parse_document(text, name)
    (found,) = err.value.problems
    return found


def test_scalars_are_typed_exactly() -> None:
    doc = parse_document(
        "a: 1.15\nb: 67.90\nc: 7\nd: -3\ne: 1_000\nf: yes\ng: Off\nh: ~\ni:\n"
        'j: "010"\nk: 2026-05-01\nl: .inf\nm: 0\n',
        "x.yaml",
    )
    assert doc.data == {
        "a": Decimal("1.15"),
        "b": Decimal("67.90"),
        "c": 7,
        "d": -3,
        "e": 1000,
        "f": True,
        "g": False,
        "h": None,
        "i": None,
        "j": "010",  # quoted: text
        "k": "2026-05-01",  # dates stay text: the field decides what they mean
        "l": ".inf",  # text, refused by any numeric field
        "m": 0,
    }
    assert doc.lines[("k",)] == 11


@pytest.mark.parametrize("written", ["010", "+010", "0x10", "-0x4", "0b100", "1:30", "00"])
def test_whole_numbers_only_in_decimal(written: str) -> None:
    """YAML 1.1 reads 010 as 8, 0b100 as 4, 1:30 as 90: none is what it looks like."""
    assert problem(f"sites:\n  - count: {written}\n") == Problem(
        "sites[0].count", written, DECIMAL_ONLY, "f.yaml:2"
    )


def test_keys_are_names_as_written() -> None:
    assert parse_document("yes: 1\n010: 2\n1.5: 3\n", "k.yaml").data == {
        "yes": 1,
        "010": 2,
        "1.5": 3,
    }


def test_a_mapping_as_a_key_is_refused() -> None:
    assert problem("a:\n  ? {x: 1}\n  : 2\n") == Problem(
        "yaml", "{...}", "a mapping key must be plain text", "f.yaml:2"
    )


def test_duplicate_keys_are_refused_where_they_repeat() -> None:
    assert problem("a: 1\nb: 2\na: 3\n") == Problem(
        "a", "a", "appears twice in the same mapping", "f.yaml:3"
    )


def test_nesting_is_limited_before_libyaml_can_recurse() -> None:
    assert problem("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)) == Problem(
        "[0]" * MAX_DEPTH, MAX_DEPTH + 1, f"nests deeper than {MAX_DEPTH}", "f.yaml:1"
    )  # the 33rd list, where it is: item 0 of item 0 ... 32 times
    parse_document("[" * MAX_DEPTH + "]" * MAX_DEPTH, "ok.yaml")  # at the limit: fine


def test_a_hundred_thousand_levels_are_refused_at_once() -> None:
    """libyaml's composer recursed once per level (a segfault at 100,000); its scanner is
    quadratic in the depth of flow collections (62 s for these 200 kB): stopping at the
    limit reads only the first 33 brackets."""
    started = time.process_time()
    with pytest.raises(InvalidInput, match=f"nests deeper than {MAX_DEPTH}"):
        parse_document("[" * 100_000 + "]" * 100_000, "deep.yaml")
    with pytest.raises(InvalidInput, match=f"nests deeper than {MAX_DEPTH}"):
        parse_document("- " * 100_000 + "x\n", "deep-block.yaml")
    assert time.process_time() - started < 2  # CPU seconds, generous: it takes milliseconds


def test_aliases_count_what_they_repeat() -> None:
    """A billion laughs in 342 bytes: 9 lists of 9 aliases, 8 levels deep."""
    laughs = "a: &a [" + ", ".join(["lol"] * 9) + "]\n"
    for level in range(8):
        this, below = chr(98 + level), chr(97 + level)
        laughs += f"{this}: &{this} [" + ", ".join([f"*{below}"] * 9) + "]\n"
    found = problem(laughs, "lol.yaml")
    assert found.message == f"more than {MAX_VALUES:,} values (aliases included)"
    # values by line: a 1 + 9 = 10, b 1 + 9 x 10 = 91, c 820, d 7,381, e 66,430, f 597,871,
    # with the root mapping and the keys a to g: 672,611; g's list makes 672,612 and its
    # third alias 672,612 + 3 x 597,871 = 2,466,225 > 2,000,000
    assert found.location == "lol.yaml:7"
    assert found.value == 2_466_225
    assert parse_document("a: &x [1, 2]\nb: *x\n", "ok.yaml").data == {
        "a": [1, 2],
        "b": [1, 2],
    }


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: &x [*x]\n", Problem("a[0]", "*x", "refers to itself", "f.yaml:1")),
        ("a: &x {b: *x}\n", Problem("a.b", "*x", "refers to itself", "f.yaml:1")),
        ("a: [1, *nope]\n", Problem("a[1]", "*nope", "names no anchor above it", "f.yaml:1")),
        (
            "a: !!python/object:os.system x\n",
            Problem(
                "a",
                "tag:yaml.org,2002:python/object:os.system",
                "is a tag neocloud cannot take",
                "f.yaml:1",
            ),
        ),
        ("--- 1\n--- 2\n", Problem("yaml", "---", "a file holds one document", "f.yaml:2")),
    ],
)
def test_what_the_reader_refuses(text: str, expected: Problem) -> None:
    assert problem(text) == expected


def test_a_file_is_read_within_its_size_limit(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_bytes(b"#" * (MAX_FILE_BYTES + 1))
    with pytest.raises(InvalidInput) as err:
        read_document(big)
    assert err.value.problems[0] == Problem(
        "file", str(big), "is larger than 4 MiB, the limit for a file"
    )


@pytest.mark.parametrize(
    "encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be"]
)
def test_unicode_with_a_byte_order_mark_is_read(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "bom.yaml"
    text = "city: Zürich\n"
    data = text.encode(encoding)
    if encoding in ("utf-16-le", "utf-16-be", "utf-32-be"):  # these codecs write no BOM
        bom = {
            "utf-16-le": codecs.BOM_UTF16_LE,
            "utf-16-be": codecs.BOM_UTF16_BE,
            "utf-32-be": codecs.BOM_UTF32_BE,
        }
        data = bom[encoding] + data
    path.write_bytes(data)
    assert read_document(path).data == {"city": "Zürich"}


def test_latin_1_is_refused_naming_the_byte_and_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("version: 1\ncity: Zürich\n".encode("latin-1"))
    with pytest.raises(InvalidInput) as err:
        read_document(path)
    assert err.value.problems[0] == Problem(
        "encoding", "byte 0xfc", "is not UTF-8 text; save the file as UTF-8", "latin.yaml:2"
    )


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput) as err:
        read_document(tmp_path / "missing.yaml")
    assert err.value.problems[0] == Problem(
        "file", str(tmp_path / "missing.yaml"), "cannot be read: No such file or directory"
    )
    with pytest.raises(InvalidInput, match="cannot be read: Is a directory"):
        read_document(tmp_path)


# -- fuzzing: nothing but a document or InvalidInput comes out ----------------------------

yaml_text = st.text(
    alphabet=st.sampled_from([*list("ab01:-[]{}&*!|>'\"#%@` ,.\n\t~?"), "\x00", "é", "\ufeff"]),
    max_size=200,
)


@settings(max_examples=400)
@given(text=yaml_text)
def test_any_text_is_a_document_or_a_located_refusal(text: str) -> None:
    try:
        parse_document(text, "fuzz.yaml")
    except InvalidInput as exc:
        assert all(p.location.startswith("fuzz.yaml") for p in exc.problems)


@settings(max_examples=200)
@given(raw=st.binary(max_size=300))
def test_any_bytes_are_a_document_or_a_refusal(
    raw: bytes, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("bytes") / "raw.yaml"
    path.write_bytes(raw)
    with contextlib.suppress(InvalidInput):
        read_document(path)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**40), max_value=10**40),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["H100", "tenant", "2026-05-01", "2026-05-01T00:00:00Z", "USD", "a" * 70]),
)
structures = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=25,
)
FLEET_KEYS = ["name", "timezone", "pue", "halls", "rack_groups", "count", "node", "gpu_model",
              "power_budget_kw", "facility_capacity_mw", "overrides", "racks", "nodes",
              "electricity_price", "per_mwh", "currency", "gpu_models", "prefix"]  # fmt: skip
AGREEMENT_KEYS = ["key", "operator", "tenant", "site", "capacity", "term", "start", "end",
                  "billing_timezone", "currency", "monthly_fee", "termination", "notice_days",
                  "may_give_notice", "ramp", "sla", "credit_tiers", "gpus", "facility_mw",
                  "prepayment", "escalator", "notice_effective"]  # fmt: skip


def shaped(keys: list[str]) -> st.SearchStrategy[object]:
    """Structures that use the format's own field names, so the readers go deep."""
    return st.recursive(
        scalars,
        lambda inner: st.one_of(
            st.lists(inner, max_size=3),
            st.dictionaries(st.sampled_from(keys), inner, max_size=6),
        ),
        max_leaves=30,
    )


@settings(max_examples=300)
@given(data=st.one_of(structures, shaped(FLEET_KEYS)))
def test_the_fleet_reader_takes_any_structure(data: object) -> None:
    with contextlib.suppress(InvalidInput):
        parse_fleet(SourceDocument("f.yaml", {"version": 1, "sites": [data]}))


@settings(max_examples=300)
@given(data=st.one_of(structures, shaped(AGREEMENT_KEYS)))
def test_the_agreement_reader_takes_any_structure(data: object) -> None:
    with contextlib.suppress(InvalidInput):
        parse_terms(SourceDocument("a.yaml", {"version": 1, "agreement": data}))
