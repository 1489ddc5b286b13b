"""Stopping in order: on stop the replica is not ready before anything else stops."""

import pathlib

import anyio
import structlog.testing

from hpa import api
from hpa import sandbox as sandbox_module
from hpa.cli import _process, _sandbox_command
from tests.polling import eventually


async def test_readiness_drops_before_the_operator_and_the_servers_stop(
    sandbox: sandbox_module.Sandbox, kubeconfig: pathlib.Path
) -> None:
    """The stop event makes /readyz fail first (check not-stopping), then the operator and the
    servers stop, in that order."""
    namespace = {"metadata": {"name": api.DEFAULT_NAMESPACE}}
    await sandbox.create({"apiVersion": "v1", "kind": "Namespace", **namespace})
    stop = anyio.Event()
    with structlog.testing.capture_logs() as logs, anyio.fail_after(60):
        async with anyio.create_task_group() as group:
            running: _process.Running = await group.start(
                _sandbox_command._operate, kubeconfig, _sandbox_command._local_serving(), stop
            )
            readiness = running.manager.readiness
            await eventually(readiness.ready)
            stop.set()
        assert readiness.checks()[_process.CHECK_NOT_STOPPING] is False
    order = [e["event"] for e in logs if e["event"].startswith("stopping")]
    assert order == ["stopping the operator", "stopping the servers"]
