"""A node of a per-node class goes away in the middle of a burst (docs/per-node.md, "When nodes
go away").

Two in-process replicas (:class:`tests.reliability.chaos.Replicas`) serve a per-node class on 3
nodes. The first part of the burst is created, and before it has all bound, one node is
cordoned (the scheduler would place no new pod on it), which drops the class's count to 2.
Once the class shows 2 nodes and the first part has settled, the rest of the burst comes. Then:

- nothing bound is released: every claim ever seen Bound is still Bound to the same HostPort;
- the holders beyond the new count (on each port with 3, the one on slot 2) have the
  ``OverCapacity`` condition, and no other claim has it;
- no holder was added beyond the new count: a port with more than 2 holders has no holder it
  did not have when the class showed 2 nodes, and every claim of the second part got a slot
  below 2;
- the claims left over are Pending as ClassFull, and the per-node invariants hold.

The node is uncordoned afterwards, whatever happened.
"""

import contextlib
import pathlib
from collections.abc import AsyncIterator
from typing import Any

import anyio

from hpa import api, sandbox
from tests.clusters import Cluster
from tests.reliability import chaos, harness, per_node

NAMESPACE = "default"
CLASS = "shrink"
START = 41000
OVER_CAPACITY = "OverCapacity"


@contextlib.asynccontextmanager
async def cordoned(http: harness.Api, node: str) -> AsyncIterator[None]:
    """``node`` cordoned (``spec.unschedulable``, as ``kubectl cordon`` sets it), uncordoned
    afterwards."""

    async def unschedulable(value: bool) -> None:
        status, body = await http.call(
            "PATCH", f"/api/v1/nodes/{node}", {"spec": {"unschedulable": value}},
            content_type="application/merge-patch+json",
        )  # fmt: skip
        assert status == 200, (status, body)

    await unschedulable(True)
    try:
        yield
    finally:
        with anyio.CancelScope(shield=True):
            await unschedulable(False)


def _condition(obj: dict[str, Any], type_: str) -> dict[str, Any]:
    conditions = (obj.get("status") or {}).get("conditions") or []
    return next((c for c in conditions if c["type"] == type_), {})


def _settled(cluster: Cluster, names: set[str]) -> bool:
    """Whether each of the claims ``names`` is Bound or Pending as ClassFull."""
    found = 0
    for claim in cluster.items(api.PLURAL_CLAIM):
        if claim["metadata"]["name"] not in names:
            continue
        status = claim.get("status") or {}
        if status.get("phase") != api.PHASE_BOUND and (
            _condition(claim, "Bound").get("reason") != "ClassFull"
        ):
            return False
        found += 1
    return found == len(names)


def _holders(cluster: Cluster) -> dict[int, set[str]]:
    """Each port of the class, with the names of its HostPorts."""
    found: dict[int, set[str]] = {}
    for hostport in cluster.items(api.PLURAL_HOSTPORT):
        if hostport["spec"]["hostPortClassName"] == CLASS:
            found.setdefault(hostport["spec"]["port"], set()).add(hostport["metadata"]["name"])
    return found


async def shrink(
    target: Cluster | sandbox.Sandbox, workdir: pathlib.Path, *, ports: int, claims: int
) -> dict[str, Any]:
    """A burst of ``claims`` claims on ``ports`` ports of 3 nodes, one node cordoned midway;
    returns the figures."""
    async with per_node.driven(target, workdir, api.ALLOCATION_PER_NODE) as (cluster, nodes):
        assert nodes is not None
        return await _shrink(cluster, workdir, ports=ports, claims=claims, nodes=nodes)


async def _create(cluster: Cluster, numbers: range) -> set[str]:
    names = {f"s{number}" for number in numbers}
    for name in sorted(names):
        await cluster.create(harness.claim(name, namespace=NAMESPACE, class_name=CLASS))
    return names


