"""``hpa run`` as the shipped Deployment runs it: read-only root filesystem, its uid/gid and
capabilities, only its volumes writable, in-cluster service-account credentials, no HOME.

The process runs in a private mount namespace (``_jail.py``) against the sandbox, which serves
in this test's event loop: so everything about the subprocess is async. The jail needs root,
``unshare`` and permission to mount; it is derived from ``hpa.manifests.install_documents()``
(``_deployment.py``), so the test follows the manifest. This machine's interpreter, virtualenv
and hpa stand in for the image's: where the Deployment's user cannot reach them (under
``/root``, say, as in CI), the jail makes them reachable, read-only, at the same paths.

The Deployment sets no HOME, and the image has no passwd entry for its user. Container runtimes
(runc, crun) then set HOME to ``/``, as the first case does. The ``no-home`` case runs with no
HOME at all, as a runtime that sets none (or a supervisor) would start it.
"""

import contextlib
import json
import os
import pathlib
import pwd
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import sysconfig
from collections.abc import AsyncIterator, Callable
from typing import Any

import aiohttp
import anyio
import anyio.abc
import pytest

import hpa
from hpa import api, manifests
from hpa import sandbox as sandbox_module
from hpa.cli import _sandbox_command
from tests.integration.deployment import _deployment
from tests.operator_fixtures import claim, sample_class
from tests.polling import eventually

Obj = dict[str, Any]

#: Where Kubernetes mounts a pod's service-account token (kr8s and hpa read it from here).
SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
JAIL = pathlib.Path(__file__).with_name("_jail.py")
#: Generous: ready takes well under a second here, but CI machines may be busy and small.
READY_WITHIN = 60.0
STOP_WITHIN = 10.0


async def _skip_unless_jail_possible(probe_dir: pathlib.Path) -> None:
    """Skip where the jail cannot be built at all: not root, or no mount namespace to mount in."""
    if os.geteuid() != 0:
        pytest.skip("needs root: the test builds the container's mounts in a mount namespace")
    missing = [tool for tool in ("unshare", "setpriv", "mount") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"needs util-linux's {', '.join(missing)} on PATH")
    # Root may still be refused a mount namespace or a mount in it (a container without
    # CAP_SYS_ADMIN, or an AppArmor profile that denies mount). The mount, over an empty
    # directory, vanishes with the namespace.
    probe = await anyio.run_process(
        [
            *("unshare", "--mount", "--propagation", "private"),
            *("mount", "--no-mtab", "-t", "tmpfs", "jail-probe", str(probe_dir)),
        ],
        check=False,
    )
    if probe.returncode != 0:
        pytest.skip(
            f"a mount in a new mount namespace is not permitted here: "
            f"{probe.stderr.decode().strip()}"
        )


def _interpreter_paths(spec: _deployment.Container) -> list[str]:
    """What ``python -m hpa`` reads, for the jail to make reachable: this interpreter and its
    standard library, the virtualenv, and hpa's package (in the clone, when installed editable)."""
    paths = [
        sys.executable,
        sys.base_prefix,
        sys.base_exec_prefix,
        sys.prefix,
        sys.exec_prefix,
        *{sysconfig.get_path(name) for name in ("stdlib", "platstdlib", "purelib", "platlib")},
        str(pathlib.Path(hpa.__file__).parent),
    ]
    hidden = [
        (path, volume)
        for path in paths
        for volume in spec.writable_paths
        if pathlib.Path(path).resolve().is_relative_to(volume)
    ]
    assert not hidden, f"the Deployment mounts a volume over this Python: {hidden}"
    return sorted(set(paths))


def _free_ports(count: int) -> list[int]:
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def _service_account(directory: pathlib.Path, sandbox: sandbox_module.Sandbox, ns: str) -> None:
    """The files the kubelet mounts for a pod's service account, world-readable as its 0644."""
    directory.mkdir(mode=0o755)
    files = {"token": sandbox.token.encode(), "ca.crt": sandbox.cert_pem, "namespace": ns.encode()}
    for name, content in files.items():
        (directory / name).write_bytes(content)
        (directory / name).chmod(0o644)
    directory.chmod(0o755)


class Exited(AssertionError):
    """The process ended while the test still needed it."""


