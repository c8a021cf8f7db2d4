"""scripts/mutation_report.py reads mutmut's meta files; here they are written by hand."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "mutation_report.py"

# mutmut 3.8.1 exit codes: 1 killed, 0 survived, 33 no tests, 36 timeout, None not checked.
KILLED, SURVIVED, NO_TESTS, TIMEOUT = 1, 0, 33, 36


def load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("mutation_report", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def project(root: Path, exit_codes: dict[str, list[int | None]]) -> Path:
    """A project whose scope is src/pkg/*.py, with one meta file per module in exit_codes."""
    (root / "pyproject.toml").write_text('[tool.mutmut]\nonly_mutate = ["src/pkg/*.py"]\n')
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "pkg" / "__init__.py").write_text("")
    (root / "src" / "pkg" / "consts.py").write_text("RATE = 3\n")  # no function, no mutant
    for name, codes in exit_codes.items():
        (root / "src" / "pkg" / f"{name}.py").write_text("def f():\n    return 1\n")
        meta = root / "mutants" / "src" / "pkg" / f"{name}.py.meta"
        meta.parent.mkdir(parents=True, exist_ok=True)
        keys = {f"pkg.{name}.x_f__mutmut_{i}": code for i, code in enumerate(codes, 1)}
        meta.write_text(json.dumps({"exit_code_by_key": keys}))
    return root


def test_one_line_per_module_with_the_kill_rate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script()
    root = project(
        tmp_path,
        {
            "a": [KILLED, KILLED, KILLED, SURVIVED, NO_TESTS, TIMEOUT],
            "b": [KILLED, KILLED, KILLED, KILLED],
        },
    )
    assert script.main(["--root", str(root), "--threshold", "60"]) == 0
    out = capsys.readouterr().out.splitlines()
    # a: (3 killed + 1 timeout) / 6 = 66.7 %; b: 4 / 4; total: (7 + 1) / 10 = 80 %.
    assert out[1].split() == ["pkg.a", "6", "3", "1", "1", "1", "0", "66.7", "%"]
    assert out[2].split() == ["pkg.b", "4", "4", "0", "0", "0", "0", "100.0", "%"]
    assert out[3].split() == ["total", "10", "7", "1", "1", "1", "0", "80.0", "%"]
    assert len(out) == 4  # consts.py and __init__.py have no function, so no line


def test_a_module_below_the_threshold_fails_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script()
    root = project(tmp_path, {"a": [KILLED, KILLED, KILLED, SURVIVED, NO_TESTS, TIMEOUT]})
    assert script.main(["--root", str(root), "--threshold", "70"]) == 1
    assert "pkg.a: 66.7 % < 70 %" in capsys.readouterr().err


def test_unchecked_mutants_fail_whatever_the_threshold(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = load_script()
    root = project(tmp_path, {"a": [KILLED, None]})
    assert script.main(["--root", str(root), "--threshold", "0"]) == 1
    assert "pkg.a: 1 mutants not checked" in capsys.readouterr().err


def test_modules_are_selected_by_name_package_or_path(tmp_path: Path) -> None:
    script = load_script()
    root = project(tmp_path, {"a": [KILLED], "b": [KILLED]})
    modules = script.scope(root)
    assert [m.name for m in modules] == ["pkg.a", "pkg.b"]
    assert [m.name for m in script.select(modules, ["src/pkg/b.py"])] == ["pkg.b"]
    assert [m.name for m in script.select(modules, ["pkg.a"])] == ["pkg.a"]
    assert [m.name for m in script.select(modules, ["pkg"])] == ["pkg.a", "pkg.b"]
    assert [m.name for m in script.select(modules, ["src/pkg/"])] == ["pkg.a", "pkg.b"]
    with pytest.raises(SystemExit) as err:
        script.select(modules, ["pkg.c"])
    assert err.value.code == 2
