"""Running an aiohttp application on a socket under anyio, with a graceful stop.

Every server of hpa (admission, metrics, health) runs through :func:`serve`: it binds the socket
itself (so port 0 works in tests and the bound port is reported to ``task_status.started``),
and on cancellation stops accepting connections and waits for in-flight requests — up to
``shutdown_timeout`` — before it returns, shielded from the cancellation that stopped it.
"""

import socket
import ssl

import anyio
import anyio.abc
import structlog
from aiohttp import web

log = structlog.get_logger(__name__)


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
    task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve ``app`` until cancelled; reports the bound port to ``task_status``.

    Args:
        app: the application.
        name: the server's name in logs.
        host: the address to bind, e.g. ``0.0.0.0`` or ``::``.
        port: the port to bind; 0 picks a free one.
        ssl_context: serve HTTPS with this context (its certificate may be reloaded while
            serving: each new handshake uses the chain loaded last).
        shutdown_timeout: how long in-flight requests may take to finish once cancelled.
        task_status: receives the bound port once the server accepts connections.
    """
    runner = web.AppRunner(
        app, handle_signals=False, access_log=None, shutdown_timeout=shutdown_timeout
    )
    await runner.setup()
    try:
        sock = _bind(host, port)
        site = web.SockSite(runner, sock, ssl_context=ssl_context)
        await site.start()
        bound: int = sock.getsockname()[1]
        log.info("server started", server=name, host=host, port=bound, tls=ssl_context is not None)
        task_status.started(bound)
        await anyio.sleep_forever()
    finally:
        with anyio.CancelScope(shield=True):
            await runner.cleanup()
            log.info("server stopped", server=name)
