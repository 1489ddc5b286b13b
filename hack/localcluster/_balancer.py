"""A stand-in for the webhook Service: one loopback port in front of every hpa replica.

The API server calls the webhook by URL; this forwards each connection, TLS and all, to the next
replica that accepts one (round robin), as kube-proxy spreads a Service's connections.
"""

import asyncio
import contextlib
import itertools


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            writer.close()


class Balancer:
    """Forwards connections on its port to the backends' ports on 127.0.0.1."""

    def __init__(self) -> None:
        #: The replicas' ports, filled in once they are started.
        self.backends: list[int] = []
        self.port = 0
        self._turn = itertools.count()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter] | None:
        for _ in self.backends:
            port = self.backends[next(self._turn) % len(self.backends)]
            try:
                return await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2)
            except (OSError, TimeoutError):
                continue
        return None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        upstream = await self._connect()
        if upstream is None:  # no replica is up: the API server sees a refused call
            writer.close()
            return
        await asyncio.gather(_pipe(reader, upstream[1]), _pipe(upstream[0], writer))

    async def start(self) -> asyncio.Server:
        """Listen on a free port of 127.0.0.1 (then in ``port``)."""
        server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        return server
