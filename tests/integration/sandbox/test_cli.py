"""``hpa sandbox``: the CLI that serves the sandbox and runs hpa against it."""

import functools
import os
import pathlib
import signal

import anyio
import pytest

from hpa import cli
from hpa.cli import _sandbox


@pytest.mark.parametrize("operator", [True, False], ids=["with-hpa", "api-only"])
async def test_run_serves_writes_kubeconfig_and_stops_on_signal(
    tmp_path: pathlib.Path, operator: bool
) -> None:
    """run() writes a kubeconfig once everything serves, and returns on SIGTERM."""
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            path = await group.start(
                functools.partial(
                    _sandbox.run, port=0, kubeconfig=tmp_path / "kc", operator=operator
                )
            )
            text = await anyio.Path(path).read_text()
            assert "certificate-authority-data" in text and "token:" in text
            os.kill(os.getpid(), signal.SIGTERM)


def test_sandbox_command_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    """``hpa sandbox --help`` documents --port and --kubeconfig."""
    with pytest.raises(SystemExit) as exited:
        cli.main(["sandbox", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--port" in out and "--kubeconfig" in out
