"""The operator scenarios run against the API server ``--api-server`` names, over HTTPS (or the
control plane's fault proxy) through kr8s: see ``tests/clusters.py``."""

from tests.clusters import (
    cluster,
    control_plane,
    control_plane_cluster,
    operator,
    sandbox_cluster,
)

__all__ = ["cluster", "control_plane", "control_plane_cluster", "operator", "sandbox_cluster"]
