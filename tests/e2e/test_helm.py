"""The Helm chart on the real control plane: ``helm install`` where hpa is not installed, the
README's Usage steps, then ``helm uninstall``, after which nothing the chart rendered remains
(the CRDs included: they are templates, docs/helm.md).

The control plane is one of this module's own (``hack/cluster --no-hpa``): the session's others
have hpa installed already. No container runs there, so the Deployment's place is taken as in
hack/cluster: its container's arguments and environment start ``hpa run`` here, once per
replica, as hpa's ServiceAccount, behind a local stand-in for the webhook Service, which the
chart's ``webhook.url`` points the API server at.
"""

import contextlib
import dataclasses
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
from tests.chart.helm import CHART, RELEASE, Helm, documents, executable
from tests.e2e import test_readme
from tests.e2e.conftest import Cluster, ensure_service_account, eventually

pytestmark = pytest.mark.e2e

#: Where Helm keeps the release's record: not hpa's namespace, which the chart creates.
RELEASE_NAMESPACE = "default"


@dataclasses.dataclass(frozen=True)
class Plane:
    """The module's bare control plane: kubectl and helm as its admin."""

    cluster: Cluster
    helm: Helm


@pytest.fixture(scope="module")
def plane(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Plane]:
    """A bare control plane of the module's own (no hpa), stopped at the module's end."""
    if request.config.getoption("--api-server") != backends.CONTROL_PLANE:
        pytest.skip("installs the chart on a control plane of its own: --api-server=control-plane")
    if os.environ.get("HPA_E2E_KUBECONFIG"):
        pytest.skip("HPA_E2E_KUBECONFIG's cluster has hpa installed already")
    helm = executable()
    directory = tmp_path_factory.mktemp("helm-control-plane")
    started, kubeconfig = backends.start_control_plane(directory, "--no-hpa")
    kubectl = backends.control_plane_binaries() / "kubectl"
    try:
        yield Plane(
            cluster=Cluster(
                kubeconfig=kubeconfig, home=directory / "home", executable=str(kubectl)
            ),
            helm=Helm(helm, directory / "helm", kubeconfig=kubeconfig),
        )
    finally:
        started.stop()


@pytest.fixture
def release(plane: Plane) -> Iterator[None]:
    """After the test, the release is uninstalled even if the test failed half-way, so that
    the next one finds the control plane as bare as it was."""
    yield
    plane.helm.run(
        "uninstall", RELEASE, "--namespace", RELEASE_NAMESPACE, "--ignore-not-found", "--wait",
        "--timeout=180s", check=False,
    )  # fmt: skip


def _localcluster() -> ModuleType:
    """hack/cluster's package, whose stand-ins for the Service and the pods this reuses."""
    if str(backends.HACK) not in sys.path:
        sys.path.append(str(backends.HACK))
    import localcluster._balancer
    import localcluster._hpa

    return localcluster


@contextlib.contextmanager
def _service() -> Iterator[tuple[anyio.from_thread.BlockingPortal, Any]]:
    """The stand-in for the webhook Service, served in an event loop of its own thread."""
    balancer = _localcluster()._balancer.Balancer()
    with anyio.from_thread.start_blocking_portal() as portal:
        server = portal.call(balancer.start)
        try:
            yield portal, balancer
        finally:
            server.close()
            portal.call(server.wait_closed)


@contextlib.contextmanager
def _replicas(
    portal: anyio.from_thread.BlockingPortal,
    balancer: Any,
    deployment: dict[str, Any],
    kubeconfig: pathlib.Path,
    state: pathlib.Path,
) -> Iterator[None]:
    """The Deployment's replicas as ``hpa run`` processes here, ready, behind ``balancer``."""
    hpa = _localcluster()._hpa
    count = deployment["spec"]["replicas"]
    start = functools.partial(
        hpa.start_replicas, count, deployment=deployment, kubeconfig=kubeconfig, state=state
    )
    replicas = portal.call(start)
    try:
        balancer.backends[:] = [r.webhook_port for r in replicas]
        portal.call(hpa.wait_ready, replicas)
        yield
    finally:
        for replica in replicas:
            portal.call(replica.child.stop)


def _service_account_kubeconfig(plane: Plane, path: pathlib.Path) -> pathlib.Path:
    """The admin's kubeconfig, but as the ServiceAccount the chart made (a TokenRequest
    token, longer-lived than the test)."""
    kubectl = plane.cluster.kubectl
    token = kubectl("create", "token", "hpa", "-n", "hpa-system", "--duration=24h").stdout
    shutil.copyfile(plane.cluster.kubeconfig, path)
    path.chmod(0o600)
    user = "system:serviceaccount:hpa-system:hpa"
    kubectl(
        "--kubeconfig", str(path), "config", "set-credentials", user, f"--token={token.strip()}"
    )
    kubectl("--kubeconfig", str(path), "config", "set-context", "--current", f"--user={user}")
    assert user in kubectl("--kubeconfig", str(path), "auth", "whoami").stdout
    return path


