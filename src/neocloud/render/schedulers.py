"""What the schedulers need to enforce allocations: Slurm reservations and partitions, and
Kubernetes node labels and NoSchedule taints.

Node lists use Slurm's hostlist syntax (``h1-r[0001-0850]-n[01-08]``), compressed from the
last number in a name to the first.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime

from hostlist import BadHostlist, expand_hostlist

from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.allocation.reservations import OURS, Action, Change, Reservation
from neocloud.domain.kernel.errors import InvalidInput

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
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")


# scontrol reads and prints times in the zone of its own process (TZ), not slurmctld's:
# every line sets TZ=UTC, so a time means the same instant from a shell in any zone.
SCONTROL = "TZ=UTC scontrol"


def _words(change: Change) -> list[str]:
    r, fields = change.reservation, change.fields
    words = [f"ReservationName={r.name}"]
    if "start" in fields:
        words.append("StartTime=" + ("now" if change.start_now else _slurm_time(r.start)))
    if "end" in fields:
        words.append(f"EndTime={_slurm_time(r.end)}" if r.end else "Duration=UNLIMITED")
    if "nodes" in fields:
        words.append(f"Nodes={hostlist(r.nodes)}")
    if change.action is Action.CREATE:
        words += ["Users=root", "Flags=MAINT,IGNORE_JOBS"] if r.maintenance else [
            f"Accounts={','.join(sorted(r.accounts))}", "Flags=IGNORE_JOBS"]  # fmt: skip
    elif "accounts" in fields:
        words.append(f"Accounts={','.join(sorted(r.accounts))}")
    return words


def _shell(words: Iterable[str]) -> str:
    """Words for sh: quoted where they hold anything but safe characters (a hostlist's
    brackets would glob; a name read from a scheduler could hold anything)."""
    return " ".join(shlex.quote(w) for w in words)


def scontrol_lines(changes: Iterable[Change]) -> list[str]:
    """One ``scontrol`` command per change, times in UTC whatever the shell's zone."""
    out = []
    for change in changes:
        if change.action is Action.DELETE:
            line = f"{SCONTROL} delete {_shell([f'ReservationName={change.reservation.name}'])}"
            out.append(
                f"{line} || true  # ended: Slurm may have purged it" if change.ended else line
            )
        else:
            verb = "create reservation" if change.action is Action.CREATE else "update"
            out.append(f"{SCONTROL} {verb} {_shell(_words(change))}")
    return out


def _script(lines: list[str], *header: str) -> str:
    """A ``set -e`` shell script of ``lines`` under ``header`` comment lines."""
    return "\n".join(["#!/bin/sh", *(f"# {h}" for h in header), "set -e", *lines]) + "\n"


def slurm_script(site: str, changes: list[Change], at: datetime, generated_at: datetime) -> str:
    """A shell script of the changes that move a controller to the state at ``at``."""
    return _script(
        scontrol_lines(changes),
        f"neocloud: Slurm reservations of site {site} as they must be at {at.isoformat()}",
        f"({len(changes)} changes; made {generated_at.isoformat()}). Times are UTC.",
    )


def slurm_conf(
    site: str,
    holdings: Iterable[Holding],
    tenants: Mapping[str, str],
    at: datetime,
    nodes: Mapping[str, int] | None = None,
) -> str:
    """slurm.conf lines: a partition per tenant over every node it holds at or after
    ``at``, which only jobs in one of its reservations may use (``ReqResv=YES``: a job
    without one is refused, so a node held from a later month is not the tenant's yet);
    with ``nodes`` (name: GPUs) the node definitions too."""
    partitions: dict[str, set[str]] = {}
    for h in holdings:
        if h.kind is HolderKind.AGREEMENT and (h.end is None or h.end > at):
            partitions.setdefault(tenants.get(h.holder, h.holder), set()).add(h.node)
    lines = [f"# neocloud: slurm.conf lines for site {site} at {at.isoformat()}"]
    if nodes is not None:
        by_gpus: dict[int, list[str]] = {}
        for name, gpus in nodes.items():
            by_gpus.setdefault(gpus, []).append(name)
        lines.append("GresTypes=gpu")
        lines += [
            f"NodeName={hostlist(names)} Gres=gpu:{gpus} State=UNKNOWN"
            for gpus, names in sorted(by_gpus.items())
        ]
    lines += [
        f"PartitionName={tenant} Nodes={hostlist(held)} AllowAccounts={tenant} ReqResv=YES State=UP"
        for tenant, held in sorted(partitions.items())
    ]
    return "\n".join(lines) + "\n"


