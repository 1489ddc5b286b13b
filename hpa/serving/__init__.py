"""The HTTP servers of hpa, whatever they serve: running them, capping their clients, probes
and metrics exposition.

:func:`serve` runs an aiohttp application on a socket under anyio and stops it gracefully,
holding clients to :class:`Limits` (a cap on connections, timeouts for stalled clients).
:class:`HealthServer` answers the kubelet's probes, :class:`MetricsServer` exposes the
Prometheus registry. The admission server (``hpa.webhook``) runs through :func:`serve` too.
"""

from hpa.serving._connections import DEFAULT_LIMITS, Limits
from hpa.serving._exposition import MetricsServer
from hpa.serving._probes import Checks, HealthServer
from hpa.serving._runner import answer_and_close, serve

__all__ = [
    "DEFAULT_LIMITS",
    "Checks",
    "HealthServer",
    "Limits",
    "MetricsServer",
    "answer_and_close",
    "serve",
]
