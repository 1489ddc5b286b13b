"""The health server: ``/healthz`` (liveness) and ``/readyz`` (readiness) on :8081.

Liveness answers 200 while the event loop serves requests at all and every liveness check
passes (hpa's: its informers have not failed for too long, ``controllers._watch_health``); 503 names
the failing ones. Readiness reads the current state of named checks (e.g. "caches synced",
"certificate loaded"; ``observability.Readiness`` holds them) and answers 503 naming each
failing one until there is at least one and all pass, so ``kubectl describe pod`` shows what a
replica waits for.
"""

from collections.abc import Callable, Mapping

import anyio
import anyio.abc
import structlog
from aiohttp import web

from hpa import api
from hpa.serving import _runner as runner

log = structlog.get_logger(__name__)

#: The current state of every named readiness check, e.g. ``observability.Readiness().checks``.
#: It must not block: it reads state, it does not fetch it.
Checks = Callable[[], Mapping[str, bool]]


class HealthServer:
    """Serves ``/healthz`` and ``/readyz``."""

    def __init__(
        self,
        *,
        checks: Checks,
        live_checks: Checks = dict,
        host: str = "0.0.0.0",
        port: int = api.HEALTH_PORT,
    ) -> None:
        """Args:
        checks: the named readiness checks; ``/readyz`` answers 200 once there is at least
            one and all pass.
        live_checks: the named liveness checks; ``/healthz`` answers 200 while none fails.
        host: the address to bind.
        port: the port to bind; 0 picks a free one.
        """
        self._checks = checks
        self._live_checks = live_checks
        self._host = host
        self._port = port

    def failing(self) -> list[str]:
        """What keeps the replica from being ready: the failing checks' names, if any."""
        try:
            checks = dict(self._checks())
        except Exception:
            log.exception("readiness checks failed")
            return ["readiness checks raised"]
        if not checks:
            return ["no checks reported yet"]
        return [name for name, ok in sorted(checks.items()) if not ok]

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get(api.PATH_LIVENESS, self._healthz)
        app.router.add_get(api.PATH_READINESS, self._readyz)
        return app

    async def _healthz(self, request: web.Request) -> web.Response:
        failing = [name for name, ok in sorted(self._live_checks().items()) if not ok]
        if failing:
            return web.Response(status=503, text=f"not live: {', '.join(failing)}\n")
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
        await runner.serve(
            self.app(),
            name="health",
            host=self._host,
            port=self._port,
            task_status=task_status,
            shutdown_timeout=1.0,
        )