_FIELD = re.compile(r"(\w+)=(\S*)")


_HEAD = re.compile(r"ReservationName=(.*) StartTime=(\S+) EndTime=(\S+)(?= |$)")
_START = re.compile(r"^ReservationName=", re.M)


def parse_reservations(text: str) -> list[Reservation]:
    """neocloud's reservations on the controller (names it could have written; the rest are
    not read) from ``TZ=UTC scontrol show reservation`` (one line each with ``-o``, or a
    block each) or the JSON of Slurm 23.02 and later; InvalidInput names the reservation and
    what is wrong. Times are read as UTC: run scontrol so."""
    stripped = text.strip()
    if stripped.startswith("{"):
        return _unique(_from_json(stripped))
    if stripped and not stripped.startswith(("ReservationName=", "No reservations")):
        raise InvalidInput.single("current", stripped[:80], "not scontrol show reservation output")
    starts = [m.start() for m in _START.finditer(stripped)]
    out = []
    ends = [*starts[1:], len(stripped)] if starts else []
    for number, (a, b) in enumerate(zip(starts, ends, strict=True), 1):
        record = stripped[a:b]
        head = _HEAD.match(record.splitlines()[0])  # a name may hold spaces: up to the times
        if head is None:
            raise InvalidInput.single(f"current reservation {number}", record[:80],
                                      "not a reservation as scontrol prints it")  # fmt: skip
        name, start, end = head.groups()
        if not OURS.fullmatch(name):
            continue  # not neocloud's: never read further, never touched
        fields = dict(_FIELD.findall(record[head.end() :]))
        try:
            out.append(
                Reservation(
                    name,
                    _expand(fields.get("Nodes", "")),
                    _accounts(fields.get("Accounts", "")),
                    _utc(start),
                    None if end == "Unknown" else _utc(end),
                    "MAINT" in fields.get("Flags", "").split(","),
                )
            )
        except (ValueError, BadHostlist) as exc:
            raise InvalidInput.single(
                f"current reservation {number}", name, f"not as scontrol prints it ({exc})"
            ) from None
    return _unique(out)


def _unique(found: list[Reservation]) -> list[Reservation]:
    seen: set[str] = set()
    for r in found:
        if r.name in seen:
            raise InvalidInput.single("current", r.name, "names two reservations")
        seen.add(r.name)
    return found


def _from_json(text: str) -> list[Reservation]:
    try:
        doc = json.loads(text)
        out = []
        for r in doc["reservations"]:
            if not OURS.fullmatch(str(r.get("name", ""))):
                continue
            end = r.get("end_time")
            out.append(
                Reservation(
                    r["name"],
                    _expand(r.get("node_list") or ""),
                    _accounts(r.get("accounts") or ""),
                    datetime.fromtimestamp(_epoch(r["start_time"]), UTC),
                    None if _unbounded(end) else datetime.fromtimestamp(_epoch(end), UTC),
                    "MAINT" in [str(f).upper() for f in r.get("flags", [])],
                )
            )
    except (AttributeError, KeyError, TypeError, ValueError, BadHostlist) as exc:
        raise InvalidInput.single(
            "current", text[:120], f"not scontrol show reservation --json output ({exc!r})"
        ) from None
    return out


def _unbounded(end: object) -> bool:
    """No end: absent, 0, or ``{"infinite": true}`` (Slurm 23.11 and later)."""
    return not end or (isinstance(end, dict) and bool(end.get("infinite")))


