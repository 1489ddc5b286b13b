"""Chaos during a burst of claims: leaders killed, watches dropped, the API failing, 410s.

Replicas run in-process with leader election (short lease timings) so that a leader can be
killed by cancelling its task; ``test_failover.py`` SIGKILLs child processes. The API's
failures are injected into the replicas' requests only (the sandbox's faults, or the control
plane's fault proxy); the test's own calls and its observer are left alone. After the burst
every claim must be Bound exactly once, no port held twice, no HostPort orphaned, every
replica's index equal to the API, and the repair loop must have repaired (and reported, as
Events and ``hpa_repair_actions_total``) the damage done behind the operator's back.

On a per-node class (``allocation="PerNode"``, 3 nodes) the burst has half the claims and the
pools a third of the ports, with a few ports to spare (the repair loop's orphan takes one);
the per-node invariants of :mod:`tests.reliability.per_node` must hold as well.
"""

import pathlib
import shutil
import time
from typing import Any

import anyio
import anyio.abc

from hpa import api, controllers, observability, sandbox
from hpa.cli import _operator
from tests.clusters import Cluster
from tests.reliability import harness, per_node

NAMESPACE = "default"
FAST_LEASE = {"lease_duration": 2.0, "renew_deadline": 1.5, "retry_period": 0.3}


class Replicas:
    """In-process operators with leader election, each in a cancel scope of its own."""

    def __init__(
        self, group: anyio.abc.TaskGroup, kubeconfig: pathlib.Path, *, namespace: str,
        workdir: pathlib.Path,
    ) -> None:  # fmt: skip
        self._group = group
        self._kubeconfig = kubeconfig
        self._namespace = namespace
        self._workdir = workdir
        self.managers: dict[str, controllers.Manager] = {}
        self._scopes: dict[str, anyio.CancelScope] = {}
        self.killed = 0

    async def start(self, identity: str) -> controllers.Manager:
        """Start a replica; returns once its index is rebuilt."""
        # A kubeconfig of its own: kr8s shares one HTTP client among the callers of one
        # kubeconfig, and a replica that stops closes it (as separate processes would not).
        kubeconfig = self._workdir / f"{identity}.kubeconfig"
        shutil.copyfile(self._kubeconfig, kubeconfig)
        config = _operator.OperatorConfig(
            kubeconfig=str(kubeconfig), namespace=self._namespace, identity=identity,
            repair_interval=0.5, repair_grace=1.0, **FAST_LEASE,
        )  # fmt: skip
        scope = anyio.CancelScope()
        self._scopes[identity] = scope

        async def run(*, task_status: anyio.abc.TaskStatus[controllers.Manager]) -> None:
            with scope:
                await _operator.run_operator(config, task_status=task_status)

        manager: controllers.Manager = await self._group.start(run, name=identity)
        self.managers[identity] = manager
        return manager

    def leader(self) -> str | None:
        """The identity of the replica that leads, if one does."""
        leading = [i for i, m in self.managers.items() if m.elector and m.elector.is_leader]
        assert len(leading) <= 1, f"two leaders at once: {leading}"
        return leading[0] if leading else None

    async def kill_leader(self, successor: str) -> None:
        """Cancel the leader's task (once there is one) and start ``successor`` in its place."""
        leader = await harness.eventually(self.leader, within=10, message=lambda: "no leader")
        self._scopes.pop(leader).cancel()
        del self.managers[leader]
        self.killed += 1
        await self.start(successor)

    def stop_all(self) -> None:
        for scope in self._scopes.values():
            scope.cancel()


def repair_actions() -> dict[str, float]:
    """``hpa_repair_actions_total`` by kind (this process's registry)."""
    found: dict[str, float] = {}
    for metric in observability.REGISTRY.collect():
        for sample in metric.samples:
            if sample.name == "hpa_repair_actions_total":
                found[sample.labels["kind"]] = sample.value
    return found


async def _chaos(cluster: Cluster, replicas: Replicas, progress: Any, total: int) -> None:
    """The faults, each once the burst has reached its share of ``total`` claims."""

    async def at(share: float) -> None:
        await harness.eventually(lambda: progress() >= total * share, within=120)

    await at(0.1)
    await replicas.kill_leader("c")
    await at(0.25)
    cluster.drop_watches()
    await at(0.35)
    # The API answers 500 and 429 for a while, then hangs a few calls until they time out.
    cluster.fail_all(verb="create", resource=api.PLURAL_HOSTPORT, status=500)
    cluster.fail_all(verb="patch", resource=api.PLURAL_CLAIM, status=429)
    cluster.fail_all(verb="patch", resource=f"{api.PLURAL_CLAIM}/status", status=503)
    cluster.fail_all(verb="list", status=500)
    await anyio.sleep(1.0)
    cluster.clear_faults()
    cluster.hang(verb="create", resource=api.PLURAL_HOSTPORT, seconds=2.0, times=4)
    cluster.hang(verb="watch", seconds=2.0, times=2)
    await at(0.5)
    cluster.expire()
    cluster.drop_watches()
    await at(0.7)
    await replicas.kill_leader("d")
    cluster.drop_watches()


def _hostport(port: int, slot: int | None, *, class_name: str, claim_uid: str) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "hostPortClassName": class_name,
        "port": port,
        "claimRef": {"namespace": NAMESPACE, "name": "nobody", "uid": claim_uid},
    }
    if slot is not None:
        spec["slot"] = slot
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_HOSTPORT,
        "metadata": {"name": api.hostport_name(port, slot), "finalizers": [api.FINALIZER]},
        "spec": spec,
    }


