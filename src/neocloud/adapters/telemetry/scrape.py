"""Scraping DCGM exporters over HTTP (httpx): bounded concurrency, a timeout per request,
retries with exponential backoff; each page parsed as it would be from a file, stamped with
the instant it was fetched when it carries no timestamps.

Targets file: one target a line, ``URL [NODE]`` (``#`` starts a comment); ``host:port``
means ``http://host:port/metrics``. A target that names its node also gets a node-level
``up`` sample: 1 when it answered, 0 when it did not. A target that never answered is
reported (rejected, with the last error), never silently skipped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from neocloud.adapters.telemetry import dcgm
from neocloud.adapters.telemetry.schema import SAMPLES
from neocloud.adapters.telemetry.sources import Batch
from neocloud.domain.kernel.errors import InvalidInput, Problem
from neocloud.domain.metering.report import ReadReport


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    node: str | None = None


@dataclass(frozen=True, slots=True)
class Fetched:
    target: Target
    at_us: int
    text: str | None
    error: str | None
    attempts: int


def read_targets(path: Path) -> list[Target]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise InvalidInput.single(
            "--targets", str(path), f"cannot be read: {exc.strerror}"
        ) from None
    targets, problems = [], []
    for number, raw in enumerate(lines, start=1):
        words = raw.split("#", 1)[0].split()
        if not words:
            continue
        if len(words) > 2:
            problems.append(Problem("target", raw, "expected URL [NODE]", f"{path}:{number}"))
            continue
        url = words[0] if "://" in words[0] else f"http://{words[0]}/metrics"
        targets.append(Target(url, words[1] if len(words) == 2 else None))
    if problems:
        raise InvalidInput(problems)
    if not targets:
        raise InvalidInput.single("--targets", str(path), "lists no target")
    return targets


async def fetch_all(
    targets: list[Target],
    *,
    clock_us: Callable[[], int],
    concurrency: int = 64,
    timeout_s: float = 5.0,
    retries: int = 2,
    backoff_s: float = 0.5,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    on_done: Callable[[], None] | None = None,
) -> list[Fetched]:
    """Every target's page (or its last error), at most ``concurrency`` at a time."""
    import httpx

    gate = asyncio.Semaphore(concurrency)
    limits = httpx.Limits(max_connections=concurrency)
    async with httpx.AsyncClient(timeout=timeout_s, limits=limits) as client:

        async def one(target: Target) -> Fetched:
            async with gate:
                result = await _fetch(client, target, clock_us, retries, backoff_s, sleep)
            if on_done:
                on_done()
            return result

        return list(await asyncio.gather(*(one(t) for t in targets)))


async def _fetch(
    client: object,
    target: Target,
    clock_us: Callable[[], int],
    retries: int,
    backoff_s: float,
    sleep: Callable[[float], Awaitable[None]],
) -> Fetched:
    import httpx

    assert isinstance(client, httpx.AsyncClient)
    error = ""
    for attempt in range(1, retries + 2):
        at_us = clock_us()
        try:
            response = await client.get(target.url)
            if response.status_code == 200:
                return Fetched(target, at_us, response.text, None, attempt)
            error = f"HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        if attempt <= retries:
            await sleep(backoff_s * 2 ** (attempt - 1))
    return Fetched(target, clock_us(), None, error, retries + 1)


def to_batch(fetched: list[Fetched], *, site: str) -> Batch:
    """The pages as one batch; a target that never answered is a rejected source."""
    batch = Batch()
    for item in fetched:
        if item.text is None:
            report = ReadReport(sources=[item.target.url])
            reason = f"no page after {item.attempts} attempt(s): {item.error}"
            report.reject(item.target.url, 0, reason)
        else:
            table, report = dcgm.read_page(
                item.text, source=item.target.url, site=site, default_ts_us=item.at_us
            )
            batch.extend(table, report)
            report = ReadReport()
        if item.target.node is not None:
            report.samples += 1  # the node-level `up` sample
        batch.extend(_up(item, site, 0 if item.text is None else 1), report)
    return batch


def _up(item: Fetched, site: str, value: int) -> pa.Table:
    if item.target.node is None:
        return SAMPLES.empty_table()
    row = {f.name: pa.nulls(1, f.type) for f in SAMPLES}
    row["ts"] = pa.array([item.at_us], pa.int64()).cast(SAMPLES.field("ts").type)
    row["site"] = pa.array([site]).dictionary_encode().cast(SAMPLES.field("site").type)
    row["node"] = pa.array([item.target.node]).dictionary_encode().cast(SAMPLES.field("node").type)
    row["up"] = pa.array([value], pa.int8())
    return pa.table(row, schema=SAMPLES)