async def _shrink(
    cluster: Cluster, workdir: pathlib.Path, *, ports: int, claims: int, nodes: int
) -> dict[str, Any]:
    fewer = nodes - 1
    cls = harness.host_port_class(
        CLASS, START, START + ports - 1, allocation=api.ALLOCATION_PER_NODE
    )
    await cluster.create(cls)
    log = await harness.BindingLog.watching(cluster)
    first_part = claims // 2
    async with anyio.create_task_group() as group, harness.Api(cluster) as http:
        replicas = chaos.Replicas(
            group, cluster.operator_kubeconfig, namespace=cluster.operator_namespace,
            workdir=workdir,
        )  # fmt: skip
        await replicas.start("a")
        await replicas.start("b")
        first = await _create(cluster, range(first_part))
        # Mid-burst: some of the first part bound (ports full on 3 nodes), some not yet.
        await harness.eventually(lambda: len(log.bound_at) >= first_part // 2, within=30)
        victim = per_node.schedulable(cluster)[0]
        async with cordoned(http, victim):
            await harness.eventually(
                lambda: (cluster.get(api.PLURAL_CLASS, CLASS) or {}).get("status", {})
                .get("nodes") == fewer and _settled(cluster, first),
                within=60, message=lambda: "the class does not show the node gone",
            )  # fmt: skip
            at_drop = _holders(cluster)
            bound_before = dict(log.first_hostport)
            second = await _create(cluster, range(first_part, claims))
            await harness.eventually(
                lambda: _settled(cluster, first | second), within=60,
                message=lambda: f"{len(log.bound_at)} bound, the rest not all ClassFull",
            )  # fmt: skip
            holders = _holders(cluster)
            over = _over_capacity(holders, fewer)
            await harness.eventually(
                lambda: _marked(cluster) == over, within=30,
                message=lambda: f"OverCapacity on {sorted(_marked(cluster))}, not {sorted(over)}",
            )  # fmt: skip
            _assert_shrunk(cluster, log, at_drop, holders, bound_before, nodes=nodes)
            for identity, manager in replicas.managers.items():
                await harness.eventually(
                    lambda manager=manager: chaos.index_matches(cluster, manager),
                    within=15, message=lambda identity=identity: f"{identity}'s index differs",
                )  # fmt: skip
        replicas.stop_all()
    return {
        "claims": claims,
        "nodes": f"{nodes} -> {fewer}",
        "bound when the class showed 2 nodes": len(bound_before),
        "bound": len(log.bound_at),
        "over capacity": len(over),
    }


def _over_capacity(holders: dict[int, set[str]], nodes: int) -> set[str]:
    """The HostPorts beyond ``nodes`` holders: of each port with more, the highest slots."""
    over: set[str] = set()
    for names in holders.values():
        by_slot = sorted(names, key=lambda name: harness.hostport_slot(name))
        over.update(by_slot[nodes:])
    return over


def _marked(cluster: Cluster) -> set[str]:
    """The HostPorts of the claims whose OverCapacity condition is True."""
    return {
        c["spec"]["hostPortName"]
        for c in cluster.items(api.PLURAL_CLAIM)
        if _condition(c, OVER_CAPACITY).get("status") == "True"
    }


def _assert_shrunk(
    cluster: Cluster, log: harness.BindingLog, at_drop: dict[int, set[str]],
    holders: dict[int, set[str]], bound_before: dict[str, str], *, nodes: int,
) -> None:  # fmt: skip
    fewer = nodes - 1
    harness.assert_consistent(cluster)
    # The final state has ports with 3 holders: checked against the count at allocation.
    per_node.assert_per_node(cluster, CLASS, nodes=nodes, bound=len(log.bound_at))
    per_node.assert_slots_below(log.first_hostport, nodes)
    assert not log.rebound(), f"claims bound twice: {list(log.rebound().items())[:10]}"
    stored = {
        f"{NAMESPACE}/{c['metadata']['name']}": c["spec"].get("hostPortName")
        for c in cluster.items(api.PLURAL_CLAIM)
        if (c.get("status") or {}).get("phase") == api.PHASE_BOUND
    }
    released = {k: v for k, v in log.first_hostport.items() if stored.get(k) != v}
    assert not released, f"bound claims released or moved: {list(released.items())[:10]}"
    added = {p: n - at_drop.get(p, set()) for p, n in holders.items() if len(n) > fewer}
    added = {p: n for p, n in added.items() if n}
    assert not added, f"holders added beyond {fewer} nodes after the drop: {added}"
    late = {k: v for k, v in log.first_hostport.items() if k not in bound_before}
    per_node.assert_slots_below(late, fewer)
