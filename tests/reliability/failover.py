"""Leader failover between two replicas, with the webhook answering on both throughout.

Two ways to lose a leader:

- :func:`partition`: two whole processes (``run_process``) in-process; the leader is cut off
  from the Lease (its transport fails every Lease call) but keeps serving. It must step down
  after ``renew_deadline``, the other must take over once the Lease has expired, and both
  admission servers must answer every AdmissionReview sent straight to them meanwhile.
- :func:`sigkill`: two child processes; the leader is SIGKILLed in the middle of a burst (no
  Lease release), the other takes over and binds every claim.

Both run on a per-node class too (``allocation="PerNode"``, 3 nodes). There the SIGKILL burst
has more claims than the class has (port, slot) pairs: the surplus must stay Pending as
ClassFull, and no port may end with more holders than nodes, whichever replica allocated.

The failover time is measured on the API server: from the old leader's last Lease write to the
new leader's first. It is at least the lease duration (the successor waits for the Lease to
expire as it observed it) and, the issue's target, at most the lease duration plus one retry
period: the successor watches the Lease, so it observes the last renewal within the watch's
latency and wakes when that renewal expires.
"""

import base64
import contextlib
import json
import pathlib
import ssl
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import anyio
import anyio.abc

from hpa import api, kube, sandbox
from hpa.cli import _operator, _process
from tests.clusters import Cluster
from tests.reliability import harness, per_node

LEASE_DURATION, RENEW_DEADLINE, RETRY_PERIOD = 2.0, 1.5, 0.3
LEASE = {
    "leader_elect": True,
    "lease_duration": LEASE_DURATION,
    "renew_deadline": RENEW_DEADLINE,
    "retry_period": RETRY_PERIOD,
}
FAILOVER_BOUND = LEASE_DURATION + RETRY_PERIOD
NAMESPACE = "apps"


class LeaseLog:
    """Every write of the Lease as the API server stored it: ``(time, holder)``, the time when
    this process saw it (on the control plane, through a watch)."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, str]] = []

    @classmethod
    async def watching(cls, cluster: Cluster) -> "LeaseLog":
        """A log of the Lease's writes from now on."""
        log = cls()
        await cluster.subscribe("leases", log.observe)
        return log

    def observe(self, type: str, obj: dict[str, Any]) -> None:
        if type != "DELETED" and obj["metadata"]["name"] == api.LEASE_NAME:
            holder = obj.get("spec", {}).get("holderIdentity") or ""
            self.writes.append((time.perf_counter(), holder))

    def holder(self) -> str:
        return self.writes[-1][1] if self.writes else ""

    def gap(self, old: str, new: str) -> float:
        """Seconds from ``old``'s last write to ``new``'s first write after it."""
        first_new = next(t for t, h in self.writes if h == new)
        last_old = max(t for t, h in self.writes if h == old and t < first_new)
        return first_new - last_old


class Partitionable:
    """A transport that can cut its process off from the Lease (and only from the Lease)."""

    def __init__(self, inner: kube.Transport) -> None:
        self._inner = inner
        self.partitioned = False

    def _check(self, request: kube.Request) -> None:
        if self.partitioned and "/leases" in request.path:
            raise kube.Retryable("injected: network partition")

    async def request(self, request: kube.Request) -> kube.Response:
        self._check(request)
        return await self._inner.request(request)

    def stream(self, request: kube.Request) -> contextlib.AbstractAsyncContextManager[Any]:
        self._check(request)
        return self._inner.stream(request)


def _review(claim_name: str) -> bytes:
    obj = harness.pod("probe", namespace=NAMESPACE, claim_name=claim_name)
    request = {
        "uid": str(uuid.uuid4()),
        "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "name": "probe",
        "namespace": NAMESPACE,
        "operation": "CREATE",
        "userInfo": {"username": "prober"},
        "object": obj,
    }
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
    return json.dumps(review).encode()


class Prober:
    """Sends AdmissionReviews straight to each replica's admission server, and checks that
    each answer allows the pod with the claim's port."""

    def __init__(self, ports: dict[str, int], *, claim_name: str, port: int) -> None:
        self.ports = ports
        self.claim_name = claim_name
        self.port = port
        self.answered = dict.fromkeys(ports, 0)
        self.failures: list[tuple[str, str]] = []

    async def run(self) -> None:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE  # the replicas' own CA: not what is tested here
        timeout = aiohttp.ClientTimeout(total=2)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            while True:
                for replica, port in self.ports.items():
                    await self._probe(session, context, replica, port)
                await anyio.sleep(0.02)

    async def _probe(
        self, session: aiohttp.ClientSession, context: ssl.SSLContext, replica: str, port: int
    ) -> None:
        body = _review(self.claim_name)
        url = f"https://127.0.0.1:{port}{api.PATH_MUTATE_PODS}"
        status, text = 0, ""
        try:
            headers = {"Content-Type": "application/json"}
            async with session.post(url, data=body, ssl=context, headers=headers) as answer:
                status, text = answer.status, await answer.text()
            response = json.loads(text)["response"]
            patch = json.loads(base64.b64decode(response.get("patch") or b"W10="))
            ok = (
                status == 200
                and response["uid"] == json.loads(body)["request"]["uid"]
                and response["allowed"] is True
                and any(op.get("value") == self.port for op in patch)
            )
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError) as error:
            ok, text = False, f"{status} {text[:200]} {error!r}"
        if ok:
            self.answered[replica] += 1
        else:
            self.failures.append((replica, text[:300]))


