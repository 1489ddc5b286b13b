"""The :class:`tests.clusters.Cluster` of a sandbox: writes over HTTPS, reads of its store.

The sandbox's own fault injection, store and Service map stand where the control plane needs a
proxy, a watch and a forwarder (``tests/control_plane_cluster.py``).
"""

import contextlib
import pathlib
import shutil
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

from hpa import api, kube, manifests, sandbox
from tests import polling

Obj = dict[str, Any]
Listener = Callable[[str, Obj], None]

_RESOURCES = {
    r.plural: r
    for r in (
        kube.CLASSES, kube.CLAIMS, kube.HOSTPORTS, kube.PODS, kube.EVENTS, kube.LEASES,
        kube.STATEFULSETS, kube.NODES,
    )
}  # fmt: skip
#: The objects of hpa's install that the sandbox needs (as ``hpa sandbox``).
_WEBHOOK_KINDS = {"Namespace", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
WEBHOOK_SERVICE = (api.DEFAULT_NAMESPACE, api.WEBHOOK_SERVICE, api.WEBHOOK_SERVICE_PORT)


class SandboxCluster:
    """The cluster a test drives on a sandbox (see the module docstring)."""

    operator_namespace = "default"
    runs_controllers = False

    def __init__(
        self, server: sandbox.Sandbox, client: kube.Client, *, kubeconfig: pathlib.Path
    ) -> None:
        self.server = server
        self.client = client
        self.url = server.url
        self.token = server.token
        self.kubeconfig = kubeconfig
        self.operator_kubeconfig = kubeconfig
        self.direct_kubeconfig = kubeconfig
        self.kubectl_executable = shutil.which("kubectl")

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls, server: sandbox.Sandbox, kubeconfig: pathlib.Path
    ) -> AsyncIterator["SandboxCluster"]:
        """Drive ``server`` through a kr8s client of its ``kubeconfig``."""
        transport = await kube.Kr8sTransport.connect(kubeconfig=str(kubeconfig))
        try:
            yield cls(server, kube.Client(transport), kubeconfig=kubeconfig)
        finally:
            await transport.aclose()

    @classmethod
    @contextlib.asynccontextmanager
    async def started(cls, workdir: pathlib.Path) -> AsyncIterator["SandboxCluster"]:
        """A new sandbox with hpa's CRDs, driven until exited."""
        async with sandbox.Sandbox() as server:
            await server.install_crds()
            kubeconfig = server.write_kubeconfig(workdir / "kubeconfig")
            async with cls.connect(server, kubeconfig) as cluster:
                yield cluster

    def ssl_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.server.cert_pem.decode())

    def _storage(self, plural: str) -> tuple[str, str]:
        resource = _RESOURCES[plural]
        found = self.server.registry.get(resource.group, resource.version, plural)
        assert found is not None, plural
        return found.storage_key

    # -- the scenarios' Cluster ----------------------------------------------------------------

    async def create(self, obj: Obj) -> Obj:
        """Create an object; returns the stored object (do not mutate it)."""
        return await self.server.create(obj)

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

    def fail(self, *, verb: str, resource: str, status: int, times: int | None = 1) -> None:
        self.server.faults.fail(verb=verb, resource=resource, status=status, times=times)

    def drop_watches(self) -> None:
        self.server.faults.drop_watches()

    def expire(self) -> None:
        self.server.faults.expire_watch_window()

    # -- what the feature and reliability suites need besides ----------------------------------

    def fail_all(
        self, *, verb: str | None = None, resource: str | None = None, status: int = 500
    ) -> None:
        self.server.faults.fail(verb=verb, resource=resource, status=status, times=None)

    def hang(
        self, *, verb: str | None = None, resource: str | None = None, seconds: float, times: int
    ) -> None:
        self.server.faults.hang(verb=verb, resource=resource, seconds=seconds, times=times)

    def clear_faults(self) -> None:
        self.server.faults.clear()

    async def patch_status(self, plural: str, obj: Obj, status: Obj) -> Obj:
        """Set ``status`` on a stored object: on the very object the sandbox stored, as its
        ``create`` returns it."""
        obj["status"] = status
        return obj

    async def vanish(self, plural: str, name: str, namespace: str = "") -> None:
        """Remove an object from the store whatever its finalizers say, as an etcd restore from
        an older backup would (watchers see it DELETED)."""
        storage = self._storage(plural)
        stored = dict(self.server.store.get(storage, (namespace, name)) or {})
        rv = self.server.store.next_rv()
        stored["metadata"] = {**stored["metadata"], "resourceVersion": str(rv)}
        self.server.store.write("DELETED", storage, (namespace, name), stored, rv=rv)

    async def ensure_namespace(self, name: str, *, managed: bool) -> None:
        labels = {api.NAMESPACE_LABEL: api.NAMESPACE_LABEL_VALUE} if managed else {}
        await self.server.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}
        )

    async def install_webhooks(self) -> None:
        """hpa's namespace and webhook configurations (calling hpa's Service)."""
        for document in manifests.install_documents():
            if document["kind"] in _WEBHOOK_KINDS:
                await self.server.create(document)

    async def route_webhook(self, port: int) -> None:
        """Map hpa's webhook Service to the admission server on ``port``; returns once hpa has
        written its CA into the configurations."""
        self.server.service_map[WEBHOOK_SERVICE] = f"127.0.0.1:{port}"
        await polling.eventually(self._ca_injected, timeout=10)

    def _ca_injected(self) -> bool:
        found = self.server.get(
            "admissionregistration.k8s.io/v1",
            "ValidatingWebhookConfiguration",
            api.VALIDATING_CONFIGURATION,
        )
        return found is not None and all(
            hook.get("clientConfig", {}).get("caBundle") for hook in found.get("webhooks", [])
        )

    async def controllers_know(self, plural: str) -> None:
        """The sandbox runs no controllers; it counts quotas from the start."""

    async def subscribe(self, plural: str, listener: Listener) -> None:
        """Call ``listener(type, obj)`` synchronously with each change of a resource."""
        storage = self._storage(plural)

        def observe(event: Any) -> None:
            if event.storage == storage:
                listener(event.type, event.obj)

        self.server.store.subscribe(observe)
