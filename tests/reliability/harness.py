"""What the reliability scenarios share: hpa installed on the cluster of ``--api-server`` (the
sandbox, or the real control plane: ``tests/clusters.py``), the operator as a child process, raw
API calls, the invariants, and the arithmetic of the figures.

The invariants are those docs/architecture.md promises ("The invariants"), checked on
what the API server stores: no port is held by two HostPorts, no HostPort is orphaned, every
bound claim holds exactly the port its HostPort holds, and no claim was ever bound to two ports.
"""

import collections
import contextlib
import json
import os
import pathlib
import signal
import ssl
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import aiohttp
import anyio
import anyio.abc
import anyio.streams.text

from hpa import api, sandbox
from tests import polling
from tests.clusters import Cluster
from tests.reliability import child
from tests.sandbox_cluster import SandboxCluster

Obj = dict[str, Any]
REPO_ROOT = pathlib.Path(__file__).resolve().parents[2]
GROUP_PATH = f"/apis/{api.API_VERSION}"

memory_kb = child.memory_kb


# -- the cluster ------------------------------------------------------------------------------


@contextlib.asynccontextmanager
async def driven(
    target: Cluster | sandbox.Sandbox, workdir: pathlib.Path
) -> AsyncIterator[Cluster]:
    """The cluster a scenario drives: ``target``, or a sandbox given as ``bench/reliability.py``
    gives it (driven as the tests' sandbox cluster is)."""
    if not isinstance(target, sandbox.Sandbox):
        yield target
        return
    kubeconfig = target.write_kubeconfig(workdir / "kubeconfig")
    async with SandboxCluster.connect(target, kubeconfig) as cluster:
        yield cluster


async def install_hpa(cluster: Cluster, *, pod_namespace: str = "apps") -> None:
    """hpa's webhook configurations, and a namespace whose pods hpa admits; the webhook is
    called once :meth:`~tests.clusters.Cluster.route_webhook` names a replica."""
    await cluster.install_webhooks()
    await cluster.ensure_namespace(pod_namespace, managed=True)


def host_port_class(
    name: str, start: int, end: int, *, allocation: str = api.ALLOCATION_CLUSTER_WIDE
) -> Obj:
    """A HostPortClass with one pool (``allocation`` PerNode: every schedulable node counts)."""
    spec: Obj = {"pools": [{"start": start, "end": end}]}
    if allocation != api.ALLOCATION_CLUSTER_WIDE:
        spec["allocation"] = allocation
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLASS,
        "metadata": {"name": name},
        "spec": spec,
    }


def claim(name: str, *, namespace: str, class_name: str) -> Obj:
    """A HostPortClaim."""
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLAIM,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hostPortClassName": class_name},
    }


def pod(name: str, *, namespace: str, claim_name: str, port_name: str = "web") -> Obj:
    """A pod that asks for a claim's port, as a user writes it (the webhook fills in the rest)."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "annotations": {f"{api.CLAIM_ANNOTATION_PREFIX}{port_name}": claim_name},
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.invalid/app:1",
                    "ports": [{"name": port_name, "containerPort": 8080}],
                }
            ]
        },
    }


def claims_path(namespace: str) -> str:
    return f"{GROUP_PATH}/namespaces/{namespace}/{api.PLURAL_CLAIM}"


def pods_path(namespace: str) -> str:
    return f"/api/v1/namespaces/{namespace}/pods"


class Api:
    """Raw HTTPS calls to the API server as its admin: every answer is returned, whatever its
    status."""

    def __init__(self, cluster: Cluster | sandbox.Sandbox, *, connections: int = 32) -> None:
        self._cluster = cluster
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Api":
        if isinstance(self._cluster, sandbox.Sandbox):  # bench/reliability.py's, unwrapped
            context = ssl.create_default_context(cadata=self._cluster.cert_pem.decode())
        else:
            context = self._cluster.ssl_context()
        self._session = aiohttp.ClientSession(
            base_url=self._cluster.url,
            headers={"Authorization": f"Bearer {self._cluster.token}"},
            connector=aiohttp.TCPConnector(ssl=context, limit=self._connections),
            timeout=aiohttp.ClientTimeout(total=60),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._session is not None
        await self._session.close()

    async def call(
        self, method: str, path: str, body: Any = None, *, raw: bytes | None = None,
        content_type: str = "application/json",
    ) -> tuple[int, Any]:  # fmt: skip
        """``(status, decoded JSON body or None)``."""
        assert self._session is not None
        data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
        async with self._session.request(
            method, path, data=data, headers={"Content-Type": content_type}
        ) as response:
            text = await response.read()
        try:
            return response.status, json.loads(text)
        except ValueError:
            return response.status, None

    async def items(self, path: str) -> list[Obj]:
        """A LIST's items (fails on an error status)."""
        status, body = await self.call("GET", path)
        assert status == 200, (status, body)
        return list(body["items"])


