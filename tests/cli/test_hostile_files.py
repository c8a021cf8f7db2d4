"""Every file in ``tests/data/hostile/`` imported into a fresh database by a real
``neocloud`` process, limited to 1 GiB of memory and 10 s: a clear, located refusal or a
correct acceptance, never a traceback, a signal or a hang.

The corpus came from attacking the CLI (``tests/data/hostile/README.md``). What each file
must give is written here from the rules (docs/FLEET_FORMAT.md, docs/AGREEMENT_FORMAT.md,
docs/CONVENTIONS.md "Input limits"), not copied from the program's output.
"""

from __future__ import annotations

import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.test_cli import neocloud

HOSTILE = Path(__file__).resolve().parent.parent / "data" / "hostile"
GIB = 2**30
DECIMAL_ONLY = "write whole numbers in decimal without leading zeros"
YEARS = "must be in the years 2000 to 2199"
LARGER = "more than neocloud keeps exactly: amounts must stay below 9,000,000,000,000"
MODEL_NAME = "invalid GPU model name"

# file -> (exit code, a line standard error must hold); agreements are created on a
# database holding the corpus's base fleet (site s1: 640 H100 GPUs, 20 MW)
EXPECTED: dict[str, tuple[int, str]] = {
    "2-too-large/ag_krw_huge.yaml": (2, "ag_krw_huge.yaml:11: agreement.monthly_fee="),
    "2-too-large/ag_prepay_overflow.yaml": (2, LARGER),
    "2-too-large/ag_term_0001_a2.yaml": (2, f"agreement.term.start='0001-01-01': {YEARS}"),
    "3-one-problem/ag_cap_mw_10e40.yaml": (2, "agreement.capacity.facility_mw="),
    "3-one-problem/ag_fee_9e12.yaml": (
        2,
        "ag_fee_9e12.yaml:11: agreement.monthly_fee=9000000000000: must be less than "
        "9,000,000,000,000",
    ),
    "3-one-problem/fleet_budget_10e40.yaml": (2, "rack_groups[0].power_budget_kw="),
    "3-one-problem/fleet_budget_precise.yaml": (
        2,
        "fleet_budget_precise.yaml:16: sites[0].halls[0].rack_groups[0].power_budget_kw="
        "82.0000001: has more than 6 decimal places; refusing to round",
    ),
    "3-one-problem/fleet_cap_10e40.yaml": (
        2, "fleet_cap_10e40.yaml:7: sites[0].facility_capacity_mw=",
    ),
    "3-one-problem/fleet_dup_rack_names.yaml": (
        2,
        "fleet_dup_rack_names.yaml:14: sites[0].halls[0].racks[0].name='r0001': duplicate "
        "rack name",
    ),
    "3-one-problem/fleet_empty.yaml": (2, "file='fleet_empty.yaml': is empty"),
    "3-one-problem/fleet_key_complex.yaml": (2, "a mapping key must be plain text"),
    "3-one-problem/fleet_override_key_list.yaml": (2, "a mapping key must be plain text"),
    "3-one-problem/fleet_price_huge.yaml": (
        2, "sites[0].electricity_price.per_mwh=100000000000000000000000000: must be less than"
    ),
    "3-one-problem/fleet_pue_precise.yaml": (
        2, "fleet_pue_precise.yaml:8: sites[0].pue=1.1500000001: has more than 6 decimal places"
    ),
    "4-tracebacks/ag_fee_0b.yaml": (2, f"agreement.monthly_fee='0b101': {DECIMAL_ONLY}"),
    "4-tracebacks/ag_key_null.yaml": (2, "ag_key_null.yaml:3: agreement.key=None: is required"),
    "4-tracebacks/ag_may_list_of_list.yaml": (
        2, "agreement.termination.may_give_notice[0]=['tenant']: must be one of operator, tenant"
    ),
    "4-tracebacks/ag_notice_effective_list.yaml": (
        2, "agreement.termination.notice_effective=['end_of_day']: must be one of"
    ),
    "4-tracebacks/ag_notice_sexa.yaml": (2, f"notice_days='1:30': {DECIMAL_ONLY}"),
    "4-tracebacks/ag_operator_null.yaml": (2, "agreement.operator=None: is required"),
    "4-tracebacks/ag_term_0001_offset.yaml": (2, YEARS),
    "4-tracebacks/ag_term_9999.yaml": (2, f"agreement.term.end='9999-12-31': {YEARS}"),
    "4-tracebacks/ag_term_9999_neg_offset.yaml": (2, YEARS),
    "4-tracebacks/billion_laughs.yaml": (2, "more than 2,000,000 values (aliases included)"),
    "4-tracebacks/deep_1000_flow.yaml": (2, "nests deeper than 32"),
    "4-tracebacks/enc_latin1.yaml": (
        2, "enc_latin1.yaml:4: encoding='byte 0xe9': is not UTF-8 text; save the file as UTF-8"
    ),
    "4-tracebacks/enc_utf16bom.yaml": (0, ""),  # UTF-16 with its byte-order mark: read
    "4-tracebacks/enc_utf32.yaml": (0, ""),
    "4-tracebacks/fleet_budget_precise.yaml": (2, "has more than 6 decimal places"),
    "4-tracebacks/fleet_cap_0b.yaml": (2, f"facility_capacity_mw='0b10100': {DECIMAL_ONLY}"),
    "4-tracebacks/fleet_count_neghex.yaml": (2, f"count='-0x4': {DECIMAL_ONLY}"),
    "4-tracebacks/fleet_count_sexa.yaml": (2, f"count='1:30': {DECIMAL_ONLY}"),
    "4-tracebacks/fleet_model_list.yaml": (
        2, "gpu_model=['H100']: must be the name of a GPU model",
    ),
    "4-tracebacks/fleet_override_model_list.yaml": (
        2, "overrides.r0001-n01.gpu_model=['H200']: must be the name of a GPU model"
    ),
    "4-tracebacks/fleet_racks_explicit_model_list.yaml": (
        2, "racks[0].nodes[0].gpu_model=['B200']: must be the name of a GPU model"
    ),
    "4-tracebacks/fleet_typical_precise.yaml": (2, "node.typical_it_kw=7.1234567890123456789"),
    "4-tracebacks/recursive_alias.yaml": (2, "sites[0]='*a': refers to itself"),
    "4-tracebacks/recursive_alias_map.yaml": (2, "sites[0].halls[0]='*s': refers to itself"),
    "5-injection/ag_gpu_model_markup.yaml": (
        2, f"agreement.capacity.gpu_model='[/]': {MODEL_NAME}",
    ),
    "5-injection/inj_city_esc.yaml": (2, "holds the invisible or control character U+001B"),
    "5-injection/inj_city_markup.yaml": (0, ""),  # '[/]' is text; shown as written below
    "5-injection/inj_esc_display.yaml": (2, "display_name='\\x1b[2J\\x1b[31mPAID IN FULL\\x1b[0m'"),
    "5-injection/inj_gpu_model_esc.yaml": (2, MODEL_NAME),
    "5-injection/inj_gpu_model_markup.yaml": (2, f"gpu_models.[/]='[/]': {MODEL_NAME}"),
    "5-injection/inj_markup_bad_tag.yaml": (0, ""),
    "5-injection/inj_markup_close.yaml": (0, ""),
    "5-injection/inj_markup_display.yaml": (0, ""),
    "5-injection/inj_osc_display.yaml": (2, "holds the invisible or control character U+001B"),
    "5-injection/inj_rlo_display.yaml": (
        2, "holds the invisible or control character U+202E (RIGHT-TO-LEFT OVERRIDE) at position 6"
    ),
    "7-accepted-wrong/ag_cap_gpus_010.yaml": (2, f"agreement.capacity.gpus='0100': {DECIMAL_ONLY}"),
    "7-accepted-wrong/ag_cap_gpus_10e40.yaml": (2, "agreement.capacity.gpus="),
    "7-accepted-wrong/ag_cap_model_H900.yaml": (
        2,
        "ag_cap_model_H900.yaml:7: agreement.capacity.gpu_model='H900': site s1 has no GPUs "
        "of this model (it has: 640 H100)",
    ),
    "7-accepted-wrong/ag_cap_mw_big.yaml": (
        2, "agreement.capacity.facility_mw=1000000: must be at most 100,000",
    ),
    "7-accepted-wrong/ag_fee_010.yaml": (2, f"agreement.monthly_fee='010': {DECIMAL_ONLY}"),
    "7-accepted-wrong/ag_fee_7dp.yaml": (
        2, "monthly_fee=1000000.0000001: has more than 2 decimal places",
    ),
    "7-accepted-wrong/ag_fee_fraction.yaml": (
        2, "monthly_fee=1000000.005: has more than 2 decimal places",
    ),
    "7-accepted-wrong/ag_term_0001.yaml": (2, YEARS),
    "7-accepted-wrong/ag_term_1899.yaml": (2, f"agreement.term.start='1899-12-01': {YEARS}"),
    "7-accepted-wrong/ag_tfee_fraction.yaml": (
        2, "termination.fee=0.001: has more than 2 decimal places",
    ),
    "7-accepted-wrong/ag_tz_localtime.yaml": (
        2, "billing_timezone='localtime': not an IANA time zone",
    ),
    "7-accepted-wrong/fleet_cap_octal010.yaml": (2, f"facility_capacity_mw='020': {DECIMAL_ONLY}"),
    "7-accepted-wrong/fleet_cap_precise.yaml": (2, "has more than 6 decimal places"),
    "7-accepted-wrong/fleet_count_010.yaml": (2, f"count='010': {DECIMAL_ONLY}"),
    "7-accepted-wrong/fleet_location_country_bad.yaml": (0, ""),  # location is free text
    "7-accepted-wrong/fleet_name_null.yaml": (
        2, "fleet_name_null.yaml:3: sites[0].name=None: is required",
    ),
    "7-accepted-wrong/fleet_tz_localtime.yaml": (2, "timezone='localtime': not an IANA time zone"),
    "8-other/fleet_city_150.yaml": (2, "is longer than 100 characters"),
    "8-other/fleet_display_300.yaml": (2, "is longer than 200 characters"),
}  # fmt: skip

