"""The reconcile loop: a work queue, N workers, and the decision after each reconcile.

Workers take keys from the :class:`~hpa.controllers.WorkQueue` (at most one per key at a time)
and call the reconciler. The loop, not the reconciler, decides what happens next, and logs an
error once, here (controller-runtime's ``reconcileHandler``):

- success: forget the back-off; requeue after ``requeue_after`` if asked;
- :class:`~hpa.controllers.TerminalError`: log, forget, do not retry;
- any other exception: log, retry after the key's exponential back-off (a server's
  ``Retry-After`` is honoured when longer).

Each outcome is counted here too, once: ``controller_runtime_reconcile_total`` by result
(``success``, ``requeue_after``, ``error``, and ``requeue`` for a write conflict, retried with
back-off but not an error), the errors, the reconcile time, and how many workers are busy.

Each reconcile runs with ``controller``, ``key`` and ``reconcile_id`` bound to the log context.
On cancellation, workers stop taking keys and a reconcile in flight is given ``drain_timeout``
seconds to finish, so a shutdown does not cut writes in half needlessly (they would be safe
anyway: reconciles are idempotent).
"""

import time
import uuid

import anyio
import anyio.abc
import anyio.lowlevel
import structlog

from hpa import kube
from hpa.controllers import _controller_metrics, _queueing, _reconciling

logger = structlog.get_logger(__name__)


class Controller:
    """Runs a reconciler over the keys of its queue with ``workers`` workers.

    Args:
        name: the controller's name, in logs and metrics.
        reconciler: what to run per key.
        workers: how many reconciles may run at once (for different keys).
        queue: the work queue; a new one by default.
        drain_timeout: seconds a reconcile in flight may take to finish on shutdown.
    """

    def __init__(
        self,
        name: str,
        reconciler: _reconciling.Reconciler,
        *,
        workers: int = 4,
        queue: _queueing.WorkQueue | None = None,
        drain_timeout: float = 5.0,
    ) -> None:
        self.name = name
        self.reconciler = reconciler
        self.workers = workers
        self.queue = queue or _queueing.WorkQueue(name=name)
        self.drain_timeout = drain_timeout
        self.reconciles = 0
        self._in_flight: set[anyio.CancelScope] = set()
        # Every series of the controller exists from the start, at 0, so that rate() and
        # increase() see its first error too (controller-runtime does the same).
        for result in _controller_metrics.RESULTS:
            _controller_metrics.RECONCILE_TOTAL.labels(name, result)
        for counter in (
            _controller_metrics.RECONCILE_ERRORS,
            _controller_metrics.RECONCILE_ERRORS_TOTAL,
            _controller_metrics.TERMINAL_RECONCILE_ERRORS,
        ):
            counter.labels(name)
        _controller_metrics.MAX_CONCURRENT_RECONCILES.labels(name).set(workers)
        self._active = _controller_metrics.ACTIVE_WORKERS.labels(name)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run the workers until cancelled."""
        async with anyio.create_task_group() as group:
            for number in range(self.workers):
                group.start_soon(self._worker, name=f"{self.name}-worker-{number}")
            task_status.started()
            try:
                await anyio.sleep_forever()
            finally:
                # Cancelled: reconciles in flight are shielded; give them drain_timeout.
                deadline = anyio.current_time() + self.drain_timeout
                for scope in self._in_flight:
                    scope.deadline = min(scope.deadline, deadline)

    async def _worker(self) -> None:
        while True:
            key = await self.queue.get()
            self._active.inc()
            try:
                # Shielded so that a shutdown lets the reconcile finish, within drain_timeout.
                scope = anyio.CancelScope(shield=True)
                with scope:
                    self._in_flight.add(scope)
                    await self._process(key)
            finally:
                self._in_flight.discard(scope)
                self._active.dec()
                self.queue.done(key)
            await anyio.lowlevel.checkpoint()  # a cancelled worker stops here

    async def _process(self, key: str) -> None:
        self.reconciles += 1
        started = time.perf_counter()
        with structlog.contextvars.bound_contextvars(
            controller=self.name, key=key, reconcile_id=uuid.uuid4().hex[:12]
        ):
            try:
                with anyio.fail_after(max(self.drain_timeout, 30.0)):
                    result = await self.reconciler.reconcile(key)
            except _reconciling.TerminalError as error:
                self._count(_controller_metrics.RESULT_ERROR, terminal=True)
                logger.error("reconcile failed for good", error=str(error))
                self.queue.forget(key)
            except kube.Conflict as error:
                # Routine with optimistic concurrency: the cache was behind; read and retry.
                self._count(_controller_metrics.RESULT_REQUEUE)
                logger.debug("reconcile conflicted, retrying", error=str(error))
                self.queue.add_rate_limited(key)
            except Exception as error:
                self._count(_controller_metrics.RESULT_ERROR)
                delay = self.queue.add_rate_limited(key)
                retry_after = getattr(error, "retry_after", None)
                if retry_after and retry_after > delay:
                    self.queue.add_after(key, retry_after)
                logger.warning(
                    "reconcile failed, retrying",
                    error=str(error) or type(error).__name__,
                    error_type=type(error).__name__,
                    delay=round(delay, 3),
                    exc_info=not isinstance(error, kube.KubeError),
                )
            else:
                self.queue.forget(key)
                if result.requeue_after is not None:
                    self._count(_controller_metrics.RESULT_REQUEUE_AFTER)
                    self.queue.add_after(key, result.requeue_after)
                else:
                    self._count(_controller_metrics.RESULT_SUCCESS)
            finally:
                elapsed = time.perf_counter() - started
                _controller_metrics.RECONCILE_DURATION.labels(self.name).observe(elapsed)
                _controller_metrics.RECONCILE_TIME.labels(self.name).observe(elapsed)

    def _count(self, result: str, *, terminal: bool = False) -> None:
        """One reconcile's outcome, in hpa's and controller-runtime's counters."""
        _controller_metrics.RECONCILE_TOTAL.labels(self.name, result).inc()
        if result == _controller_metrics.RESULT_ERROR:
            _controller_metrics.RECONCILE_ERRORS.labels(self.name).inc()
            _controller_metrics.RECONCILE_ERRORS_TOTAL.labels(self.name).inc()
        if terminal:
            _controller_metrics.TERMINAL_RECONCILE_ERRORS.labels(self.name).inc()