# -- the operator as a child process ----------------------------------------------------------


class OperatorProcess:
    """``run_process`` in a child process (see :mod:`tests.reliability.child`).

    Args:
        kubeconfig: the operator's kubeconfig (the cluster's ``direct_kubeconfig``).
        log: where the child's log lines go.
        settings: ``OperatorConfig`` fields, and ``report_interval``.
    """

    def __init__(self, *, kubeconfig: pathlib.Path, log: pathlib.Path, **settings: Any) -> None:
        self.settings = {
            "kubeconfig": str(kubeconfig),
            "namespace": api.DEFAULT_NAMESPACE,
            **settings,
        }
        self.log = log
        self.samples: list[Obj] = []
        self.started: Obj = {}
        self._ready = anyio.Event()
        self._dump: Obj | None = None
        self._dumped = anyio.Event()
        self.process: anyio.abc.Process | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    @property
    def webhook_port(self) -> int:
        return int(self.started["webhook_port"])

    @property
    def metrics_port(self) -> int:
        return int(self.started["metrics_port"])

    @contextlib.asynccontextmanager
    async def running(self, *, within: float = 60) -> AsyncIterator["OperatorProcess"]:
        """Start the child, yield once it reports ``started``, then stop it (SIGTERM)."""
        environment = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        command = [sys.executable, "-m", "tests.reliability.child", json.dumps(self.settings)]
        with self.log.open("ab") as log:
            self.process = await anyio.open_process(
                command, cwd=REPO_ROOT, env=environment, stderr=log, stdin=None
            )
        async with anyio.create_task_group() as group:
            group.start_soon(self._read)
            try:
                with anyio.fail_after(within):
                    await self._ready.wait()
                yield self
            finally:
                with anyio.CancelScope(shield=True):
                    await self.stop()
                group.cancel_scope.cancel()

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        buffer = ""
        async for chunk in anyio.streams.text.TextReceiveStream(self.process.stdout):
            buffer += chunk
            *lines, buffer = buffer.split("\n")
            for line in lines:
                self._receive(json.loads(line))

    def _receive(self, message: Obj) -> None:
        if message["event"] == "started":
            self.started = message
            self._ready.set()
        elif message["event"] == "held":
            self._dump = message
            self._dumped.set()
        if "rss_kb" in message:
            self.samples.append(message)

    def tail(self, lines: int = 30) -> str:
        """The last lines of the child's log (for failure messages)."""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])

    async def held_ports(self, *, within: float = 10) -> set[tuple[int, int | None, str]]:
        """The ports the child's index holds, as (port, slot, class); slot None for a
        cluster-wide HostPort."""
        self._dumped = anyio.Event()
        os.kill(self.pid, signal.SIGUSR1)
        with anyio.fail_after(within):
            await self._dumped.wait()
        assert self._dump is not None
        return {(int(port), None, str(cls)) for port, cls in self._dump["ports"]} | {
            (int(port), int(slot), str(cls)) for port, slot, cls in self._dump["slots"]
        }

    def kill(self) -> None:
        """SIGKILL: no Lease release, no draining."""
        if self.alive:
            os.kill(self.pid, signal.SIGKILL)

    async def stop(self, *, within: float = 15) -> None:
        """SIGTERM and wait (SIGKILL after ``within``)."""
        if self.process is None:
            return
        if self.alive:
            self.process.terminate()
        with anyio.move_on_after(within):
            await self.process.wait()
        if self.alive:
            self.process.kill()
            await self.process.wait()

    def peak_rss_mb(self) -> float:
        """The child's peak RSS (VmHWM) in MB."""
        return max((s["hwm_kb"] for s in self.samples), default=0) / 1024


