"""The install manifests of hpa, generated: namespace, CRDs, RBAC (hpa's and the tenant
roles), Deployment, Service, PodDisruptionBudget, webhook configurations, admission policies,
and the cert-manager and service-monitor overlays.

``hpa manifests`` prints them as one YAML stream for ``kubectl apply -f -``,
``hpa manifests --write manifests`` writes the kustomize base and overlays that are checked in,
and ``python -m hpa.manifests --chart charts/hpa`` the generated files of the Helm chart.
"""

from hpa.manifests._chart import chart_files
from hpa.manifests._install import (
    DEFAULT_IMAGE,
    EDIT_ROLE,
    HOST_NETWORK_POLICY,
    VIEW_ROLE,
    Options,
    install_documents,
    service_monitor,
)
from hpa.manifests._kustomize import kustomize_files, render_yaml
from hpa.manifests._webhook_configurations import webhook_configurations

__all__ = [
    "DEFAULT_IMAGE",
    "EDIT_ROLE",
    "HOST_NETWORK_POLICY",
    "VIEW_ROLE",
    "Options",
    "chart_files",
    "install_documents",
    "kustomize_files",
    "render_yaml",
    "service_monitor",
    "webhook_configurations",
]