async def _bound_claim(cluster: Cluster, name: str) -> int:
    await cluster.create(harness.claim(name, namespace=NAMESPACE, class_name="failover"))
    found = await harness.eventually(
        lambda: (
            (cluster.get(api.PLURAL_CLAIM, name, NAMESPACE) or {}).get("status", {}).get("port")
        ),
        within=20,
    )
    return int(found)


@contextlib.asynccontextmanager
async def _process_replica(
    kubeconfig: pathlib.Path, identity: str
) -> AsyncIterator[tuple[_process.Running, Partitionable]]:
    inner = await kube.Kr8sTransport.connect(kubeconfig=str(kubeconfig))
    transport = Partitionable(inner)
    config = _operator.OperatorConfig(
        kubeconfig=str(kubeconfig), namespace="hpa-system", identity=identity, **LEASE
    )
    serving = _process.ServingConfig(
        host="127.0.0.1", webhook_port=0, metrics_port=0, health_port=0,
        ip_addresses=("127.0.0.1",),
    )  # fmt: skip

    async def run(*, task_status: anyio.abc.TaskStatus[_process.Running]) -> None:
        await _process.run_process(config, serving, transport=transport, task_status=task_status)

    try:
        async with anyio.create_task_group() as group:
            yield await group.start(run), transport
            group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await inner.aclose()


