"""Per-node classes in the reliability scenarios (docs/per-node.md): the nodes such a class
counts, and what must hold of its allocations however the operator was hurt.

A per-node class hands each port to at most one claim per eligible node, as HostPorts named
``port-<n>-<slot>``. The scenarios' classes have no nodeSelector, so every schedulable node
counts: the control plane's three (node-1 to node-3), or on the sandbox, which has no Node
until one is made, three Nodes made for the scenario.
"""

import collections
import contextlib
import pathlib
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from hpa import api, sandbox
from tests.clusters import Cluster
from tests.reliability import harness
from tests.reliability.harness import Listing

Obj = dict[str, Any]
#: How many nodes a scenario's per-node class counts.
NODES = 3
ALLOCATIONS = (api.ALLOCATION_CLUSTER_WIDE, api.ALLOCATION_PER_NODE)


def schedulable(cluster: Cluster) -> list[str]:
    """The names of the cluster's nodes that are not cordoned."""
    return sorted(
        n["metadata"]["name"]
        for n in cluster.items("nodes")
        if not (n.get("spec") or {}).get("unschedulable")
    )


@contextlib.asynccontextmanager
async def nodes(cluster: Cluster, *, count: int = NODES) -> AsyncIterator[list[str]]:
    """``count`` schedulable nodes: the cluster's own if it has them (never deleted), else Nodes
    made for the scenario and deleted afterwards. Yields their names."""
    made: list[str] = []
    if not cluster.items("nodes"):
        suffix = uuid.uuid4().hex[:6]
        made = [f"rel-{suffix}-{i}" for i in range(count)]
        for name in made:
            await cluster.add("nodes", {"apiVersion": "v1", "kind": "Node",
                                        "metadata": {"name": name}, "spec": {}})  # fmt: skip
    try:
        names = schedulable(cluster)
        assert len(names) == count, f"a per-node scenario needs {count} nodes, not {names}"
        yield names
    finally:
        for name in made:
            if cluster.get("nodes", name) is not None:
                await cluster.delete("nodes", name)


@contextlib.asynccontextmanager
async def for_allocation(cluster: Cluster, allocation: str) -> AsyncIterator[int | None]:
    """The node count a class of ``allocation`` counts (None for a cluster-wide one), with the
    nodes in place for a per-node one."""
    if allocation == api.ALLOCATION_CLUSTER_WIDE:
        yield None
        return
    async with nodes(cluster) as names:
        yield len(names)


@contextlib.asynccontextmanager
async def driven(
    target: Cluster | sandbox.Sandbox, workdir: pathlib.Path, allocation: str
) -> AsyncIterator[tuple[Cluster, int | None]]:
    """A scenario's cluster (:func:`tests.reliability.harness.driven`) and the node count of
    its class of ``allocation``, the nodes in place."""
    async with (
        harness.driven(target, workdir) as cluster,
        for_allocation(cluster, allocation) as count,
    ):
        yield cluster, count


def assert_per_node(
    cluster: Listing, class_name: str, *, nodes: int, bound: int | None = None
) -> None:
    """The per-node invariants of a class with ``nodes`` eligible nodes, on what the API stores:

    - every Bound claim holds exactly one HostPort ``port-<n>-<slot>``, whose spec.port and
      spec.slot match its name and whose claimRef is the claim;
    - no two claims point at one HostPort;
    - no port has more holders than ``nodes``, and no slot is ``nodes`` or more;
    - with ``bound``: that many claims Bound, every other one Pending as ClassFull.
    """
    hostports = {
        h["metadata"]["name"]: h
        for h in cluster.items(api.PLURAL_HOSTPORT)
        if h["spec"]["hostPortClassName"] == class_name
    }
    claims = [c for c in cluster.items(api.PLURAL_CLAIM)
              if c["spec"].get("hostPortClassName") == class_name]  # fmt: skip
    is_bound = [c for c in claims if (c.get("status") or {}).get("phase") == api.PHASE_BOUND]
    holders = collections.Counter(h["spec"]["port"] for h in hostports.values())
    over = sorted((p, k) for p, k in holders.items() if k > nodes)
    assert not over, f"ports with more holders than the {nodes} eligible nodes: {over[:20]}"
    for name, hostport in hostports.items():
        spec = hostport["spec"]
        assert spec.get("slot") is not None, f"{name} of per-node class {class_name} has no slot"
        assert name == api.hostport_name(spec["port"], spec["slot"]), (
            f"{name} holds port {spec['port']} slot {spec['slot']}"
        )
        assert spec["slot"] < nodes, f"{name} has slot {spec['slot']} on {nodes} nodes"
    pointed = collections.Counter(c["spec"].get("hostPortName") for c in is_bound)
    shared = sorted(n for n, k in pointed.items() if k > 1)
    assert not shared, f"HostPorts two claims point at: {shared[:20]}"
    for bound_claim in is_bound:
        key = f"{bound_claim['metadata']['namespace']}/{bound_claim['metadata']['name']}"
        hostport = hostports.get(bound_claim["spec"].get("hostPortName") or "")
        assert hostport is not None, f"claim {key} is Bound to no HostPort of {class_name}"
        ref = hostport["spec"].get("claimRef") or {}
        assert ref.get("uid") == bound_claim["metadata"]["uid"], (
            f"{hostport['metadata']['name']} is not claim {key}'s"
        )
        assert hostport["spec"]["port"] == bound_claim["status"]["port"], (
            f"claim {key} is Bound to {bound_claim['status']['port']}, its HostPort holds "
            f"{hostport['spec']['port']}"
        )
    if bound is not None:
        assert len(is_bound) == bound, f"{len(is_bound)} claims Bound, expected {bound}"
        unbound = [c for c in claims if c not in is_bound]
        not_full = [c["metadata"]["name"] for c in unbound if _reason(c) != "ClassFull"]
        assert not not_full, f"claims Pending but not ClassFull: {not_full[:20]}"


def _reason(obj: Obj) -> str:
    conditions = (obj.get("status") or {}).get("conditions") or []
    bound = next((c for c in conditions if c["type"] == "Bound"), {})
    return str(bound.get("reason", ""))


def assert_slots_below(first_hostports: Mapping[str, str], nodes: int) -> None:
    """Every claim got a slot below ``nodes``, the node count while it was allocated, by the
    HostPort it was first seen Bound to (:attr:`BindingLog.first_hostport`)."""
    beyond = {}
    for key, name in first_hostports.items():
        slot = harness.hostport_slot(name)
        if slot is None or slot >= nodes:
            beyond[key] = name
    assert not beyond, f"claims given a slot beyond {nodes} nodes: {list(beyond.items())[:20]}"
