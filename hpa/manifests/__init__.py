"""The install manifests of hpa, generated: namespace, CRDs, RBAC, Deployment, Service,
PodDisruptionBudget, webhook configurations and the cert-manager overlay.

``hpa manifests`` prints them as one YAML stream for ``kubectl apply -f -``, and
``hpa manifests --write manifests`` writes the kustomize base and overlay that are checked in.
"""

from hpa.manifests._install import (
    DEFAULT_IMAGE,
    DEFAULT_NAMESPACE,
    EDIT_ROLE,
    HOST_NETWORK_POLICY,
    LEASE_NAME,
    SERVICE,
    VIEW_ROLE,
    Options,
    install_documents,
)
from hpa.manifests._kustomize import kustomize_files, render_yaml

__all__ = [
    "DEFAULT_IMAGE",
    "DEFAULT_NAMESPACE",
    "EDIT_ROLE",
    "HOST_NETWORK_POLICY",
    "LEASE_NAME",
    "SERVICE",
    "VIEW_ROLE",
    "Options",
    "install_documents",
    "kustomize_files",
    "render_yaml",
]
