"""The cluster the integration and reliability suites drive, as ``--api-server`` chooses it.

- ``sandbox`` (the default): a fresh :class:`hpa.sandbox.Sandbox` per test, in the test's event
  loop (``tests/sandbox_cluster.py``).
- ``control-plane``: the session's real control plane, emptied before each test, with a fault
  proxy and a webhook forwarder in the test's event loop (``tests/control_plane.py``,
  ``tests/control_plane_cluster.py``).

:class:`Cluster` is what both give a test; the fixtures here (imported by the suites'
conftests) hand out the one chosen. The operator runs in the test's process as the cluster
says: the sandbox's admin in ``default``, or hpa's ServiceAccount in ``hpa-system``.
"""

import itertools
import pathlib
import shutil
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

import pytest

from hpa import controllers
from hpa import sandbox as sandbox_module
from tests import backends, operator_fixtures
from tests.control_plane import ControlPlane, shared
from tests.control_plane_cluster import ControlPlaneCluster
from tests.sandbox_cluster import SandboxCluster

Obj = dict[str, Any]
Listener = Callable[[str, Obj], None]


class Cluster(operator_fixtures.Cluster, Protocol):
    """The scenarios' cluster, and what the feature and reliability suites need besides."""

    #: kube-apiserver's (or the sandbox's) URL, and the admin's token and kubeconfig.
    url: str
    token: str
    kubeconfig: pathlib.Path
    #: The kubectl to drive it with (None: not on PATH).
    kubectl_executable: str | None
    #: What an in-process operator uses (faults apply), and one in a child process.
    operator_kubeconfig: pathlib.Path
    direct_kubeconfig: pathlib.Path
    #: Where the operator keeps its Lease.
    operator_namespace: str
    #: Whether kube-controller-manager's controllers run (not in the sandbox).
    runs_controllers: bool

    def ssl_context(self) -> ssl.SSLContext:
        """Verifies the API server's serving certificate."""

    async def create(self, obj: Obj) -> Obj:
        """Create an object as the admin; returns it as stored."""

    def fail_all(
        self, *, verb: str | None = None, resource: str | None = None, status: int = 500
    ) -> None:
        """Fail matching operator requests with ``status`` until :meth:`clear_faults`."""

    def hang(
        self, *, verb: str | None = None, resource: str | None = None, seconds: float, times: int
    ) -> None:
        """Hold the next ``times`` matching operator requests ``seconds``, then answer 504."""

    def clear_faults(self) -> None:
        """Remove every injected fault."""

    async def patch_status(self, plural: str, obj: Obj, status: Obj) -> Obj:
        """Set ``status`` on an object ``create`` returned."""

    async def vanish(self, plural: str, name: str, namespace: str = "") -> None:
        """Remove an object whatever its finalizers say (as an etcd restore would)."""

    async def ensure_namespace(self, name: str, *, managed: bool) -> None:
        """A namespace whose pods can be created at once; hpa's webhooks see them if
        ``managed``."""

    async def install_webhooks(self) -> None:
        """hpa's webhook configurations, calling what :meth:`route_webhook` names."""

    async def route_webhook(self, port: int) -> None:
        """Send webhook calls to the admission server on ``port``; returns once the API
        server calls it successfully."""

    async def controllers_know(self, plural: str) -> None:
        """Return once kube-controller-manager's garbage collector and quota controller work
        on a resource (they find new ones in discovery every 30 s)."""

    async def subscribe(self, plural: str, listener: Listener) -> None:
        """Call ``listener(type, obj)`` for each later change of a resource."""


def on_control_plane(config: pytest.Config) -> bool:
    """Whether the session runs against the real control plane."""
    return bool(config.getoption("--api-server") == backends.CONTROL_PLANE)


def sandbox_only(reason: str) -> pytest.MarkDecorator:
    """Skip a test on the control plane, saying why it cannot run there."""
    condition = f"config.getoption('--api-server') == {backends.CONTROL_PLANE!r}"
    return pytest.mark.skipif(condition, reason=f"sandbox only: {reason}")


def opener(
    request: pytest.FixtureRequest, workdir: pathlib.Path
) -> Callable[[], AbstractAsyncContextManager[Cluster]]:
    """Opens a cluster of the session's kind (for fixtures that serve one in a loop of their
    own)."""
    if on_control_plane(request.config):
        plane: ControlPlane = request.getfixturevalue("control_plane")
        return lambda: ControlPlaneCluster.open(plane, workdir)
    return lambda: SandboxCluster.started(workdir)


@pytest.fixture(scope="session")
def control_plane(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ControlPlane:
    """The session's control plane, with hpa's install applied (started on first use)."""
    return shared(request.config, tmp_path_factory)


@pytest.fixture
async def sandbox_cluster(
    sandbox: sandbox_module.Sandbox, kubeconfig: pathlib.Path
) -> AsyncIterator[SandboxCluster]:
    """The test's sandbox, driven as a cluster."""
    async with SandboxCluster.connect(sandbox, kubeconfig) as cluster:
        yield cluster


@pytest.fixture
async def control_plane_cluster(
    control_plane: ControlPlane, tmp_path: pathlib.Path
) -> AsyncIterator[ControlPlaneCluster]:
    """The control plane, emptied for this test, driven as a cluster."""
    async with ControlPlaneCluster.open(control_plane, tmp_path) as cluster:
        yield cluster


@pytest.fixture
def cluster(request: pytest.FixtureRequest) -> Cluster:
    """The cluster of ``--api-server``."""
    name = "control_plane_cluster" if on_control_plane(request.config) else "sandbox_cluster"
    found: Cluster = request.getfixturevalue(name)
    return found


@pytest.fixture
def operator(cluster: Cluster, tmp_path: pathlib.Path) -> operator_fixtures.Start:
    """Start operators on the cluster, in this process; keyword arguments override the
    OperatorConfig."""
    started = itertools.count()
    start = operator_fixtures.operator_starter(lambda: None, namespace=cluster.operator_namespace)

    def separately(**overrides: Any) -> AbstractAsyncContextManager[controllers.Manager]:
        # A kubeconfig of its own for each: kr8s shares one HTTP client among the callers of
        # one kubeconfig, and an operator that stops closes it (as separate processes would
        # not), breaking the requests and watches of any other one still running.
        kubeconfig = tmp_path / f"operator-{next(started)}.kubeconfig"
        shutil.copyfile(cluster.operator_kubeconfig, kubeconfig)
        return start(**{"kubeconfig": str(kubeconfig), **overrides})

    return separately
