"""``hpa sandbox``: the CLI that serves the sandbox and runs the operator alongside."""

import os
import pathlib
import signal

import anyio
import pytest

from hpa import cli
from hpa.cli import _sandbox


async def test_run_serves_writes_kubeconfig_and_stops_on_signal(tmp_path: pathlib.Path) -> None:
    """run() writes a kubeconfig, calls the alongside hook with it and returns on SIGTERM."""
    seen: list[str] = []

    async def alongside(path: pathlib.Path) -> None:
        seen.append(await anyio.Path(path).read_text())
        os.kill(os.getpid(), signal.SIGTERM)

    await _sandbox.run(port=0, kubeconfig=tmp_path / "kc", alongside=alongside)
    assert len(seen) == 1 and "certificate-authority-data" in seen[0] and "token:" in seen[0]


def test_sandbox_command_is_registered(capsys: pytest.CaptureFixture[str]) -> None:
    """``hpa sandbox --help`` documents --port and --kubeconfig."""
    with pytest.raises(SystemExit) as exited:
        cli.main(["sandbox", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "--port" in out and "--kubeconfig" in out
