"""What the schedulers need to enforce allocations: Slurm reservations and partitions, and
Kubernetes node labels and NoSchedule taints.

Node lists use Slurm's hostlist syntax (``h1-r[0001-0850]-n[01-08]``), compressed from the
last number in a name to the first.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime

from neocloud.domain.allocation.planner import HolderKind, Holding

LABEL = "neocloud.io"
_SPLIT = re.compile(r"(\d+)")
Token = str | tuple[int, int]  # text, or (number, zero-padded width)


def _tokens(name: str) -> list[Token]:
    return [(int(p), len(p)) if p.isdigit() else p for p in _SPLIT.split(name) if p != ""]


def _text(tokens: Iterable[Token]) -> str:
    return "".join(t if isinstance(t, str) else f"{t[0]:0{t[1]}d}" for t in tokens)


def _ranges(values: list[int], width: int) -> str:
    values = sorted(set(values))
    runs: list[tuple[int, int]] = []
    for v in values:
        if runs and v == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], v)
        else:
            runs.append((v, v))
    parts = [f"{a:0{width}d}" if a == b else f"{a:0{width}d}-{b:0{width}d}" for a, b in runs]
    return parts[0] if len(parts) == 1 and "-" not in parts[0] else f"[{','.join(parts)}]"


def hostlist(names: Iterable[str]) -> str:
    """A Slurm hostlist expression that expands to exactly ``names``."""
    entries: list[list[Token]] = [_tokens(n) for n in sorted(set(names))]
    while any(isinstance(t, tuple) for e in entries for t in e):
        # fold the last number still written out: names that differ only there merge
        grouped: dict[tuple[tuple[Token, ...], str, int], list[int]] = {}
        for tokens in entries:
            numeric = [i for i, t in enumerate(tokens) if isinstance(t, tuple)]
            pos = numeric[-1] if numeric else len(tokens)
            number = tokens[pos] if numeric else (-1, 0)
            assert isinstance(number, tuple)
            grouped.setdefault(
                (tuple(tokens[:pos]), _text(tokens[pos + 1 :]), number[1]), []
            ).append(number[0])
        entries = [
            [*prefix, suffix if values == [-1] else _ranges(values, width) + suffix]
            for (prefix, suffix, width), values in grouped.items()
        ]
    return ",".join(sorted(_text(e) for e in entries))


def _slurm_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S")


def slurm_config(
    site: str, holdings: list[Holding], tenants: Mapping[str, str], generated_at: datetime
) -> str:
    """``scontrol create reservation`` lines per holding period, slurm.conf partitions per
    tenant. Times are UTC: run slurmctld with TZ=UTC or convert them."""
    segments: dict[tuple[HolderKind, str, datetime, datetime | None], list[str]] = {}
    for h in holdings:
        segments.setdefault((h.kind, h.holder, h.start, h.end), []).append(h.node)
    lines = [
        f"# neocloud allocation export for site {site}, {generated_at.isoformat()}",
        "# Reservations (StartTime/EndTime in UTC)",
    ]
    count: dict[str, int] = {}
    partitions: dict[str, list[str]] = {}
    for (kind, holder, start, end), nodes in sorted(
        segments.items(), key=lambda kv: (kv[0][2], kv[0][1], kv[0][0].value)
    ):
        base = holder if kind is HolderKind.AGREEMENT else f"{holder}-{kind}".strip("-")
        count[base] = count.get(base, 0) + 1
        when = f"StartTime={_slurm_time(start)} " + (
            f"EndTime={_slurm_time(end)}" if end else "Duration=infinite"
        )
        who = (
            "Flags=MAINT Users=root"
            if kind is HolderKind.MAINTENANCE
            else f"Accounts={tenants.get(holder, holder)}"
        )
        lines.append(
            f"scontrol create reservation ReservationName={base}-{count[base]} "
            f"{when} Nodes={hostlist(nodes)} {who}"
        )
        if kind is HolderKind.AGREEMENT:
            partitions.setdefault(tenants.get(holder, holder), []).extend(nodes)
    lines.append("# slurm.conf partitions, one per tenant")
    for tenant, nodes in sorted(partitions.items()):
        lines.append(
            f"PartitionName={tenant} Nodes={hostlist(nodes)} AllowAccounts={tenant} State=UP"
        )
    return "\n".join(lines) + "\n"


def kubernetes_nodes(holdings: list[Holding], tenants: Mapping[str, str]) -> dict[str, object]:
    """A v1 List of Node objects: labels and NoSchedule taints for each held node."""
    items = []
    for h in holdings:
        labels = {
            f"{LABEL}/holder-kind": h.kind.value,
            f"{LABEL}/gpu-model": h.gpu_model,
            f"{LABEL}/rack": h.rack,
            f"{LABEL}/hall": h.hall,
        }
        if h.kind is HolderKind.MAINTENANCE:
            taint = {"key": f"{LABEL}/maintenance", "value": "true", "effect": "NoSchedule"}
        else:
            tenant = tenants.get(h.holder, h.holder)
            labels |= {f"{LABEL}/agreement": h.holder, f"{LABEL}/tenant": tenant}
            key = "tenant" if h.kind is HolderKind.AGREEMENT else "spare"
            taint = {"key": f"{LABEL}/{key}", "value": tenant, "effect": "NoSchedule"}
        items.append(
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {"name": h.node, "labels": labels},
                "spec": {"taints": [taint]},
            }
        )
    return {"apiVersion": "v1", "kind": "List", "items": items}
