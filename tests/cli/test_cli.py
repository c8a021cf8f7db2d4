"""The CLI end to end on each database: init, import, show, export, convert, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from neocloud.bootstrap import app as make_app
from neocloud.cli.main import cli
from neocloud.config import load_settings
from tests.conftest import EXAMPLES
from tests.unit.test_fleet_file import FIVE_MISTAKES

runner = CliRunner()


def neocloud(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = runner.invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_show_prints_halls_gpus_and_both_powers(loaded: dict[str, str]) -> None:
    code, out, _ = neocloud(loaded, "fleet", "show", "--site", "memphis-1")
    assert code == 0
    assert "hall-4" in out and "8,640 GB200" in out and "216,640" in out
    # 202,758.62 kW IT -> "202.759"; x 1.15 = 233,172.413 kW facility -> "233.172"
    assert "202.759" in out and "233.172" in out


def test_show_json_is_exact(loaded: dict[str, str]) -> None:
    code, out, _ = neocloud(loaded, "fleet", "show", "--json")
    assert code == 0
    sites = {s["site"]: s for s in json.loads(out)["sites"]}
    memphis = sites["memphis-1"]
    assert memphis["gpus"] == 216_640
    assert Decimal(memphis["it_mw"]) == Decimal("202.75862")
    assert Decimal(memphis["facility_mw"]) == Decimal("202.75862") * Decimal("1.15")
    assert memphis["gpus_by_model"] == {"GB200": 8640, "H100": 108800, "H200": 99200}
    assert [h["hall"] for h in memphis["halls"]] == ["hall-1", "hall-2", "hall-3", "hall-4"]


def test_export_then_reimport_gives_the_same_fleet(loaded: dict[str, str], tmp_path: Path) -> None:
    exported = tmp_path / "export.yaml"
    assert neocloud(loaded, "fleet", "export", "-o", str(exported))[0] == 0
    _, before, _ = neocloud(loaded, "fleet", "show", "--json")
    code, out, _ = neocloud(loaded, "fleet", "import", "--replace", str(exported))
    assert code == 0 and "replaced site memphis-1" in out
    assert neocloud(loaded, "fleet", "show", "--json")[1] == before


def test_importing_an_existing_site_is_a_conflict(loaded: dict[str, str]) -> None:
    code, _, err = neocloud(loaded, "fleet", "import", str(EXAMPLES / "fleet.yaml"))
    assert code == 4
    assert "memphis-1" in err and "--replace" in err


def test_five_mistakes_exit_non_zero_and_change_nothing(
    loaded: dict[str, str], tmp_path: Path
) -> None:
    _, before, _ = neocloud(loaded, "fleet", "show", "--json")
    bad = tmp_path / "bad.yaml"
    # a valid new site first, then the broken one: neither may be written
    good = EXAMPLES.joinpath("fleet.yaml").read_text().split("  - name: atlanta-1")[1]
    bad.write_text(FIVE_MISTAKES + "  - name: atlanta-2" + good)
    code, _, err = neocloud(loaded, "fleet", "import", "--replace", str(bad))
    assert code == 2
    for where in ("bad.yaml:4", "bad.yaml:6", "bad.yaml:13", "bad.yaml:15", "bad.yaml:17"):
        assert where in err
    assert "America/Memphis" in err and "H900" in err and "colour" in err
    assert neocloud(loaded, "fleet", "show", "--json")[1] == before


def test_convert_for_a_model_by_hand(cli_env: dict[str, str]) -> None:
    code, out, _ = neocloud(
        cli_env,
        "capacity",
        "convert",
        "--gpus",
        "10000",
        "--model",
        "H100",
        "--pue",
        "1.3",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    assert Decimal(result["it_mw"]) == Decimal("9.1")
    assert Decimal(result["facility_mw"]) == Decimal("11.83")


def test_convert_mw_at_a_site(loaded: dict[str, str]) -> None:
    code, out, _ = neocloud(
        loaded,
        "capacity",
        "convert",
        "--site",
        "memphis-1",
        "--mw",
        "300",
        "--basis",
        "facility",
        "--json",
    )
    assert code == 0
    result = json.loads(out)
    # 300 MW / 1.15 = 260,869.565.. kW IT; blended 202,758.62 kW / 216,640 GPUs
    # = 0.935924575... kW per GPU -> 278,729.6 GPUs
    it_kw = Decimal(300_000) / Decimal("1.15")
    per_gpu = Decimal("202758.62") / 216_640
    assert result["gpus"] == int(it_kw / per_gpu)
    assert result["gpus_if_only"]["H100"] == int(it_kw / Decimal("0.91"))
    code, out, _ = neocloud(
        loaded,
        "capacity",
        "convert",
        "--site",
        "memphis-1",
        "--gpus",
        "64",
        "--model",
        "H200",
        "--json",
    )
    assert Decimal(json.loads(out)["facility_mw"]) == Decimal("0.066976")  # 64 x .91 x 1.15


def test_errors_name_the_field_and_value(cli_env: dict[str, str], tmp_path: Path) -> None:
    assert neocloud(cli_env, "init")[0] == 0
    code, _, err = neocloud(
        cli_env, "capacity", "convert", "--mw", "ten", "--model", "H100", "--pue", "1.2"
    )
    assert code == 2 and "mw='ten'" in err
    code, _, err = neocloud(
        cli_env, "capacity", "convert", "--gpus", "8", "--model", "X1", "--pue", "1.2"
    )
    assert code == 2 and "model='X1'" in err
    code, _, err = neocloud(cli_env, "fleet", "show", "--site", "atlantis")
    assert code == 3 and "atlantis" in err
    code, _, err = neocloud(cli_env, "fleet", "import", str(tmp_path / "missing.yaml"))
    assert code == 2 and "missing.yaml" in err


def test_commands_before_init_say_what_to_do(tmp_path: Path) -> None:
    env = {"NEOCLOUD_HOME": str(tmp_path / "fresh"), "NEOCLOUD_DATABASE_URL": ""}
    code, _, err = neocloud(env, "fleet", "show")
    assert code == 3 and "neocloud init" in err


def test_import_is_audited(loaded: dict[str, str]) -> None:
    with make_app(load_settings(loaded)) as app, app.uow() as uow:
        entries = uow.audit.entries("site", "memphis-1")
    assert [(e.action, e.actor, e.details["nodes"]) for e in entries] == [
        ("fleet.import", "tester", 28_160)
    ]


def test_audit_entries_are_dated_by_the_system_clock_and_listed(
    loaded: dict[str, str],
) -> None:
    """NEOCLOUD_NOW moves the business clock only: an entry written now says so."""
    started = datetime.now(UTC)
    env = {**loaded, "NEOCLOUD_NOW": "2020-01-02T03:04:05+00:00"}
    assert neocloud(env, "fleet", "import", str(EXAMPLES / "fleet.yaml"), "--replace")[0] == 0
    code, out, _ = neocloud(env, "audit", "list", "--entity", "site:memphis-1", "--json")
    assert code == 0
    first, replaced = json.loads(out)
    assert first["action"] == "fleet.import" and replaced["action"] == "fleet.replace"
    assert replaced["business_at"] == "2020-01-02T03:04:05+00:00"
    assert datetime.fromisoformat(replaced["recorded_at"]) >= started
    assert replaced["details"]["nodes"] == 28_160 and replaced["actor"] == "tester"
    code, out, _ = neocloud(env, "audit", "list", "--action", "fleet.replace")
    assert code == 0 and "fleet.replace" in out and "site memphis-1" in out
    assert "fleet.import " not in out
    code, out, _ = neocloud(env, "audit", "list", "--entity", "agreement", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, _, err = neocloud(env, "audit", "list", "--last", "0")
    assert code == 2 and "last=0: must be between 1 and 100,000" in err
