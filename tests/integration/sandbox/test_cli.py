"""``hpa sandbox``: the CLI that serves the sandbox and runs hpa against it."""

import functools
import importlib.metadata
import os
import pathlib
import signal
import socket
import subprocess
import sys

import anyio
import pytest

from hpa import cli
from hpa.cli import _sandbox_command


@pytest.mark.parametrize("operator", [True, False], ids=["with-hpa", "api-only"])
async def test_run_serves_writes_kubeconfig_and_stops_on_signal(
    tmp_path: pathlib.Path, operator: bool
) -> None:
    """run() writes a kubeconfig once everything serves, and returns on SIGTERM."""
    with anyio.fail_after(30):
        async with anyio.create_task_group() as group:
            path = await group.start(
                functools.partial(
                    _sandbox_command.run, port=0, kubeconfig=tmp_path / "kc", operator=operator
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


def test_a_taken_port_is_one_line_that_names_the_flag(tmp_path: pathlib.Path) -> None:
    """A second sandbox on a port in use exits 1 with one line naming --port, no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        command = ["sandbox", "--port", str(port), "--kubeconfig", str(tmp_path / "kc")]
        result = subprocess.run(
            [sys.executable, "-m", "hpa", *command], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        f"hpa sandbox: port {port} is in use (another hpa sandbox?); choose another with --port"
    ]


def test_version_and_run_help(capsys: pytest.CaptureFixture[str]) -> None:
    """``hpa --version`` names the version; ``hpa run --help`` says what it runs and how the
    HPA_* variables map to its flags."""
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"hpa {importlib.metadata.version('hpa')}"
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    out = capsys.readouterr().out
    assert "admission webhook" in out and "HPA_WEBHOOK_PORT" in out
