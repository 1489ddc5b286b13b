"""Per-node classes against the API server of ``--api-server``, the operator running as hpa's
ServiceAccount on the control plane (so its Node informer passes the shipped RBAC): one port
shared by as many claims as eligible nodes, and a node gone told to the claims beyond it."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hpa import api
from tests.clusters import Cluster
from tests.operator_fixtures import Start, claim, node, per_node_class
from tests.polling import eventually

Obj = dict[str, Any]


@pytest.fixture
async def eligible(cluster: Cluster) -> AsyncIterator[tuple[dict[str, str], list[str]]]:
    """Three Nodes with a label of the test's own (a cluster's other nodes do not have it),
    deleted afterwards."""
    suffix = uuid.uuid4().hex[:6]
    labels = {"hpa-test/pool": suffix}
    names = [f"pn-{suffix}-{i}" for i in range(3)]
    for name in names:
        await cluster.add("nodes", node(name, labels=labels))
    yield labels, names
    for name in names:
        if cluster.get("nodes", name) is not None:
            await cluster.delete("nodes", name)


def _claim(cluster: Cluster, name: str) -> Obj:
    return cluster.get(api.PLURAL_CLAIM, name, "default") or {}


def _condition(cluster: Cluster, name: str, type_: str) -> Obj:
    conditions = _claim(cluster, name).get("status", {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == type_), {})


def _capacity(cluster: Cluster, class_name: str) -> tuple[int, int]:
    """The class's eligible nodes and total, as its status shows them."""
    status = (cluster.get(api.PLURAL_CLASS, class_name) or {}).get("status", {})
    return status.get("nodes", 0), status.get("total", 0)


def _bound(cluster: Cluster, names: list[str]) -> dict[str, str]:
    found = {}
    for name in names:
        obj = _claim(cluster, name)
        if obj.get("status", {}).get("phase") != api.PHASE_BOUND:
            return {}
        found[name] = f"{obj['spec']['hostPortName']}:{obj['status']['port']}"
    return found


async def test_a_port_per_eligible_node_and_a_node_gone_is_told(
    cluster: Cluster, operator: Start, eligible: tuple[dict[str, str], list[str]]
) -> None:
    """3 eligible nodes: 3 claims share the class's one port, a 4th waits; a node deleted
    drops the capacity, releases nothing and marks the claim on the highest slot."""
    labels, nodes = eligible
    await cluster.add(api.PLURAL_CLASS, per_node_class("pn", (9000, 9000), node_selector=labels))
    names = ["a", "b", "c"]
    for name in names:
        await cluster.add(api.PLURAL_CLAIM, claim(name, class_name="pn"))
    async with operator():
        await eventually(lambda: _capacity(cluster, "pn") == (3, 3))
        bound = await eventually(lambda: _bound(cluster, names))
        assert sorted(bound.values()) == [f"port-9000-{slot}:9000" for slot in range(3)]
        for value in bound.values():
            hostport = cluster.get(api.PLURAL_HOSTPORT, value.split(":")[0]) or {}
            assert (hostport["spec"]["port"], hostport["spec"]["claimRef"]["namespace"]) == (
                9000,
                "default",
            )
        await cluster.add(api.PLURAL_CLAIM, claim("d", class_name="pn"))
        await eventually(
            lambda: "all 3 eligible nodes" in _condition(cluster, "d", "Bound").get("message", "")
        )

        await cluster.delete("nodes", nodes[0])
        await eventually(lambda: _capacity(cluster, "pn") == (2, 2))
        (last,) = [n for n, v in bound.items() if v.startswith("port-9000-2:")]
        await eventually(lambda: _condition(cluster, last, "OverCapacity").get("status") == "True")
        assert _bound(cluster, names) == bound
        assert cluster.count(api.PLURAL_HOSTPORT) == 3
