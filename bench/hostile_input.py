"""Bench: the largest and the nastiest inputs the reader takes or refuses, whole processes.

Goal (issue 8): any file, imported into a fresh database, is taken or refused within 10 s
and 1 GiB. Measured side by side with ``fleet import`` of the 6 KB reference fleet (the
baseline: what any import costs):

* a fleet file at the 4 MiB size limit, written rack by rack and node by node (65,000
  nodes, twice the reference site): taken;
* a fleet file of rack groups at the 200,000-node limit: taken;
* a 342-byte billion laughs, 100,000 levels of nesting, 2,000,000 nodes from 300 bytes:
  refused.

Peak memory is the child's maximum resident set (``getrusage``), from a fresh process per
run. Run with ``make bench``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NEOCLOUD = str(Path(sys.executable).with_name("neocloud"))
HEADER = """version: 1
sites:
  - name: big-1
    display_name: Big
    timezone: America/Chicago
    facility_capacity_mw: 3000
    pue: 1.15
    electricity_price: {per_mwh: 67.90, currency: USD}
    grid_carbon_kg_per_mwh: 283.47
    halls:
"""


def node_by_node(limit: int) -> str:
    """Explicit racks and nodes up to ``limit`` bytes."""
    parts, size, hall = [HEADER], len(HEADER), 0
    while True:
        hall += 1
        head = f"      - name: hall-{hall}\n        racks:\n"
        parts.append(head)
        size += len(head)
        for r in range(1000):
            rack = (
                f"          - name: h{hall}-r{r:04d}\n"
                "            power_budget_kw: 82\n            nodes:\n"
            )
            nodes = "".join(
                f"              - {{name: h{hall}-r{r:04d}-n{n:02d}, gpu_model: H100}}\n"
                for n in range(8)
            )
            if size + len(rack) + len(nodes) > limit:
                return "".join(parts)
            parts += [rack, nodes]
            size += len(rack) + len(nodes)


def rack_groups(nodes: int) -> str:
    return HEADER + (
        "      - name: hall-1\n        rack_groups:\n"
        f"          - {{prefix: r, count: {nodes // 8}, digits: 6, power_budget_kw: 82, "
        "node: {gpu_model: H100}}\n"
    )


def laughs() -> str:
    text = "a: &a [" + ", ".join(["lol"] * 9) + "]\n"
    for level in range(8):
        this, below = chr(98 + level), chr(97 + level)
        text += f"{this}: &{this} [" + ", ".join([f"*{below}"] * 9) + "]\n"
    return text


def one_run(home: Path, template: Path, path: Path) -> tuple[float, float, int]:
    """Seconds, peak MiB and exit code of ``neocloud fleet import`` in a fresh database."""
    if home.exists():
        shutil.rmtree(home)
    home.mkdir()
    shutil.copyfile(template, home / "neocloud.db")
    env = {"PATH": os.environ.get("PATH", ""), "NEOCLOUD_HOME": str(home), "NEOCLOUD_ACTOR": "b"}
    start = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # the child: the command itself, so its rusage is its own
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        os.execve(NEOCLOUD, [NEOCLOUD, "fleet", "import", str(path)], env)
    _, status, usage = os.wait4(pid, 0)
    seconds = time.perf_counter() - start
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        base = tmp / "base"
        base.mkdir()
        subprocess.run(
            [NEOCLOUD, "init"],
            env={"NEOCLOUD_HOME": str(base), "NEOCLOUD_ACTOR": "b"},
            check=True,
            capture_output=True,
        )
        template = base / "neocloud.db"
        files = {
            "baseline: the 6 KB reference fleet (29,558 nodes)": ROOT / "examples" / "fleet.yaml",
            "4 MiB node by node (taken)": tmp / "limit.yaml",
            "rack groups, 200,000 nodes (taken)": tmp / "groups.yaml",
            "billion laughs, 342 bytes (refused)": tmp / "laughs.yaml",
            "100,000 levels of nesting (refused)": tmp / "deep.yaml",
            "2,000,000 nodes in 300 bytes (refused)": tmp / "too-many.yaml",
        }
        (tmp / "limit.yaml").write_text(node_by_node(4 * 2**20))
        (tmp / "groups.yaml").write_text(rack_groups(200_000))
        (tmp / "laughs.yaml").write_text(laughs())
        (tmp / "deep.yaml").write_text("version: 1\nsites: " + "[" * 100_000 + "]" * 100_000)
        (tmp / "too-many.yaml").write_text(rack_groups(2_000_000))
        print(f"whole processes, median of {args.runs}; goal: 10 s and 1,024 MiB each")
        print(f"{'input':52} {'exit':>4} {'median s':>9} {'peak MiB':>9} {'x baseline s':>13}")
        baseline = None
        for label, path in files.items():
            runs = [one_run(tmp / "home", template, path) for _ in range(args.runs)]
            seconds = statistics.median(r[0] for r in runs)
            peak = max(r[1] for r in runs)
            baseline = baseline or seconds
            print(
                f"{label:52} {runs[0][2]:>4} {seconds:9.2f} {peak:9.0f} {seconds / baseline:12.2f}x"
            )


if __name__ == "__main__":
    main()
