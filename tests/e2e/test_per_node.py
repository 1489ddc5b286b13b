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


def test_a_per_node_class_shares_no_port(cluster: Cluster, class_name: str) -> None:
    """Pools of a per-node class overlapping another class's are refused, naming it."""
    port = _port_of(class_name)
    _apply(cluster, _class(class_name, port))
    other = f"{class_name}-b"
    try:
        refused = _apply(cluster, _class(other, port, allocation="PerNode"), check=False)
        assert refused.returncode != 0
        assert f"overlaps pool {port}-{port} of HostPortClass {class_name!r}" in refused.stderr
    finally:
        cluster.kubectl("delete", "hostportclass", other, "--wait=false", check=False)


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


# --- three claims share a port on three nodes -------------------------------------------------


def _claim(name: str, namespace: str, cls: str) -> dict[str, Any]:
    return {
        "apiVersion": GROUP_VERSION,
        "kind": "HostPortClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hostPortClassName": cls},
    }


def _pod(name: str, namespace: str, claim: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {"claim.hostport.rmb938.com/web": claim},
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "busybox",
                    "ports": [{"name": "web", "containerPort": 8080}],
                }
            ]
        },
    }


def _node(name: str, label: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "labels": {label: "yes"}},
    }


@pytest.fixture
def eligible(cluster: Cluster) -> Iterator[tuple[str, list[str]]]:
    """A node label of the test's own on 3 nodes: the cluster's schedulable ones where a
    scheduler runs, else Node objects made for the test (the sandbox has none). Yields the
    label and the node names; unlabels, uncordons and removes what it made afterwards."""
    label = f"e2e.hpa/pernode-{uuid.uuid4().hex[:8]}"
    made: list[str] = []
    if cluster.runs_controllers:
        listed = cluster.jsonpath(
            "nodes", path="{range .items[*]}{.metadata.name}={.spec.unschedulable} {end}"
        )
        names = sorted(n for n, cordoned in _pairs(listed) if cordoned != "true")[:3]
        if len(names) < 3:
            pytest.skip(f"needs 3 schedulable nodes; the cluster has {len(names)}")
    else:
        names = made = [f"pernode-{label[-8:]}-{i}" for i in range(1, 4)]
        for name in made:
            _apply(cluster, _node(name, label))
    try:
        for name in names:
            cluster.kubectl("label", "node", name, f"{label}=yes", "--overwrite")
        yield label, names
    finally:
        for name in names:
            cluster.kubectl("uncordon", name, check=False)
            cluster.kubectl("label", "node", name, f"{label}-", check=False)
        for name in made:
            cluster.kubectl("delete", "node", name, "--wait=false", check=False)


def _pairs(text: str) -> list[tuple[str, str]]:
    return [(name, value) for name, _, value in (w.partition("=") for w in text.split())]


def _class_figures(cluster: Cluster, cls: str) -> tuple[str, str]:
    """What `kubectl get hpcl` shows of the capacity: eligible nodes and total."""
    return (
        cluster.jsonpath("hpcl", cls, path="{.status.nodes}"),
        cluster.jsonpath("hpcl", cls, path="{.status.total}"),
    )


def _bound_names(cluster: Cluster, namespace: str, claims: list[str]) -> dict[str, str]:
    """Each claim's ``<hostPortName> <port>``, once all of them are Bound; {} before."""
    found = {}
    for name in claims:
        path = "{.status.phase}/{.spec.hostPortName} {.status.port}"
        phase, _, bound = cluster.jsonpath("hpc", name, "-n", namespace, path=path).partition("/")
        if phase != "Bound":
            return {}
        found[name] = bound
    return found


