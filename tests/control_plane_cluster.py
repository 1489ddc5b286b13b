"""One test's view of the shared control plane: the :class:`tests.clusters.Cluster` it drives.

:meth:`ControlPlaneCluster.open` resets the control plane, then serves, in the test's event loop:

- a :class:`tests.faultproxy.FaultProxy` in front of kube-apiserver, which the operator's
  kubeconfig (``operator_kubeconfig``, hpa's ServiceAccount) names, so faults can be injected
  and RBAC still applies; ``direct_kubeconfig`` is the same identity without the proxy, for
  operators in child processes, which no test injects faults into;
- a :class:`Forwarder` standing in for hpa's webhook Service: the webhook configurations call it
  by URL, and it forwards each connection (TLS and all) to the hpa process the test routes it to.

The test's own writes go straight to kube-apiserver as the admin (httpx, async: a create may
call the webhook served in this loop); reads are the control plane's synchronous ones. Changes
to a resource can be followed with :meth:`ControlPlaneCluster.subscribe` (a watch).
"""

import asyncio
import contextlib
import itertools
import json
import pathlib
import ssl
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import httpx

from hpa import api, kube, manifests
from tests import polling
from tests.control_plane import (
    BY_KIND,
    HPA_NAMESPACE,
    RESOURCES,
    ApiError,
    ControlPlane,
    checked,
)
from tests.faultproxy import FaultProxy

Obj = dict[str, Any]
Listener = Callable[[str, Obj], None]

#: A namespace whose pods hpa's webhooks see, for probing that kube-apiserver calls them.
PROBE_NAMESPACE = "hpa-webhook-probe"
_WEBHOOK_KINDS = {"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"}
_MERGE = {"Content-Type": "application/merge-patch+json"}


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        writer.close()


class Forwarder:
    """Forwards the connections to its ``port`` to 127.0.0.1:``backend``, as a Service's
    virtual IP forwards them to a ready pod; with no backend, a connection is refused."""

    def __init__(self) -> None:
        self.port = 0
        self.backend = 0
        self._server: asyncio.Server | None = None
        self._connections: set[asyncio.Task[Any]] = set()

    async def __aenter__(self) -> "Forwarder":
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        for connection in list(self._connections):
            connection.cancel()
        await asyncio.gather(*self._connections, return_exceptions=True)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        try:
            try:
                upstream = await asyncio.open_connection("127.0.0.1", self.backend)
            except OSError:
                writer.close()
                return
            await asyncio.gather(_pipe(reader, upstream[1]), _pipe(upstream[0], writer))
        finally:
            self._connections.discard(task)


