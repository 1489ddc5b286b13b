"""The per-node invariant checks of the reliability suite fail on what they are meant to catch.

Most of the states here are ones the API server refuses to store (a HostPort whose name is not
its port and slot, two HostPorts of one pair), which is what the checks guard against should a
writer get past it; so they are handed to the checks as lists, as the checks read a cluster.
"""

from typing import Any

import pytest

from hpa import api
from tests.reliability import harness, per_node

Obj = dict[str, Any]


class Stored:
    """A cluster's stored claims and HostPorts, as the checks read them."""

    def __init__(self, claims: list[Obj], hostports: list[Obj]) -> None:
        self._items = {api.PLURAL_CLAIM: claims, api.PLURAL_HOSTPORT: hostports}

    def items(self, plural: str) -> list[Obj]:
        return self._items[plural]


def _claim(name: str, port: int | None = None, slot: int | None = None) -> Obj:
    """A claim of class "pn": Bound to ``port-<port>-<slot>`` if a port is given, else Pending
    as ClassFull."""
    obj = harness.claim(name, namespace="default", class_name="pn")
    obj["metadata"]["uid"] = f"uid-{name}"
    if port is None:
        condition = {"type": "Bound", "status": "False", "reason": "ClassFull"}
        obj["status"] = {"phase": "Pending", "conditions": [condition]}
    else:
        obj["spec"]["hostPortName"] = api.hostport_name(port, slot)
        obj["status"] = {"phase": api.PHASE_BOUND, "port": port}
    return obj


def _hostport(port: int, slot: int | None, owner: str, *, name: str = "") -> Obj:
    spec: Obj = {
        "hostPortClassName": "pn",
        "port": port,
        "claimRef": {"namespace": "default", "name": owner, "uid": f"uid-{owner}"},
    }
    if slot is not None:
        spec["slot"] = slot
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_HOSTPORT,
        "metadata": {"name": name or api.hostport_name(port, slot)},
        "spec": spec,
    }


def _three_on_one_port() -> tuple[list[Obj], list[Obj]]:
    claims = [_claim(n, 9000, s) for s, n in enumerate("abc")] + [_claim("d")]
    return claims, [_hostport(9000, s, n) for s, n in enumerate("abc")]


def test_a_port_on_every_node_and_the_surplus_full_passes() -> None:
    """Three claims on the three slots of a port of 3 nodes, a fourth Pending as ClassFull."""
    stored = Stored(*_three_on_one_port())
    harness.assert_consistent(stored)
    per_node.assert_per_node(stored, "pn", nodes=3, bound=3)


def test_more_holders_than_nodes_fails() -> None:
    """The same three holders on 2 nodes over-commit the port."""
    with pytest.raises(AssertionError, match="more holders than the 2 eligible nodes"):
        per_node.assert_per_node(Stored(*_three_on_one_port()), "pn", nodes=2)


def test_slot_beyond_the_nodes_fails() -> None:
    """One holder is within capacity, but slot 5 is no slot of 3 nodes."""
    stored = Stored([_claim("a", 9000, 5)], [_hostport(9000, 5, "a")])
    with pytest.raises(AssertionError, match="slot 5 on 3 nodes"):
        per_node.assert_per_node(stored, "pn", nodes=3)


def test_name_not_its_port_and_slot_fails() -> None:
    """A HostPort named for slot 1 that holds slot 0."""
    stored = Stored([], [_hostport(9000, 0, "a", name="port-9000-1")])
    with pytest.raises(AssertionError, match="port-9000-1 holds port 9000 slot 0"):
        per_node.assert_per_node(stored, "pn", nodes=3)


def test_hostport_without_a_slot_fails() -> None:
    """A cluster-wide ``port-9000`` counted as a per-node class's."""
    stored = Stored([_claim("a", 9000)], [_hostport(9000, None, "a")])
    with pytest.raises(AssertionError, match="has no slot"):
        per_node.assert_per_node(stored, "pn", nodes=3)


def test_two_claims_on_one_hostport_fails() -> None:
    """Two Bound claims that name one HostPort."""
    stored = Stored([_claim("a", 9000, 0), _claim("b", 9000, 0)], [_hostport(9000, 0, "a")])
    with pytest.raises(AssertionError, match="two claims point at"):
        per_node.assert_per_node(stored, "pn", nodes=3)