def test_three_claims_share_a_port_on_three_nodes(
    cluster: Cluster, namespace: str, class_name: str, eligible: tuple[str, list[str]]
) -> None:
    """A per-node class with a one-port pool on 3 eligible nodes gives the port to 3 claims;
    their pods are held to the class's nodes and run on 3 different nodes; a second pod for
    one claim is refused; a 4th claim waits, saying the port is taken on every
    eligible node. A node added or deleted, or cordoned, shows in `kubectl get hpcl`; no bound
    claim changes its port, and those beyond the node count are told until nodes come back."""
    label, nodes = eligible
    port = _port_of(class_name)
    _apply(cluster, _class(class_name, port, allocation="PerNode", nodeSelector={label: "yes"}))
    eventually(lambda: _class_figures(cluster, class_name) == ("3", "3"))
    claims = ["c0", "c1", "c2"]
    for name in claims:
        _apply(cluster, _claim(name, namespace, class_name))
    bound = eventually(lambda: _bound_names(cluster, namespace, claims), within=60)
    assert sorted(bound.values()) == [f"port-{port}-{slot} {port}" for slot in range(3)]

    for name in claims:
        _apply(cluster, _pod(f"pod-{name}", namespace, name))
        host_port = "{.spec.containers[0].ports[0].hostPort}"
        assert cluster.jsonpath("pod", f"pod-{name}", "-n", namespace, path=host_port) == str(port)
    required = (
        "{.spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution"
        ".nodeSelectorTerms[0].matchExpressions[0].key}"
    )
    assert cluster.jsonpath("pod", "pod-c0", "-n", namespace, path=required) == label
    second = _apply(cluster, _pod("second", namespace, "c0"), check=False)
    assert second.returncode != 0
    assert (
        f"HostPortClaim {namespace}/c0 is of per-node HostPortClass {class_name!r} and is "
        "already used by pod pod-c0"
    ) in second.stderr
    if cluster.runs_controllers:

        def placed() -> list[str]:
            where = [
                cluster.jsonpath("pod", f"pod-{c}", "-n", namespace, path="{.spec.nodeName}")
                for c in claims
            ]
            return where if all(where) else []

        assert sorted(eventually(placed, within=60)) == sorted(nodes)

    _apply(cluster, _claim("c3", namespace, class_name))
    message = "{.status.conditions[?(@.type=='Bound')].message}"
    eventually(
        lambda: (
            "taken on all 3 eligible nodes"
            in cluster.jsonpath("hpc", "c3", "-n", namespace, path=message)
        )
    )
    assert cluster.jsonpath("hpc", "c3", "-n", namespace, path="{.status.phase}") == "Pending"

    # A fourth node: the port takes a fourth holder, the waiting claim.
    extra = f"pernode-{label[-8:]}-extra"
    _apply(cluster, _node(extra, label))  # on a real cluster, tainted not-ready: no pod lands
    try:
        eventually(lambda: _class_figures(cluster, class_name) == ("4", "4"))
        bound |= eventually(lambda: _bound_names(cluster, namespace, ["c3"]), within=60)
        assert bound["c3"] == f"port-{port}-3 {port}"
    finally:
        cluster.kubectl("delete", "node", extra, check=False)
    # Deleted, then a node cordoned: the capacity drops, every claim keeps its port, and
    # those beyond the node count (the highest slots) are told, with an Event.
    eventually(lambda: _class_figures(cluster, class_name) == ("3", "3"))
    over = "{.status.conditions[?(@.type=='OverCapacity')].status}"
    eventually(lambda: cluster.jsonpath("hpc", "c3", "-n", namespace, path=over) == "True")
    cluster.kubectl("cordon", nodes[0])
    eventually(lambda: _class_figures(cluster, class_name) == ("2", "2"))
    table = cluster.kubectl("get", "hpcl", class_name).stdout
    assert table.split()[:4] == ["NAME", "POOLS", "ALLOCATION", "NODES"]
    assert table.splitlines()[1].split()[1:4] == [str(port), "PerNode", "2"]
    (second_last,) = [c for c, hp in bound.items() if hp.startswith(f"port-{port}-2 ")]
    eventually(lambda: cluster.jsonpath("hpc", second_last, "-n", namespace, path=over) == "True")
    assert cluster.jsonpath("hpcl", class_name, path="{.status.overCapacity}") == "2"
    events = f"--field-selector=involvedObject.name={second_last},reason=OverCapacity"
    eventually(
        lambda: cluster.kubectl("get", "events", "-n", namespace, events, "-o", "name").stdout
    )
    assert _bound_names(cluster, namespace, list(bound)) == bound

    cluster.kubectl("uncordon", nodes[0])
    eventually(lambda: cluster.jsonpath("hpc", second_last, "-n", namespace, path=over) == "False")
    assert cluster.jsonpath("hpc", "c3", "-n", namespace, path=over) == "True"
    assert _bound_names(cluster, namespace, list(bound)) == bound
