"""The reliability suite: short by default (CI), long with ``--long`` or ``HPA_LONG=1``; against
the API server of ``--api-server`` (``tests/clusters.py``).

The long form uses the sizes of the reliability issue (10,000 claims, 50 pods/s, 100,000 soak
cycles, SIGKILLed replicas) and takes tens of minutes; ``bench/reliability.py`` runs the same
scenarios and only prints their figures.
"""

import gc
import os
from collections.abc import Iterator

import pytest

from tests.clusters import cluster, control_plane, control_plane_cluster, sandbox_cluster

__all__ = ["cluster", "control_plane", "control_plane_cluster", "sandbox_cluster"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("hpa").addoption(
        "--long", action="store_true", help="run the reliability suite at full size"
    )


@pytest.fixture
def long_form(request: pytest.FixtureRequest) -> bool:
    """Whether the reliability suite runs at full size."""
    return bool(request.config.getoption("--long") or os.environ.get("HPA_LONG") == "1")


@pytest.fixture(autouse=True)
def _collect_garbage() -> Iterator[None]:
    """Collect garbage as each test ends, so that whatever a scenario left unclosed is reported
    against that test (and its ``filterwarnings``), not against a later one."""
    yield
    gc.collect()
