"""The install manifests: checked in as generated, valid, least-privileged, and equal to what
``kubectl kustomize`` builds."""

import pathlib
import shutil
import subprocess
from typing import Any

import kubernetes_validate
import pytest
import yaml

from hpa import api, cli, manifests
from hpa.cli import _main

DOCUMENTS = manifests.install_documents()
KUBECTL = shutil.which("kubectl")
needs_kubectl = pytest.mark.skipif(KUBECTL is None, reason="kubectl is not on PATH")


def _key(document: dict[str, Any]) -> tuple[str, str, str]:
    meta = document["metadata"]
    return document["kind"], meta.get("namespace", ""), meta["name"]


def _kustomize(path: pathlib.Path) -> list[dict[str, Any]]:
    assert KUBECTL is not None
    out = subprocess.run(
        [KUBECTL, "kustomize", str(path)], check=True, capture_output=True, text=True, timeout=60
    ).stdout
    return [d for d in yaml.safe_load_all(out) if d]


def _by_kind(kind: str) -> dict[str, Any]:
    (document,) = (d for d in DOCUMENTS if d["kind"] == kind)
    return document


def test_checked_in_tree_is_generated(repo_root: pathlib.Path) -> None:
    """manifests/ holds exactly what `hpa manifests --write manifests` writes."""
    for name, text in manifests.kustomize_files().items():
        path = repo_root / "manifests" / name
        assert path.exists(), f"{name} is missing: run `hpa manifests --write manifests`"
        assert path.read_text() == text, f"{name} is stale: run `hpa manifests --write manifests`"


@pytest.mark.parametrize("document", DOCUMENTS, ids=["/".join(_key(d)) for d in DOCUMENTS])
def test_document_passes_kubernetes_schema(document: dict[str, Any]) -> None:
    """Every object of the install validates against the Kubernetes API schemas."""
    kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


@needs_kubectl
def test_kustomize_base_equals_rendered_install(repo_root: pathlib.Path) -> None:
    """`kubectl kustomize manifests` builds the same objects `hpa manifests` prints."""
    built = sorted(_kustomize(repo_root / "manifests"), key=_key)
    assert built == sorted(DOCUMENTS, key=_key)


@needs_kubectl
def test_cert_manager_overlay_builds(repo_root: pathlib.Path) -> None:
    """The overlay adds a Certificate, mounts it and asks cert-manager to inject the CA."""
    built = {_key(d): d for d in _kustomize(repo_root / "manifests/overlays/cert-manager")}
    assert ("Certificate", "hpa-system", "hpa-webhook") in built
    deployment = built[("Deployment", "hpa-system", "hpa")]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert any(arg.startswith("--cert-dir=") for arg in container["args"])
    for kind, name in (
        ("MutatingWebhookConfiguration", api.MUTATING_CONFIGURATION),
        ("ValidatingWebhookConfiguration", api.VALIDATING_CONFIGURATION),
    ):
        annotations = built[(kind, "", name)]["metadata"]["annotations"]
        assert annotations["cert-manager.io/inject-ca-from"] == "hpa-system/hpa-webhook"


@needs_kubectl
def test_service_monitor_overlay_builds(repo_root: pathlib.Path) -> None:
    """The overlay adds to the base one ServiceMonitor, monitoring/servicemonitor.yaml's: it
    scrapes the Service's metrics port under the job the alerts select."""
    built = _kustomize(repo_root / "manifests/overlays/service-monitor")
    added = [d for d in built if d not in DOCUMENTS]
    assert added == [manifests.service_monitor()]
    assert len(built) == len(DOCUMENTS) + 1
    (monitor,) = yaml.safe_load_all((repo_root / "monitoring/servicemonitor.yaml").read_text())
    assert manifests.service_monitor() == monitor


