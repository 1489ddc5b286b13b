"""End-to-end fixtures: a cluster reached only through kubectl.

With ``HPA_E2E_KUBECONFIG`` set, the tests use that cluster, which must have hpa installed
(see the README). Otherwise they start ``hpa sandbox`` in a subprocess, the way a newcomer does,
and stop it at the end of the session. Nothing here imports the operator or the sandbox: a test
sees only what kubectl shows.
"""

import dataclasses
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

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

    @property
    def env(self) -> dict[str, str]:
        # A private HOME keeps kubectl's discovery cache apart from the user's.
        return {**os.environ, "KUBECONFIG": str(self.kubeconfig), "HOME": str(self.home)}

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl; with ``check``, fail the test with kubectl's stderr on an error."""
        assert KUBECTL is not None
        result = subprocess.run(
            [KUBECTL, *args], input=input, env=self.env, capture_output=True, text=True, timeout=90
        )
        if check and result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed: {result.stderr}")
        return result

    def jsonpath(self, *args: str, path: str) -> str:
        """``kubectl get ARGS -o jsonpath=PATH``; empty if the object does not exist."""
        result = self.kubectl("get", *args, "-o", f"jsonpath={path}", check=False)
        return result.stdout if result.returncode == 0 else ""


def _start_sandbox(directory: pathlib.Path) -> tuple[subprocess.Popen[bytes], pathlib.Path]:
    kubeconfig = directory / "kubeconfig"
    out = directory / "sandbox.out"
    command = [
        sys.executable,
        "-m",
        "hpa",
        "sandbox",
        "--port",
        "0",
        "--kubeconfig",
        str(kubeconfig),
    ]
    with out.open("wb") as stdout:
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.STDOUT)

    def announced() -> bool:
        if process.poll() is not None:
            pytest.fail(f"hpa sandbox exited: {out.read_text()}")
        return "export KUBECONFIG=" in out.read_text()

    eventually(announced, within=60)
    return process, kubeconfig


@pytest.fixture(scope="session")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """The cluster the e2e tests drive: HPA_E2E_KUBECONFIG's, or a fresh `hpa sandbox`."""
    if KUBECTL is None:
        pytest.skip("kubectl is not on PATH; the end-to-end tests drive a cluster with it")
    home = tmp_path_factory.mktemp("home")
    configured = os.environ.get("HPA_E2E_KUBECONFIG")
    if configured:
        yield Cluster(kubeconfig=pathlib.Path(configured), home=home)
        return
    process, kubeconfig = _start_sandbox(tmp_path_factory.mktemp("sandbox"))
    try:
        yield Cluster(kubeconfig=kubeconfig, home=home)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            pytest.fail("hpa sandbox did not stop within 30 s of SIGTERM")


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