def _remaining(plane: Plane, rendered: pathlib.Path) -> list[str]:
    """Which of the objects in ``rendered`` exist."""
    listed = plane.cluster.kubectl("get", "-f", str(rendered), "--ignore-not-found", "-o", "name")
    return listed.stdout.split()


def _upgrade_keeps_the_ca_bundle(plane: Plane) -> None:
    """The chart renders no caBundle: helm upgrade leaves the one hpa wrote (which hpa would
    only restore within its next certificate refresh)."""
    configurations = [
        ("mutatingwebhookconfiguration", "hpa-mutating"),
        ("validatingwebhookconfiguration", "hpa-validating"),
    ]
    path = "{.webhooks[*].clientConfig.caBundle}"
    for kind, name in configurations:
        eventually(lambda kind=kind, name=name: plane.cluster.jsonpath(kind, name, path=path))
    written = {n: plane.cluster.jsonpath(k, n, path=path) for k, n in configurations}
    plane.helm.run(
        "upgrade", RELEASE, str(CHART), "--namespace", RELEASE_NAMESPACE, "--reuse-values"
    )
    assert {n: plane.cluster.jsonpath(k, n, path=path) for k, n in configurations} == written


def _delete_usage_objects(cluster: Cluster) -> None:
    """What the README's steps made, deleted while hpa runs: its finalizers need hpa."""
    for kind_name in ("pod/echo", "hostportclaim/echo-web", "hostportclass/sample"):
        cluster.kubectl("delete", kind_name, "-n", "default", "--timeout=60s")
    cluster.kubectl("label", "namespace", "default", "hostport.rmb938.com-")


@pytest.mark.usefixtures("release")
def test_install_usage_and_uninstall(plane: Plane, tmp_path: pathlib.Path) -> None:
    """helm install; the README's Usage steps pass; helm uninstall leaves nothing behind."""
    rendered = tmp_path / "rendered.yaml"
    with _service() as (portal, balancer):
        url = f"https://127.0.0.1:{balancer.port}"
        plane.helm.run(
            "install", RELEASE, str(CHART), "--namespace", RELEASE_NAMESPACE,
            "--set", f"webhook.url={url}",
        )  # fmt: skip
        manifest = plane.helm.run("get", "manifest", RELEASE, "--namespace", RELEASE_NAMESPACE)
        rendered.write_text(manifest.stdout)
        objects = documents(manifest.stdout)
        assert len(_remaining(plane, rendered)) == len(objects)
        (deployment,) = (d for d in objects if d["kind"] == "Deployment")
        kubeconfig = _service_account_kubeconfig(plane, tmp_path / "hpa.kubeconfig")
        ensure_service_account(plane.cluster, "default")
        with _replicas(portal, balancer, deployment, kubeconfig, tmp_path):
            _upgrade_keeps_the_ca_bundle(plane)
            try:
                test_readme.test_readme_usage_steps(plane.cluster, tmp_path)
            finally:
                _delete_usage_objects(plane.cluster)

    plane.helm.run(
        "uninstall", RELEASE, "--namespace", RELEASE_NAMESPACE, "--wait", "--timeout=180s"
    )
    eventually(lambda: not _remaining(plane, rendered), within=120, interval=1)
    assert plane.helm.run("list", "--all-namespaces", "--short").stdout.strip() == ""
    crds = plane.cluster.kubectl("get", "customresourcedefinitions", "-o", "name").stdout
    assert "hostport.rmb938.com" not in crds, "the CRDs are templates: uninstall deletes them"


@pytest.mark.usefixtures("release")
def test_kept_crds_outlive_the_release(plane: Plane, tmp_path: pathlib.Path) -> None:
    """With crds.keep, helm uninstall deletes everything else and leaves the CRDs, which a
    second install of the same release takes back."""
    install = ("install", RELEASE, str(CHART), "--namespace", RELEASE_NAMESPACE)
    keep = ("--set", "crds.keep=true", "--set", "replicaCount=0")
    plane.helm.run(*install, *keep)
    manifest = plane.helm.run("get", "manifest", RELEASE, "--namespace", RELEASE_NAMESPACE)
    rendered = tmp_path / "rendered.yaml"
    rendered.write_text(manifest.stdout)
    crds = {
        f"customresourcedefinition.apiextensions.k8s.io/{d['metadata']['name']}"
        for d in documents(manifest.stdout)
        if d["kind"] == "CustomResourceDefinition"
    }
    assert len(crds) == 3
    uninstall = ("uninstall", RELEASE, "--namespace", RELEASE_NAMESPACE, "--wait")
    plane.helm.run(*uninstall, "--timeout=180s")
    eventually(lambda: set(_remaining(plane, rendered)) == crds, within=120, interval=1)
    plane.helm.run(*install, *keep)  # the kept CRDs are still the release's
    assert len(_remaining(plane, rendered)) == len(documents(manifest.stdout))
    plane.helm.run(*uninstall, "--timeout=180s")
    for crd in sorted(crds):
        plane.cluster.kubectl("delete", crd, "--timeout=60s")
    eventually(lambda: not _remaining(plane, rendered), within=120, interval=1)
