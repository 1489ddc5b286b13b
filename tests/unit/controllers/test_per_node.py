"""Per-node classes in the operator: eligible nodes, capacity, the index and the repair loop."""

import functools
import json
from typing import Any

from hpa import api, kube
from tests import kubefake
from tests.operator_fixtures import Start, claim, node, per_node_class, sample_class
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


def _claim_obj(cluster: kubefake.FakeApi, name: str) -> dict[str, Any]:
    return cluster.get(api.PLURAL_CLAIM, name, "default") or {}


def _bound(cluster: kubefake.FakeApi, name: str) -> str:
    obj = _claim_obj(cluster, name)
    return str(obj.get("spec", {}).get("hostPortName", "")) if _phase(obj) == "Bound" else ""


def _phase(obj: dict[str, Any]) -> str:
    return str(obj.get("status", {}).get("phase", ""))


def _condition(cluster: kubefake.FakeApi, name: str, type_: str) -> dict[str, Any]:
    conditions = _claim_obj(cluster, name).get("status", {}).get("conditions", [])
    return next((c for c in conditions if c["type"] == type_), {})


def _bound_condition(cluster: kubefake.FakeApi, name: str) -> dict[str, Any]:
    return _condition(cluster, name, "Bound")


def _three_claims_of_one_port_on_three_nodes(cluster: kubefake.FakeApi) -> None:
    for name in ("a", "b", "c"):
        cluster.put("nodes", node(name))
    cluster.put(api.PLURAL_CLASS, per_node_class("pn", (9000, 9000)))
    for number in range(3):
        cluster.put(api.PLURAL_CLAIM, claim(f"c{number}", class_name="pn"))