class ControlPlaneCluster:
    """The cluster a test drives on the control plane (see the module docstring)."""

    operator_namespace = HPA_NAMESPACE
    runs_controllers = True

    def __init__(
        self, plane: ControlPlane, *, proxy: FaultProxy, forwarder: Forwarder,
        client: httpx.AsyncClient, workdir: pathlib.Path,
    ) -> None:  # fmt: skip
        self.plane = plane
        self.proxy = proxy
        self._forwarder = forwarder
        self._client = client
        self._watches: list[asyncio.Task[None]] = []
        self._probe_error = ""
        self.url = plane.url
        self.token = plane.admin_token
        self.kubeconfig = plane.kubeconfig
        self.kubectl_executable: str | None = str(plane.kubectl)
        self.operator_kubeconfig = plane.service_account_kubeconfig(
            workdir / "hpa-proxied.kubeconfig", server=proxy.url
        )
        self.direct_kubeconfig = plane.service_account_kubeconfig(workdir / "hpa.kubeconfig")

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls, plane: ControlPlane, workdir: pathlib.Path
    ) -> AsyncIterator["ControlPlaneCluster"]:
        """Reset the control plane and serve the proxy and the forwarder until exited."""
        plane.reset()
        async with (
            FaultProxy(plane.url, ssl_context=plane.ssl_context()) as proxy,
            Forwarder() as forwarder,
            httpx.AsyncClient(
                base_url=plane.url,
                verify=plane.ssl_context(),
                headers={"Authorization": f"Bearer {plane.admin_token}"},
                timeout=60,
                limits=httpx.Limits(max_connections=64, max_keepalive_connections=64),
            ) as client,
        ):
            cluster = cls(plane, proxy=proxy, forwarder=forwarder, client=client, workdir=workdir)
            try:
                yield cluster
            finally:
                await cluster._stop_watching()

    def ssl_context(self) -> ssl.SSLContext:
        return self.plane.ssl_context()

    # -- the scenarios' Cluster ----------------------------------------------------------------

    async def create(self, obj: Obj) -> Obj:
        """Create an object as the admin; returns it as stored."""
        resource = BY_KIND[(obj["apiVersion"], obj["kind"])]
        namespace = obj["metadata"].get("namespace") or ("default" if resource.namespaced else "")
        return checked(await self._client.post(resource.path(namespace=namespace), json=obj))

    async def add(self, plural: str, obj: Obj) -> None:
        await self.create(obj)

    async def delete(self, plural: str, name: str, namespace: str = "") -> None:
        resource = RESOURCES[plural]
        checked(await self._client.delete(resource.path(namespace=namespace, name=name)))

    def get(self, plural: str, name: str, namespace: str = "") -> Obj | None:
        return self.plane.read(RESOURCES[plural].path(namespace=namespace, name=name))

    def items(self, plural: str) -> list[Obj]:
        return self.plane.list(RESOURCES[plural])

    def count(self, plural: str, phase: str = "") -> int:
        if not phase:
            return self.plane.count(RESOURCES[plural])
        return sum(1 for o in self.items(plural) if o.get("status", {}).get("phase") == phase)

    def fail(self, *, verb: str, resource: str, status: int, times: int | None = 1) -> None:
        self.proxy.fail(verb=verb, resource=resource, status=status, times=times)

    def drop_watches(self) -> None:
        self.proxy.drop_watches()

    def expire(self) -> None:
        self.proxy.expire()

    # -- what the feature and reliability suites need besides ----------------------------------

    def fail_all(
        self, *, verb: str | None = None, resource: str | None = None, status: int = 500
    ) -> None:
        """Fail matching requests until :meth:`clear_faults`."""
        self.proxy.fail(verb=verb, resource=resource, status=status, times=None)

    def hang(
        self, *, verb: str | None = None, resource: str | None = None, seconds: float, times: int
    ) -> None:
        """Hold matching requests ``seconds``, then answer 504."""
        self.proxy.hang(verb=verb, resource=resource, seconds=seconds, times=times)

    def clear_faults(self) -> None:
        self.proxy.clear()

    async def patch_status(self, plural: str, obj: Obj, status: Obj) -> Obj:
        """Set ``status`` on a stored object through its status subresource."""
        meta = obj["metadata"]
        path = RESOURCES[plural].path(
            namespace=meta.get("namespace", ""), name=meta["name"], subresource="status"
        )
        return checked(await self._client.patch(path, json={"status": status}, headers=_MERGE))

    async def vanish(self, plural: str, name: str, namespace: str = "") -> None:
        """Remove an object whatever its finalizers say, as an etcd restore from an older
        backup would: delete it, then strip its finalizers."""
        path = RESOURCES[plural].path(namespace=namespace, name=name)
        checked(await self._client.delete(path))
        stripped = await self._client.patch(
            path, json={"metadata": {"finalizers": None}}, headers=_MERGE
        )
        if stripped.status_code != 404:
            checked(stripped)

    async def ensure_namespace(self, name: str, *, managed: bool) -> None:
        """A namespace (hpa's pod webhooks see its pods if ``managed``) whose pods can be
        created at once."""
        labels = {api.NAMESPACE_LABEL: api.NAMESPACE_LABEL_VALUE} if managed else {}
        body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        created = await self._client.post(kube.NAMESPACES.path(), json=body)
        if created.status_code != 409:
            checked(created)
        if labels:
            patch = {"metadata": {"labels": labels}}
            path = kube.NAMESPACES.path(name=name)
            checked(await self._client.patch(path, json=patch, headers=_MERGE))
        self.plane.ensure_service_account(name)

    async def install_webhooks(self) -> None:
        """hpa's webhook configurations, calling the forwarder by URL."""
        options = manifests.Options(webhook_url=f"https://127.0.0.1:{self._forwarder.port}")
        for document in manifests.install_documents(options):
            if document["kind"] in _WEBHOOK_KINDS:
                await self.create(document)
        await self.ensure_namespace(PROBE_NAMESPACE, managed=True)

    async def route_webhook(self, port: int) -> None:
        """Send the webhook calls to the admission server on ``port``; returns once
        kube-apiserver calls it with the CA that hpa wrote into the configurations."""
        self._forwarder.backend = port
        await polling.eventually(
            self._webhook_answers, timeout=30, interval=0.1, message=lambda: self._probe_error
        )

    async def _webhook_answers(self) -> bool:
        """Whether kube-apiserver calls hpa's pod webhooks (which fail closed) successfully for
        a (dry-run) pod in a managed namespace: it does once it has loaded a caBundle that
        verifies hpa. The pod carries hpa's label so that the webhooks' matchConditions let it
        through; hpa may admit it or deny it, either answer is hpa's."""
        pod = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": "probe", "labels": {api.POD_LABEL: "true"}},
            "spec": {"containers": [{"name": "probe", "image": "registry.invalid/probe:1"}]},
        }
        path = kube.PODS.path(namespace=PROBE_NAMESPACE)
        answer = await self._client.post(path, params={"dryRun": "All"}, json=pod)
        self._probe_error = f"the webhook is not called: {answer.status_code} {answer.text}"
        denied = answer.status_code < 500 and "denied the request" in answer.text
        return answer.status_code == 201 or denied

    async def controllers_know(self, plural: str) -> None:
        """Return once kube-controller-manager's garbage collector and quota controller work on
        objects of ``plural`` (only claims are probed).

        Both look for new resources in discovery every 30 s. Until the collector has found
        one, an object of it whose owner is gone stays; a quota created before the quota
        controller has found it gets no usage until its spec changes or the 5-minute resync,
        and kube-apiserver refuses what it limits meanwhile ("status unknown for quota").
        """
        if plural in self.plane.known_to_controllers:
            return
        assert plural == api.PLURAL_CLAIM, "only claims have a probe"
        await self.ensure_namespace(PROBE_NAMESPACE, managed=False)
        async with anyio.create_task_group() as probes:
            probes.start_soon(self._collected)
            probes.start_soon(self._counted, f"count/{plural}.{api.GROUP}")
        self.plane.known_to_controllers.add(plural)

    async def _collected(self) -> None:
        """A claim whose owner never existed is deleted once the collector watches claims."""
        orphan = {
            "apiVersion": api.API_VERSION,
            "kind": api.KIND_CLAIM,
            "metadata": {
                "name": "gc-probe",
                "namespace": PROBE_NAMESPACE,
                "ownerReferences": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "name": "gc-probe",
                     "uid": "00000000-0000-0000-0000-000000000000"}
                ],
            },
            "spec": {"hostPortClassName": "gc-probe"},
        }  # fmt: skip
        await self.create(orphan)
        await polling.eventually(
            lambda: self.get(api.PLURAL_CLAIM, "gc-probe", PROBE_NAMESPACE) is None,
            timeout=90,
            interval=0.5,
            message="the garbage collector does not collect claims",
        )

    async def _counted(self, key: str) -> None:
        """A quota counts ``key`` once its usage shows it; its limit changes at each look,
        which makes the quota controller count it again."""
        path = RESOURCES["resourcequotas"].path(namespace=PROBE_NAMESPACE, name="quota-probe")
        quota = {
            "apiVersion": "v1",
            "kind": "ResourceQuota",
            "metadata": {"name": "quota-probe", "namespace": PROBE_NAMESPACE},
            "spec": {"hard": {key: "1000"}},
        }
        await self.create(quota)
        limits = itertools.count(1001)

        async def counted() -> bool:
            status = checked(await self._client.get(path)).get("status", {})
            if key in status.get("used", {}):
                return True
            patch = {"spec": {"hard": {key: str(next(limits))}}}
            checked(await self._client.patch(path, json=patch, headers=_MERGE))
            return False

        await polling.eventually(
            counted, timeout=90, interval=1.0, message="the quota controller does not count"
        )
        checked(await self._client.delete(path))

    # -- watching ------------------------------------------------------------------------------

    async def subscribe(self, plural: str, listener: Listener) -> None:
        """Call ``listener(type, obj)`` for each change of a resource from now on; returns
        once the watch is open."""
        resource = RESOURCES[plural]
        listed = checked(await self._client.get(resource.path(), params={"limit": "1"}))
        opened = asyncio.Event()
        watch = self._follow(resource, listed["metadata"]["resourceVersion"], listener, opened)
        self._watches.append(asyncio.create_task(watch, name=f"watch {plural}"))
        await opened.wait()

    async def _follow(
        self, resource: kube.Resource, version: str, listener: Listener, opened: asyncio.Event
    ) -> None:
        while True:
            params = {"watch": "1", "resourceVersion": version, "allowWatchBookmarks": "true"}
            async with self._client.stream(
                "GET", resource.path(), params=params, timeout=httpx.Timeout(None, connect=10)
            ) as response:
                if response.status_code != 200:
                    raise ApiError(response.status_code, (await response.aread()).decode())
                opened.set()
                async for line in response.aiter_lines():
                    if not line:
                        continue
                    event = json.loads(line)
                    if event["type"] == "ERROR":  # an observer that misses changes is no use
                        raise AssertionError(f"watching {resource.plural}: {event['object']}")
                    version = event["object"]["metadata"]["resourceVersion"]
                    if event["type"] != "BOOKMARK":
                        listener(event["type"], event["object"])

    async def _stop_watching(self) -> None:
        for watch in self._watches:
            watch.cancel()
        for watch in self._watches:
            with contextlib.suppress(asyncio.CancelledError):
                await watch  # re-raises what made a watch fail
