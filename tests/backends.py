"""The API servers a suite can run against, chosen with ``--api-server``.

- ``sandbox`` (the default): ``hpa sandbox``, in-process, ready in a second.
- ``control-plane``: ``hack/cluster``, a real etcd, kube-apiserver, kube-controller-manager and
  kube-scheduler built from their Go modules, with hpa running as its ServiceAccount.

Both print ``export KUBECONFIG=...`` once they are ready; :func:`start` runs one until then.
A control plane that cannot be built or started fails the test session, never skips it.
"""

import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
HACK = REPO_ROOT / "hack"
SANDBOX = "sandbox"
CONTROL_PLANE = "control-plane"
CHOICES = (SANDBOX, CONTROL_PLANE)


def control_plane_binaries() -> pathlib.Path:
    """The built control plane's directory (built now if it is not cached yet)."""
    built = subprocess.run(
        [str(HACK / "build-control-plane")], stdout=subprocess.PIPE, text=True, check=False
    )
    if built.returncode != 0:
        pytest.fail("hack/build-control-plane failed; see its output above", pytrace=False)
    return pathlib.Path(built.stdout.strip().splitlines()[-1])


def command(backend: str, kubeconfig: pathlib.Path, *extra: str) -> list[str]:
    """The command that starts ``backend`` with hpa, writing an admin ``kubeconfig``."""
    if backend == SANDBOX:
        return [
            sys.executable,
            "-m",
            "hpa",
            "sandbox",
            "--port",
            "0",
            "--kubeconfig",
            str(kubeconfig),
            *extra,
        ]
    return [sys.executable, "-m", "localcluster", "--kubeconfig", str(kubeconfig), *extra]


class Started:
    """A started backend process; :meth:`stop` ends it with SIGTERM as a user's Ctrl-C would."""

    def __init__(self, process: subprocess.Popen[bytes], out: pathlib.Path, name: str) -> None:
        self.process = process
        self.out = out
        self.name = name

    def stop(self, *, grace: float = 60) -> None:
        """SIGTERM; fail the test session if it has not stopped within ``grace`` seconds."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            pytest.fail(f"{self.name} did not stop within {grace:.0f} s of SIGTERM")


def start(
    backend: str, directory: pathlib.Path, *extra: str, within: float = 300
) -> tuple[Started, pathlib.Path]:
    """Start ``backend`` and return it with its admin kubeconfig, once it says it is ready."""
    kubeconfig = directory / "kubeconfig"
    out = directory / f"{backend}.out"
    env = dict(os.environ)
    if backend == CONTROL_PLANE:
        env["HPA_CONTROL_PLANE_BIN"] = str(control_plane_binaries())
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HACK), env.get("PYTHONPATH")]))
    with out.open("wb") as stdout:
        process = subprocess.Popen(
            command(backend, kubeconfig, *extra), stdout=stdout, stderr=subprocess.STDOUT, env=env
        )
    started = Started(process, out, backend)
    deadline = time.monotonic() + within
    while "export KUBECONFIG=" not in out.read_text(errors="replace"):
        if process.poll() is not None:
            pytest.fail(f"{backend} exited:\n{out.read_text(errors='replace')}", pytrace=False)
        if time.monotonic() > deadline:
            started.stop()
            pytest.fail(
                f"{backend} not ready within {within:.0f} s:\n{out.read_text()}", pytrace=False
            )
        time.sleep(0.2)  # poll until the deadline
    return started, kubeconfig


def start_control_plane(
    directory: pathlib.Path, *extra: str, within: float = 300
) -> tuple[Started, pathlib.Path]:
    """:func:`start` the control plane with its state (etcd's data, the components' logs) under
    ``directory`` rather than the shared temporary directory, where another user's clean-up
    could remove it while it runs."""
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = str(directory)
    try:
        return start(CONTROL_PLANE, directory, *extra, within=within)
    finally:
        if saved is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved
