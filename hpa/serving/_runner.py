"""Running an aiohttp application on a socket under anyio, with a graceful stop.

Every server of hpa (admission, metrics, health) runs through :func:`serve`: it binds the socket
itself (so port 0 works in tests and the bound port is reported to ``task_status.started``),
accepts connections within :class:`connections.Limits` (a cap, and timeouts for stalled
clients; ``_connections``), and on cancellation stops accepting connections and waits for
in-flight requests — up to ``shutdown_timeout`` — before it returns, shielded from the
cancellation that stopped it.
"""

import socket
import ssl
from typing import Final

import anyio
import anyio.abc
import structlog
from aiohttp import web

from hpa.serving import _connections as connections

log = structlog.get_logger(__name__)

#: How long aiohttp goes on reading (and dropping) a body it answered without reading, e.g. with
#: 415 or 408, before it closes: long enough for a client on a cluster network to finish sending
#: and read the answer, short enough that a client that stalled instead is let go soon
#: (aiohttp's default is 10 s).
LINGERING_TIME: Final = 1.0


async def answer_and_close(
    request: web.Request, response: web.StreamResponse
) -> web.StreamResponse:
    """Send ``response`` now and close the connection, skipping aiohttp's lingering read.

    For an answer to a body that will not come (it stalled) or cannot be read (aiohttp failed
    to decode it): lingering would wait for the first for :data:`LINGERING_TIME`, and meet the
    second's error again and log it as an unhandled exception.
    """
    response.force_close()
    await response.prepare(request)
    await response.write_eof()
    request.protocol.force_close()  # after the answer is written: the transport flushes it
    return response


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    return socket.create_server((host, port), family=family, reuse_port=False)


async def serve(
    app: web.Application,
    *,
    name: str,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None = None,
    shutdown_timeout: float = 30.0,
    limits: connections.Limits = connections.DEFAULT_LIMITS,
    task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until cancelled; reports the bound port to ``task_status``.

    Args:
        app: the application, not yet frozen (a middleware of the listener is added to it).
        name: the server's name in logs.
        host: the address to bind, e.g. ``0.0.0.0`` or ``::``.
        port: the port to bind; 0 picks a free one.
        ssl_context: serve HTTPS with this context (its certificate may be reloaded while
            serving: each new handshake uses the chain loaded last).
        shutdown_timeout: how long in-flight requests may take to finish once cancelled.
        limits: the cap on connections and the timeouts of each (the body timeout is the
            application's to apply, where it reads the body).
        task_status: receives the bound port once the server accepts connections.
    """
    listener = connections.Listener(name=name, limits=limits, ssl_context=ssl_context)
    app.middlewares.append(listener.middleware)
    runner = web.AppRunner(
        app,
        handle_signals=False,
        access_log=None,
        shutdown_timeout=shutdown_timeout,
        # aiohttp's own idle close, kept in step with the listener's.
        keepalive_timeout=limits.idle_timeout,
        lingering_time=LINGERING_TIME,
    )
    await runner.setup()
    assert runner.server is not None
    try:
        # Closing the socket on the way out refuses new clients while in-flight requests finish.
        with _bind(host, port) as sock:
            async with anyio.create_task_group() as accepting:
                await accepting.start(listener.run, sock, runner.server)
                bound: int = sock.getsockname()[1]
                log.info(
                    "server started",
                    server=name,
                    host=host,
                    port=bound,
                    tls=ssl_context is not None,
                )
                task_status.started(bound)
                await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await runner.cleanup()
            log.info("server stopped", server=name)
