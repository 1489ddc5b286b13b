"""The :class:`Sandbox`: an in-process Kubernetes API server for tests and ``hpa sandbox``."""

import asyncio
import contextlib
import math
import pathlib
import secrets
import ssl
import tempfile
from types import TracebackType
from typing import Any, Self

import structlog
from aiohttp import web

from hpa import api
from hpa.sandbox import (
    _admission,
    _builtins,
    _calls,
    _engine,
    _faults,
    _lifecycle,
    _quota,
    _resources,
    _server,
    _statefulsets,
    _store,
    _tls,
    _watching,
)

JSON = dict[str, Any]
logger = structlog.get_logger(__name__)


class Sandbox:
    """An API server emulator serving HTTPS with bearer-token auth.

    Args:
        host: Address to bind.
        port: Port to bind (``0``: any free port).
        token: The bearer token clients must send (random if ``None``).
        watch_window: How many events are kept for watches to resume from; older versions
            answer ``410 Gone``.
        service_map: ``(namespace, name, port)`` of a Service → ``host:port`` that webhook
            calls to that service go to.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        token: str | None = None,
        watch_window: int = 10_000,
        service_map: dict[tuple[str, str, int], str] | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self.token = token or secrets.token_urlsafe(24)
        self.registry = _resources.Registry()
        self.store = _store.Store(window=watch_window)
        self.hub = _watching.Hub()
        self.store.subscribe(self.hub.publish)
        self.engine = _engine.Engine(registry=self.registry, store=self.store)
        self.engine.builtin_validators[("", "pods")] = _builtins.validate_pod
        self.engine.builtin_validators[("", "events")] = _builtins.validate_event
        self.engine.builtin_defaulters[("", "pods")] = _builtins.default_pod
        self.engine.builtin_defaulters[("", "secrets")] = _builtins.default_secret
        self.lifecycle = _lifecycle.Lifecycle(self.engine)
        self.engine.builtin_validators[_statefulsets.STATEFULSETS] = _statefulsets.validate
        self.engine.builtin_defaulters[_statefulsets.STATEFULSETS] = _statefulsets.default
        self.statefulsets = _statefulsets.StatefulSets(self.engine, self.lifecycle)
        self.quotas = _quota.Quotas(self.engine)
        self.admission = _admission.Admission(
            store=self.store, registry=self.registry, service_map=dict(service_map or {})
        )
        self.engine.admission = self.admission
        self.faults = _faults.Faults(drop_watches=self.hub.close_all, expire=self.store.expire)
        self.server = _server.Server(
            engine=self.engine, lifecycle=self.lifecycle, hub=self.hub, faults=self.faults,
            token=self.token,
        )  # fmt: skip
        self.cert_pem, self.key_pem = _tls.self_signed_certificate([host, "localhost"])
        self._runner: web.AppRunner | None = None
        #: The controllers' tasks: garbage collection and namespaces, StatefulSets.
        self._background: list[asyncio.Task[None]] = []

    # -- lifecycle -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``https://host:port`` (after :meth:`start`)."""
        return f"https://{self.host}:{self.port}"

    @property
    def service_map(self) -> dict[tuple[str, str, int], str]:
        """Where webhook calls to a Service go; tests may add entries at any time."""
        return self.admission.service_map

    def _ssl_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        with tempfile.TemporaryDirectory() as directory:
            cert = pathlib.Path(directory, "tls.crt")
            key = pathlib.Path(directory, "tls.key")
            cert.write_bytes(self.cert_pem)
            key.write_bytes(self.key_pem)
            context.load_cert_chain(cert, key)
        return context

    async def start(self) -> None:
        """Create ``default`` and ``kube-system``, bind, and serve HTTPS."""
        for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
            await self.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
        loop = asyncio.get_running_loop()
        self._background = [
            loop.create_task(self.lifecycle.run(), name="sandbox lifecycle"),
            loop.create_task(self.statefulsets.run(), name="sandbox statefulsets"),
        ]
        self._runner = web.AppRunner(
            self.server.application(),
            access_log=None,
            handler_cancellation=True,
            shutdown_timeout=0.5,
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self._ssl_context())
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = sockets[0].getsockname()[1]
        self.server.address = f"{self.host}:{self.port}"
        logger.info("sandbox serving", url=self.url)

    async def stop(self) -> None:
        """Close every watch and stop serving."""
        self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in self._background:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._background = []
        self.lifecycle.close()
        self.statefulsets.close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.stop()

    # -- helpers for tests and the CLI ---------------------------------------------------

    def write_kubeconfig(self, path: str | pathlib.Path) -> pathlib.Path:
        """Write a kubeconfig for this sandbox (cluster, CA data, token); returns its path."""
        document = _tls.kubeconfig(server=self.url, ca_pem=self.cert_pem, token=self.token)
        return _tls.write_kubeconfig(pathlib.Path(path).absolute(), document)

    async def create(self, obj: JSON, *, namespace: str | None = None) -> JSON:
        """Create an object directly (no HTTP); returns the stored object."""
        resource = self.registry.by_kind(obj["apiVersion"], obj["kind"])
        if resource is None:
            raise LookupError(f"no resource serves {obj['apiVersion']} {obj['kind']}")
        ns = (
            namespace
            or obj.get("metadata", {}).get("namespace")
            or ("default" if resource.namespaced else None)
        )
        call = _calls.Call(resource=resource, verb="create", namespace=ns)
        return await self.engine.create(call, _engine.clone(obj))

    def get(
        self, api_version: str, kind: str, name: str, *, namespace: str | None = None
    ) -> JSON | None:
        """The stored object, or ``None`` (no HTTP, no copy: do not mutate it)."""
        resource = self.registry.by_kind(api_version, kind)
        if resource is None:
            return None
        key = _engine.storage_key(resource, namespace, name)
        return self.store.get(resource.storage_key, key)

    async def install_crds(self, crds: list[JSON] | None = None) -> None:
        """Create (or replace) CRDs; by default hpa's own."""
        for crd in api.custom_resource_definitions() if crds is None else crds:
            existing = self.get(
                "apiextensions.k8s.io/v1", "CustomResourceDefinition", crd["metadata"]["name"]
            )
            if existing is None:
                await self.create(crd)
            else:
                resource = self.registry.by_kind(
                    "apiextensions.k8s.io/v1", "CustomResourceDefinition"
                )
                assert resource is not None
                call = _calls.Call(resource=resource, verb="update", name=crd["metadata"]["name"])
                await self.engine.replace(call, existing, _engine.clone(crd))

    # -- counters ------------------------------------------------------------------------

    @property
    def counters(self) -> _server.Counters:
        """Request counters (``total``, ``by_verb``, ``by_resource``, ``writes``)."""
        return self.server.counters

    @property
    def request_count(self) -> int:
        """How many API requests were served."""
        return self.server.counters.total

    @property
    def write_count(self) -> int:
        """How many create/update/patch/delete requests were served."""
        return self.server.counters.writes

    @property
    def bookmark_interval(self) -> float:
        """Seconds between BOOKMARK events on watches that allow them."""
        return self.server.bookmark_interval

    @bookmark_interval.setter
    def bookmark_interval(self, seconds: float) -> None:
        self.server.bookmark_interval = seconds if seconds > 0 else math.inf

    @property
    def watch_count(self) -> int:
        """How many watches are open."""
        return self.hub.count()
