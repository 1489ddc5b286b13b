"""Suite-wide pytest set-up: the sandbox fixtures, e2e selection and the repository root.

``--api-server`` picks the API server of the integration, reliability and e2e suites
(tests/backends.py).
End-to-end tests (marked ``e2e``, under ``tests/e2e/``) run only with ``--with-e2e`` or
``--only-e2e``, and are collected last so a quick unit failure shows first.
"""

import pathlib

import pytest

from tests import backends

pytest_plugins = ["tests.sandbox_fixtures"]

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hpa")
    group.addoption("--with-e2e", action="store_true", help="also run end-to-end tests")
    group.addoption("--only-e2e", action="store_true", help="run only end-to-end tests")
    group.addoption(
        "--api-server",
        choices=backends.CHOICES,
        default=backends.SANDBOX,
        help="what the operator, feature, reliability and e2e suites run against: hpa "
        "sandbox (default), or the real control plane of hack/cluster (built with Go on "
        "first use)",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    with_e2e = config.getoption("--with-e2e") or config.getoption("--only-e2e")
    only_e2e = config.getoption("--only-e2e")
    skip = pytest.mark.skip(reason="end-to-end test: run with --with-e2e or --only-e2e")
    for item in items:
        is_e2e = item.get_closest_marker("e2e") is not None
        if (is_e2e and not with_e2e) or (only_e2e and not is_e2e):
            item.add_marker(skip)
    items.sort(key=lambda item: item.get_closest_marker("e2e") is not None)


@pytest.fixture
def repo_root() -> pathlib.Path:
    """The root of the repository."""
    return REPO_ROOT
