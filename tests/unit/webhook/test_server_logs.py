"""What the admission server writes to its log when clients misbehave, read from a real process.

The server runs in a child process configured as ``hpa run`` configures itself in a cluster
(``configure_logging(json=True)``), so that the lines checked are those a log collector reads:
everything asyncio, aiohttp and hpa write to stderr.
"""

import asyncio
import json
import pathlib
import ssl
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import pytest

from hpa import api

ROOT = pathlib.Path(__file__).parents[3]

CHILD = """
import sys
import anyio
from hpa import observability
from tests.unit.webhook import support

async def main():
    observability.configure_logging(level="info", json=True)
    tls, _ = support.serving_tls()
    server = support.admission_server(support.managed_cluster(), ssl_context=tls.context)
    async with anyio.create_task_group() as group:
        port = await group.start(server.run)
        print(port, flush=True)
        await anyio.to_thread.run_sync(sys.stdin.readline)  # until the test closes stdin
        group.cancel_scope.cancel()

anyio.run(main)
"""


class Child:
    """The server's process, and the lines of its stderr so far."""

    def __init__(self, process: asyncio.subprocess.Process, port: int) -> None:
        self.process = process
        self.port = port
        self.lines: list[bytes] = []

    async def connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        context = ssl.create_default_context()
        context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
        return await asyncio.open_connection("127.0.0.1", self.port, ssl=context)

    async def wait_for(self, matches: Callable[[dict[str, Any]], bool]) -> None:
        """Read stderr until a JSON line ``matches``, for at most 10 s."""
        assert self.process.stderr is not None
        with anyio.move_on_after(10):
            while line := await self.process.stderr.readline():
                self.lines.append(line)
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue  # reported by the test, with every other line
                if matches(entry):
                    return
        pytest.fail(f"no such line; the log was:\n{self.log()}")

    def log(self) -> str:
        return b"".join(self.lines).decode(errors="replace")

    async def stop(self) -> None:
        """Stop the server and read the rest of its stderr."""
        assert self.process.stdin is not None and self.process.stderr is not None
        self.process.stdin.close()
        with anyio.fail_after(30):
            self.lines += (await self.process.stderr.read()).splitlines(keepends=True)
            await self.process.wait()


@pytest.fixture
async def child() -> AsyncIterator[Child]:
    """The admission server in a process of its own, logging JSON lines to stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        cwd=ROOT,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        with anyio.fail_after(30):
            port = int(await process.stdout.readline())
        yield Child(process, port)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_every_line_is_json_when_clients_drop_and_send_garbage(child: Child) -> None:
    """Dropped connections, broken HTTP and bodies that are not JSON give one JSON line each
    (or none), never a traceback over many lines."""
    # A client that goes away in the middle of its body.
    reader, writer = await child.connect()
    writer.write(
        f"POST {api.PATH_VALIDATE_PODS} HTTP/1.1\r\nHost: hpa\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{".encode()
    )
    await writer.drain()
    writer.transport.abort()
    await child.wait_for(lambda e: e.get("event") == "client left before sending the body")
    # A request aiohttp cannot parse: logged by aiohttp, with its traceback inside the line.
    reader, writer = await child.connect()
    writer.write(b"POST / HTTP/1.1\r\nHost: hpa\r\nContent-Length: many\r\n\r\n")
    await writer.drain()
    assert (await reader.readline()).startswith(b"HTTP/1.0 400")
    writer.transport.abort()
    await child.wait_for(lambda e: e.get("logger") == "aiohttp.server")
    # Bodies that cannot be read or decoded, and a client that never starts TLS.
    for body, encoding in ((b"\xff", "identity"), (b"[" * 2000, "identity"), (b"{}", "gzip")):
        reader, writer = await child.connect()
        writer.write(
            f"POST {api.PATH_VALIDATE_PODS} HTTP/1.1\r\nHost: hpa\r\nContent-Type: "
            f"application/json\r\nContent-Encoding: {encoding}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        assert (await reader.readline()).startswith(b"HTTP/1.1 400")
        writer.transport.abort()
    _, writer = await asyncio.open_connection("127.0.0.1", child.port)
    writer.transport.abort()
    await child.stop()

    entries = []
    for line in child.lines:
        try:
            entries.append(json.loads(line))
        except ValueError:
            pytest.fail(
                f"not a JSON line: {line!r}; the log was:\n{b''.join(child.lines).decode()}"
            )
    [parse_error] = [e for e in entries if e.get("logger") == "aiohttp.server"]
    assert parse_error["level"] == "error"
    assert "BadHttpMessage" in parse_error["exception"]
    assert all({"event", "level", "timestamp"} <= e.keys() for e in entries), entries
