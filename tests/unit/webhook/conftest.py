"""Fixtures of the webhook's unit tests."""

from typing import Any

import pytest

from tests.unit.webhook import support


@pytest.fixture
def cluster() -> support.FakeCluster:
    """A cluster with the managed namespace ``default`` and the unmanaged ``other``."""
    return support.managed_cluster()


@pytest.fixture
def pod() -> dict[str, Any]:
    """A fresh copy of the quickstart pod."""
    return support.quickstart_pod()
