"""The invariant checks of the reliability suite fail on what they are meant to catch."""

from typing import Any

import pytest

from hpa import api
from tests.clusters import Cluster
from tests.reliability import harness


def _bound_claim(name: str, port: int, uid: str = "") -> dict[str, Any]:
    obj = harness.claim(name, namespace="default", class_name="c")
    obj["spec"]["hostPortName"] = api.hostport_name(port)
    obj["status"] = {"phase": api.PHASE_BOUND, "port": port}
    return obj


def _hostport(port: int, claim_name: str, uid: str) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_HOSTPORT,
        "metadata": {"name": api.hostport_name(port)},
        "spec": {
            "hostPortClassName": "c",
            "port": port,
            "claimRef": {"namespace": "default", "name": claim_name, "uid": uid},
        },
    }


async def _put(cluster: Cluster, obj: dict[str, Any]) -> dict[str, Any]:
    """Store an object with its status: a create drops it, so it is set afterwards."""
    created = await cluster.create(obj)
    if "status" in obj:
        plural = api.PLURAL_CLAIM if obj["kind"] == api.KIND_CLAIM else api.PLURAL_HOSTPORT
        created = await cluster.patch_status(plural, created, obj["status"])
    return created


async def test_consistent_cluster_passes(cluster: Cluster) -> None:
    """One claim bound to the one HostPort that names it passes, with its count."""
    claim = await _put(cluster, _bound_claim("a", 9000))
    await _put(cluster, _hostport(9000, "a", claim["metadata"]["uid"]))
    harness.assert_consistent(cluster, bound=1)


async def test_orphaned_hostport_fails(cluster: Cluster) -> None:
    """A HostPort whose claim does not exist is reported as orphaned."""
    await _put(cluster, _hostport(9000, "ghost", "no-such-uid"))
    with pytest.raises(AssertionError, match="orphaned"):
        harness.assert_consistent(cluster)


async def test_port_given_to_two_claims_fails(cluster: Cluster) -> None:
    """Two claims Bound to one port are reported."""
    first = await _put(cluster, _bound_claim("a", 9000))
    await _put(cluster, _bound_claim("b", 9000))
    await _put(cluster, _hostport(9000, "a", first["metadata"]["uid"]))
    with pytest.raises(AssertionError, match=r"two claims|elsewhere|no HostPort"):
        harness.assert_consistent(cluster)


async def test_lost_claim_fails(cluster: Cluster) -> None:
    """A claim that never got Bound is reported as lost when all should be."""
    claim = await _put(cluster, _bound_claim("a", 9000))
    await _put(cluster, _hostport(9000, "a", claim["metadata"]["uid"]))
    await cluster.create(harness.claim("b", namespace="default", class_name="c"))
    with pytest.raises(AssertionError, match="not Bound"):
        harness.assert_consistent(cluster, bound=2)


def test_claim_bound_to_two_ports_is_reported() -> None:
    """The binding log reports a claim seen Bound to two ports."""

    def bound(port: int) -> dict[str, Any]:
        return {
            "metadata": {"namespace": "default", "name": "a", "uid": "u"},
            "status": {"phase": api.PHASE_BOUND, "port": port},
        }

    log = harness.BindingLog()
    log.observe("MODIFIED", bound(9000))
    assert not log.rebound()
    log.observe("MODIFIED", bound(9001))
    assert log.rebound() == {"default/a/u": {9000, 9001}}