CORPUS = sorted(str(p.relative_to(HOSTILE)) for p in HOSTILE.glob("*/*.yaml"))


def limited() -> None:
    """In the child: 1 GiB of address space, no core file."""
    resource.setrlimit(resource.RLIMIT_AS, (GIB, GIB))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "neocloud.cli", *args],
        capture_output=True,
        text=True,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=10,
        preexec_fn=limited,
        check=False,
    )


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh SQLite database holding the corpus's base fleet (site s1)."""
    home = tmp_path_factory.mktemp("base")
    env = {"NEOCLOUD_HOME": str(home), "NEOCLOUD_ACTOR": "tester"}
    assert neocloud(env, "init")[0] == 0
    assert neocloud(env, "fleet", "import", str(HOSTILE / "fleet.yaml"))[0] == 0
    return home / "neocloud.db"


def test_every_file_of_the_corpus_has_an_expectation() -> None:
    assert sorted(EXPECTED) == CORPUS


@pytest.mark.parametrize("name", CORPUS)
def test_a_hostile_file_is_refused_clearly_or_taken(name: str, base: Path, tmp_path: Path) -> None:
    shutil.copyfile(base, tmp_path / "neocloud.db")
    env = {"NEOCLOUD_HOME": str(tmp_path), "NEOCLOUD_ACTOR": "tester"}
    agreement = Path(name).name.startswith("ag_")
    command = ["agreement", "create"] if agreement else ["fleet", "import", "--replace"]
    done = run(env, *command, str(HOSTILE / name))
    code, line = EXPECTED[name]
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr
    assert done.returncode == code, done.stderr
    if code:
        assert done.stderr.startswith("error: "), done.stderr
        assert line in done.stderr, done.stderr
        assert Path(name).name in done.stderr  # located in the file
    if code or agreement:
        return
    shown = run(env, "fleet", "show", "--site", "s1")  # what was taken shows as written
    assert shown.returncode == 0, shown.stderr
    for written in ("[bold red]x[/] [link=file:///etc/passwd]click[/link]", "[/bold] x", "[/]"):
        if written in (HOSTILE / name).read_text(encoding="utf-8", errors="replace"):
            assert written in shown.stdout


