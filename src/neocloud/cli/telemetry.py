"""``neocloud telemetry``: GPU telemetry into the Parquet store (docs/TELEMETRY.md)."""

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import console, emit_json, errors, handles_errors, make_app

if TYPE_CHECKING:
    from datetime import datetime

    from neocloud.domain.metering.report import IngestReport, PartitionStatus

cli = typer.Typer(help="GPU telemetry: ingest, scrape, simulate, status.", no_args_is_help=True)


def instant(text: str | None, field: str) -> "datetime | None":
    if text is None:
        return None
    from neocloud.domain.kernel.instants import parse_instant

    return parse_instant(text, field)


@cli.command("ingest")
@handles_errors
def ingest(
    files: list[Path] = typer.Argument(..., help="DCGM exporter pages, CSV or Parquet files."),
    site: str = typer.Option(None, "--site", help="The site the samples come from."),
    at: str = typer.Option(None, "--at", help="Instant of pages without timestamps."),
    format: str = typer.Option(None, "--format", help="dcgm | csv | parquet (default: by suffix)."),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
) -> None:
    """Read every file, then store what is new: duplicates once, bad lines reported.

    Exits 2 when a line was rejected (after storing the rest), or when a file cannot be
    read at all (then nothing is stored)."""
    from neocloud.services import telemetry

    when = instant(at, "--at")
    with make_app() as app:
        app.require_database()
        named = telemetry.resolve_site(app.uow(), site)
        batch = app.read_telemetry(list(files), site=named, at=when, format=format)
        report = telemetry.ingest(app.uow(), app.telemetry_store(), batch)
    show_report(report, as_json)


def show_report(report: "IngestReport", as_json: bool) -> None:
    """The report (JSON or one summary line, rejected lines, files written); exit 2 if any
    line was rejected."""
    data = report.as_dict()
    if as_json:
        emit_json(data)
    else:
        out = console()
        out.print(summary(report), markup=False)
        for rejected in report.read.rejected:
            out.print(f"  rejected {rejected}", markup=False)
        if report.read.rejected_count > len(report.read.rejected):
            more = report.read.rejected_count - len(report.read.rejected)
            out.print(f"  ... and {more:,} more rejected", markup=False)
        for name, count in sorted(report.read.ignored.items()):
            out.print(f"  ignored {count:,} sample(s) of {name} (not in the store's schema)")
        for p in report.written.partitions:
            out.print(f"  wrote {p.file} ({p.rows:,} rows)", markup=False)
        for x in report.late:
            out.print(
                f"  late: {x.nodes:,} node(s) of {x.agreement} on {x.day}, in {x.period}, "
                f"already invoiced ({x.invoice}); the invoice stands: `neocloud metering show "
                f"--agreement {x.agreement} --period {x.period}` says what a note would change",
                markup=False,
            )
    if not report.clean:
        errors().print(
            f"error: {report.read.rejected_count:,} line(s) rejected; the rest was stored",
            markup=False,
        )
        raise typer.Exit(2)


def summary(report: "IngestReport") -> str:
    d = report.as_dict()
    hosts = d["unmatched_host_count"]
    return (
        f"{len(report.read.sources)} source(s), {d['samples_read']:,} samples read: "
        f"{d['kept']:,} kept, {d['duplicate']:,} duplicate ({d['conflicting']:,} conflicting), "
        f"{d['rejected']:,} rejected, {d['unmatched']:,} unmatched ({hosts:,} unknown hosts)"
    )


@cli.command("status")
@handles_errors
def status(as_json: bool = typer.Option(False, "--json", help="Print as JSON.")) -> None:
    """What the store holds per site and UTC day: rows, nodes, first/last sample, size."""
    from neocloud.services import telemetry

    with make_app() as app:
        store = app.telemetry_store()
        parts = telemetry.status(store)
        where = str(store.root)
    if as_json:
        emit_json({"store": where, "partitions": [status_json(p) for p in parts]})
        return
    render_status(where, parts)


def status_json(p: "PartitionStatus") -> dict[str, object]:
    return {
        "site": p.site,
        "day": p.day,
        "files": p.files,
        "rows": p.rows,
        "nodes": p.nodes,
        "first": p.first.isoformat() if p.first else None,
        "last": p.last.isoformat() if p.last else None,
        "bytes": p.bytes,
    }


