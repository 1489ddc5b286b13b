"""Events about cluster-scoped objects: the API server accepts them, and kubectl describe shows
them beside the object."""

import json
from collections.abc import Callable

import pytest

from tests.e2e.conftest import Cluster, eventually

pytestmark = pytest.mark.e2e


def _manifest(kind: str, name: str, spec: dict[str, object], namespace: str = "") -> str:
    metadata = {"name": name, **({"namespace": namespace} if namespace else {})}
    return json.dumps(
        {
            "apiVersion": "hostport.rmb938.com/v1alpha1",
            "kind": kind,
            "metadata": metadata,
            "spec": spec,
        }
    )


def _described_event(cluster: Cluster, resource: str, name: str, reason: str) -> bool:
    """Whether the Events section of `kubectl describe` lists an Event with ``reason``."""
    described = cluster.kubectl("describe", resource, name).stdout
    return reason in described.rpartition("\nEvents:")[2]


def test_class_and_hostport_events_show_in_describe(
    cluster: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """Deleting a class that still holds a port, then releasing a Retain claim's port, each
    leave an Event that `kubectl describe` shows on the cluster-scoped object."""
    cls = unique("events")
    port = 20000 + int(cls[-4:], 16) % 20000  # a port of its own on a shared cluster
    pools = {"pools": [{"start": port, "end": port}]}
    cluster.kubectl("apply", "-f", "-", input=_manifest("HostPortClass", cls, pools))
    claim = {"hostPortClassName": cls, "reclaimPolicy": "Retain"}
    cluster.kubectl("apply", "-f", "-", input=_manifest("HostPortClaim", "kept", claim, namespace))
    cluster.kubectl(
        "wait", "--for=jsonpath={.status.phase}=Bound", "hpc/kept", "-n", namespace, "--timeout=60s"
    )
    hostport = cluster.jsonpath("hpc", "kept", "-n", namespace, path="{.spec.hostPortName}")
    try:
        cluster.kubectl("delete", "hostportclass", cls, "--wait=false")
        eventually(lambda: _described_event(cluster, "hostportclass", cls, "HostPortsExist"))
        cluster.kubectl("delete", "hpc", "kept", "-n", namespace, "--wait=false")
        eventually(lambda: _described_event(cluster, "hostport", hostport, "Released"))
    finally:
        cluster.kubectl("delete", "hostport", hostport, "--wait=false", check=False)
        cluster.kubectl("delete", "hostportclass", cls, "--wait=false", check=False)
