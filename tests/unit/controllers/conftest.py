"""The operator scenarios run against the in-memory fake API server."""

import pytest

from tests import kubefake
from tests.operator_fixtures import Start, operator_starter


@pytest.fixture
def cluster() -> kubefake.FakeApi:
    """An empty in-memory API server."""
    return kubefake.FakeApi()


@pytest.fixture
def operator(cluster: kubefake.FakeApi) -> Start:
    """Start operators on the fake; keyword arguments override the OperatorConfig."""
    return operator_starter(lambda: cluster)