class Process:
    """The jailed ``hpa run``: its output so far, and how it ended."""

    def __init__(self, process: anyio.abc.Process) -> None:
        self.process = process
        self._output = bytearray()

    @property
    def output(self) -> str:
        return self._output.decode(errors="replace")

    def logs(self) -> list[Obj]:
        """The JSON log lines written so far."""
        lines = []
        for line in self.output.splitlines():
            with contextlib.suppress(ValueError):
                lines.append(json.loads(line))
        return lines

    def describe(self) -> str:
        code = self.process.returncode
        state = "still running" if code is None else f"exited with {code}"
        return f"hpa run {state}; its output:\n{self.output}"

    async def drain(self) -> None:
        assert self.process.stdout is not None
        async for chunk in self.process.stdout:
            self._output.extend(chunk)

    def running(self) -> bool:
        if self.process.returncode is not None:
            raise Exited(self.describe())
        return True


@contextlib.asynccontextmanager
async def _jailed(config_file: pathlib.Path) -> AsyncIterator[Process]:
    """The jailed process, stopped on the way out."""
    command = ["unshare", "--mount", "--propagation", "private", sys.executable, str(JAIL)]
    process = await anyio.open_process(
        [*command, str(config_file)], stdin=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    jailed = Process(process)
    try:
        async with process, anyio.create_task_group() as group:
            group.start_soon(jailed.drain, name="hpa output")
            try:
                yield jailed
            finally:
                with anyio.CancelScope(shield=True):
                    await _stop(process)
    except BaseExceptionGroup as group:
        # Draining never fails, so a lone exception came from the test: raise it as itself.
        if len(group.exceptions) == 1:
            raise group.exceptions[0] from None
        raise


async def _stop(process: anyio.abc.Process) -> None:
    """SIGTERM, as the kubelet sends it, then SIGKILL after a deadline."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        with anyio.move_on_after(STOP_WITHIN):
            await process.wait()
    if process.returncode is None:
        process.kill()
        await process.wait()


async def _within(
    predicate: Callable[[], Any], process: Process, *, what: str, within: float = 10.0
) -> Any:
    """:func:`eventually` for ``what``, failing with the process's output (not as a repr)."""
    try:
        return await eventually(predicate, timeout=within, message=what)
    except Exited:
        raise
    except AssertionError as error:
        raise AssertionError(f"{error}\n{process.describe()}") from None


async def _ready(health_port: int, process: Process) -> bool:
    process.running()
    url = f"http://127.0.0.1:{health_port}/readyz"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session,
            session.get(url) as response,
        ):
            return response.status == 200
    except (aiohttp.ClientError, TimeoutError):
        return False


def _ca_injected(sandbox: sandbox_module.Sandbox) -> bool:
    kinds = {
        api.MUTATING_CONFIGURATION: "MutatingWebhookConfiguration",
        api.VALIDATING_CONFIGURATION: "ValidatingWebhookConfiguration",
    }
    for name, kind in kinds.items():
        found = sandbox.get("admissionregistration.k8s.io/v1", kind, name)
        if found is None or not all(
            hook.get("clientConfig", {}).get("caBundle") for hook in found.get("webhooks", [])
        ):
            return False
    return True


class Api:
    """The sandbox's HTTP API, as a user (or kubectl) calls it."""

    def __init__(self, sandbox: sandbox_module.Sandbox, session: aiohttp.ClientSession) -> None:
        self._sandbox = sandbox
        self._session = session
        self._ssl = ssl.create_default_context(cadata=sandbox.cert_pem.decode())

    async def create(self, path: str, body: Obj) -> Obj:
        async with self._session.post(
            f"{self._sandbox.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self._sandbox.token}"},
            ssl=self._ssl,
        ) as response:
            answer: Obj = await response.json()
            assert response.status == 201, f"POST {path}: {response.status} {answer}"
            return answer

    def claim_port(self, namespace: str, name: str) -> int:
        """The port of a Bound claim, else 0 (read from the store: polling it costs nothing)."""
        found = self._sandbox.get(api.API_VERSION, api.KIND_CLAIM, name, namespace=namespace)
        status = (found or {}).get("status", {})
        return int(status.get("port", 0)) if status.get("phase") == api.PHASE_BOUND else 0


def _home_as_runc_sets_it(uid: int) -> dict[str, str]:
    """runc (and crun, youki) set HOME, when the image sets none, to the user's passwd entry
    or, for a uid without one (65532 in hpa's image), to ``/``."""
    try:
        return {"HOME": pwd.getpwuid(uid).pw_dir}
    except KeyError:
        return {"HOME": "/"}


