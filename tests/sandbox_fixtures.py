"""Fixtures that run tests against :class:`hpa.sandbox.Sandbox`.

- ``sandbox``: a started sandbox with hpa's CRDs, serving in the test's event loop.
- ``kubeconfig``: the path of a kubeconfig for it (in ``tmp_path``).
- ``kubectl``: ``await kubectl("get", "pods", input=None, check=True)`` runs the real kubectl
  against it and returns the ``CompletedProcess`` (text). It is a coroutine function because
  the sandbox serves in the same event loop: a blocking subprocess call would deadlock.
  Skips the test when ``kubectl`` is not on PATH.
- :func:`poll_until`: wait for a condition with a deadline instead of sleeping.
"""

import pathlib
import shutil
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, Protocol

import anyio
import pytest

from hpa import sandbox as sandbox_module
from tests import polling


class Kubectl(Protocol):
    """Runs kubectl against the sandbox."""

    def __call__(
        self, *args: str, input: str | None = None, check: bool = True, within: float = 30
    ) -> Awaitable[subprocess.CompletedProcess[str]]: ...


async def poll_until(
    condition: Callable[[], Any], *, within: float = 5.0, interval: float = 0.01
) -> Any:
    """Return the first truthy value of ``condition()`` (sync or async), or fail at the deadline."""
    return await polling.eventually(condition, timeout=within, interval=interval)


@pytest.fixture
async def sandbox() -> AsyncIterator[sandbox_module.Sandbox]:
    """A started sandbox with hpa's CRDs installed."""
    async with sandbox_module.Sandbox() as server:
        await server.install_crds()
        yield server


@pytest.fixture
def kubeconfig(sandbox: sandbox_module.Sandbox, tmp_path: pathlib.Path) -> pathlib.Path:
    """A kubeconfig file for the sandbox."""
    return sandbox.write_kubeconfig(tmp_path / "kubeconfig")


@pytest.fixture
def kubectl(kubeconfig: pathlib.Path, tmp_path: pathlib.Path) -> Kubectl:
    """Run the real kubectl against the sandbox (skips without kubectl on PATH)."""
    executable = shutil.which("kubectl")
    if executable is None:
        pytest.skip("kubectl is not on PATH; these tests drive the sandbox with the real kubectl")
    return kubectl_runner(executable, kubeconfig, tmp_path / "kube-cache")


def kubectl_runner(executable: str, kubeconfig: pathlib.Path, cache: pathlib.Path) -> Kubectl:
    """A :class:`Kubectl` running ``executable`` against ``kubeconfig`` without blocking the
    event loop (the API server may serve in it)."""

    async def run(
        *args: str, input: str | None = None, check: bool = True, within: float = 30
    ) -> subprocess.CompletedProcess[str]:
        command = [executable, "--kubeconfig", str(kubeconfig), "--cache-dir", str(cache), *args]
        with anyio.fail_after(within):
            done = await anyio.run_process(
                command, input=input.encode() if input is not None else None, check=False
            )
        result = subprocess.CompletedProcess(
            command, done.returncode, done.stdout.decode(), done.stderr.decode()
        )
        if check and result.returncode != 0:
            pytest.fail(f"kubectl {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
        return result

    return run
