"""The feature scenarios run against the sandbox, with the operator's fixtures."""

from tests.integration.operator.conftest import cluster, operator

__all__ = ["cluster", "operator"]
