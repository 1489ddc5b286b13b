"""The metrics server: ``/metrics`` on :8080, the Prometheus exposition of hpa's registry."""

import anyio
import anyio.abc
from aiohttp import web

from hpa import api, observability
from hpa.serving import _runner as runner


class MetricsServer:
    """Serves ``/metrics``."""

    def __init__(self, *, host: str = "0.0.0.0", port: int = api.METRICS_PORT) -> None:
        """Args:
        host: the address to bind.
        port: the port to bind; 0 picks a free one.
        """
        self._host = host
        self._port = port

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application()
        app.router.add_get(api.PATH_METRICS, _metrics)
        return app

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled; reports the bound port."""
        await runner.serve(
            self.app(),
            name="metrics",
            host=self._host,
            port=self._port,
            task_status=task_status,
            shutdown_timeout=1.0,
        )


async def _metrics(request: web.Request) -> web.Response:
    body, content_type = observability.metrics_text()
    response = web.Response(body=body)
    response.headers["Content-Type"] = content_type
    return response