def _epoch(value: object) -> int:
    """Slurm JSON times: a number, or ``{"set": true, "number": N}`` in newer versions."""
    number = value["number"] if isinstance(value, dict) else value
    if isinstance(number, bool) or not isinstance(number, int | float | str):
        raise ValueError(f"time {value!r} is not a number")
    return int(number)


def _expand(nodes: str) -> frozenset[str]:
    if nodes in ("", "(null)"):
        return frozenset()
    return frozenset(expand_hostlist(nodes))


def _accounts(text: str) -> frozenset[str]:
    return frozenset() if text in ("", "(null)") else frozenset(text.split(","))


def _utc(text: str) -> datetime:
    """scontrol's time (no zone: UTC when run with TZ=UTC); one with a zone is not its."""
    read = datetime.fromisoformat(text)
    if read.tzinfo is not None:
        raise ValueError(f"{text} carries a zone; scontrol prints none")
    return read.replace(tzinfo=UTC)


# Kubernetes: neocloud owns these keys and no others. The dynamic ones say who holds the
# node now and go when nobody does; gpu-model, rack and hall are facts of the fleet, set on
# every held node and never removed. Each taint keeps other tenants' pods off.
DYNAMIC_LABELS = tuple(f"{LABEL}/{k}" for k in ("holder-kind", "agreement", "tenant"))
TAINT_KEYS = tuple(f"{LABEL}/{k}" for k in ("tenant", "spare", "maintenance"))
Taint = tuple[str, str, str]  # key, value, effect


def kubernetes_state(
    holdings: Iterable[Holding], tenants: Mapping[str, str]
) -> dict[str, tuple[dict[str, str], set[Taint]]]:
    """Per node held now: neocloud's labels and its one NoSchedule taint."""
    state: dict[str, tuple[dict[str, str], set[Taint]]] = {}
    for h in holdings:
        labels = {
            f"{LABEL}/holder-kind": h.kind.value,
            f"{LABEL}/gpu-model": h.gpu_model,
            f"{LABEL}/rack": h.rack,
            f"{LABEL}/hall": h.hall,
        }
        if h.kind is HolderKind.MAINTENANCE:
            taint = (f"{LABEL}/maintenance", "true", "NoSchedule")
        else:
            tenant = tenants.get(h.holder, h.holder)
            labels |= {f"{LABEL}/agreement": h.holder, f"{LABEL}/tenant": tenant}
            key = "tenant" if h.kind is HolderKind.AGREEMENT else "spare"
            taint = (f"{LABEL}/{key}", tenant, "NoSchedule")
        state[h.node] = (labels, {taint})
    return state


def kubernetes_nodes(holdings: list[Holding], tenants: Mapping[str, str]) -> dict[str, object]:
    """A v1 List of Node objects with neocloud's labels and taints for each held node: what
    they must carry, for reading and validation. Applying it would replace each node's
    taint list: ``kubectl_lines`` makes the changes that leave the rest alone."""
    items = [
        {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {"name": node, "labels": labels},
            "spec": {"taints": [{"key": k, "value": v, "effect": e} for k, v, e in sorted(taints)]},
        }
        for node, (labels, taints) in kubernetes_state(holdings, tenants).items()
    ]
    return {"apiVersion": "v1", "kind": "List", "items": items}


def json_lines(doc: Mapping[str, object]) -> str:
    """A List as JSON with one item a line: readable, diffable, and written by the C
    encoder (``indent`` would take the pure-Python one: seconds for a whole site)."""
    items = doc["items"]
    assert isinstance(items, list)
    head = json.dumps({k: v for k, v in doc.items() if k != "items"})[:-1]
    body = ",\n".join(json.dumps(item) for item in items)
    return f'{head}, "items": [\n{body}\n]}}\n' if items else f'{head}, "items": []}}\n'


