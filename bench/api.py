"""The API under load: a tenant's usage and invoice reads at 200 requests/s for 60 s (issue 12).

Goal: p99 < 50 ms on the 2-core reference machine. Beside it, in the same run and at the
same rate, the bare framework (FastAPI on the same uvicorn) serving static JSON bodies of
the same sizes as neocloud's answers: what is left above that baseline is neocloud's own.

Both servers are real processes on loopback (``neocloud serve`` over an embedded database
holding the reference fleet, two tenants' agreements and their invoices). The load is open
loop: request i is due at start + i / rate whatever the others are doing, and its latency
counts from when it was due, so a slow answer delays nothing it would hide (no coordinated
omission). Each run is bounded (``--seconds``) and stops by itself.

    .venv/bin/python bench/api.py [--rate 200] [--seconds 60]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.common import ROOT

NC = str(ROOT / ".venv" / "bin" / "neocloud")
GOAL_P99_MS = 50.0
NOW = "2026-11-01T00:00:00-05:00"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def neocloud(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([NC, *args], env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"neocloud {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def seed(env: dict[str, str]) -> str:
    """The reference fleet, both demo tenants' agreements and invoices; a tenant key."""
    neocloud(env, "init")
    neocloud(env, "fleet", "import", str(ROOT / "examples" / "fleet.yaml"))
    for key, signed in (("memphis-lease", "2026-05-03"), ("atlanta-inference", "2026-08-20")):
        neocloud(env, "agreement", "create", str(ROOT / "examples" / "agreements" / f"{key}.yaml"))
        neocloud(env, "agreement", "sign", key, "--at", signed)
        neocloud(env, "allocation", "apply", key)
    for month, ratio in (("05", "0.9990"), ("06", "0.9985"), ("07", "0.9993"), ("08", "0.9874"),
                         ("09", "0.9991"), ("10", "0.9932")):  # fmt: skip
        for key in ("memphis-lease", "atlanta-inference"):
            if key == "memphis-lease" or month >= "09":
                neocloud(env, "agreement", "availability", key, f"2026-{month}", ratio)
        neocloud(env, "billing", "close", f"2026-{month}", "--availability-source", "manual")
    made = neocloud(
        env, "apikey", "create", "--role", "tenant", "--tenant", "frontier-lab", "--json"
    )
    return str(json.loads(made)["key"])


TENANT_ROUTES = (
    "/v1/agreements/memphis-lease/usage?period=2026-10",
    "/v1/invoices/INV-neocloud-000004",
)
"""What a tenant's integration reads most: its usage of a month and one invoice."""


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            if server.poll() is not None:
                sys.exit(f"server exited: {server.stderr.read().decode() if server.stderr else ''}")
            time.sleep(0.1)
    server.kill()
    sys.exit(f"server on port {port} did not start within 60 s")


BASELINE = """
import sys
import uvicorn
from fastapi import FastAPI
from fastapi.responses import Response

bodies = [open(path, "rb").read() for path in sys.argv[2:]]
app = FastAPI()
for i, body in enumerate(bodies):
    app.add_api_route(f"/static/{i}", lambda body=body: Response(body, media_type="application/json"))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
"""


async def load(
    base: str, paths: list[str], headers: dict[str, str], rate: float, seconds: float
) -> tuple[list[float], int]:
    """Open-loop load: latencies (ms) from each request's due time, and the failures."""
    latencies: list[float] = []
    failures = 0
    total = int(rate * seconds)
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=10) as c:
        loop = asyncio.get_running_loop()
        start = loop.time() + 0.5

        async def one(i: int) -> None:
            nonlocal failures
            due = start + i / rate
            await asyncio.sleep(max(0.0, due - loop.time()))
            try:
                response = await c.get(paths[i % len(paths)])
                ok = response.status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                latencies.append((loop.time() - due) * 1000)
            else:
                failures += 1

        await asyncio.gather(*(one(i) for i in range(total)))
    return latencies, failures


def summary(name: str, latencies: list[float], failures: int, seconds: float) -> dict[str, float]:
    ordered = sorted(latencies)

    def pct(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    row = {
        "p50": pct(0.50), "p90": pct(0.90), "p99": pct(0.99), "max": ordered[-1] if ordered else float("nan"),
        "mean": statistics.fmean(ordered) if ordered else float("nan"),
        "rate": len(ordered) / seconds, "failures": failures,
    }  # fmt: skip
    print(
        f"{name:44} {row['rate']:>7.1f} {row['p50']:>8.2f} {row['p90']:>8.2f} "
        f"{row['p99']:>8.2f} {row['max']:>8.2f} {failures:>8}"
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="neocloud-bench-api-") as home:
        env = {**os.environ, "NEOCLOUD_HOME": home, "NEOCLOUD_NOW": NOW, "NEOCLOUD_ACTOR": "bench"}
        env.pop("NEOCLOUD_DATABASE_URL", None)
        print("seeding the reference fleet, two tenants, their agreements and invoices ...")
        key = seed(env)
        headers = {"Authorization": f"Bearer {key}"}
        port = free_port()
        server = start([NC, "serve", "--host", "127.0.0.1", "--port", str(port)], env, port)
        try:
            base = f"http://127.0.0.1:{port}"
            bodies = []
            for path in TENANT_ROUTES:
                answer = httpx.get(base + path, headers=headers, timeout=30)
                if answer.status_code != 200:
                    sys.exit(f"GET {path}: {answer.status_code} {answer.text[:300]}")
                bodies.append(answer.content)
            print(f"{len(TENANT_ROUTES)} routes, bodies of {[len(b) for b in bodies]} bytes; "
                  f"{args.rate:.0f} requests/s for {args.seconds:.0f} s each, open loop")  # fmt: skip
            print(f"{'':44} {'req/s':>7} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
                  f"{'max ms':>8} {'failed':>8}")  # fmt: skip
            ours = summary(
                "neocloud: tenant usage + invoice reads",
                *asyncio.run(load(base, list(TENANT_ROUTES), headers, args.rate, args.seconds)),
                args.seconds,
            )
        finally:
            server.terminate()
            server.wait(10)
        files = []
        for i, body in enumerate(bodies):
            static = Path(home) / f"static-{i}.json"
            static.write_bytes(body)
            files.append(str(static))
        port = free_port()
        command = [sys.executable, "-c", BASELINE, str(port), *files]
        baseline_server = start(command, env, port)
        try:
            statics = [f"/static/{i}" for i in range(len(files))]
            base_row = summary(
                "baseline: bare FastAPI, static JSON, same sizes",
                *asyncio.run(
                    load(f"http://127.0.0.1:{port}", statics, {}, args.rate, args.seconds)
                ),
                args.seconds,
            )
        finally:
            baseline_server.terminate()
            baseline_server.wait(10)
    verdict = "met" if ours["p99"] < GOAL_P99_MS and not ours["failures"] else "NOT met"
    print(
        f"p99 {ours['p99']:.2f} ms against the goal of < {GOAL_P99_MS:.0f} ms: {verdict}; "
        f"{ours['p99'] / base_row['p99']:.2f}x the bare framework's p99 "
        f"({base_row['p99']:.2f} ms), {ours['p50'] / base_row['p50']:.2f}x its p50"
    )


if __name__ == "__main__":
    main()
