"""Tenants reach hpa's kinds through Kubernetes' own admin, edit and view roles, which aggregate
hpa-edit and hpa-view: a RoleBinding grants the namespaced claims, a ClusterRoleBinding is
needed to read the cluster-scoped HostPorts and classes."""

from collections.abc import Callable, Iterator

import pytest

from tests.e2e.conftest import Cluster, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def authorizing(cluster: Cluster) -> Cluster:
    if not cluster.authorizes:
        pytest.skip("the sandbox has no authorizer (a known difference)")
    return cluster


def _can(cluster: Cluster, user: str, *args: str) -> bool:
    answer = cluster.kubectl("auth", "can-i", *args, "--as", user, check=False)
    assert answer.stdout.strip() in {"yes", "no"}, answer.stderr
    return answer.stdout.strip() == "yes"


def _granted(cluster: Cluster, user: str, *args: str) -> bool:
    """Whether ``user`` may, once kube-controller-manager has aggregated the roles (at once
    on a cluster where hpa has been installed for a while)."""
    return bool(eventually(lambda: _can(cluster, user, *args), within=60, interval=0.5))


def test_namespace_editor_manages_claims_but_not_classes(
    authorizing: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """A user bound to edit in one namespace by a RoleBinding creates claims there, and
    nothing cluster-scoped of hpa's."""
    cluster, user = authorizing, unique("tenant")
    cluster.kubectl(
        "create", "rolebinding", "tenant", "--clusterrole=edit", f"--user={user}", "-n", namespace
    )
    assert _granted(cluster, user, "create", "hostportclaims", "-n", namespace)
    assert _can(cluster, user, "deletecollection", "hostportclaims", "-n", namespace)
    assert not _can(cluster, user, "create", "hostportclasses")
    assert not _can(cluster, user, "list", "hostports")
    assert not _can(cluster, user, "create", "hostportclaims", "-n", "default")
    assert not _can(
        cluster, user, "update", "hostportclaims", "--subresource=status", "-n", namespace
    )


def test_namespace_admin_manages_claims(
    authorizing: Cluster, namespace: str, unique: Callable[[str], str]
) -> None:
    """admin aggregates hpa-edit as well."""
    cluster, user = authorizing, unique("tenant-admin")
    cluster.kubectl(
        "create", "rolebinding", "tenant", "--clusterrole=admin", f"--user={user}", "-n", namespace
    )
    assert _granted(cluster, user, "deletecollection", "hostportclaims", "-n", namespace)
    assert not _can(cluster, user, "delete", "hostportclasses")


@pytest.fixture
def cluster_viewer(authorizing: Cluster, unique: Callable[[str], str]) -> Iterator[str]:
    """A user bound to view across the cluster, by a ClusterRoleBinding removed afterwards."""
    user, binding = unique("viewer"), unique("e2e-viewer")
    authorizing.kubectl(
        "create", "clusterrolebinding", binding, "--clusterrole=view", f"--user={user}"
    )
    yield user
    authorizing.kubectl("delete", "clusterrolebinding", binding, "--wait=false", check=False)


def test_cluster_viewer_reads_all_three_kinds(
    authorizing: Cluster, cluster_viewer: str, namespace: str
) -> None:
    """view, bound cluster-wide, reads HostPorts and classes too, and writes nothing."""
    cluster, user = authorizing, cluster_viewer
    assert _granted(cluster, user, "list", "hostports")
    assert _can(cluster, user, "watch", "hostportclasses")
    assert _can(cluster, user, "get", "hostportclaims", "-n", namespace)
    assert not _can(cluster, user, "create", "hostportclaims", "-n", namespace)
