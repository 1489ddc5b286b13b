"""With hpa installed but not running: the API server itself keeps the invariants (CRD CEL
rules), hpa's own resources stay writable (that webhook fails open), pods elsewhere are not
held up, and pods in managed namespaces are refused (those webhooks fail closed).

Stopping hpa is only possible on a cluster this suite starts itself: the real control plane of
``hack/cluster --replicas 0``. The sandbox's own tests check its side
(tests/integration/sandbox/test_admission_policies.py).
"""

import json
import os
from collections.abc import Iterator

import pytest

from tests import backends
from tests.e2e.conftest import Cluster, ensure_service_account

pytestmark = pytest.mark.e2e

GROUP = "hostport.rmb938.com/v1alpha1"


@pytest.fixture(scope="module")
def down(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """A control plane with hpa installed and no hpa process."""
    if request.config.getoption("--api-server") != backends.CONTROL_PLANE or os.environ.get(
        "HPA_E2E_KUBECONFIG"
    ):
        pytest.skip("hpa can be stopped only on the control plane this suite starts itself")
    kubectl = str(backends.control_plane_binaries() / "kubectl")
    started, kubeconfig = backends.start(
        backends.CONTROL_PLANE, tmp_path_factory.mktemp("hpa-down"), "--replicas", "0"
    )
    try:
        yield Cluster(
            kubeconfig=kubeconfig, home=tmp_path_factory.mktemp("home"), executable=kubectl
        )
    finally:
        started.stop()


def _apply(cluster: Cluster, obj: dict[str, object]) -> tuple[int, str]:
    result = cluster.kubectl("apply", "-f", "-", input=json.dumps(obj), check=False)
    return result.returncode, result.stderr


def _pod(
    pod_name: str, namespace: str, annotations: dict[str, str] | None = None, **port: object
) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name, "namespace": namespace, "annotations": annotations or {}},
        "spec": {
            "containers": [
                {"name": "app", "image": "busybox", "ports": [{"containerPort": 80, **port}]}
            ]
        },
    }


def test_crd_rules_hold_without_hpa(down: Cluster) -> None:
    """Each CRD invariant of docs/admission.md is refused by the API server alone."""
    backwards = {
        "apiVersion": GROUP,
        "kind": "HostPortClass",
        "metadata": {"name": "backwards"},
        "spec": {"pools": [{"start": 9100, "end": 9000}]},
    }
    code, error = _apply(down, backwards)
    assert code != 0 and "start" in error
    assert "overlap" not in error  # one pool, backwards: that, and nothing else, is wrong
    misnamed = {
        "apiVersion": GROUP,
        "kind": "HostPort",
        "metadata": {"name": "port-1"},
        "spec": {"hostPortClassName": "c", "port": 2},
    }
    code, error = _apply(down, misnamed)
    assert code != 0 and "metadata.name must be port-<spec.port>" in error
    claim = {
        "apiVersion": GROUP,
        "kind": "HostPortClaim",
        "metadata": {"name": "c", "namespace": "default"},
        "spec": {"hostPortClassName": "a"},
    }
    assert _apply(down, claim)[0] == 0  # the resource webhook is down and fails open
    changed = {**claim, "spec": {"hostPortClassName": "b"}}
    code, error = _apply(down, changed)
    assert code != 0 and "hostPortClassName is immutable" in error


def test_pods_outside_managed_namespaces_are_not_held_up(down: Cluster) -> None:
    """A pod in a namespace hpa does not manage is created while hpa is down."""
    down.kubectl("create", "namespace", "plain")
    ensure_service_account(down, "plain")
    assert _apply(down, _pod("raw", "plain", hostPort=8080)) == (0, "")


def test_only_pods_that_need_hpa_are_refused(down: Cluster) -> None:
    """In a managed namespace, while hpa is down: a pod that uses a claim (by hand or from a
    template) is refused with a message that says hpa is unavailable; a raw hostPort is refused
    as always; a pod that needs nothing of hpa is created (the pod webhooks' matchConditions
    skip it)."""
    down.kubectl("create", "namespace", "managed")
    down.kubectl("label", "namespace", "managed", "hostport.rmb938.com=true")
    ensure_service_account(down, "managed")
    for key in ("claim.hostport.rmb938.com/http", "template.hostport.rmb938.com/http"):
        code, error = _apply(down, _pod("claimed", "managed", {key: "web"}, name="http"))
        assert code != 0 and "hpa is unavailable" in error, error
    code, error = _apply(down, _pod("raw", "managed", hostPort=8080))
    assert code != 0 and "must come from a HostPortClaim" in error
    assert _apply(down, _pod("plain", "managed")) == (0, "")