# -- invariants -------------------------------------------------------------------------------


class BindingLog:
    """Follows the claims the API server stores: when each was first Bound, and every port and
    HostPort it was Bound to (more than one would break "a bound claim's port never changes";
    on a per-node class two slots of one port are two HostPorts)."""

    def __init__(self) -> None:
        self.bound_at: dict[str, float] = {}
        self.ports: dict[str, set[int]] = collections.defaultdict(set)
        self.hostports: dict[str, set[str]] = collections.defaultdict(set)
        #: Each claim's HostPort when it was first seen Bound.
        self.first_hostport: dict[str, str] = {}
        self.newly_bound: collections.deque[tuple[str, int]] = collections.deque()
        self.deleted: set[str] = set()
        self.changed = anyio.Event()
        self._waiters: dict[tuple[str, str], anyio.Event] = {}

    @classmethod
    async def watching(cls, cluster: Cluster) -> "BindingLog":
        """A log of the claims' changes from now on."""
        log = cls()
        await cluster.subscribe(api.PLURAL_CLAIM, log.observe)
        return log

    async def wait_for(self, what: str, key: str, *, within: float = 30) -> None:
        """Wait until the claim ``namespace/name`` is ``"bound"`` or ``"deleted"``."""
        done = self.bound_at if what == "bound" else self.deleted
        if key in done:
            return
        event = self._waiters.setdefault((what, key), anyio.Event())
        with anyio.fail_after(within):
            await event.wait()

    def _wake(self, what: str, key: str) -> None:
        event = self._waiters.pop((what, key), None)
        if event is not None:
            event.set()

    def observe(self, type: str, obj: Obj) -> None:
        """Take in one change (``ADDED``, ``MODIFIED`` or ``DELETED``) of a claim."""
        key = f"{obj['metadata'].get('namespace')}/{obj['metadata']['name']}"
        if type == "DELETED":
            self.deleted.add(key)
            self._wake("deleted", key)
            self.changed.set()
            return
        status = obj.get("status") or {}
        if status.get("phase") == api.PHASE_BOUND and status.get("port"):
            incarnation = f"{key}/{obj['metadata']['uid']}"
            self.ports[incarnation].add(status["port"])
            name = (obj.get("spec") or {}).get("hostPortName")
            if name:
                self.hostports[incarnation].add(name)
                self.first_hostport.setdefault(key, name)
            if key not in self.bound_at:
                self.bound_at[key] = time.perf_counter()
                self.newly_bound.append((key, status["port"]))
                self._wake("bound", key)
                self.changed.set()

    def rebound(self) -> dict[str, set[Any]]:
        """Claims that were Bound to more than one port, or to more than one HostPort."""
        found: dict[str, set[Any]] = {k: n for k, n in self.hostports.items() if len(n) > 1}
        return found | {key: ports for key, ports in self.ports.items() if len(ports) > 1}


class Listing(Protocol):
    """What the invariant checks read: the objects a cluster stores."""

    def items(self, plural: str) -> list[Obj]: ...


def hostport_key(hostport: Obj) -> tuple[int, int | None]:
    """What a HostPort holds: (port, slot), slot None for a cluster-wide one."""
    return hostport["spec"]["port"], hostport["spec"].get("slot")


def hostport_slot(name: str) -> int | None:
    """The slot a HostPort's name gives (None for ``port-<n>`` or a name of no derived form)."""
    parsed = api.parse_hostport_name(name)
    return parsed[1] if parsed else None


def claim_key(bound_claim: Obj) -> tuple[int, int | None]:
    """What a Bound claim holds: its port, and the slot its HostPort's name gives."""
    name = bound_claim["spec"].get("hostPortName") or ""
    return bound_claim["status"]["port"], hostport_slot(name)


