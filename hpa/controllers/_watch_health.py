"""Whether this replica's caches still follow the API server, as readiness and liveness.

An informer whose list or watch keeps failing serves reads from a cache that is going stale:
the webhook would admit by old claims, and the port index would stop learning of HostPorts.
So a replica whose informers have failed for ``unready_after`` seconds (30 by default) stops
being ready, and leaves the webhook Service until they work again; after ``dead_after``
seconds (300) it stops being live too, so that the kubelet restarts it, in case the cause is
its own (a broken connection pool, credentials it cannot renew).

A stuck event loop needs no check of its own: the health server runs in that loop, so its
probes time out, and the kubelet counts a timeout as a failure (the Deployment's liveness
probe: 2 s timeout, every 10 s, 3 failures).
"""

import time
from collections.abc import Callable
from typing import Final

import anyio
import anyio.abc

from hpa import kube, observability

CHECK_WATCHES: Final = "watches-working"
UNREADY_AFTER: Final = 30.0
DEAD_AFTER: Final = 300.0


class WatchHealth:
    """Sets ``watches-working`` in readiness and liveness from the informers' failures."""

    def __init__(
        self,
        caches: kube.Caches,
        *,
        readiness: observability.Readiness,
        liveness: observability.Readiness,
        unready_after: float = UNREADY_AFTER,
        dead_after: float = DEAD_AFTER,
        period: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._caches = caches
        self._readiness = readiness
        self._liveness = liveness
        self._unready_after = unready_after
        self._dead_after = dead_after
        self._period = period
        self._clock = clock

    def check(self) -> None:
        """Update both checks from how long the informers have been failing."""
        failing = self._caches.failing_for(self._clock())
        self._readiness.set(CHECK_WATCHES, failing < self._unready_after)
        self._liveness.set(CHECK_WATCHES, failing < self._dead_after)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Check every ``period`` seconds until cancelled."""
        self.check()
        task_status.started()
        while True:
            await anyio.sleep(self._period)
            self.check()
