"""The operator scenarios run against the sandbox API server, over HTTPS through kr8s."""

import pathlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from hpa import kube, sandbox
from tests.operator_fixtures import Obj, Start, operator_starter

_RESOURCES = {
    r.plural: r
    for r in (kube.CLASSES, kube.CLAIMS, kube.HOSTPORTS, kube.PODS, kube.EVENTS, kube.LEASES)
}


class SandboxCluster:
    """The ``Cluster`` of the scenarios over a sandbox: writes over HTTPS, reads of its store."""

    def __init__(self, server: sandbox.Sandbox, client: kube.Client) -> None:
        self.server = server
        self.client = client

    def _storage(self, plural: str) -> tuple[str, str]:
        resource = _RESOURCES[plural]
        found = self.server.registry.get(resource.group, resource.version, plural)
        assert found is not None, plural
        return found.storage_key

    async def add(self, plural: str, obj: Obj) -> None:
        await self.server.create(obj)

    async def delete(self, plural: str, name: str, namespace: str = "") -> None:
        await self.client.delete(_RESOURCES[plural], name, namespace=namespace)

    def get(self, plural: str, name: str, namespace: str = "") -> Obj | None:
        return self.server.store.get(self._storage(plural), (namespace, name))

    def items(self, plural: str) -> list[Obj]:
        return list(self.server.store.items(self._storage(plural)))

    def count(self, plural: str, phase: str = "") -> int:
        if not phase:
            return self.server.store.count(self._storage(plural))
        return sum(1 for o in self.items(plural) if o.get("status", {}).get("phase") == phase)

    def fail(self, *, verb: str, resource: str, status: int, times: int = 1) -> None:
        self.server.faults.fail(verb=verb, resource=resource, status=status, times=times)

    def drop_watches(self) -> None:
        self.server.faults.drop_watches()

    def expire(self) -> None:
        self.server.faults.expire_watch_window()


@pytest.fixture
async def cluster(
    sandbox: sandbox.Sandbox, kubeconfig: pathlib.Path
) -> AsyncIterator[SandboxCluster]:
    """The sandbox, driven as a cluster."""
    transport = await kube.Kr8sTransport.connect(kubeconfig=str(kubeconfig))
    yield SandboxCluster(sandbox, kube.Client(transport))
    await transport.aclose()


@pytest.fixture
def operator(kubeconfig: pathlib.Path) -> Start:
    """Start operators on the sandbox through kr8s; keyword arguments override the config."""
    settings: dict[str, Any] = {"kubeconfig": str(kubeconfig)}
    return operator_starter(lambda: None, **settings)