def test_hostport_of_another_claim_fails() -> None:
    """A Bound claim whose HostPort's claimRef is another claim."""
    stored = Stored([_claim("a", 9000, 0)], [_hostport(9000, 0, "b")])
    with pytest.raises(AssertionError, match="is not claim default/a's"):
        per_node.assert_per_node(stored, "pn", nodes=3)


def test_bound_claim_without_its_hostport_fails() -> None:
    """A Bound claim whose HostPort does not exist."""
    with pytest.raises(AssertionError, match="Bound to no HostPort"):
        per_node.assert_per_node(Stored([_claim("a", 9000, 0)], []), "pn", nodes=3)


def test_surplus_pending_for_another_reason_fails() -> None:
    """A claim left Pending must be so because the class is full."""
    claims, hostports = _three_on_one_port()
    claims[-1]["status"]["conditions"][0]["reason"] = "ClassNotFound"
    with pytest.raises(AssertionError, match="not ClassFull"):
        per_node.assert_per_node(Stored(claims, hostports), "pn", nodes=3, bound=3)


def test_wrong_bound_count_fails() -> None:
    """Three Bound where two were expected (one too many for the capacity)."""
    with pytest.raises(AssertionError, match="3 claims Bound, expected 2"):
        per_node.assert_per_node(Stored(*_three_on_one_port()), "pn", nodes=3, bound=2)


def test_pair_held_by_two_hostports_fails() -> None:
    """Two HostPorts that hold one (port, slot), whatever their names."""
    claims = [_claim("a", 9000, 0), _claim("b", 9000, 0)]
    claims[1]["spec"]["hostPortName"] = "stray"
    hostports = [_hostport(9000, 0, "a"), _hostport(9000, 0, "b", name="stray")]
    with pytest.raises(AssertionError, match=r"held by two HostPorts: \[\(9000, 0\)\]"):
        harness.assert_consistent(Stored(claims, hostports))


def test_port_held_cluster_wide_and_per_node_fails() -> None:
    """``port-9000`` holds 9000 on every node: ``port-9000-0`` beside it holds it twice."""
    claims = [_claim("a", 9000), _claim("b", 9000, 0)]
    hostports = [_hostport(9000, None, "a"), _hostport(9000, 0, "b")]
    with pytest.raises(AssertionError, match=r"cluster-wide and per node at once: \[9000\]"):
        harness.assert_consistent(Stored(claims, hostports))


def test_slots_of_one_port_are_not_a_double_hold() -> None:
    """Slots 0 and 1 of one port are two pairs, not one port held twice."""
    claims = [_claim("a", 9000, 0), _claim("b", 9000, 1)]
    harness.assert_consistent(Stored(claims, [_hostport(9000, 0, "a"), _hostport(9000, 1, "b")]))


def _bound(name: str) -> Obj:
    return {
        "metadata": {"namespace": "default", "name": "a", "uid": "u"},
        "spec": {"hostPortName": name},
        "status": {"phase": api.PHASE_BOUND, "port": 9000},
    }


def test_claim_moved_to_another_slot_is_reported() -> None:
    """A claim seen Bound to slot 0 and then slot 1 of one port was bound twice."""
    log = harness.BindingLog()
    log.observe("MODIFIED", _bound("port-9000-0"))
    assert not log.rebound()
    log.observe("MODIFIED", _bound("port-9000-1"))
    assert log.rebound() == {"default/a/u": {"port-9000-0", "port-9000-1"}}


def test_slot_beyond_the_nodes_at_allocation_is_reported() -> None:
    """The log keeps the slot each claim was first given: slot 3 is beyond 3 nodes."""
    log = harness.BindingLog()
    log.observe("MODIFIED", _bound("port-9000-2"))
    per_node.assert_slots_below(log.first_hostport, 3)
    log.observe("MODIFIED", {**_bound("port-9000-3"), "metadata": {
        "namespace": "default", "name": "b", "uid": "v"}})  # fmt: skip
    with pytest.raises(AssertionError, match="beyond 3 nodes"):
        per_node.assert_slots_below(log.first_hostport, 3)
