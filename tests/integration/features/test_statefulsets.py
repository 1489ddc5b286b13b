"""Per-pod ports for StatefulSets, through hpa's webhook and operator against the sandbox.

The sandbox runs no StatefulSet controller: the tests create and delete the pods as it would
(names ``<sts>-<ordinal>``, an ownerReference to the StatefulSet, the template's metadata).
"""

import json
from typing import Any

import pytest

from hpa import api, sandbox
from tests.integration.features.conftest import Hpa
from tests.operator_fixtures import sample_class
from tests.sandbox_fixtures import Kubectl, poll_until

Obj = dict[str, Any]


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
        "spec": {
            "containers": [
                {
                    "name": "web",
                    "image": "registry.invalid/web:1",
                    "ports": [{"name": "http", "containerPort": 8080}],
                }
            ]
        },
    }


class StatefulSetController:
    """Creates and deletes a StatefulSet's pods, as kube's StatefulSet controller would."""

    def __init__(self, server: sandbox.Sandbox, kubectl: Kubectl, name: str) -> None:
        self.server = server
        self.kubectl = kubectl
        self.name = name

    def _uid(self) -> str:
        found = self.server.get("apps/v1", "StatefulSet", self.name, namespace="default")
        assert found is not None
        return str(found["metadata"]["uid"])

    async def create_pod(self, ordinal: int) -> None:
        template = _template(self.name)
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                **template["metadata"],
                "name": f"{self.name}-{ordinal}",
                "namespace": "default",
                "ownerReferences": [
                    {
                        "apiVersion": "apps/v1",
                        "kind": "StatefulSet",
                        "name": self.name,
                        "uid": self._uid(),
                        "controller": True,
                        "blockOwnerDeletion": True,
                    }
                ],
            },
            "spec": template["spec"],
        }
        await self.kubectl("create", "-f", "-", input=json.dumps(pod))

    async def delete_pod(self, ordinal: int) -> None:
        await self.kubectl("delete", "pod", f"{self.name}-{ordinal}", "--wait=false")

    def host_port(self, ordinal: int) -> int:
        pod = self.server.get("v1", "Pod", f"{self.name}-{ordinal}", namespace="default")
        assert pod is not None
        port = pod["spec"]["containers"][0]["ports"][0].get("hostPort", 0)
        assert pod["metadata"]["annotations"][f"{api.PORT_ANNOTATION_PREFIX}http"] == str(port)
        assert pod["metadata"]["annotations"][f"{api.CLAIM_ANNOTATION_PREFIX}http"] == (
            f"{self.name}-{ordinal}-http"
        )
        return int(port)

    def claim(self, ordinal: int) -> Obj | None:
        return self.server.get(
            api.API_VERSION, api.KIND_CLAIM, f"{self.name}-{ordinal}-http", namespace="default"
        )


async def _scale(kubectl: Kubectl, name: str, replicas: int) -> None:
    # the sandbox serves no /scale subresource: patch spec.replicas as `kubectl scale` would
    patch = json.dumps({"spec": {"replicas": replicas}})
    await kubectl("patch", "statefulset", name, "--type=merge", "-p", patch)


async def _setup(server: sandbox.Sandbox, kubectl: Kubectl) -> None:
    await kubectl("label", "namespace", "default", f"{api.NAMESPACE_LABEL}=true")
    await server.create(sample_class())


@pytest.mark.parametrize(
    "policy", [pytest.param(api.RETENTION_DELETE, id="delete"), pytest.param("Retain", id="retain")]
)
async def test_statefulset_pods_get_stable_ports(
    sandbox: sandbox.Sandbox, kubectl: Kubectl, hpa: Hpa, policy: str
) -> None:
    """3 replicas get 3 distinct ports; a deleted pod comes back with its port; scaling to 1
    releases the other two claims under whenScaled=Delete and keeps them under Retain."""
    await _setup(sandbox, kubectl)
    async with hpa():
        body = _statefulset("web", replicas=3, when_scaled=policy, when_deleted="Retain")
        await kubectl("apply", "-f", "-", input=json.dumps(body))
        sts = StatefulSetController(sandbox, kubectl, "web")
        for ordinal in range(3):
            await sts.create_pod(ordinal)
        ports = [sts.host_port(ordinal) for ordinal in range(3)]
        assert len(set(ports)) == 3 and all(9000 <= p <= 9500 for p in ports)
        claim = sts.claim(1)
        assert claim is not None and claim["status"]["phase"] == api.PHASE_BOUND
        assert claim["metadata"]["labels"][api.ORDINAL_LABEL] == "1"

        await sts.delete_pod(1)
        await poll_until(lambda: sandbox.get("v1", "Pod", "web-1", namespace="default") is None)
        await sts.create_pod(1)
        assert sts.host_port(1) == ports[1]

        await _scale(kubectl, "web", 1)
        for ordinal in (1, 2):
            await sts.delete_pod(ordinal)
        if policy == api.RETENTION_DELETE:
            await poll_until(lambda: sts.claim(1) is None and sts.claim(2) is None, within=10)
            await poll_until(
                lambda: all(
                    sandbox.get(api.API_VERSION, api.KIND_HOSTPORT, api.hostport_name(p)) is None
                    for p in ports[1:]
                ),
                within=10,
            )
        else:
            # a second StatefulSet with Delete, scaled after this one, is a sync point: once
            # its claim is gone, the operator has seen this one's scale-down too
            await _scale_marker(sandbox, kubectl)
            assert sts.claim(1) is not None and sts.claim(2) is not None
            await sts.create_pod(2)
            assert sts.host_port(2) == ports[2]
        assert sts.claim(0) is not None and sts.host_port(0) == ports[0]


async def _scale_marker(server: sandbox.Sandbox, kubectl: Kubectl) -> None:
    body = _statefulset("marker", replicas=1, when_scaled="Delete", when_deleted="Retain")
    await kubectl("apply", "-f", "-", input=json.dumps(body))
    marker = StatefulSetController(server, kubectl, "marker")
    await marker.create_pod(0)
    await marker.delete_pod(0)
    await _scale(kubectl, "marker", 0)
    await poll_until(lambda: marker.claim(0) is None, within=10)


async def test_statefulset_deletion_deletes_claims_under_when_deleted_delete(
    sandbox: sandbox.Sandbox, kubectl: Kubectl, hpa: Hpa
) -> None:
    """Under whenDeleted=Delete the claims are owned by the StatefulSet and go with it."""
    await _setup(sandbox, kubectl)
    async with hpa():
        body = _statefulset("db", replicas=1, when_scaled="Retain", when_deleted="Delete")
        await kubectl("apply", "-f", "-", input=json.dumps(body))
        sts = StatefulSetController(sandbox, kubectl, "db")
        await sts.create_pod(0)
        claim = sts.claim(0)
        assert claim is not None
        assert claim["metadata"]["ownerReferences"][0]["name"] == "db"
        await kubectl("delete", "statefulset", "db", "--wait=false")
        await poll_until(lambda: sts.claim(0) is None, within=10)
