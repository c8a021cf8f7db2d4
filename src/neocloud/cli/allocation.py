"""``neocloud allocation``: racks for agreements over time, what-if, failures, exports."""

from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from neocloud.cli.output import (
    console,
    count_option,
    emit_json,
    handles_errors,
    make_app,
    number_option,
    write_or_print,
)

if TYPE_CHECKING:
    from datetime import datetime

    from neocloud.domain.allocation.planner import AllocationPlan, Holding
    from neocloud.domain.fleet.capacity import SiteSummary

cli = typer.Typer(help="Allocation of racks to agreements over time.", no_args_is_help=True)


def plan_json(plan: "AllocationPlan") -> dict[str, object]:
    return {
        "holder": plan.holder, "end": plan.end.isoformat(), "halls": plan.halls,
        "racks": len(plan.racks), "spares": list(plan.spares),
        "steps": [{"start": s.start.isoformat(), "target": s.target, "held": s.held,
                   "racks_added": list(s.added)} for s in plan.steps],
        "unit": "GPUs" if plan.demand.gpus is not None else "facility kW (share of the site)",
    }  # fmt: skip


def render_plan(plan: "AllocationPlan", title: str) -> None:
    from rich.table import Table

    table = Table(
        "from", "wanted", "held", "racks added", "racks in all", title=title, title_justify="left"
    )
    total = 0
    for step in plan.steps:
        total += len(step.added)
        table.add_row(
            step.start.isoformat(),
            plan.demand.describe(step.target),
            plan.demand.describe(step.held),
            f"{len(step.added):,}",
            f"{total:,}",
        )
    console().print(table)
    halls = ", ".join(f"{hall}: {n:,} racks" for hall, n in plan.halls.items())
    console().print(
        f"until {plan.end.isoformat()}; {halls}"
        + (f"; {len(plan.spares)} spare racks kept" if plan.spares else "")
    )


# plan and apply take the same planning options
SPARE_SHARE = typer.Option("0", "--spare-share", help="Spare racks per racks held.")
UNIT = typer.Option("rack", "--unit", help="Isolation unit: rack or hall.")


