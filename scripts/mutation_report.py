"""Mutation testing of the domain rules: run mutmut, then print the kill rate per module.

The scope is ``only_mutate`` under ``[tool.mutmut]`` in pyproject.toml; mutmut runs the
pure-domain tests (tests/unit) against every mutant. One line per module, then a total:

    module  mutants  killed  survived  timeout  no tests  other  kill rate

kill rate = (killed + timeout) / mutants, as mutmut's own badge counts it: a mutant that
makes a test hang was detected. "no tests" (no unit test reaches the function) and "other"
(suspicious, segfault, not checked) count against the rate.

    python scripts/mutation_report.py [--run] [--jobs N] [--threshold PCT] [MODULE ...]

MODULE is a dotted module (neocloud.domain.kernel.money), a package (neocloud.domain.billing)
or a path (src/neocloud/domain/kernel/money.py); none means the whole scope. --run starts
from an empty mutants/ folder, so every figure is from the current sources and tests.
Exit status: 0 all selected modules at or above the threshold, 1 one below it or without
complete results, 2 a selection outside the scope or mutmut failing.
"""

from __future__ import annotations

import argparse
import ast
import json
import shutil
import subprocess
import sys
import time
import tomllib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

from mutmut.stats import status_by_exit_code

ROOT = Path(__file__).resolve().parent.parent
DETECTED = ("killed", "timeout")
COLUMNS = ("killed", "survived", "timeout", "no tests")


@dataclass(frozen=True)
class Module:
    name: str  # neocloud.domain.kernel.money
    path: Path  # src/neocloud/domain/kernel/money.py, relative to the root


@dataclass(frozen=True)
class Tally:
    counts: Counter[str]  # mutmut status -> number of mutants

    @property
    def mutants(self) -> int:
        return sum(self.counts.values())

    @property
    def other(self) -> int:
        return self.mutants - sum(self.counts[c] for c in COLUMNS)

    @property
    def kill_rate(self) -> float:
        detected = sum(self.counts[c] for c in DETECTED)
        return 100.0 * detected / self.mutants if self.mutants else 100.0


def usage_error(message: str) -> NoReturn:
    print(message, file=sys.stderr)
    raise SystemExit(2)


def module_name(path: Path) -> str:
    parts = path.with_suffix("").parts
    parts = parts[1:] if parts[0] == "src" else parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def has_functions(path: Path) -> bool:
    """mutmut mutates function bodies only; a module without one has no mutants."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    kinds = (ast.FunctionDef, ast.AsyncFunctionDef)
    return any(isinstance(node, kinds) for node in ast.walk(tree))


def scope(root: Path) -> list[Module]:
    """The modules that ``only_mutate`` names, in name order."""
    config = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: list[str] = config["tool"]["mutmut"]["only_mutate"]
    paths = {p.relative_to(root) for pattern in patterns for p in root.glob(pattern)}
    modules = [Module(module_name(p), p) for p in paths if has_functions(root / p)]
    return sorted(modules, key=lambda m: m.name)


def as_dotted(selector: str) -> str:
    if selector.endswith(".py") or "/" in selector:
        return module_name(Path(selector.rstrip("/")))
    return selector


def select(modules: list[Module], selectors: Sequence[str]) -> list[Module]:
    """Modules named by the selectors (a module, a package or a path); all when none."""
    if not selectors:
        return modules
    chosen: list[Module] = []
    for selector in selectors:
        name = as_dotted(selector)
        found = [m for m in modules if m.name == name or m.name.startswith(name + ".")]
        if not found:
            in_scope = ", ".join(m.name for m in modules)
            usage_error(f"{selector}: not a module in the mutation scope ({in_scope})")
        chosen += [m for m in found if m not in chosen]
    return sorted(chosen, key=lambda m: m.name)


def run_mutmut(root: Path, selected: list[Module], everything: bool, jobs: int) -> float:
    """Run mutmut from scratch over the selected modules; the wall time in seconds."""
    shutil.rmtree(root / "mutants", ignore_errors=True)
    mutmut = Path(sys.executable).parent / "mutmut"
    names = [] if everything else [f"{m.name}.*" for m in selected]
    started = time.monotonic()
    done = subprocess.run(
        [mutmut, "run", "--max-children", str(jobs), *names], check=False, cwd=root
    )
    elapsed = time.monotonic() - started
    if done.returncode != 0:
        usage_error(f"mutmut run failed with exit status {done.returncode}")
    return elapsed


def tally(root: Path, module: Module) -> Tally | None:
    """Counts per mutmut status from mutants/<path>.meta; None when there is no result."""
    meta = root / "mutants" / f"{module.path}.meta"
    if not meta.exists():
        return None
    exit_codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
    return Tally(Counter(status_by_exit_code[code] for code in exit_codes.values()))


def line(label: str, t: Tally) -> str:
    counts = "".join(f"{t.counts[c]:>10}" for c in COLUMNS)
    return f"{label:<42}{t.mutants:>8}{counts}{t.other:>7}{t.kill_rate:>10.1f} %"


def report(root: Path, selected: list[Module], threshold: float) -> int:
    header = "".join(f"{c:>10}" for c in COLUMNS)
    print(f"{'module':<42}{'mutants':>8}{header}{'other':>7}{'kill rate':>12}")
    total: Counter[str] = Counter()
    failures: list[str] = []
    for module in selected:
        t = tally(root, module)
        if t is None:
            print(f"{module.name:<42}{'no results: run with --run':>30}")
            failures.append(f"{module.name}: no results")
            continue
        print(line(module.name, t))
        total += t.counts
        if t.counts["not checked"]:
            failures.append(f"{module.name}: {t.counts['not checked']} mutants not checked")
        elif t.kill_rate < threshold:
            failures.append(f"{module.name}: {t.kill_rate:.1f} % < {threshold:g} %")
    print(line("total", Tally(total)))
    for failure in failures:
        print(f"below threshold or incomplete: {failure}", file=sys.stderr)
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("modules", nargs="*", help="modules, packages or paths (default: all)")
    parser.add_argument("--run", action="store_true", help="run mutmut first, from scratch")
    parser.add_argument("--jobs", type=int, default=2, help="mutmut worker processes")
    parser.add_argument("--threshold", type=float, default=90.0, help="minimum kill rate, %%")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    modules = scope(args.root)
    selected = select(modules, args.modules)
    if args.run:
        elapsed = run_mutmut(args.root, selected, selected == modules, args.jobs)
        print(f"\nmutmut run: {elapsed / 60:.1f} min with {args.jobs} workers\n")
    return report(args.root, selected, args.threshold)


if __name__ == "__main__":
    sys.exit(main())
