"""The operator's settings and its start-up, shared by ``hpa run``, ``hpa sandbox`` and tests.

:func:`run_operator` runs the operator alone (informers, index, leader election, controllers);
``_process.run_process`` runs it inside the servers of the whole process.
"""

import dataclasses
import os
import pathlib
import socket
import uuid

import anyio
import anyio.abc

from hpa import api, controllers, kube, observability

#: Where Kubernetes mounts the pod's namespace (the Lease lives next to the operator).
_SERVICE_ACCOUNT_NAMESPACE = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def default_namespace() -> str:
    try:
        return _SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or api.DEFAULT_NAMESPACE
    except OSError:
        return api.DEFAULT_NAMESPACE


def _default_identity() -> str:
    # client-go uses hostname + "_" + a uuid, so two processes on one host never collide.
    return f"{os.environ.get('HOSTNAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperatorConfig:
    """Everything ``hpa run`` can be told."""

    kubeconfig: str | None = None
    namespace: str = dataclasses.field(default_factory=default_namespace)
    identity: str = dataclasses.field(default_factory=_default_identity)
    leader_elect: bool = True
    lease_name: str = api.LEASE_NAME
    workers: int = 4
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    repair_interval: float = 60.0
    repair_grace: float = 30.0
    watch_timeout: int = 300
    #: Seconds of failing informers after which the replica stops being ready, then live.
    watch_unready_after: float = 30.0
    watch_dead_after: float = 300.0


def manager_for(
    config: OperatorConfig,
    *,
    client: kube.Client,
    readiness: observability.Readiness | None,
    liveness: observability.Readiness | None = None,
) -> controllers.Manager:
    """The operator's manager, configured but not started."""
    return controllers.Manager(
        client,
        identity=config.identity,
        namespace=config.namespace,
        leader_elect=config.leader_elect,
        lease_name=config.lease_name,
        workers=config.workers,
        lease_duration=config.lease_duration,
        renew_deadline=config.renew_deadline,
        retry_period=config.retry_period,
        repair_interval=config.repair_interval,
        repair_grace=config.repair_grace,
        watch_timeout=config.watch_timeout,
        readiness=readiness,
        liveness=liveness,
        watch_unready_after=config.watch_unready_after,
        watch_dead_after=config.watch_dead_after,
    )


async def run_operator(
    config: OperatorConfig,
    *,
    transport: kube.Transport | None = None,
    readiness: observability.Readiness | None = None,
    task_status: anyio.abc.TaskStatus[controllers.Manager] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run the operator until cancelled; started with its :class:`~hpa.controllers.Manager`
    once the caches have synced and the port index is rebuilt.

    Args:
        config: the settings.
        transport: where API calls go; by default kr8s with ``config.kubeconfig`` (or
            $KUBECONFIG, ~/.kube/config, in-cluster).
        readiness: the checks the health server reads.
    """
    if transport is None:
        owned = await kube.Kr8sTransport.connect(kubeconfig=config.kubeconfig)
        try:
            await run_operator(
                config, transport=owned, readiness=readiness, task_status=task_status
            )
        finally:
            with anyio.CancelScope(shield=True):
                await owned.aclose()
        return
    manager = manager_for(config, client=kube.Client(transport), readiness=readiness)
    await manager.run(task_status=task_status)