@pytest.mark.parametrize(
    "home",
    [
        pytest.param(_home_as_runc_sets_it, id="home-from-the-runtime"),
        pytest.param(lambda uid: {}, id="no-home"),
    ],
)
async def test_hpa_runs_as_the_deployment_runs_it(
    sandbox: sandbox_module.Sandbox,
    tmp_path: pathlib.Path,
    home: Callable[[int], dict[str, str]],
) -> None:
    """Under the Deployment's read-only root, user and volumes, hpa becomes ready, admits a pod
    that uses a claim with its hostPort set, and exits cleanly on SIGTERM."""
    documents = manifests.install_documents()
    spec = _deployment.container(documents)
    await _skip_unless_jail_possible(tmp_path)
    await _sandbox_command._install(sandbox)
    webhook_port, metrics_port, health_port = _free_ports(3)
    sandbox.service_map[_deployment.webhook_service(documents)] = f"127.0.0.1:{webhook_port}"
    args = [
        *spec.args,
        *("--bind-address", "127.0.0.1", "--webhook-port", str(webhook_port)),
        *("--metrics-port", str(metrics_port), "--health-port", str(health_port)),
    ]
    jail = _jail_config(spec, args=args, env=home(spec.uid), sandbox=sandbox, tmp_path=tmp_path)

    async with (
        _jailed(jail) as process,
        aiohttp.ClientSession() as session,
    ):
        await _within(
            lambda: _ready(health_port, process),
            process,
            what="GET /readyz answers 200",
            within=READY_WITHIN,
        )
        await _within(
            lambda: _ca_injected(sandbox), process, what="the caBundle is in every webhook"
        )
        labels = _deployment.managed_namespace_labels(documents)
        await _admits_a_pod_with_its_claimed_port(Api(sandbox, session), process, labels=labels)

    assert "temporary director" not in process.output, process.describe()
    errors = [line for line in process.logs() if line.get("level") in ("error", "critical")]
    assert not errors, process.describe()
    assert process.process.returncode == 0, process.describe()  # SIGTERM drains, then exits


def _jail_config(
    spec: _deployment.Container,
    *,
    args: list[str],
    env: dict[str, str],
    sandbox: sandbox_module.Sandbox,
    tmp_path: pathlib.Path,
) -> pathlib.Path:
    """A file telling ``_jail.py`` to run ``hpa`` with ``args`` as the Deployment's container."""
    _service_account(tmp_path / "serviceaccount", sandbox, spec.namespace)
    (tmp_path / "stage").mkdir()
    config = {
        "stage": str(tmp_path / "stage"),
        "binds": [[str(tmp_path / "serviceaccount"), SERVICE_ACCOUNT_DIR]],
        "read_only_root": spec.read_only_root,
        "reveal": _interpreter_paths(spec),
        "writable": list(spec.writable_paths),
        "uid": spec.uid,
        "gid": spec.gid,
        "no_new_privileges": spec.no_new_privileges,
        "drop_all_capabilities": spec.drop_all_capabilities,
        # The image's entrypoint, `hpa`, from the interpreter running this test.
        "argv": [sys.executable, "-m", "hpa", *args],
        "cwd": "/",
        # The manifest's variables, ``env``, and the in-cluster ones the kubelet sets; nothing
        # of this test's own environment.
        "env": {
            **spec.env,
            **env,
            "PATH": "/usr/local/bin:/usr/bin:/bin",
            "KUBERNETES_SERVICE_HOST": "127.0.0.1",
            "KUBERNETES_SERVICE_PORT": str(sandbox.port),
        },
    }
    path = tmp_path / "jail.json"
    path.write_text(json.dumps(config))
    return path


async def _admits_a_pod_with_its_claimed_port(
    user: Api, process: Process, *, labels: dict[str, str]
) -> None:
    """Through the API as a user: a class, a claim that gets Bound, a pod that uses it."""
    namespace = "games"
    await user.create(
        "/api/v1/namespaces",
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": namespace, "labels": labels},
        },
    )
    await user.create(f"/apis/{api.API_VERSION}/{api.PLURAL_CLASS}", sample_class())
    await user.create(
        f"/apis/{api.API_VERSION}/namespaces/{namespace}/{api.PLURAL_CLAIM}",
        claim("game", namespace=namespace),
    )
    port = await _within(
        lambda: user.claim_port(namespace, "game"), process, what="the claim is Bound"
    )
    pod = await user.create(f"/api/v1/namespaces/{namespace}/pods", _pod(namespace))
    annotations = pod["metadata"].get("annotations", {})
    assert pod["spec"]["containers"][0]["ports"][0].get("hostPort") == port, process.describe()
    assert annotations.get(f"{api.PORT_ANNOTATION_PREFIX}game") == str(port), process.describe()


def _pod(namespace: str) -> Obj:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "game-0",
            "namespace": namespace,
            "annotations": {f"{api.CLAIM_ANNOTATION_PREFIX}game": "game"},
        },
        "spec": {
            "containers": [
                {
                    "name": "server",
                    "image": "registry.invalid/game:1",
                    "ports": [{"name": "game", "containerPort": 7777}],
                }
            ]
        },
    }
