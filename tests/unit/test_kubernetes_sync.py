"""Kubernetes changes that touch only neocloud's keys, checked by applying them to sample
Node objects as kubectl applies them (``kubectl label`` and ``kubectl taint``, per their
documentation: a label ``k=v`` is set, ``k-`` removed; a taint ``k=v:Effect`` replaces the
one of the same key and effect under ``--overwrite``, ``k:Effect-`` removes it and is an
error when the node has none). Worked by hand: n1 passes from an old tenant to ``lab``,
n2 was released, n3 goes into maintenance, n4 never was neocloud's."""

from __future__ import annotations

import copy
import json
import shlex
from datetime import UTC, datetime
from typing import Any

import kubernetes_validate
import pytest

from neocloud.domain.allocation.planner import HolderKind, Holding
from neocloud.domain.kernel.errors import InvalidInput
from neocloud.render.schedulers import (
    kubectl_lines,
    kubernetes_nodes,
    kubernetes_state,
    parse_nodes,
)

NOW = datetime(2026, 8, 1, 5, tzinfo=UTC)
CORDON = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}
NOT_READY = {"key": "node.kubernetes.io/not-ready", "effect": "NoExecute"}
HELD = [
    Holding("h1", "r1", "n1", "H100", HolderKind.AGREEMENT, "lease", NOW, None),
    Holding("h1", "r2", "n3", "H100", HolderKind.MAINTENANCE, "", NOW, None),
    Holding("h1", "r9", "n5", "H100", HolderKind.AGREEMENT, "lease", NOW, None),  # not joined
]


def node(name: str, labels: dict[str, str], taints: list[dict[str, str]]) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels}, "spec": {"taints": taints}}  # fmt: skip


def cluster() -> list[dict[str, Any]]:
    return [
        node("n1", {"team": "ml", "neocloud.io/agreement": "old-deal",
                    "neocloud.io/tenant": "old-lab", "neocloud.io/holder-kind": "agreement"},
             [CORDON, NOT_READY,
              {"key": "neocloud.io/tenant", "value": "old-lab", "effect": "NoSchedule"}]),
        node("n2", {"neocloud.io/agreement": "lease", "neocloud.io/tenant": "lab",
                    "neocloud.io/holder-kind": "agreement", "neocloud.io/rack": "r1"},
             [{"key": "neocloud.io/tenant", "value": "lab", "effect": "NoSchedule"},
              {"key": "gpu", "value": "true", "effect": "NoSchedule"}]),
        node("n3", {}, []),
        node("n4", {"team": "web"}, [CORDON]),
    ]  # fmt: skip


def kubectl(line: str, nodes: list[dict[str, Any]]) -> None:
    """Apply one ``kubectl label|taint node NAME [--overwrite] ARGS`` line as kubectl does."""
    verb, kind, name, *args = shlex.split(line)[1:]
    assert kind == "node"
    target = next(n for n in nodes if n["metadata"]["name"] == name)
    overwrite = "--overwrite" in args
    args = [a for a in args if a != "--overwrite"]
    if verb == "label":
        labels = target["metadata"].setdefault("labels", {})
        for arg in args:
            if arg.endswith("-"):
                labels.pop(arg[:-1], None)  # kubectl only warns of a label not there
                continue
            key, value = arg.split("=", 1)
            if key in labels and labels[key] != value and not overwrite:
                raise AssertionError(f"kubectl: '{key}' already has a value")
            labels[key] = value
        return
    assert verb == "taint"
    taints = target["spec"].setdefault("taints", [])
    for arg in args:
        if arg.endswith("-"):
            key, _, effect = arg[:-1].partition(":")
            kept = [t for t in taints if not (t["key"] == key and effect in ("", t["effect"]))]
            if len(kept) == len(taints):
                raise AssertionError(f"kubectl: taint {arg[:-1]!r} not found")
            taints[:] = kept
            continue
        key_value, effect = arg.rsplit(":", 1)
        key, _, value = key_value.partition("=")
        same = [t for t in taints if t["key"] == key and t["effect"] == effect]
        if same and not overwrite:
            raise AssertionError(f"kubectl: taint {key}:{effect} already exists")
        taints[:] = [t for t in taints if t not in same]
        taints.append({"key": key, "value": value, "effect": effect})