def assert_consistent(cluster: Listing, *, bound: int | None = None) -> None:
    """No port (or per-node (port, slot)) held twice, no orphaned HostPort, every bound claim's
    port is its HostPort's; with ``bound``, exactly that many claims, all Bound, each with one
    HostPort."""
    hostports = cluster.items(api.PLURAL_HOSTPORT)
    claims = cluster.items(api.PLURAL_CLAIM)
    by_key = collections.Counter(hostport_key(h) for h in hostports)
    twice = [p for p, n in by_key.items() if n > 1]
    assert not twice, f"ports held by two HostPorts: {twice[:20]}"
    # A cluster-wide HostPort holds its port on every node: no slot of it may be held too.
    whole = {port for port, slot in by_key if slot is None}
    mixed = sorted({port for port, slot in by_key if slot is not None and port in whole})
    assert not mixed, f"ports held cluster-wide and per node at once: {mixed[:20]}"
    by_uid = {c["metadata"]["uid"]: c for c in claims}
    for hostport in hostports:
        ref = hostport["spec"].get("claimRef") or {}
        owner = by_uid.get(ref.get("uid"))
        assert owner is not None, f"orphaned HostPort {hostport['metadata']['name']}"
        assert owner["spec"].get("hostPortName") == hostport["metadata"]["name"], (
            f"{hostport['metadata']['name']} names a claim bound elsewhere"
        )
    is_bound = [c for c in claims if (c.get("status") or {}).get("phase") == api.PHASE_BOUND]
    given = collections.Counter(claim_key(c) for c in is_bound)
    twice = [p for p, n in given.items() if n > 1]
    assert not twice, f"ports given to two claims: {twice[:20]}"
    held = {h["metadata"]["name"]: h["spec"]["port"] for h in hostports}
    for bound_claim in is_bound:
        name = bound_claim["spec"].get("hostPortName")
        assert held.get(name) == bound_claim["status"]["port"], (
            f"claim {bound_claim['metadata']['name']} is Bound to a port no HostPort holds"
        )
    if bound is not None:
        lost = [c["metadata"]["name"] for c in claims if c not in is_bound]
        assert not lost, f"{len(lost)} claims not Bound: {lost[:20]}"
        assert len(claims) == bound, f"{len(claims)} claims, expected {bound}"
        assert len(hostports) == bound, f"{len(hostports)} HostPorts for {bound} bound claims"


def listed_keys(hostports: list[Obj]) -> set[tuple[int, int | None, str]]:
    """What an index built from these HostPorts holds: (port, slot, class)."""
    return {(*hostport_key(h), h["spec"]["hostPortClassName"]) for h in hostports}


async def assert_index_matches_api(
    operator: OperatorProcess, http: Api, *, within: float = 15
) -> None:
    """The child's port index holds exactly the ports (and per-node slots) of the HostPorts
    the API lists."""
    difference = ""

    async def same() -> bool:
        nonlocal difference
        listed = listed_keys(await http.items(f"{GROUP_PATH}/{api.PLURAL_HOSTPORT}"))
        held = await operator.held_ports()
        difference = (
            f"index and API differ: only in the index {sorted(held - listed)[:20]}, "
            f"only in the API {sorted(listed - held)[:20]}"
        )
        return held == listed

    await polling.eventually(same, timeout=within, interval=0.2, message=lambda: difference)


async def eventually(
    condition: Callable[[], Any], *, within: float = 10, message: Callable[[], str] | None = None
) -> Any:
    """The first truthy value of ``condition()``, polled until ``within`` seconds have passed."""
    return await polling.eventually(condition, timeout=within, interval=0.05, message=message or "")


# -- figures ----------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank; 0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def slope(xs: list[float], ys: list[float]) -> float:
    """The least-squares slope of ys over xs (0 when it is undefined)."""
    if len(xs) < 2 or len(set(xs)) < 2:
        return 0.0
    return statistics.linear_regression(xs, ys).slope


def render(title: str, figures: dict[str, Any]) -> str:
    """Figures as aligned ``name: value`` lines under a title."""
    width = max(len(k) for k in figures) + 1
    lines = [f"== {title}"]
    for key, value in figures.items():
        shown = f"{value:.2f}" if isinstance(value, float) else str(value)
        lines.append(f"  {key + ':':<{width}} {shown}")
    return "\n".join(lines)
