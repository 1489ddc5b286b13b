"""Leader election between two operators (see ``tests/leadership_scenarios.py``)."""

from typing import Any

import pytest

from tests.clusters import Cluster
from tests.leadership_scenarios import (
    test_only_the_leader_reconciles_and_a_successor_takes_over,
)

__all__ = ["test_only_the_leader_reconciles_and_a_successor_takes_over"]


class _LeaseWhereTheOperatorKeepsIt:
    """The cluster, but the scenario's read of the Lease in ``default`` (where the fake's and
    the sandbox's operators keep it) goes to the operator's namespace: on the control plane
    that is ``hpa-system``, the only namespace where the install's Role grants the Lease."""

    def __init__(self, cluster: Cluster) -> None:
        self._cluster = cluster

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cluster, name)

    def get(self, plural: str, name: str, namespace: str = "") -> Any:
        if plural == "leases" and namespace == "default":
            namespace = self._cluster.operator_namespace
        return self._cluster.get(plural, name, namespace)


@pytest.fixture
def cluster(cluster: Cluster) -> Any:
    """The cluster of ``--api-server``, with the Lease read where the operator keeps it."""
    return _LeaseWhereTheOperatorKeepsIt(cluster)