async def _damage(cluster: Cluster, *, free_port: int, slot: int | None) -> tuple[str, str]:
    """An orphaned HostPort, and a bound claim whose HostPort vanished (as after an etcd
    restore from an older backup); returns that claim's name and its HostPort's."""
    orphan = _hostport(free_port, slot, class_name="chaos", claim_uid="no-such-claim")
    await cluster.create(orphan)
    victim = cluster.items(api.PLURAL_CLAIM)[0]
    await cluster.vanish(api.PLURAL_HOSTPORT, victim["spec"]["hostPortName"])
    return victim["metadata"]["name"], victim["spec"]["hostPortName"]


async def chaos(
    target: Cluster | sandbox.Sandbox, workdir: pathlib.Path, *, claims: int,
    within: float = 120, allocation: str = api.ALLOCATION_CLUSTER_WIDE,
) -> dict[str, Any]:  # fmt: skip
    """A burst of ``claims`` claims under chaos on a class of ``allocation``; returns the
    figures."""
    async with per_node.driven(target, workdir, allocation) as (cluster, nodes):
        return await _burst(cluster, workdir, claims=claims, within=within, nodes=nodes)


async def _burst(
    cluster: Cluster, workdir: pathlib.Path, *, claims: int, within: float, nodes: int | None
) -> dict[str, Any]:
    # Room for every claim and the orphan of _damage, on the highest port (ports fill lowest
    # first, so it stays free).
    if nodes is None:
        end, orphan_slot = 40000 + claims + 10, None
        cls = harness.host_port_class("chaos", 40000, end)
    else:
        end, orphan_slot = 40000 + -(-claims // nodes) + 3, 0
        cls = harness.host_port_class("chaos", 40000, end, allocation=api.ALLOCATION_PER_NODE)
    await cluster.create(cls)
    log = await harness.BindingLog.watching(cluster)
    before = repair_actions()
    created = 0
    started = time.perf_counter()
    async with anyio.create_task_group() as group:
        replicas = Replicas(
            group, cluster.operator_kubeconfig, namespace=cluster.operator_namespace,
            workdir=workdir,
        )  # fmt: skip
        await replicas.start("a")
        await replicas.start("b")
        async with anyio.create_task_group() as burst:
            burst.start_soon(_chaos, cluster, replicas, lambda: len(log.bound_at), claims)
            for number in range(claims):
                await cluster.create(harness.claim(f"k{number}", namespace=NAMESPACE,
                                                   class_name="chaos"))  # fmt: skip
                created += 1
                if number % 20 == 0:
                    await anyio.sleep(0.01)  # a burst, not one write: let the chaos interleave
        await harness.eventually(lambda: len(log.bound_at) == claims, within=within,
                                 message=lambda: f"{len(log.bound_at)}/{claims} bound")  # fmt: skip
        bound_in = time.perf_counter() - started
        _assert_consistent(cluster, log, claims=claims, nodes=nodes)
        victim, hostport = await _damage(cluster, free_port=end, slot=orphan_slot)
        await harness.eventually(
            lambda: (
                cluster.count(api.PLURAL_HOSTPORT) == claims
                and cluster.get(api.PLURAL_HOSTPORT, hostport)
            ),
            within=30,
            message=lambda: "the orphan is still there or the missing HostPort was not re-created",
        )
        _assert_consistent(cluster, log, claims=claims, nodes=nodes)
        assert not log.rebound(), f"claims bound twice: {list(log.rebound().items())[:10]}"
        # A replica started now rebuilds its index from a LIST alone: it must agree too.
        await replicas.start("fresh")
        for identity, manager in replicas.managers.items():
            await harness.eventually(
                lambda manager=manager: index_matches(cluster, manager),
                within=15,
                message=lambda identity=identity: f"replica {identity}'s index differs",
            )
        # The Event comes after the HostPort and the claim's Repaired condition.
        await harness.eventually(
            lambda: any(e["reason"] == "HostPortRecreated" for e in cluster.items("events")),
            within=15,
            message=lambda: "no HostPortRecreated Event",
        )
        after = repair_actions()
        actions = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        assert actions.get("missing_hostport", 0) >= 1, actions
        # Nothing here makes two claims want one port: a conflict would be a false alarm.
        assert actions.get("port_conflict", 0) == 0, actions
        replicas.stop_all()
    return {
        "claims": claims,
        "nodes": nodes or "cluster-wide",
        "leaders killed": replicas.killed,
        "bound/s under chaos": claims / bound_in,
        "repair actions": {k: int(v) for k, v in actions.items() if v},
        "victim": victim,
    }


def _assert_consistent(
    cluster: Cluster, log: harness.BindingLog, *, claims: int, nodes: int | None
) -> None:
    harness.assert_consistent(cluster, bound=claims)
    if nodes is not None:
        per_node.assert_per_node(cluster, "chaos", nodes=nodes, bound=claims)
        per_node.assert_slots_below(log.first_hostport, nodes)


def index_matches(cluster: Cluster, manager: controllers.Manager) -> bool:
    held = {(port, None, cls) for port, cls in manager.ports.held()}
    held |= set(manager.ports.held_slots())
    return held == harness.listed_keys(cluster.items(api.PLURAL_HOSTPORT))
