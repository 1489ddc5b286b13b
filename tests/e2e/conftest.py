"""End-to-end fixtures: a cluster reached only through kubectl.

With ``HPA_E2E_KUBECONFIG`` set, the tests use that cluster, which must have hpa installed
(see the README). Otherwise they start what ``--api-server`` names in a subprocess, the way a
newcomer does (``hpa sandbox`` or ``hack/cluster``), and stop it at the end of the session.
Nothing here imports the operator or the sandbox: a test sees only what kubectl shows.
"""

import dataclasses
import os
import pathlib
import shutil
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests import backends

KUBECTL = shutil.which("kubectl")


def eventually(check: Callable[[], Any], *, within: float = 30.0, interval: float = 0.2) -> Any:
    """The first truthy result of ``check()``, polled until the deadline."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"not true within {within}s: {check}")
        time.sleep(interval)


@dataclasses.dataclass(frozen=True)
class Cluster:
    """A cluster with hpa running, and the environment kubectl needs to reach it."""

    kubeconfig: pathlib.Path
    home: pathlib.Path
    executable: str
    #: Whether kube-controller-manager's controllers run (not in the sandbox).
    runs_controllers: bool = True
    #: Whether the API server authorizes requests (RBAC; the sandbox allows everything).
    authorizes: bool = True

    @property
    def env(self) -> dict[str, str]:
        # A private HOME keeps kubectl's discovery cache apart from the user's.
        # The kubectl the suite drives comes first on PATH, for the README's own commands too.
        path = os.pathsep.join([os.path.dirname(self.executable), os.environ.get("PATH", "")])
        return {
            **os.environ,
            "KUBECONFIG": str(self.kubeconfig),
            "HOME": str(self.home),
            "PATH": path,
        }

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl; with ``check``, fail the test with kubectl's stderr on an error."""
        result = subprocess.run(
            [self.executable, *args],
            input=input,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=90,
        )
        if check and result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def jsonpath(self, *args: str, path: str) -> str:
        """``kubectl get ARGS -o jsonpath=PATH``; empty if the object does not exist."""
        result = self.kubectl("get", *args, "-o", f"jsonpath={path}", check=False)
        return result.stdout if result.returncode == 0 else ""


@pytest.fixture(scope="session")
def cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """The cluster the e2e tests drive: HPA_E2E_KUBECONFIG's, or a fresh one of
    ``--api-server`` (``hpa sandbox``, or ``hack/cluster`` with two hpa replicas)."""
    home = tmp_path_factory.mktemp("home")
    configured = os.environ.get("HPA_E2E_KUBECONFIG")
    backend = request.config.getoption("--api-server")
    kubectl = KUBECTL
    if backend == backends.CONTROL_PLANE and not configured:
        kubectl = str(backends.control_plane_binaries() / "kubectl")
    if kubectl is None:
        pytest.skip("kubectl is not on PATH; the end-to-end tests drive a cluster with it")
    if configured:
        yield Cluster(kubeconfig=pathlib.Path(configured), home=home, executable=kubectl)
        return
    extra = ("--replicas", "2") if backend == backends.CONTROL_PLANE else ()
    started, kubeconfig = backends.start(backend, tmp_path_factory.mktemp(backend), *extra)
    try:
        yield Cluster(
            kubeconfig=kubeconfig,
            home=home,
            executable=kubectl,
            runs_controllers=backend != backends.SANDBOX,
            authorizes=backend != backends.SANDBOX,
        )
    finally:
        started.stop()


def ensure_service_account(cluster: Cluster, namespace: str) -> None:
    """Make sure pods can be created in a new namespace: kube-apiserver refuses a pod whose
    ServiceAccount does not exist yet, and kube-controller-manager creates ``default`` only
    shortly after the namespace. Creating it here is harmless if the controller wins."""
    if cluster.kubectl("get", "serviceaccount", "default", "-n", namespace, check=False).returncode:
        cluster.kubectl("create", "serviceaccount", "default", "-n", namespace, check=False)
    cluster.kubectl("get", "serviceaccount", "default", "-n", namespace)


@pytest.fixture
def namespace(cluster: Cluster) -> Iterator[str]:
    """A fresh namespace managed by hpa (labelled), deleted after the test."""
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("create", "namespace", name)
    cluster.kubectl("label", "namespace", name, "hostport.rmb938.com=true")
    ensure_service_account(cluster, name)
    yield name
    cluster.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def unique() -> Callable[[str], str]:
    """Names that no other test (or earlier run on a real cluster) uses."""
    suffix = uuid.uuid4().hex[:6]
    return lambda base: f"{base}-{suffix}"
