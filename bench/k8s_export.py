"""Bench: the whole reference site's Kubernetes output (28,160 nodes held by the lease),
side by side with the writer it replaced. Goal: under 2 s on this machine, each command
a whole process (start-up, database read, output).

* ``allocation export --format k8s``: the Node objects with neocloud's labels and taints,
  JSON (the stdlib's C encoder);
* ``allocation sync --format k8s --current FILE``: the kubectl lines that move a cluster
  (``kubectl get nodes -o json`` of 28,160 nodes, each with a foreign label and taint and
  nothing of neocloud's yet) to the state;
* baseline: the same List through the pure-Python YAML writer the export used before.

Run with ``make bench`` (``--runs N`` for more rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from common import print_table, reference_deal, timed_together  # bench/ is the script's directory

NEOCLOUD = str(Path(sys.executable).with_name("neocloud"))
AT = "2026-08-01T05:00:00Z"
OLD_WRITER = """
import json, sys
from neocloud.adapters.yamlfile import dump_document
sys.stdout.write(dump_document(json.load(open(sys.argv[1]))))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "NEOCLOUD_HOME": tmp, "NEOCLOUD_ACTOR": "bench",
               "NEOCLOUD_NOW": "2026-11-01T00:00:00-05:00",
               "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache")}  # fmt: skip
        env.pop("PYTHONDONTWRITEBYTECODE", None)

        def run(*argv: str) -> str:
            done = subprocess.run(argv, env=env, check=True, capture_output=True, text=True)
            return done.stdout

        for command in reference_deal():
            run(NEOCLOUD, *command)
        export = [NEOCLOUD, "allocation", "export", "--site", "memphis-1", "--format", "k8s",
                  "--at", AT]  # fmt: skip
        state = Path(tmp) / "state.json"
        state.write_text(run(*export))
        items = json.loads(state.read_text())["items"]
        cluster = Path(tmp) / "nodes.json"
        cluster.write_text(json.dumps({"apiVersion": "v1", "kind": "List", "items": [
            {"apiVersion": "v1", "kind": "Node",
             "metadata": {"name": i["metadata"]["name"], "labels": {"team": "ml"}},
             "spec": {"taints": [{"key": "node.kubernetes.io/unschedulable",
                                  "effect": "NoSchedule"}]}}
            for i in items]}))  # fmt: skip
        sync = [NEOCLOUD, "allocation", "sync", "--site", "memphis-1", "--format", "k8s",
                "--at", AT, "--current", str(cluster)]  # fmt: skip
        lines = [x for x in run(*sync).splitlines() if x.startswith("kubectl")]
        old = [sys.executable, "-c", OLD_WRITER, str(state)]
        medians = timed_together(
            {"export": lambda: run(*export), "sync": lambda: run(*sync), "old": lambda: run(*old)},
            runs=args.runs,
        )
    print(f"whole site: {len(items):,} Node objects; sync: {len(lines):,} kubectl lines; "
          f"median of {args.runs}, each a whole process")  # fmt: skip
    print_table([
        ("allocation export --format k8s (JSON)", medians["export"], 2.0, medians["old"]),
        ("allocation sync --format k8s --current (28,160)", medians["sync"], 2.0, medians["old"]),
        ("  baseline: the List through the Python YAML writer", medians["old"], None, None),
    ])  # fmt: skip


if __name__ == "__main__":
    main()
