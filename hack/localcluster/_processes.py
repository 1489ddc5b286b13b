"""Child processes with their output in a log file, stopped with SIGTERM, then SIGKILL."""

import asyncio
import contextlib
import os
import pathlib
import signal
import socket
from collections.abc import Mapping, Sequence


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Child:
    """One started program: its name, its log and its process."""

    def __init__(self, name: str, process: asyncio.subprocess.Process, log: pathlib.Path) -> None:
        self.name = name
        self.process = process
        self.log = log

    @classmethod
    async def start(
        cls,
        name: str,
        argv: Sequence[str],
        *,
        logs: pathlib.Path,
        env: Mapping[str, str] | None = None,
    ) -> "Child":
        log = logs / f"{name}.log"
        with log.open("ab") as out:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=asyncio.subprocess.STDOUT,
                env=dict(env) if env is not None else None,
                # Its own process group: a Ctrl-C in the terminal reaches hack/cluster alone,
                # which then stops the children in order.
                start_new_session=True,
            )
        return cls(name, process, log)

    def exited(self) -> int | None:
        """The exit code, or None while it runs."""
        return self.process.returncode

    def tail(self, lines: int = 20) -> str:
        """The end of its log, for an error message."""
        text = self.log.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    async def stop(self, *, grace: float = 20.0) -> None:
        """SIGTERM, and SIGKILL if it has not exited after ``grace`` seconds."""
        if self.process.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            await self.process.wait()
