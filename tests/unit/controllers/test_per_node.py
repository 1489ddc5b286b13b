"""Per-node classes in the operator: eligible nodes, capacity, the index and the repair loop."""

import json
from typing import Any

from hpa import api, kube
from tests import kubefake
from tests.operator_fixtures import Start, node, per_node_class, sample_class
from tests.polling import eventually


def _status(cluster: kubefake.FakeApi, name: str) -> dict[str, Any]:
    return dict((cluster.get(api.PLURAL_CLASS, name) or {}).get("status", {}))


def _hostport(port: int, slot: int, class_name: str = "pn") -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_HOSTPORT,
        "metadata": {"name": api.hostport_name(port, slot)},
        "spec": {"hostPortClassName": class_name, "port": port, "slot": slot},
    }


async def _patch_node(cluster: kubefake.FakeApi, name: str, patch: dict[str, Any]) -> None:
    await cluster.request(
        kube.Request(
            method="PATCH",
            path=kube.NODES.path(name=name),
            body=json.dumps(patch).encode(),
            content_type="application/merge-patch+json",
        )
    )


async def test_capacity_is_pools_times_the_eligible_nodes(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """Only schedulable nodes with every label of the nodeSelector count; the status shows
    them and a total of pool ports times nodes."""
    cluster.put("nodes", node("a", labels={"pool": "game"}))
    cluster.put("nodes", node("b", labels={"pool": "game", "zone": "z"}))
    cluster.put("nodes", node("c", labels={"pool": "web"}))
    cluster.put("nodes", node("d", labels={"pool": "game"}, cordoned=True))
    cluster.put(
        api.PLURAL_CLASS, per_node_class("pn", (9000, 9009), node_selector={"pool": "game"})
    )
    async with operator():
        await eventually(lambda: _status(cluster, "pn").get("nodes") == 2)
        status = _status(cluster, "pn")
        assert (status["total"], status["free"], status["allocated"]) == (20, 20, 0)
        ready = {c["type"]: c for c in status["conditions"]}["Ready"]
        assert ready["message"] == "20 of 20 port slots (2 eligible nodes) free"


async def test_cordoning_joining_and_leaving_nodes_change_the_capacity(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """Cordoning a node drops the class's capacity, uncordoning restores it; a node added or
    deleted counts as it comes and goes; with none left, the class says its capacity is 0."""
    for name in ("a", "b", "c"):
        cluster.put("nodes", node(name))
    cluster.put(api.PLURAL_CLASS, per_node_class("pn", (9000, 9001)))
    async with operator() as manager:
        await eventually(lambda: _status(cluster, "pn").get("total") == 6)
        await _patch_node(cluster, "a", {"spec": {"unschedulable": True}})
        await eventually(lambda: _status(cluster, "pn").get("nodes") == 2)
        assert manager.ports.nodes("pn") == 2
        await _patch_node(cluster, "a", {"spec": {"unschedulable": None}})
        await eventually(lambda: _status(cluster, "pn").get("nodes") == 3)
        await cluster.add("nodes", node("d"))
        await eventually(lambda: _status(cluster, "pn").get("total") == 8)
        for name in ("a", "b", "c", "d"):
            await cluster.delete("nodes", name)
        await eventually(lambda: _status(cluster, "pn").get("nodes") == 0)
        status = _status(cluster, "pn")
        assert (status["total"], status["free"]) == (0, 0)
        ready = {c["type"]: c for c in status["conditions"]}["Ready"]
        assert (ready["status"], ready["reason"]) == ("False", "NoEligibleNodes")
        assert "capacity is 0" in ready["message"]


async def test_a_cluster_wide_class_shows_no_nodes(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """A class without allocation stays cluster-wide: nodes do not multiply its ports."""
    cluster.put("nodes", node("a"))
    cluster.put("nodes", node("b"))
    cluster.put(api.PLURAL_CLASS, sample_class("pn", (9000, 9009)))
    async with operator() as manager:
        await eventually(lambda: _status(cluster, "pn").get("total") == 10)
        assert _status(cluster, "pn").get("nodes", 0) == 0
        assert manager.ports.nodes("pn") is None


async def test_per_node_hostports_are_indexed_by_slot_at_start_and_by_the_repair_loop(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """HostPorts port-<n>-<slot> that exist before the start are held per slot, not
    cluster-wide; one the index lost is held again by the repair loop, and a slot no HostPort
    backs is released."""
    for name in ("a", "b"):
        cluster.put("nodes", node(name))
    cluster.put(api.PLURAL_CLASS, per_node_class("pn", (9000, 9001)))
    cluster.put(api.PLURAL_HOSTPORT, _hostport(9000, 0))
    cluster.put(api.PLURAL_HOSTPORT, _hostport(9000, 1))
    async with operator(repair_grace=0.0) as manager:
        ports = manager.ports
        assert sorted(ports.held_slots()) == [(9000, 0, "pn"), (9000, 1, "pn")]
        assert list(ports.held()) == []
        await eventually(lambda: _status(cluster, "pn").get("allocated") == 2)
        assert _status(cluster, "pn")["free"] == 2
        ports.release(9000, slot=1)
        ports.hold(9001, "pn", slot=0)
        await manager.repairer.run_once()
        assert ports.holder(9000, slot=1) == "pn"
        assert ports.holder(9001, slot=0) is None
        assert list(ports.held()) == []