def _class(start: int, claims: int, nodes: int | None) -> dict[str, Any]:
    """The scenario's class: room for ``claims`` and 10 more if cluster-wide; per node, a
    third fewer (port, slot) pairs than claims, so that the burst overfills it."""
    if nodes is None:
        return harness.host_port_class("failover", start, start + claims + 10)
    ports = max(1, claims * 2 // 3 // nodes)
    return harness.host_port_class(
        "failover", start, start + ports - 1, allocation=api.ALLOCATION_PER_NODE
    )


def _capacity(cls: dict[str, Any], nodes: int | None) -> int:
    pool = cls["spec"]["pools"][0]
    return (pool["end"] - pool["start"] + 1) * (nodes or 1)


def _assert_per_node(
    cluster: Cluster, log: harness.BindingLog | None, nodes: int | None, *, bound: int
) -> None:
    if nodes is not None:
        per_node.assert_per_node(cluster, "failover", nodes=nodes, bound=bound)
        if log is not None:
            per_node.assert_slots_below(log.first_hostport, nodes)


async def partition(
    target: Cluster | sandbox.Sandbox, workdir: pathlib.Path, *,
    allocation: str = api.ALLOCATION_CLUSTER_WIDE,
) -> dict[str, Any]:  # fmt: skip
    """Partition the leader from the Lease, on a class of ``allocation``; returns the
    figures."""
    async with per_node.driven(target, workdir, allocation) as (cluster, nodes):
        return await _partition(cluster, nodes)


async def _partition(cluster: Cluster, nodes: int | None) -> dict[str, Any]:
    await harness.install_hpa(cluster, pod_namespace=NAMESPACE)
    await cluster.create(_class(45000, 90, nodes))
    leases = await LeaseLog.watching(cluster)
    kubeconfig = cluster.operator_kubeconfig
    async with (
        _process_replica(kubeconfig, "one") as (one, one_transport),
        _process_replica(kubeconfig, "two") as (two, two_transport),
    ):
        await cluster.route_webhook(one.webhook_port)
        replicas = {"one": one, "two": two}
        leader = await harness.eventually(lambda: leases.holder(), within=10)
        follower = "two" if leader == "one" else "one"
        port = await _bound_claim(cluster, "probe-claim")
        prober = Prober(
            {name: r.webhook_port for name, r in replicas.items()},
            claim_name="probe-claim", port=port,
        )  # fmt: skip
        async with anyio.create_task_group() as group:
            group.start_soon(prober.run)
            await harness.eventually(
                lambda: all(prober.answered.values()),
                within=10,
                message=lambda: f"replicas do not answer: {prober.failures[-2:]}",
            )
            {"one": one_transport, "two": two_transport}[leader].partitioned = True
            await harness.eventually(lambda: leases.holder() == follower, within=10)
            elector = replicas[leader].manager.elector
            assert elector is not None and not elector.is_leader, "the old leader still leads"
            await _bound_claim(cluster, "after-failover")
            answered_at_failover = dict(prober.answered)
            await harness.eventually(
                lambda: all(prober.answered[r] > answered_at_failover[r] + 5 for r in replicas),
                within=10,
            )
            group.cancel_scope.cancel()
        harness.assert_consistent(cluster, bound=2)
        _assert_per_node(cluster, None, nodes, bound=2)
    gap = leases.gap(leader, follower)
    assert not prober.failures, f"admission answers failed: {prober.failures[:5]}"
    assert LEASE_DURATION <= gap <= FAILOVER_BOUND, f"failover took {gap:.2f}s"
    return {
        "failover s (last renewal to takeover)": gap,
        "bound s": FAILOVER_BOUND,
        "reviews answered": sum(prober.answered.values()),
        "reviews failed": len(prober.failures),
    }


async def sigkill(
    target: Cluster | sandbox.Sandbox, workdir: pathlib.Path, *, claims: int,
    allocation: str = api.ALLOCATION_CLUSTER_WIDE,
) -> dict[str, Any]:  # fmt: skip
    """SIGKILL the leading child process in a burst, on a class of ``allocation``; returns the
    figures."""
    async with per_node.driven(target, workdir, allocation) as (cluster, nodes):
        return await _sigkill(cluster, workdir, claims=claims, nodes=nodes)


async def _sigkill(
    cluster: Cluster, workdir: pathlib.Path, *, claims: int, nodes: int | None
) -> dict[str, Any]:
    await harness.install_hpa(cluster, pod_namespace=NAMESPACE)
    cls = _class(45000, claims, nodes)
    capacity = min(claims, _capacity(cls, nodes))
    await cluster.create(cls)
    leases = await LeaseLog.watching(cluster)
    log = await harness.BindingLog.watching(cluster)
    kubeconfig = cluster.direct_kubeconfig
    children = {
        name: harness.OperatorProcess(
            kubeconfig=kubeconfig, log=workdir / f"{name}.log", identity=name, **LEASE
        )
        for name in ("one", "two")
    }
    async with children["one"].running(), children["two"].running():
        await cluster.route_webhook(children["one"].webhook_port)
        leader = await harness.eventually(lambda: leases.holder(), within=10)
        follower = "two" if leader == "one" else "one"
        killed_at = 0.0
        for number in range(claims):
            await cluster.create(
                harness.claim(f"k{number}", namespace=NAMESPACE, class_name="failover")
            )
            if number == claims // 3:
                await harness.eventually(lambda: len(log.bound_at) > 0, within=20)
                children[leader].kill()
                killed_at = time.perf_counter()
                # The Service's endpoints drop the dead pod: webhook calls go to the survivor.
                await cluster.route_webhook(children[follower].webhook_port)
        await harness.eventually(lambda: leases.holder() == follower, within=10)
        taken_over_in = next(t for t, h in leases.writes if h == follower) - killed_at
        await harness.eventually(
            lambda: len(log.bound_at) == capacity, within=120,
            message=lambda: f"{len(log.bound_at)}/{capacity} bound",
        )  # fmt: skip
        assert children[follower].alive, children[follower].tail()
        if nodes is None:
            harness.assert_consistent(cluster, bound=claims)
        else:
            # The surplus is told it waits (ClassFull) once the survivor has tried it.
            await harness.eventually(
                lambda: _pending_full(cluster) == claims - capacity, within=30,
                message=lambda: f"{_pending_full(cluster)}/{claims - capacity} ClassFull",
            )  # fmt: skip
            harness.assert_consistent(cluster)
            _assert_per_node(cluster, log, nodes, bound=capacity)
            assert len(log.bound_at) == capacity, f"{len(log.bound_at)} bound, over capacity"
        assert not log.rebound(), f"claims bound twice: {list(log.rebound().items())[:10]}"
        async with harness.Api(cluster) as http:
            await harness.assert_index_matches_api(children[follower], http)
    gap = leases.gap(leader, follower)
    assert LEASE_DURATION <= gap <= FAILOVER_BOUND, f"failover took {gap:.2f}s"
    return {
        "claims": claims,
        "nodes": nodes or "cluster-wide",
        "bound": capacity,
        "failover s (last renewal to takeover)": gap,
        "takeover s after SIGKILL": taken_over_in,
        "bound s": FAILOVER_BOUND,
    }


def _pending_full(cluster: Cluster) -> int:
    """How many claims are Pending with the reason ClassFull."""
    return sum(
        1
        for c in cluster.items(api.PLURAL_CLAIM)
        if any(
            k["type"] == "Bound" and k.get("reason") == "ClassFull"
            for k in (c.get("status") or {}).get("conditions") or []
        )
    )