@cli.command("plan")
@handles_errors
def plan(
    agreement: str,
    spare_share: str = SPARE_SHARE,
    unit: str = UNIT,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Dry run: the racks the agreement would get along its ramp; nothing is written."""
    from neocloud.services import allocation as service

    with make_app() as app:
        app.require_database()
        result = service.plan_for_agreement(
            app.uow(), agreement, number_option(spare_share, "spare_share"), unit
        )
    emit_json(plan_json(result)) if as_json else render_plan(result, f"plan for {agreement}")


@cli.command("apply")
@handles_errors
def apply(
    agreement: str,
    spare_share: str = SPARE_SHARE,
    unit: str = UNIT,
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Plan and write, in one transaction (the database refuses any double booking)."""
    from neocloud.services import allocation as service

    with make_app() as app:
        app.require_database()
        result = service.apply_for_agreement(
            app.uow(), app.context(), agreement, number_option(spare_share, "spare_share"), unit
        )
    if as_json:
        emit_json(plan_json(result))
    else:
        render_plan(result, f"allocated to {agreement}")


def holdings_json(found: "list[Holding]") -> list[dict[str, object]]:
    return [
        {
            "hall": h.hall,
            "rack": h.rack,
            "node": h.node,
            "gpu_model": h.gpu_model,
            "holder_kind": h.kind.value,
            "holder": h.holder,
            "start": h.start.isoformat(),
            "end": h.end.isoformat() if h.end else None,
            "reason": h.reason,
        }
        for h in found
    ]


@cli.command("show")
@handles_errors
def show(
    site: str = typer.Option(None, "--site", help="Only this site; every site if omitted."),
    at: str = typer.Option(None, "--at", help="Instant (ISO 8601); now if omitted."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Who holds each site's racks at an instant, per hall; the rest is the operator's."""
    from neocloud.domain.kernel.instants import parse_instant
    from neocloud.services import allocation as service
    from neocloud.services import fleet

    with make_app() as app:
        app.require_database()
        when = parse_instant(at, "at") if at is not None else app.clock.now()
        summaries = fleet.fleet_summaries(app.uow(), [site] if site else None)
        held = [(s, service.holdings(app.uow(), s.site.name, when)) for s in summaries]
    if as_json:
        views = [
            {"site": s.site.name, "at": when.isoformat(), "holdings": holdings_json(found)}
            for s, found in held
        ]
        emit_json(views[0] if site else views)  # one site: the object, as before
        return
    if not held:
        console().print("no sites yet: import one with `neocloud fleet import FILE`")
    for summary, found in held:
        render_holdings(summary, found, when)


def render_holdings(summary: "SiteSummary", found: "list[Holding]", when: "datetime") -> None:
    """One table for a site: per hall, its racks, who holds them and the operator's rest."""
    from rich.table import Table

    racks = Counter(
        (h.hall, f"{h.kind.value} {h.holder}".strip())
        for h in {(h.hall, h.rack, h.kind, h.holder): h for h in found}.values()
    )
    table = Table(
        "hall",
        "racks",
        "held by",
        "racks held",
        "operator's racks",
        title=f"{summary.site.name} at {when.isoformat()}",
        title_justify="left",
    )
    for hall in summary.halls:
        mine = {holder: n for (h, holder), n in racks.items() if h == hall.hall}
        taken = sum(mine.values())
        table.add_row(
            hall.hall,
            f"{hall.racks:,}",
            ", ".join(f"{k} ({v:,})" for k, v in sorted(mine.items())) or "-",
            f"{taken:,}",
            f"{hall.racks - taken:,}",
        )
    console().print(table)


MAX_MONTHS = 240


@cli.command("whatif")
@handles_errors
def whatif(
    site: str = typer.Option(..., "--site"),
    mw: str = typer.Option(None, "--mw", help="Facility MW (a share of the site)."),
    gpus: str = typer.Option(None, "--gpus"),
    model: str = typer.Option(None, "--model"),
    start: str = typer.Option(..., "--from", help="Start (ISO 8601 with offset)."),
    months: str = typer.Option("12", "--months", help="How many months, 1 to 240."),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Can we sell X MW (or N GPUs of a model) from a date for some months?"""
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.kernel.instants import add_months, parse_instant
    from neocloud.services import allocation as service

    begin = parse_instant(start, "from")
    count = count_option(months, "months") or 0
    if not 1 <= count <= MAX_MONTHS:
        raise InvalidInput.single("months", months, f"must be 1 to {MAX_MONTHS}")
    end = add_months(begin, count)
    with make_app() as app:
        app.require_database()
        answer = service.what_if(
            app.uow(),
            site,
            start=begin,
            end=end,
            facility_kw=None if mw is None else number_option(mw, "mw") * 1000,
            gpus=count_option(gpus, "gpus"),
            gpu_model=model,
        )
    if as_json:
        emit_json(
            {
                "fits": answer.fits,
                "reason": answer.reason,
                "plan": plan_json(answer.plan) if answer.plan else None,
            }
        )
    else:
        console().print(("YES — " if answer.fits else "NO — ") + answer.reason)


@cli.command("release")
@handles_errors
def release(agreement: str, at: str = typer.Option(..., "--at")) -> None:
    """End an agreement's holdings at an instant; its racks return to the operator."""
    from neocloud.domain.kernel.instants import parse_instant
    from neocloud.services import allocation as service

    with make_app() as app:
        app.require_database()
        rows = service.release(app.uow(), app.context(), agreement, parse_instant(at, "at"))
    console().print(f"released {agreement} at {at}: {rows:,} node holdings ended")


@cli.command("fail-node")
@handles_errors
def fail_node(
    node: str,
    site: str = typer.Option(..., "--site"),
    at: str = typer.Option(None, "--at", help="When the spare takes over (now if omitted)."),
    failed_at: str = typer.Option(
        None, "--failed-at", help="When the node failed (the swap's instant if omitted)."
    ),
) -> None:
    """A node failed: swap in a spare of the same model; the node goes to maintenance.
    Metering counts it down from the failure to the swap."""
    from neocloud.domain.kernel.instants import parse_instant
    from neocloud.services import allocation as service

    with make_app() as app:
        app.require_database()
        failed, spare = service.fail_node(
            app.uow(),
            app.context(),
            site,
            node,
            parse_instant(at, "at") if at is not None else None,
            failed_at=parse_instant(failed_at, "failed_at") if failed_at is not None else None,
        )
    console().print(
        f"{failed.node} -> maintenance; {spare.node} ({spare.rack}) now serves "
        f"{spare.holder} from {spare.start.isoformat()}"
    )


FORMATS = ("slurm", "slurm-conf", "k8s")


@cli.command("export")
@handles_errors
def export(
    site: str = typer.Option(..., "--site"),
    format_: str = typer.Option(
        ..., "--format", help="slurm (reservations), slurm-conf (partitions), or k8s."
    ),
    at: str = typer.Option(None, "--at", help="The instant to export (default now)."),
    nodes: bool = typer.Option(False, "--nodes", help="slurm-conf: the node definitions too."),
    output: Path = typer.Option(None, "-o", "--output"),
) -> None:
    """What the schedulers must hold at an instant: Slurm reservations (a script of
    scontrol commands for an empty controller), slurm.conf partitions, or Kubernetes node
    labels and taints. docs/SCHEDULERS.md."""
    from neocloud.domain.allocation.reservations import reconcile, reservations_at
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.kernel.instants import parse_instant
    from neocloud.render.schedulers import json_lines, kubernetes_nodes, slurm_conf, slurm_script
    from neocloud.services import allocation as service

    if format_ not in FORMATS:
        raise InvalidInput.single("format", format_, "must be " + ", ".join(FORMATS))
    with make_app() as app:
        app.require_database()
        now = app.clock.now()
        when = parse_instant(at, "at") if at is not None else now
        if format_ == "k8s":
            view = service.scheduler_view(app.uow(), site, when)
            text = json_lines(kubernetes_nodes(view.holdings, view.tenants))
        else:
            view = service.scheduler_view(app.uow(), site)
            if format_ == "slurm":
                wanted = reservations_at(view.holdings, view.tenants, view.steps, when)
                text = slurm_script(site, reconcile(wanted, [], when), when, now)
            else:
                text = slurm_conf(site, view.holdings, view.tenants, when,
                                  view.nodes if nodes else None)  # fmt: skip
    write_or_print(text, output)


@cli.command("sync")
@handles_errors
def sync(
    site: str = typer.Option(..., "--site"),
    format_: str = typer.Option("slurm", "--format", help="slurm or k8s"),
    current: Path = typer.Option(
        ...,
        "--current",
        help="What the scheduler holds. slurm: `TZ=UTC scontrol -o show reservation` (or "
        "its JSON); k8s: `kubectl get nodes -o json`.",
    ),
    at: str = typer.Option(None, "--at", help="The instant to move to (default now)."),
    output: Path = typer.Option(None, "-o", "--output"),
) -> None:
    """Only the commands that move the scheduler to the state at an instant. Slurm: the
    scontrol lines for neocloud's reservations (names starting nc-): a notice is an EndTime
    update, a failed node a Nodes update, a release a delete. Kubernetes: kubectl label and
    taint lines for neocloud's keys (neocloud.io/...), nothing else on the nodes touched.
    docs/SCHEDULERS.md."""
    from neocloud.domain.allocation.reservations import reconcile, reservations_at
    from neocloud.domain.kernel.errors import InvalidInput
    from neocloud.domain.kernel.instants import parse_instant
    from neocloud.render import schedulers
    from neocloud.services import allocation as service

    if format_ not in ("slurm", "k8s"):
        raise InvalidInput.single("format", format_, "must be slurm or k8s")
    try:
        text = current.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput.single("current", str(current), f"cannot be read: {exc}") from None
    with make_app() as app:
        app.require_database()
        now = app.clock.now()
        when = parse_instant(at, "at") if at is not None else now
        if format_ == "slurm":
            held = schedulers.parse_reservations(text)
            view = service.scheduler_view(app.uow(), site)
            wanted = reservations_at(view.holdings, view.tenants, view.steps, when)
            changes = reconcile(wanted, held, when, frozenset(view.nodes))
            script = schedulers.slurm_script(site, changes, when, now)
        else:
            nodes = schedulers.parse_nodes(text)
            view = service.scheduler_view(app.uow(), site, when)
            state = schedulers.kubernetes_state(view.holdings, view.tenants)
            lines = schedulers.kubectl_lines(state, nodes, view.nodes)
            script = schedulers.kubectl_script(site, lines, when, now)
    write_or_print(script, output)