def render_status(where: str, parts: "list[PartitionStatus]") -> None:
    from rich.table import Table

    out = console()
    if not parts:
        out.print(f"the telemetry store at {where} is empty", markup=False)
        return
    table = Table(title=f"telemetry store {where}")
    for name, justify in (
        ("site", "left"),
        ("day (UTC)", "left"),
        ("rows", "right"),
        ("nodes", "right"),
        ("first sample", "left"),
        ("last sample", "left"),
        ("files", "right"),
        ("size", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for p in parts:
        table.add_row(
            p.site,
            p.day,
            f"{p.rows:,}",
            f"{p.nodes:,}",
            f"{p.first:%H:%M:%S}" if p.first else "",
            f"{p.last:%H:%M:%S}" if p.last else "",
            str(p.files),
            size_text(p.bytes),
        )
    out.print(table)


def size_text(size: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{size:,.0f} {unit}" if unit == "B" else f"{size:,.1f} {unit}"
        size /= 1024  # type: ignore[assignment]
    return str(size)


@cli.command("scrape")
@handles_errors
def scrape(
    targets: Path = typer.Option(..., "--targets", help="One target a line: URL [NODE]."),
    site: str = typer.Option(None, "--site", help="The site the targets belong to."),
    concurrency: int = typer.Option(64, "--concurrency", min=1, help="Requests at a time."),
    timeout: float = typer.Option(5.0, "--timeout", min=0.001, help="Seconds per request."),
    retries: int = typer.Option(2, "--retries", min=0, help="Retries after a failure."),
    backoff: float = typer.Option(
        0.5, "--backoff", min=0, help="First retry's wait (s), doubling."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
) -> None:
    """Fetch every target's DCGM exporter page once and store it (as `ingest` does)."""
    from rich.progress import Progress

    from neocloud.services import telemetry

    with make_app() as app:
        app.require_database()
        named = telemetry.resolve_site(app.uow(), site)
        with Progress(console=errors(), transient=True, disable=as_json) as progress:
            task = progress.add_task("scraping", total=None)
            batch = app.scrape_telemetry(
                targets,
                site=named,
                concurrency=concurrency,
                timeout_s=timeout,
                retries=retries,
                backoff_s=backoff,
                on_done=lambda: progress.advance(task),
            )
        report = telemetry.ingest(app.uow(), app.telemetry_store(), batch)
    show_report(report, as_json)


RESOLUTIONS = {"1m": 60, "1h": 3600, "1d": 86_400}


@cli.command("simulate")
@handles_errors
def simulate(
    site: str = typer.Option(
        ..., "--site", help="The site to simulate (its nodes from the database)."
    ),
    start: str = typer.Option(..., "--from", help="Start instant (with a UTC offset)."),
    end: str = typer.Option(..., "--to", help="End instant, not included."),
    seed: int = typer.Option(..., "--seed", help="The same seed gives the same telemetry."),
    resolution: str = typer.Option("1m", "--resolution", help="1m | 1h | 1d between samples."),
    rollup_only: bool = typer.Option(
        False, "--rollup-only", help="Write only the node rollup metering reads (no raw rows)."
    ),
    outage: str = typer.Option(
        None, "--outage", help="Nodes (a host list) that report nothing from --outage-from."
    ),
    outage_from: str = typer.Option(None, "--outage-from", help="Start of the outage."),
    outage_to: str = typer.Option(None, "--outage-to", help="End of the outage (excluded)."),
    format: str = typer.Option("store", "--format", help="store | dcgm (pages, small runs)."),
    output: Path = typer.Option(None, "--output", "-o", help="Directory for --format dcgm."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Simulate the site's GPU telemetry: diurnal load, power from it, energy counters,
    failures with critical Xids and silent nodes at DOMAIN.md's rates. Nodes in announced
    maintenance (`maintenance announce`) and in --outage report nothing meanwhile."""
    from rich.progress import Progress

    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.kernel.instants import Interval
    from neocloud.services import metering, telemetry

    if resolution not in RESOLUTIONS:
        raise InvalidInput.single("resolution", resolution, "must be 1m, 1h or 1d")
    if format not in ("store", "dcgm") or (format == "dcgm") != (output is not None):
        raise InvalidInput.single("--format", format, "store, or dcgm with --output DIR")
    span = Interval(instant(start, "--from"), instant(end, "--to"))  # type: ignore[arg-type]
    with make_app() as app:
        app.require_database()
        nodes, timezone = telemetry.simulation_fleet(app.uow(), site)
        outages = [
            (w.nodes, w.interval.start, w.interval.end)
            for w in metering.maintenance_windows(app.uow(), site)
            if w.interval.overlaps(span)
        ]
        if outage is not None or outage_from is not None or outage_to is not None:
            if outage is None or outage_from is None or outage_to is None:
                raise InvalidInput.single(
                    "outage", outage, "give --outage, --outage-from and --outage-to together"
                )
            lost = Interval(instant(outage_from, "outage_from"), instant(outage_to, "outage_to"))  # type: ignore[arg-type]
            outages.append((frozenset(app.expand_hostlist(outage, "outage")), lost.start, lost.end))
        common = {"site": site, "nodes": nodes, "start": span.start, "end": span.end, "seed": seed}
        if format == "dcgm":
            pages = app.simulated_pages(
                site=site,
                nodes=nodes,
                start=span.start,
                end=span.end,
                seed=seed,
                resolution_s=RESOLUTIONS[resolution],
                directory=output,
            )
            console().print(f"wrote {len(pages):,} DCGM page file(s) to {output}")
            return
        gpus = sum(n.gpus for n in nodes)
        steps = int(span.duration.total_seconds()) // RESOLUTIONS[resolution]
        with Progress(console=errors(), transient=True, disable=as_json) as progress:
            task = progress.add_task("simulating", total=gpus * steps)
            result = app.simulate_telemetry(
                **common,  # type: ignore[arg-type]
                timezone=timezone,
                resolution_s=RESOLUTIONS[resolution],
                progress=lambda rows: progress.advance(task, rows),
                outages=outages,
                raw=not rollup_only,
            )
    data = {
        "site": site,
        "nodes": len(nodes),
        "gpus": gpus,
        "rows": result.rows,
        "rollup_rows": result.rollup_rows,
        "gpu_failures": result.gpu_failures,
        "silences": result.silences,
        "skipped_days": result.skipped,
        "files": [p.file for p in result.partitions],
    }
    if as_json:
        emit_json(data)
        return
    if result.skipped and not result.partitions:
        console().print(f"already simulated: {', '.join(result.skipped)} (nothing written)")
        return
    console().print(
        f"simulated {len(nodes):,} nodes ({gpus:,} GPUs): {result.rows:,} rows, "
        f"{result.rollup_rows:,} node rollup rows, {result.gpu_failures} GPU failures "
        f"(critical Xid), {result.silences} silent nodes",
        markup=False,
    )


@handles_errors
def agent(
    replay: Path = typer.Option(None, "--replay", help="Replay an NVML capture directory."),
    site: str = typer.Option(None, "--site", help="The site this machine belongs to."),
    node: str = typer.Option(None, "--node", help="This machine's node name (default: host name)."),
    interval: float = typer.Option(1.0, "--interval", min=0.01, help="Seconds between samples."),
    samples: int = typer.Option(None, "--samples", min=1, help="Stop after N samples."),
    output: Path = typer.Option(None, "--output", "-o", help="Write a Parquet file instead."),
    as_json: bool = typer.Option(False, "--json", help="Print the ingest report as JSON."),
) -> None:
    """Sample this machine's GPUs through NVML into the telemetry store (or a file)."""
    import socket

    from neocloud.services import telemetry

    with make_app() as app:
        named = site
        if output is None:
            app.require_database()
            named = telemetry.resolve_site(app.uow(), site)
        batch = app.agent_batch(
            replay=replay,
            site=named or "unknown",
            node=node or socket.gethostname(),
            interval_s=interval,
            samples=samples,
        )
        if output is not None:
            app.write_samples(batch, output)
            console().print(f"wrote {batch.table.num_rows:,} rows to {output}")
            return
        report = telemetry.ingest(app.uow(), app.telemetry_store(), batch)
    show_report(report, as_json)
