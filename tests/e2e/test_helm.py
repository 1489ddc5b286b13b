"""The Helm chart on the real control plane: ``helm install`` where hpa is not installed, the
README's Usage steps, then ``helm uninstall``, after which nothing the chart rendered remains
(the CRDs included: they are templates, docs/helm.md).

The control plane is one of this module's own, with hpa run on it as in hack/cluster
(tests/e2e/own_plane.py), behind the stand-in for the webhook Service that the chart's
``webhook.url`` points the API server at.
"""

import dataclasses
import pathlib
from collections.abc import Iterator

import pytest

from tests.chart.helm import CHART, RELEASE, Helm, documents, executable
from tests.e2e import own_plane, test_readme
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
    directory = tmp_path_factory.mktemp("helm-control-plane")
    why = "installs the chart on a control plane of its own"
    with own_plane.bare_control_plane(request, directory, why=why) as cluster:
        yield Plane(
            cluster=cluster,
            helm=Helm(executable(), directory / "helm", kubeconfig=cluster.kubeconfig),
        )


@pytest.fixture
def release(plane: Plane) -> Iterator[None]:
    """After the test, the release is uninstalled even if the test failed half-way, so that
    the next one finds the control plane as bare as it was."""
    yield
    plane.helm.run(
        "uninstall", RELEASE, "--namespace", RELEASE_NAMESPACE, "--ignore-not-found", "--wait",
        "--timeout=180s", check=False,
    )  # fmt: skip


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
    with own_plane.service() as (portal, balancer):
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
        kubeconfig = own_plane.service_account_kubeconfig(
            plane.cluster, tmp_path / "hpa.kubeconfig"
        )
        ensure_service_account(plane.cluster, "default")
        with own_plane.replicas(portal, balancer, deployment, kubeconfig, tmp_path):
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