def test_the_lines_change_only_neocloud_keys_and_only_where_they_differ() -> None:
    state = kubernetes_state(HELD, {"lease": "lab"})
    lines = kubectl_lines(state, cluster())
    assert lines == [
        "kubectl label node n1 --overwrite neocloud.io/agreement=lease "
        "neocloud.io/gpu-model=H100 neocloud.io/hall=h1 neocloud.io/rack=r1 "
        "neocloud.io/tenant=lab",
        "kubectl taint node n1 --overwrite neocloud.io/tenant=lab:NoSchedule",
        "kubectl label node n2 --overwrite neocloud.io/holder-kind- neocloud.io/agreement- "
        "neocloud.io/tenant-",
        "kubectl taint node n2 --overwrite neocloud.io/tenant:NoSchedule-",
        "kubectl label node n3 --overwrite neocloud.io/gpu-model=H100 neocloud.io/hall=h1 "
        "neocloud.io/holder-kind=maintenance neocloud.io/rack=r2",
        "kubectl taint node n3 --overwrite neocloud.io/maintenance=true:NoSchedule",
    ]
    nodes = cluster()
    for line in lines:
        kubectl(line, nodes)
    n1, n2, n3, n4 = nodes
    assert n1["metadata"]["labels"] == {
        "team": "ml", "neocloud.io/agreement": "lease", "neocloud.io/tenant": "lab",
        "neocloud.io/holder-kind": "agreement", "neocloud.io/gpu-model": "H100",
        "neocloud.io/rack": "r1", "neocloud.io/hall": "h1",
    }  # fmt: skip
    # the cordon and not-ready taints stay; the old tenant's is replaced by the new one's
    assert n1["spec"]["taints"] == [
        CORDON,
        NOT_READY,
        {"key": "neocloud.io/tenant", "value": "lab", "effect": "NoSchedule"},
    ]
    assert n2["metadata"]["labels"] == {"neocloud.io/rack": "r1"}  # a fact of the fleet
    assert n2["spec"]["taints"] == [{"key": "gpu", "value": "true", "effect": "NoSchedule"}]
    assert n3["spec"]["taints"] == [
        {"key": "neocloud.io/maintenance", "value": "true", "effect": "NoSchedule"}
    ]
    assert n4 == cluster()[3]
    assert kubectl_lines(state, nodes) == []  # applied: nothing more to do


def test_removing_a_taint_the_node_lacks_is_never_asked() -> None:
    """kubectl fails a whole line that removes a missing taint: the lines name only what
    each node carries, so the emulator (strict as kubectl) accepts every one."""
    nodes = cluster()
    for line in kubectl_lines({}, copy.deepcopy(nodes)):  # nobody holds anything now
        kubectl(line, nodes)
    assert all(
        not any(t["key"].startswith("neocloud.io/") for t in n["spec"]["taints"]) for n in nodes
    )


@pytest.mark.parametrize("version", ["1.29", "1.37"])
def test_every_item_validates_against_the_node_schema(version: str) -> None:
    items = kubernetes_nodes(HELD, {"lease": "lab"})["items"]
    assert isinstance(items, list) and len(items) == 3
    for item in items:
        kubernetes_validate.validate(item, version, strict=True)


def test_a_node_name_from_the_cluster_reaches_the_shell_as_one_word() -> None:
    """Node names are read from the cluster's JSON: quoted, whatever they hold."""
    odd = node("n1; touch /tmp/pwned", {"neocloud.io/tenant": "gone"}, [])
    (line,) = kubectl_lines({}, [odd])
    assert line == "kubectl label node 'n1; touch /tmp/pwned' --overwrite neocloud.io/tenant-"
    assert shlex.split(line)[3] == "n1; touch /tmp/pwned"


def test_another_sites_nodes_are_left_alone() -> None:
    nodes = cluster()
    assert kubectl_lines({}, nodes, site_nodes={"n9"}) == []  # none of them is this site's


@pytest.mark.parametrize(
    ("item", "field"),
    [({"metadata": {"name": "n1", "labels": ["a"]}}, "current items[0].metadata.labels"),
     ({"metadata": {"name": ""}}, "current items[0].metadata.name"),
     ({"metadata": {"name": "n1"}, "spec": {"taints": [{"key": "neocloud.io/tenant"}]}},
      "current items[0].spec.taints")],
)  # fmt: skip
def test_a_cluster_document_that_is_not_one_is_refused_by_field(
    item: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_nodes(json.dumps({"kind": "List", "items": [item]}))
    assert caught.value.problems[0].field == field
    with pytest.raises(InvalidInput) as caught:
        parse_nodes(json.dumps({"items": [{"metadata": {"name": "n1"}}] * 2}))
    assert caught.value.problems[0].message == "must name one Node, once"
