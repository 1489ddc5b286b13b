"""Per-node classes, with kubectl only: the API server's rules, and claims that share a port.

A per-node class hands each port to one claim per eligible node (docs/per-node.md). The parts
that need a scheduler (pods placed on nodes) skip on the sandbox, which runs none.
"""

import json
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.e2e.conftest import Cluster, eventually

pytestmark = pytest.mark.e2e

GROUP_VERSION = "hostport.rmb938.com/v1alpha1"


def _port_of(name: str) -> int:
    """A port of the test's own on a shared cluster (other tests take 20000..59999)."""
    return 60000 + int(name[-4:], 16) % 5000


def _apply(cluster: Cluster, obj: dict[str, Any], *, check: bool = True) -> Any:
    return cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), check=check)


def _class(name: str, port: int, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "HostPortClass",
        "metadata": {"name": name},
        "spec": {"pools": [{"start": port, "end": port}], **spec},
    }


def _hostport(name: str, cls: str, port: int, slot: int | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"hostPortClassName": cls, "port": port}
    if slot is not None:
        spec["slot"] = slot
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "HostPort",
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.fixture
def class_name(cluster: Cluster) -> Iterator[str]:
    """A class name of the test's own; the class and its HostPorts are removed afterwards."""
    name = f"pernode-{uuid.uuid4().hex[:8]}"
    yield name
    cluster.kubectl("delete", "hostportclass", name, "--wait=false", check=False)


def test_a_class_is_cluster_wide_unless_it_says_otherwise(
    cluster: Cluster, class_name: str
) -> None:
    """A class without ``allocation`` reads as ClusterWide, and its mode cannot change."""
    port = _port_of(class_name)
    _apply(cluster, _class(class_name, port))
    assert cluster.jsonpath("hostportclass", class_name, path="{.spec.allocation}") == (
        "ClusterWide"
    )
    changed = _apply(cluster, _class(class_name, port, allocation="PerNode"), check=False)
    assert changed.returncode != 0
    assert "allocation is immutable" in changed.stderr


def test_a_node_selector_needs_a_per_node_class(cluster: Cluster, class_name: str) -> None:
    """``nodeSelector`` on a cluster-wide class is refused with the fix in the message."""
    port = _port_of(class_name)
    refused = _apply(cluster, _class(class_name, port, nodeSelector={"a": "b"}), check=False)
    assert refused.returncode != 0
    assert "nodeSelector applies only to allocation PerNode" in refused.stderr


@pytest.mark.parametrize(
    ("name_of", "slot", "accepted"),
    [
        pytest.param(lambda p: f"port-{p}-1", 1, True, id="port-and-slot"),
        pytest.param(lambda p: f"port-{p}-2", 1, False, id="other-slot"),
        pytest.param(lambda p: f"port-{p}", 1, False, id="slot-not-named"),
        pytest.param(lambda p: f"port-{p}-1", None, False, id="no-slot"),
        pytest.param(lambda p: f"port-{p + 1}-1", 1, False, id="other-port"),
        pytest.param(lambda p: f"port-{p}-01", 1, False, id="leading-zero"),
    ],
)
def test_a_per_node_hostport_is_named_from_its_port_and_slot(
    cluster: Cluster,
    class_name: str,
    name_of: Callable[[int], str],
    slot: int | None,
    accepted: bool,
) -> None:
    """The API server accepts HostPort ``port-<n>-<slot>`` for exactly that port and slot."""
    port = _port_of(class_name)
    name = name_of(port)
    created = cluster.kubectl(
        "create",
        "--dry-run=server",
        "-f",
        "-",
        input=json.dumps(_hostport(name, class_name, port, slot)),
        check=False,
    )
    assert (created.returncode == 0) == accepted, created.stderr
    if not accepted:
        assert "metadata.name must be port-<spec.port>" in created.stderr


def test_a_hostports_slot_is_immutable(cluster: Cluster, class_name: str) -> None:
    """A HostPort keeps its slot: the name says it."""
    port = _port_of(class_name)
    name = f"port-{port}-0"
    _apply(cluster, _hostport(name, class_name, port, 0))
    try:
        patched = cluster.kubectl(
            "patch", "hostport", name, "--type=merge", "-p", '{"spec":{"slot":1}}', check=False
        )
        assert patched.returncode != 0
        assert "slot is immutable" in patched.stderr
    finally:
        cluster.kubectl("delete", "hostport", name, "--wait=false", check=False)
        eventually(lambda: not cluster.jsonpath("hostport", name, path="{.metadata.name}"))
