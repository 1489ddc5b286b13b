"""Per-pod ports for StatefulSets, through hpa's webhook and operator, against the API server of
``--api-server``.

A StatefulSet controller makes the pods: kube-controller-manager's on the control plane, the
sandbox's own there; the tests act on the StatefulSet and wait for its pods.
"""

import json
from typing import Any

import pytest

from hpa import api
from tests.clusters import Cluster
from tests.integration.features.conftest import Hpa
from tests.operator_fixtures import http_pod_spec, sample_class
from tests.sandbox_fixtures import Kubectl, poll_until

Obj = dict[str, Any]
#: The most replicas a test asks for: no pod of a higher ordinal ever exists.
_MOST_REPLICAS = 3


def _statefulset(name: str, *, replicas: int, when_scaled: str, when_deleted: str) -> Obj:
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {
            "name": name,
            "namespace": "default",
            "annotations": {
                api.WHEN_SCALED_ANNOTATION: when_scaled,
                api.WHEN_DELETED_ANNOTATION: when_deleted,
            },
        },
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": _template(name),
        },
    }


def _template(name: str) -> Obj:
    return {
        "metadata": {
            "labels": {"app": name},
            "annotations": {f"{api.TEMPLATE_ANNOTATION_PREFIX}http": "sample"},
        },
        "spec": http_pod_spec(),
    }


class StatefulSetDriver:
    """What the tests do to a StatefulSet, and where they look; the StatefulSet controller makes
    the pods (kube-controller-manager's one at a time, each once the one before is Ready: the
    stand-in kubelet reports them Running) and the driver waits for them."""

    def __init__(self, cluster: Cluster, kubectl: Kubectl, name: str) -> None:
        self.cluster = cluster
        self.kubectl = kubectl
        self.name = name

    async def start(self, *, replicas: int, when_scaled: str, when_deleted: str) -> None:
        """Create the StatefulSet; returns once its pods exist."""
        body = _statefulset(
            self.name, replicas=replicas, when_scaled=when_scaled, when_deleted=when_deleted
        )
        await self.kubectl("apply", "-f", "-", input=json.dumps(body))
        await self._pods_follow(replicas)

    async def scale(self, replicas: int) -> None:
        """``kubectl scale``; returns once pods below it exist and those above are gone."""
        await self.kubectl("scale", "statefulset", self.name, f"--replicas={replicas}")
        await self._pods_follow(replicas)

    async def replace_pod(self, ordinal: int) -> None:
        """Delete a pod; returns once the controller has made it again."""
        pod = self.pod(ordinal)
        assert pod is not None
        await self.kubectl("delete", "pod", f"{self.name}-{ordinal}", "--wait=false")
        await poll_until(lambda: self._live(ordinal, other_than=pod["metadata"]["uid"]), within=30)

    async def _pods_follow(self, replicas: int) -> None:
        def followed() -> bool:
            return all(self._live(o) for o in range(replicas)) and all(
                self.pod(o) is None for o in range(replicas, _MOST_REPLICAS)
            )

        await poll_until(followed, within=60, interval=0.1)

    def _live(self, ordinal: int, *, other_than: str = "") -> bool:
        pod = self.pod(ordinal)
        return (
            pod is not None
            and "deletionTimestamp" not in pod["metadata"]
            and pod["metadata"]["uid"] != other_than
        )

    def pod(self, ordinal: int) -> Obj | None:
        return self.cluster.get("pods", f"{self.name}-{ordinal}", "default")

    def host_port(self, ordinal: int) -> int:
        pod = self.pod(ordinal)
        assert pod is not None
        port = pod["spec"]["containers"][0]["ports"][0].get("hostPort", 0)
        assert pod["metadata"]["annotations"][f"{api.PORT_ANNOTATION_PREFIX}http"] == str(port)
        assert pod["metadata"]["annotations"][f"{api.CLAIM_ANNOTATION_PREFIX}http"] == (
            f"{self.name}-{ordinal}-http"
        )
        return int(port)

    def claim(self, ordinal: int) -> Obj | None:
        return self.cluster.get(api.PLURAL_CLAIM, f"{self.name}-{ordinal}-http", "default")


async def _setup(cluster: Cluster, kubectl: Kubectl) -> None:
    await kubectl("label", "namespace", "default", f"{api.NAMESPACE_LABEL}=true")
    await cluster.create(sample_class())


@pytest.mark.parametrize(
    "policy", [pytest.param(api.RETENTION_DELETE, id="delete"), pytest.param("Retain", id="retain")]
)
async def test_statefulset_pods_get_stable_ports(
    cluster: Cluster, kubectl: Kubectl, hpa: Hpa, policy: str
) -> None:
    """3 replicas get 3 distinct ports; a deleted pod comes back with its port; scaling to 1
    releases the other two claims under whenScaled=Delete and keeps them under Retain, for the
    pods that come back when it is scaled up again."""
    await _setup(cluster, kubectl)
    async with hpa():
        sts = StatefulSetDriver(cluster, kubectl, "web")
        await sts.start(replicas=3, when_scaled=policy, when_deleted="Retain")
        ports = [sts.host_port(ordinal) for ordinal in range(3)]
        assert len(set(ports)) == 3 and all(9000 <= p <= 9500 for p in ports)
        claim = sts.claim(1)
        assert claim is not None and claim["status"]["phase"] == api.PHASE_BOUND
        assert claim["metadata"]["labels"][api.ORDINAL_LABEL] == "1"

        await sts.replace_pod(1)
        assert sts.host_port(1) == ports[1]

        await sts.scale(1)
        if policy == api.RETENTION_DELETE:
            await poll_until(lambda: sts.claim(1) is None and sts.claim(2) is None, within=10)
            await poll_until(
                lambda: all(
                    cluster.get(api.PLURAL_HOSTPORT, api.hostport_name(p)) is None
                    for p in ports[1:]
                ),
                within=10,
            )
        else:
            # a second StatefulSet with Delete, scaled after this one, is a sync point: once
            # its claim is gone, the operator has seen this one's scale-down too
            await _scale_marker(cluster, kubectl)
            assert sts.claim(1) is not None and sts.claim(2) is not None
            await sts.scale(3)
            assert [sts.host_port(ordinal) for ordinal in (1, 2)] == ports[1:]
        assert sts.claim(0) is not None and sts.host_port(0) == ports[0]


async def _scale_marker(cluster: Cluster, kubectl: Kubectl) -> None:
    marker = StatefulSetDriver(cluster, kubectl, "marker")
    await marker.start(replicas=1, when_scaled="Delete", when_deleted="Retain")
    await marker.scale(0)
    await poll_until(lambda: marker.claim(0) is None, within=10)


async def test_statefulset_deletion_deletes_claims_under_when_deleted_delete(
    cluster: Cluster, kubectl: Kubectl, hpa: Hpa
) -> None:
    """Under whenDeleted=Delete the claims are owned by the StatefulSet and go with it."""
    await cluster.controllers_know(api.PLURAL_CLAIM)  # the garbage collector deletes them
    await _setup(cluster, kubectl)
    async with hpa():
        sts = StatefulSetDriver(cluster, kubectl, "db")
        await sts.start(replicas=1, when_scaled="Retain", when_deleted="Delete")
        claim = sts.claim(0)
        assert claim is not None
        assert claim["metadata"]["ownerReferences"][0]["name"] == "db"
        await kubectl("delete", "statefulset", "db", "--wait=false")
        await poll_until(lambda: sts.claim(0) is None, within=10)
