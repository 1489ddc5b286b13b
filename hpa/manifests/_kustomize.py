"""The kustomize base and its overlays (cert-manager, service-monitor), as files to check in
under manifests/.

The base holds exactly the objects of :func:`install_documents` with the default options, so
``kubectl kustomize manifests`` and ``hpa manifests`` agree (a test keeps them equal). The Helm
chart renders the same objects (charts/hpa, see :mod:`hpa.manifests._chart`).
"""

from typing import Any, Final

import yaml

from hpa import api
from hpa.manifests import _install

CERT_MANAGER_SECRET: Final = "hpa-webhook-cert-manager"
CERT_DIR: Final = "/var/run/hpa/certs"

_FILES_BY_KIND: Final = {
    "Namespace": "namespace.yaml",
    "ServiceAccount": "rbac.yaml",
    "ClusterRole": "rbac.yaml",
    "ClusterRoleBinding": "rbac.yaml",
    "Role": "rbac.yaml",
    "RoleBinding": "rbac.yaml",
    "Service": "service.yaml",
    "Deployment": "deployment.yaml",
    "PodDisruptionBudget": "pdb.yaml",
    "MutatingWebhookConfiguration": "webhooks.yaml",
    "ValidatingWebhookConfiguration": "webhooks.yaml",
    "ValidatingAdmissionPolicy": "policies.yaml",
    "ValidatingAdmissionPolicyBinding": "policies.yaml",
}


def render_yaml(*documents: Any) -> str:
    """Documents as one YAML stream, keys in the order the code gives them."""
    texts = [yaml.safe_dump(d, sort_keys=False, width=100) for d in documents]
    return texts[0] if len(texts) == 1 else "".join(f"---\n{text}" for text in texts)


def _file_of(document: dict[str, Any]) -> str:
    if document["kind"] == "CustomResourceDefinition":
        return f"crds/{document['spec']['names']['plural']}.yaml"
    return _FILES_BY_KIND[document["kind"]]


def kustomize_files() -> dict[str, str]:
    """Relative path under manifests/ → text: the root, the base and the cert-manager overlay."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for document in _install.install_documents():
        grouped.setdefault(_file_of(document), []).append(document)
    files = {f"base/{path}": render_yaml(*docs) for path, docs in grouped.items()}
    files["base/kustomization.yaml"] = _kustomization(list(grouped))
    # The root only points at the base: an overlay below a base's own folder would be a cycle.
    files["kustomization.yaml"] = _kustomization(["base"])
    files.update(_cert_manager_overlay())
    files.update(_service_monitor_overlay())
    return files


def _kustomization(resources: list[str], **extra: Any) -> str:
    return render_yaml(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": resources,
            **extra,
        }
    )


def _cert_manager_overlay() -> dict[str, str]:
    """Serving certificate from cert-manager instead of hpa's own CA."""
    namespace = api.DEFAULT_NAMESPACE
    service = f"{api.WEBHOOK_SERVICE}.{namespace}.svc"
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Issuer",
        "metadata": _install._metadata("hpa-selfsigned", namespace),
        "spec": {"selfSigned": {}},
    }
    certificate = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "Certificate",
        "metadata": _install._metadata("hpa-webhook", namespace),
        "spec": {
            "secretName": CERT_MANAGER_SECRET,
            "dnsNames": [service, f"{service}.cluster.local"],
            "issuerRef": {"kind": "Issuer", "name": "hpa-selfsigned"},
        },
    }
    deployment_patch = [
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/args/-",
            "value": f"--cert-dir={CERT_DIR}",
        },
        {
            "op": "add",
            "path": "/spec/template/spec/volumes",
            "value": [{"name": "certs", "secret": {"secretName": CERT_MANAGER_SECRET}}],
        },
        {
            "op": "add",
            "path": "/spec/template/spec/containers/0/volumeMounts",
            "value": [{"name": "certs", "mountPath": CERT_DIR, "readOnly": True}],
        },
    ]
    inject = [
        {
            "op": "add",
            "path": "/metadata/annotations",
            "value": {"cert-manager.io/inject-ca-from": f"{namespace}/hpa-webhook"},
        }
    ]
    patches = [
        {
            "target": {"kind": "Deployment", "name": api.APP_NAME},
            "patch": render_yaml(deployment_patch),
        }
    ]
    for kind, name in (
        ("MutatingWebhookConfiguration", api.MUTATING_CONFIGURATION),
        ("ValidatingWebhookConfiguration", api.VALIDATING_CONFIGURATION),
    ):
        patches.append({"target": {"kind": kind, "name": name}, "patch": render_yaml(inject)})
    return {
        "overlays/cert-manager/kustomization.yaml": _kustomization(
            ["../../base", "certificate.yaml"], patches=patches
        ),
        "overlays/cert-manager/certificate.yaml": render_yaml(issuer, certificate),
    }


def _service_monitor_overlay() -> dict[str, str]:
    """The base and a Prometheus Operator ServiceMonitor for hpa's metrics."""
    return {
        "overlays/service-monitor/kustomization.yaml": _kustomization(
            ["../../base", "servicemonitor.yaml"]
        ),
        "overlays/service-monitor/servicemonitor.yaml": render_yaml(_install.service_monitor()),
    }