def test_a_hundred_thousand_levels_and_a_large_file_are_refused_in_bounds(
    base: Path, tmp_path: Path
) -> None:
    shutil.copyfile(base, tmp_path / "neocloud.db")
    env = {"NEOCLOUD_HOME": str(tmp_path), "NEOCLOUD_ACTOR": "tester"}
    deep = tmp_path / "deep.yaml"
    deep.write_text("version: 1\nsites: " + "[" * 100_000 + "]" * 100_000 + "\n")
    done = run(env, "fleet", "import", str(deep))
    assert (done.returncode, done.stderr) == (
        2,
        "error: deep.yaml:2: sites[0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0][0]"
        "[0][0][0][0][0][0][0][0][0][0][0]=33: nests deeper than 32\n",
    )
    large = tmp_path / "large.yaml"
    large.write_text("#" * (4 * 2**20 + 1))
    done = run(env, "fleet", "import", str(large))
    assert done.returncode == 2
    assert "is larger than 4 MiB, the limit for a file" in done.stderr
    groups = tmp_path / "groups.yaml"  # 300 bytes that would make 2,000,000 nodes
    groups.write_text(
        (HOSTILE / "fleet.yaml")
        .read_text()
        .replace("count: 10\n", "count: 250000\n            digits: 6\n")
    )
    done = run(env, "fleet", "import", "--replace", str(groups))
    assert done.returncode == 2
    assert "sites='2,000,000 nodes': a fleet file describes at most 200,000 nodes" in done.stderr


def test_markup_and_escapes_in_a_credit_note_reason(base: Path, tmp_path: Path) -> None:
    """A reason is refused if it holds control characters; markup in it is just text, and
    the note shows as written."""
    shutil.copyfile(base, tmp_path / "neocloud.db")
    env = {
        "NEOCLOUD_HOME": str(tmp_path),
        "NEOCLOUD_ACTOR": "tester",
        "NEOCLOUD_NOW": "2026-11-01T00:00:00-05:00",
    }
    assert run(env, "agreement", "create", str(HOSTILE / "ag.yaml")).returncode == 0
    assert run(env, "agreement", "sign", "a1", "--at", "2026-04-03").returncode == 0
    assert run(env, "billing", "close", "2026-05").returncode == 0
    done = run(
        env, "invoice", "credit-note", "INV-op-000001", "--amount", "1.00", "--reason", "\x1b[2J"
    )
    assert done.returncode == 2
    assert "reason='\\x1b[2J': holds the invisible or control character U+001B" in done.stderr
    done = run(
        env, "invoice", "credit-note", "INV-op-000001", "--amount", "1.00", "--reason", "[/] ok"
    )
    assert done.returncode == 0, done.stderr
    shown = run(env, "invoice", "show", "CN-op-000001")
    assert shown.returncode == 0 and "Credit against INV-op-000001: [/] ok" in shown.stdout