def test_render_with_options(capsys: pytest.CaptureFixture[str]) -> None:
    """--namespace and --image reach every object that names them."""
    assert cli.main(["manifests", "--namespace", "ports", "--image", "example/hpa:1"]) == 0
    documents = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    assert {_key(d) for d in documents} >= {
        ("Namespace", "", "ports"),
        ("Deployment", "ports", "hpa"),
    }
    namespaced = [
        d for d in documents if d["kind"] in {"Deployment", "Service", "Role", "ServiceAccount"}
    ]
    assert {d["metadata"]["namespace"] for d in namespaced} == {"ports"}
    (deployment,) = (d for d in documents if d["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "example/hpa:1"
    for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
        (config,) = (d for d in documents if d["kind"] == kind)
        for hook in config["webhooks"]:
            assert hook["clientConfig"]["service"]["namespace"] == "ports"


def test_deployment_is_hardened() -> None:
    """Two replicas, probes, limits and a restricted security context."""
    spec = _by_kind("Deployment")["spec"]
    pod = spec["template"]["spec"]
    (container,) = pod["containers"]
    assert spec["replicas"] == 2
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["limits"]["memory"]
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["topologySpreadConstraints"]


def _cluster_role(name: str) -> dict[str, Any]:
    (role,) = (d for d in DOCUMENTS if d["kind"] == "ClusterRole" and d["metadata"]["name"] == name)
    return role


def test_rbac_is_least_privilege() -> None:
    """No wildcards; Secrets and Leases only in hpa's own namespace, by name where possible."""
    cluster_rules = _cluster_role("hpa")["rules"]
    role_rules = _by_kind("Role")["rules"]
    tenant_rules = [
        rule
        for name in (manifests.EDIT_ROLE, manifests.VIEW_ROLE)
        for rule in _cluster_role(name)["rules"]
    ]
    for rule in cluster_rules + role_rules + tenant_rules:
        assert "*" not in rule["verbs"] and "*" not in rule["resources"]
    assert not any("secrets" in r["resources"] or "leases" in r["resources"] for r in cluster_rules)
    for rule in role_rules:
        if set(rule["verbs"]) - {"create"}:
            assert rule["resourceNames"], f"{rule} is not narrowed by name"


def _verbs(role: dict[str, Any]) -> dict[str, set[str]]:
    """Resource → the verbs a role grants on it (hpa's group only)."""
    granted: dict[str, set[str]] = {}
    for rule in role["rules"]:
        assert rule["apiGroups"] == [api.GROUP]
        for resource in rule["resources"]:
            granted.setdefault(resource, set()).update(rule["verbs"])
    return granted


def test_tenant_roles_aggregate_into_the_built_in_roles() -> None:
    """admin and edit manage claims (every verb) and read HostPorts and classes; view reads
    all three. Nothing else: no status, no other group."""
    aggregate = "rbac.authorization.k8s.io/aggregate-to-"
    read = {"get", "list", "watch"}
    manage = read | {"create", "update", "patch", "delete", "deletecollection"}
    cluster_scoped = {api.PLURAL_HOSTPORT: read, api.PLURAL_CLASS: read}
    edit, view = _cluster_role(manifests.EDIT_ROLE), _cluster_role(manifests.VIEW_ROLE)
    assert _verbs(edit) == {api.PLURAL_CLAIM: manage, **cluster_scoped}
    assert _verbs(view) == {api.PLURAL_CLAIM: read, **cluster_scoped}
    into = {
        role["metadata"]["name"]: {
            key.removeprefix(aggregate)
            for key, value in role["metadata"]["labels"].items()
            if key.startswith(aggregate) and value == "true"
        }
        for role in (edit, view)
    }
    assert into == {
        manifests.EDIT_ROLE: {"admin", "edit"},
        manifests.VIEW_ROLE: {"admin", "edit", "view"},
    }
    bound = {d["roleRef"]["name"] for d in DOCUMENTS if d["kind"].endswith("RoleBinding")}
    assert bound == {"hpa"}, "the tenant roles reach users through the built-in roles only"


def test_pod_admission_skips_system_namespaces() -> None:
    """Pod webhooks and policies act on labelled namespaces only, never hpa's own or
    kube-system."""
    selectors = _namespace_selectors(DOCUMENTS)
    assert len(selectors) == 4  # mutate, validate, and two policy bindings
    for selector in selectors:
        assert selector["matchLabels"] == {"hostport.rmb938.com": "true"}
        (excluded,) = selector["matchExpressions"]
        assert excluded["operator"] == "NotIn"
        assert set(excluded["values"]) == {"hpa-system", "kube-system"}


def test_namespace_label_reaches_webhooks_policies_and_the_process(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--namespace-label changes every pod selector and tells `hpa run` the same label."""
    assert cli.main(["manifests", "--namespace-label", "team.example.com/ports=yes"]) == 0
    documents = [d for d in yaml.safe_load_all(capsys.readouterr().out) if d]
    selectors = _namespace_selectors(documents)
    assert len(selectors) == 4
    assert all(s["matchLabels"] == {"team.example.com/ports": "yes"} for s in selectors)
    (deployment,) = (d for d in documents if d["kind"] == "Deployment")
    env = {
        e["name"]: e.get("value")
        for e in deployment["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["HPA_NAMESPACE_LABEL"] == "team.example.com/ports=yes"


def _namespace_selectors(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every namespaceSelector of the pod webhooks and the policy bindings."""
    return [
        hook["namespaceSelector"]
        for d in documents
        if d["kind"].endswith("WebhookConfiguration")
        for hook in d["webhooks"]
        if "namespaceSelector" in hook
    ] + [
        d["spec"]["matchResources"]["namespaceSelector"]
        for d in documents
        if d["kind"] == "ValidatingAdmissionPolicyBinding"
    ]


def _run_settings(documents: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> Any:
    """What `hpa run` makes of the Deployment's container: its args and environment."""
    (deployment,) = (d for d in documents if d["kind"] == "Deployment")
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    for variable in container["env"]:
        if "value" in variable:
            monkeypatch.setenv(variable["name"], variable["value"])
    return _main._parser().parse_args(container["args"])


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(manifests.Options(), id="defaults"),
        pytest.param(manifests.Options(lease_name="elsewhere"), id="lease-name"),
        pytest.param(manifests.Options(allow_host_network=True), id="allow-host-network"),
        pytest.param(
            manifests.Options(namespace_label="team", namespace_label_value="games"),
            id="namespace-label",
        ),
    ],
)
def test_every_option_gives_an_install_where_hpa_run_agrees(
    options: manifests.Options, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What an option makes `hpa run` do, the rest of the install allows: the Role grants
    its Lease, the policies leave out hostNetwork when it is allowed, and the webhooks and
    policies select the namespaces it manages."""
    documents = manifests.install_documents(options)
    settings = _run_settings(documents, monkeypatch)
    (role,) = (d for d in documents if d["kind"] == "Role")
    lease_rules = [
        r for r in role["rules"] if "leases" in r["resources"] and "update" in r["verbs"]
    ]
    assert [r["resourceNames"] for r in lease_rules] == [[settings.lease_name]]
    policies = {
        d["metadata"]["name"] for d in documents if d["kind"] == "ValidatingAdmissionPolicy"
    }
    assert (manifests.HOST_NETWORK_POLICY not in policies) == settings.allow_host_network
    key, _, value = settings.namespace_label.partition("=")
    selectors = _namespace_selectors(documents)
    assert selectors and all(s["matchLabels"] == {key: value} for s in selectors)