async def test_one_port_goes_to_as_many_claims_as_nodes_then_the_class_is_full(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """On 3 nodes, a one-port class gives its port to 3 claims, as port-<n>-0..2; the 4th
    stays Pending and says the port is taken on every eligible node."""
    _three_claims_of_one_port_on_three_nodes(cluster)
    async with operator():
        names = []
        for number in range(3):
            names.append(await eventually(functools.partial(_bound, cluster, f"c{number}")))
        assert sorted(names) == ["port-9000-0", "port-9000-1", "port-9000-2"]
        for name in names:
            hostport = cluster.get(api.PLURAL_HOSTPORT, name) or {}
            assert hostport["spec"]["port"] == 9000
            assert name == f"port-9000-{hostport['spec']['slot']}"
        assert {_claim_obj(cluster, f"c{n}")["status"]["port"] for n in range(3)} == {9000}
        cluster.put(api.PLURAL_CLAIM, claim("c3", class_name="pn"))
        await eventually(lambda: _bound_condition(cluster, "c3").get("reason") == "ClassFull")
        assert _bound_condition(cluster, "c3")["message"] == (
            "every port of HostPortClass 'pn' is taken on all 3 eligible nodes; the claim binds "
            "when one is freed, a node becomes eligible or the pools grow"
        )
        await eventually(lambda: _status(cluster, "pn").get("free") == 0)
        assert (_status(cluster, "pn")["total"], _status(cluster, "pn")["allocated"]) == (3, 3)


async def test_with_no_eligible_node_a_claim_waits_and_binds_when_one_comes(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """Capacity 0 is the reason given; a node that joins lets the claim bind."""
    cluster.put("nodes", node("web", labels={"pool": "web"}))
    cluster.put(
        api.PLURAL_CLASS, per_node_class("pn", (9000, 9001), node_selector={"pool": "game"})
    )
    cluster.put(api.PLURAL_CLAIM, claim("c", class_name="pn"))
    async with operator():
        await eventually(lambda: _bound_condition(cluster, "c").get("reason") == "NoEligibleNodes")
        assert "capacity is 0" in _bound_condition(cluster, "c")["message"]
        await cluster.add("nodes", node("game", labels={"pool": "game"}))
        assert await eventually(lambda: _bound(cluster, "c")) == "port-9000-0"


async def test_a_pair_another_writer_took_is_held_and_the_next_one_tried(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """A create answered 409 AlreadyExists marks that (port, slot) held; the claim takes the
    next pair, as a cluster-wide claim takes the next port."""
    cluster.put("nodes", node("a"))
    cluster.put("nodes", node("b"))
    cluster.fail(
        verb="create", resource=api.PLURAL_HOSTPORT, status=409, reason="AlreadyExists", times=1
    )
    cluster.put(api.PLURAL_CLASS, per_node_class("pn", (9000, 9001)))
    cluster.put(api.PLURAL_CLAIM, claim("c", class_name="pn"))
    async with operator() as manager:
        assert await eventually(lambda: _bound(cluster, "c")) == "port-9000-1"
        assert manager.ports.holder(9000, slot=0) == "pn"  # until the repair loop frees it


async def test_a_static_claim_takes_the_lowest_free_slot_of_its_port(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """spec.port on a per-node class: a slot of that port reserved for the class, or the
    lowest free one, until the port is held on every eligible node."""
    cluster.put("nodes", node("a"))
    cluster.put("nodes", node("b"))
    cluster.put(api.PLURAL_CLASS, per_node_class("pn", (9000, 9009)))
    cluster.put(api.PLURAL_HOSTPORT, _hostport(9005, 0))  # reserved: no claimRef
    names = ("s1", "s2", "s3")
    for name in names:
        static = claim(name, class_name="pn")
        static["spec"]["port"] = 9005
        cluster.put(api.PLURAL_CLAIM, static)

    def settled() -> list[str]:
        bound = sorted(b for n in names if (b := _bound(cluster, n)))
        return bound if len(bound) == 2 else []

    async with operator():
        assert await eventually(settled) == ["port-9005-0", "port-9005-1"]
        (pending,) = [n for n in names if not _bound(cluster, n)]
        await eventually(lambda: _bound_condition(cluster, pending).get("reason") == "PortTaken")
        assert _bound_condition(cluster, pending)["message"].startswith(
            "port 9005 is taken on all 2 eligible nodes of HostPortClass 'pn'"
        )


def _over_capacity(cluster: kubefake.FakeApi, name: str) -> dict[str, Any]:
    return _condition(cluster, name, "OverCapacity")


async def test_claims_beyond_the_node_count_are_told_and_keep_their_port(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """A node gone: the claim on the port's highest slot is over capacity (a condition and one
    Warning Event), nothing is released; a node back, or a holder gone, clears it."""
    _three_claims_of_one_port_on_three_nodes(cluster)
    async with operator():
        bound = {}
        for number in range(3):
            bound[f"c{number}"] = await eventually(functools.partial(_bound, cluster, f"c{number}"))
        last = next(n for n, hp in bound.items() if hp == "port-9000-2")
        await cluster.delete("nodes", "c")
        await eventually(lambda: _over_capacity(cluster, last).get("status") == "True")
        assert _over_capacity(cluster, last)["message"].startswith(
            "HostPortClass 'pn' has 2 eligible nodes and port 9000 has 3 holders: this claim "
            "(slot 2) is beyond them"
        )
        assert [n for n in bound if n != last and _over_capacity(cluster, n)] == []
        await eventually(lambda: _status(cluster, "pn").get("overCapacity") == 1)
        warnings = [e for e in cluster.items("events") if e["reason"] == "OverCapacity"]
        assert [e["involvedObject"]["name"] for e in warnings] == [last]
        assert {n: _bound(cluster, n) for n in bound} == bound  # no port taken back

        await cluster.add("nodes", node("c"))
        await eventually(lambda: _over_capacity(cluster, last).get("status") == "False")
        assert _over_capacity(cluster, last)["reason"] == "WithinCapacity"
        await eventually(lambda: _status(cluster, "pn").get("overCapacity", 0) == 0)

        await cluster.delete("nodes", "c")
        await eventually(lambda: _over_capacity(cluster, last).get("status") == "True")
        first = next(n for n, hp in bound.items() if hp == "port-9000-0")
        await cluster.delete(api.PLURAL_CLAIM, first, "default")
        await eventually(lambda: _over_capacity(cluster, last).get("status") == "False")
        # the second time over capacity is the same Event again: its count says so
        (again,) = [e for e in cluster.items("events") if e["reason"] == "OverCapacity"]
        assert again["count"] == 2


async def test_a_narrower_node_selector_marks_the_claims_beyond_it(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """Relabelling which nodes are eligible (the class's nodeSelector) counts the nodes again
    and tells the bound claims now beyond the count."""
    _three_claims_of_one_port_on_three_nodes(cluster)
    async with operator():
        bound = {}
        for number in range(3):
            bound[f"c{number}"] = await eventually(functools.partial(_bound, cluster, f"c{number}"))
        await _patch_node(cluster, "a", {"metadata": {"labels": {"pool": "game"}}})
        await cluster.request(
            kube.Request(
                method="PATCH",
                path=kube.CLASSES.path(name="pn"),
                body=json.dumps({"spec": {"nodeSelector": {"pool": "game"}}}).encode(),
                content_type="application/merge-patch+json",
            )
        )
        await eventually(lambda: _status(cluster, "pn").get("nodes") == 1)
        over = {n for n, hp in bound.items() if hp != "port-9000-0"}
        await eventually(
            lambda: {n for n in bound if _over_capacity(cluster, n).get("status") == "True"} == over
        )
        assert {n: _bound(cluster, n) for n in bound} == bound
