"""A bare control plane of a test's own, and hpa run on it as hack/cluster runs it.

Tests that need a cluster where hpa is not installed (the Helm chart, the migration from the Go
original) start one with ``hack/cluster --no-hpa``: the session's shared control plane has hpa
installed already. No container runs there, so the Deployment's place is taken as in
hack/cluster: its container's arguments and environment start ``hpa run`` here, once per
replica, as hpa's ServiceAccount, behind a local stand-in for the webhook Service.
"""

import contextlib
import functools
import os
import pathlib
import shutil
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import anyio.from_thread
import pytest

from tests import backends
from tests.e2e.conftest import Cluster


@contextlib.contextmanager
def bare_control_plane(
    request: pytest.FixtureRequest, directory: pathlib.Path, *, why: str
) -> Iterator[Cluster]:
    """A control plane without hpa, stopped on exit; skips (saying ``why`` it needs one) unless
    the run is ``--api-server=control-plane`` and no outside cluster was given."""
    if request.config.getoption("--api-server") != backends.CONTROL_PLANE:
        pytest.skip(f"{why}: run with --api-server=control-plane")
    if os.environ.get("HPA_E2E_KUBECONFIG"):
        pytest.skip("HPA_E2E_KUBECONFIG's cluster has hpa installed already")
    started, kubeconfig = backends.start_control_plane(directory, "--no-hpa")
    kubectl = backends.control_plane_binaries() / "kubectl"
    try:
        yield Cluster(kubeconfig=kubeconfig, home=directory / "home", executable=str(kubectl))
    finally:
        started.stop()


def localcluster() -> ModuleType:
    """hack/cluster's package, whose stand-ins for the Service and the pods this reuses."""
    if str(backends.HACK) not in sys.path:
        sys.path.append(str(backends.HACK))
    import localcluster._balancer
    import localcluster._hpa

    return localcluster


@contextlib.contextmanager
def service() -> Iterator[tuple[anyio.from_thread.BlockingPortal, Any]]:
    """The stand-in for the webhook Service, served in an event loop of its own thread."""
    balancer = localcluster()._balancer.Balancer()
    with anyio.from_thread.start_blocking_portal() as portal:
        server = portal.call(balancer.start)
        try:
            yield portal, balancer
        finally:
            server.close()
            portal.call(server.wait_closed)


@contextlib.contextmanager
def replicas(
    portal: anyio.from_thread.BlockingPortal,
    balancer: Any,
    deployment: dict[str, Any],
    kubeconfig: pathlib.Path,
    state: pathlib.Path,
) -> Iterator[None]:
    """The Deployment's replicas as ``hpa run`` processes here, ready, behind ``balancer``."""
    hpa = localcluster()._hpa
    count = deployment["spec"]["replicas"]
    start = functools.partial(
        hpa.start_replicas, count, deployment=deployment, kubeconfig=kubeconfig, state=state
    )
    started = portal.call(start)
    try:
        balancer.backends[:] = [r.webhook_port for r in started]
        portal.call(hpa.wait_ready, started)
        yield
    finally:
        for replica in started:
            portal.call(replica.child.stop)


def service_account_kubeconfig(cluster: Cluster, path: pathlib.Path) -> pathlib.Path:
    """The admin's kubeconfig, but as hpa's ServiceAccount (a TokenRequest token, longer-lived
    than the test)."""
    kubectl = cluster.kubectl
    token = kubectl("create", "token", "hpa", "-n", "hpa-system", "--duration=24h").stdout
    shutil.copyfile(cluster.kubeconfig, path)
    path.chmod(0o600)
    user = "system:serviceaccount:hpa-system:hpa"
    kubectl(
        "--kubeconfig", str(path), "config", "set-credentials", user, f"--token={token.strip()}"
    )
    kubectl("--kubeconfig", str(path), "config", "set-context", "--current", f"--user={user}")
    assert user in kubectl("--kubeconfig", str(path), "auth", "whoami").stdout
    return path
