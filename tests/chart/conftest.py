"""The chart's tests: helm renders charts/hpa (tests/chart/helm.py says where helm comes from)."""

import pytest

from tests.chart.helm import Helm, executable


@pytest.fixture(scope="session")
def helm(tmp_path_factory: pytest.TempPathFactory) -> Helm:
    return Helm(executable(), tmp_path_factory.mktemp("helm"))
