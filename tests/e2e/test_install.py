"""The install as a cluster operator applies it: accepted whole, without a warning, and its
ServiceAccount's roles are all hpa may do."""

import subprocess
import sys

import pytest
import yaml

from tests.e2e.conftest import Cluster, eventually

pytestmark = pytest.mark.e2e

SERVICE_ACCOUNT = "system:serviceaccount:hpa-system:hpa"


#: What the API server must compile and price (CEL), and kubectl validate, field by field.
CHECKED_KINDS = (
    "CustomResourceDefinition",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "Deployment",
)
#: Said of an object created other than by `kubectl apply` (as the sandbox installs itself).
NOT_APPLIED = "is missing the kubectl.kubernetes.io/last-applied-configuration annotation"


def test_crds_and_policies_are_accepted_without_warnings(cluster: Cluster) -> None:
    """`kubectl apply --dry-run=server` of the CRDs, policies, webhook configurations and the
    Deployment that `hpa manifests` prints succeeds with no warning: the API server compiles
    and prices every CEL rule and finds no unknown or deprecated field."""
    rendered = subprocess.run(
        [sys.executable, "-m", "hpa", "manifests"], capture_output=True, text=True, check=True
    ).stdout
    documents = [d for d in yaml.safe_load_all(rendered) if d and d["kind"] in CHECKED_KINDS]
    assert len(documents) == 10
    applied = cluster.kubectl(
        "apply", "--dry-run=server", "-f", "-", input=yaml.safe_dump_all(documents)
    )
    warnings = [w for w in applied.stderr.splitlines() if NOT_APPLIED not in w]
    assert warnings == []
    assert "customresourcedefinition.apiextensions.k8s.io/hostports" in applied.stdout


def _can(cluster: Cluster, *args: str) -> str:
    return cluster.kubectl("auth", "can-i", *args, "--as", SERVICE_ACCOUNT, check=False).stdout


def test_service_account_is_refused_what_its_roles_do_not_grant(cluster: Cluster) -> None:
    """The API server grants hpa's ServiceAccount what hpa needs and refuses the rest."""
    if not cluster.authorizes:
        pytest.skip("the sandbox has no authorizer (a known difference)")
    assert _can(cluster, "create", "hostports.hostport.rmb938.com").strip() == "yes"
    assert _can(cluster, "list", "pods", "--all-namespaces").strip() == "yes"
    assert _can(cluster, "create", "pods", "-n", "default").strip() == "no"
    assert _can(cluster, "watch", "nodes").strip() == "yes"  # per-node classes count them
    assert _can(cluster, "patch", "nodes").strip() == "no"
    refused = cluster.kubectl(
        "get", "secrets", "-n", "default", "--as", SERVICE_ACCOUNT, check=False
    )
    assert refused.returncode != 0
    assert "Forbidden" in refused.stderr and SERVICE_ACCOUNT in refused.stderr


def test_a_wiped_ca_bundle_is_restored(cluster: Cluster) -> None:
    """hpa writes its CA back into its webhook configuration when something removed it (a
    GitOps tool applying the manifests again), within a certificate refresh (a minute)."""
    bundle = "{.webhooks[0].clientConfig.caBundle}"
    assert cluster.jsonpath("mutatingwebhookconfiguration", "hpa-mutating", path=bundle)
    remove = '[{"op": "remove", "path": "/webhooks/0/clientConfig/caBundle"}]'
    cluster.kubectl(
        "patch", "mutatingwebhookconfiguration", "hpa-mutating", "--type=json", "-p", remove
    )
    eventually(
        lambda: cluster.jsonpath("mutatingwebhookconfiguration", "hpa-mutating", path=bundle),
        within=120,
        interval=1,
    )