def kubectl_lines(
    state: Mapping[str, tuple[dict[str, str], set[Taint]]],
    current: Iterable[Mapping[str, object]],
    site_nodes: Collection[str] | None = None,
) -> list[str]:
    """``kubectl label`` and ``kubectl taint`` lines that make the cluster's nodes
    (``current``: the items of ``kubectl get nodes -o json``) carry neocloud's keys as in
    ``state`` (nodes absent from it: none of the dynamic ones): only neocloud's keys, only
    where they differ, removals only of what is there (kubectl refuses to remove a taint
    a node does not have)."""
    out = []
    for node in current:
        meta = node.get("metadata")
        spec = node.get("spec")
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str):
            raise InvalidInput.single("current", str(node)[:80], "a Node without metadata.name")
        name = meta["name"]
        if site_nodes is not None and name not in site_nodes:
            continue  # another site's node (or none of the fleet's): not this sync's
        labels: dict[str, str] = meta.get("labels") or {}
        taints = {
            (str(t.get("key")), str(t.get("value", "")), str(t.get("effect")))
            for t in (spec.get("taints") or [] if isinstance(spec, dict) else [])
            if isinstance(t, dict) and t.get("key") in TAINT_KEYS
        }
        want_labels, want_taints = state.get(name, ({}, set()))
        label_words = [f"{k}={v}" for k, v in sorted(want_labels.items()) if labels.get(k) != v]
        label_words += [f"{k}-" for k in DYNAMIC_LABELS if k in labels and k not in want_labels]
        if label_words:
            out.append(f"kubectl label node {_shell([name, '--overwrite', *label_words])}")
        wanted_slots = {(k, e) for k, _, e in want_taints}
        taint_words = [f"{k}={v}:{e}" for k, v, e in sorted(want_taints - taints)]
        taint_words += [f"{k}:{e}-" for k, _, e in sorted(taints) if (k, e) not in wanted_slots]
        if taint_words:
            out.append(f"kubectl taint node {_shell([name, '--overwrite', *taint_words])}")
    return out


def parse_nodes(text: str) -> list[Mapping[str, object]]:
    """The items of ``kubectl get nodes -o json`` (a List, or one Node), each with a name,
    labels a mapping, taints a list of {key, effect}; InvalidInput names what is wrong."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise InvalidInput.single(
            "current", text[:80], f"not kubectl get nodes -o json output ({exc})"
        ) from None
    items = doc.get("items") if isinstance(doc, dict) and "items" in doc else [doc]
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise InvalidInput.single("current", text[:80], "not a List of Node objects")
    seen: set[str] = set()
    for i, item in enumerate(items):
        meta, spec = item.get("metadata"), item.get("spec") or {}
        name = meta.get("name") if isinstance(meta, dict) else None
        where = f"current items[{i}]"
        if not isinstance(name, str) or not name or name in seen:
            raise InvalidInput.single(f"{where}.metadata.name", name,
                                      "must name one Node, once")  # fmt: skip
        seen.add(name)
        labels = meta.get("labels") if isinstance(meta, dict) else None
        taints = spec.get("taints") if isinstance(spec, dict) else None
        if labels is not None and not isinstance(labels, dict):
            raise InvalidInput.single(f"{where}.metadata.labels", labels, "must be a mapping")
        if taints is not None and not (
            isinstance(taints, list)
            and all(isinstance(t, dict) and isinstance(t.get("key"), str)
                    and isinstance(t.get("effect"), str) for t in taints)
        ):  # fmt: skip
            raise InvalidInput.single(f"{where}.spec.taints", str(taints)[:80],
                                      "must be a list of {key, effect[, value]}")  # fmt: skip
    return items


def kubectl_script(site: str, lines: list[str], at: datetime, generated_at: datetime) -> str:
    return _script(
        lines,
        f"neocloud: Kubernetes node labels and taints of site {site} as they must be at "
        f"{at.isoformat()}",
        f"({len(lines)} commands; made {generated_at.isoformat()}). Only neocloud.io/ keys.",
    )
