"""The feature scenarios run against the API server of ``--api-server`` (``tests/clusters.py``):
with the operator's fixtures, or with the whole hpa process (``hpa``) when admission is part of
the behaviour, and with the real kubectl (``kubectl``) where a user would use it."""

import pathlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio
import pytest

from hpa.cli import _process, _sandbox_command
from tests.clusters import (
    Cluster,
    cluster,
    control_plane,
    control_plane_cluster,
    operator,
    sandbox_cluster,
)
from tests.sandbox_fixtures import Kubectl, kubectl_runner

__all__ = [
    "Hpa",
    "cluster",
    "control_plane",
    "control_plane_cluster",
    "hpa",
    "kubectl",
    "operator",
    "sandbox_cluster",
]


Hpa = Callable[[], AbstractAsyncContextManager[_process.Running]]


@pytest.fixture
def hpa(cluster: Cluster) -> Hpa:
    """Run the whole hpa process (webhook and operator) in this process, as ``hpa sandbox``
    does: webhook configurations installed, and the API server's calls to them routed to its
    admission server. A context manager factory, entered in the test (a task group cannot span
    fixture tasks)."""

    @asynccontextmanager
    async def run() -> AsyncIterator[_process.Running]:
        await cluster.install_webhooks()
        stop = anyio.Event()
        async with anyio.create_task_group() as group:
            running: _process.Running = await group.start(
                _sandbox_command._operate,
                cluster.operator_kubeconfig,
                _sandbox_command._local_serving(),
                stop,
            )
            await cluster.route_webhook(running.webhook_port)
            yield running
            stop.set()

    return run


@pytest.fixture
def kubectl(cluster: Cluster, tmp_path: pathlib.Path) -> Kubectl:
    """Run the real kubectl against the cluster as its admin (skips without kubectl on PATH,
    on the sandbox; the control plane brings its own)."""
    executable = cluster.kubectl_executable
    if executable is None:
        pytest.skip("kubectl is not on PATH; these tests drive the sandbox with the real kubectl")
    return kubectl_runner(executable, cluster.kubeconfig, tmp_path / "kube-cache")
