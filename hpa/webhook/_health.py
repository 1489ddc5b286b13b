"""The health server: ``/healthz`` (liveness) and ``/readyz`` (readiness) on :8081.

Liveness answers 200 while the event loop serves requests at all. Readiness runs named checks
(callables, e.g. "informers synced", "certificate loaded") and answers 503 naming each failing
one until all pass, so ``kubectl describe pod`` shows what a replica waits for.
"""

from collections.abc import Callable, Mapping
from typing import Final

import anyio
import anyio.abc
import structlog
from aiohttp import web

from hpa.webhook import _serving as serving

log = structlog.get_logger(__name__)

DEFAULT_PORT: Final = 8081

#: A readiness check: true when ready. It must not block: it reads state, it does not fetch it.
Check = Callable[[], bool]


class HealthServer:
    """Serves ``/healthz`` and ``/readyz``."""

    def __init__(
        self, *, checks: Mapping[str, Check], host: str = "0.0.0.0", port: int = DEFAULT_PORT
    ) -> None:
        """Args:
        checks: name → readiness check; all must pass for ``/readyz`` to answer 200.
        host: the address to bind.
        port: the port to bind; 0 picks a free one.
        """
        self._checks = dict(checks)
        self._host = host
        self._port = port

    def failing(self) -> list[str]:
        """The names of the checks that do not pass (a check that raises does not pass)."""
        failing = []
        for name, check in self._checks.items():
            try:
                ok = check()
            except Exception:
                log.exception("readiness check failed", check=name)
                ok = False
            if not ok:
                failing.append(name)
        return failing

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        failing = self.failing()
        if failing:
            return web.Response(status=503, text=f"not ready: {', '.join(failing)}\n")
        return web.Response(text="ok\n")

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled; reports the bound port."""
        await serving.serve(
            self.app(),
            name="health",
            host=self._host,
            port=self._port,
            task_status=task_status,
            shutdown_timeout=1.0,
        )
