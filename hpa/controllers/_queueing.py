"""The work queue: keys de-duplicated, one in flight per key, delayed and rate-limited adds.

It follows client-go's ``workqueue`` semantics, which controller-runtime builds on:

- a key added while it waits is not added twice (``dirty``);
- a key added while a worker holds it (``processing``) is queued again when the worker calls
  :meth:`WorkQueue.done`, so at most one reconcile per key runs at a time and no change is
  missed;
- :meth:`WorkQueue.add_after` puts a key in after a delay (the earliest of several wins);
- :meth:`WorkQueue.add_rate_limited` delays by the per-key exponential back-off of
  :class:`ExponentialBackoff` (5 ms doubling to 1000 s, client-go's default), which
  :meth:`WorkQueue.forget` resets after a success.

A named queue reports client-go's work queue metrics (``workqueue_*``, label ``name``) and
``hpa_workqueue_depth`` through :class:`~hpa.controllers._controller_metrics.QueueMetrics`,
which it tells of every add, take, finish and delayed add; an unnamed one reports nothing.

Single-threaded (one event loop); waiting uses an :class:`anyio.Event` per wake-up.
"""

import heapq
from collections import deque
from collections.abc import Callable
from typing import Final

import anyio

from hpa.controllers import _controller_metrics

#: client-go's DefaultControllerRateLimiter item back-off.
BASE_DELAY: Final = 0.005
MAX_DELAY: Final = 1000.0


class ExponentialBackoff:
    """Per-key delay ``base · 2^failures``, capped at ``cap``."""

    def __init__(self, *, base: float = BASE_DELAY, cap: float = MAX_DELAY) -> None:
        self._base = base
        self._cap = cap
        self._failures: dict[str, int] = {}

    def when(self, key: str) -> float:
        """The delay before the next try of ``key``, counting this failure."""
        failures = self._failures.get(key, 0)
        self._failures[key] = failures + 1
        return min(self._cap, self._base * 2.0**failures)

    def failures(self, key: str) -> int:
        """How many failures of ``key`` in a row."""
        return self._failures.get(key, 0)

    def forget(self, key: str) -> None:
        """Reset ``key``'s back-off, after a success."""
        self._failures.pop(key, None)


class ShutDown(Exception):
    """The queue is shut down; no more keys."""


class WorkQueue:
    """Keys waiting to be reconciled.

    Args:
        name: the queue's name in metrics (its controller's); unnamed, it reports none.
        backoff: the per-key rate limiter for :meth:`add_rate_limited`.
        on_depth: called with the number of waiting keys whenever it changes.
        clock: the current time in seconds (anyio's loop clock by default).
    """

    def __init__(
        self,
        *,
        name: str = "",
        backoff: ExponentialBackoff | None = None,
        on_depth: Callable[[int], None] = lambda depth: None,
        clock: Callable[[], float] = anyio.current_time,
    ) -> None:
        self.backoff = backoff or ExponentialBackoff()
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._waiting: list[tuple[float, int, str]] = []
        self._waiting_at: dict[str, float] = {}
        self._serial = 0
        self._wake = anyio.Event()
        self._on_depth = on_depth
        self._clock = clock
        self.name = name
        self._metrics = (
            _controller_metrics.QueueMetrics(name) if name else _controller_metrics.UNNAMED_QUEUE
        )
        self._shut_down = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        """Queue ``key`` now, unless it is already waiting."""
        if self._shut_down or key in self._dirty:
            return
        self._dirty.add(key)
        self._metrics.added(key)
        if key in self._processing:
            return  # queued again by done()
        self._queue.append(key)
        self._changed()

    def add_after(self, key: str, delay: float) -> None:
        """Queue ``key`` after ``delay`` seconds (the earliest pending delay wins)."""
        if self._shut_down:
            return
        self._metrics.retried()
        if delay <= 0:
            self.add(key)
            return
        at = self._clock() + delay
        if self._waiting_at.get(key, float("inf")) <= at:
            return
        self._waiting_at[key] = at
        self._serial += 1
        heapq.heappush(self._waiting, (at, self._serial, key))
        self._changed()

    def add_rate_limited(self, key: str) -> float:
        """Queue ``key`` after its back-off delay; returns the delay."""
        delay = self.backoff.when(key)
        self.add_after(key, delay)
        return delay

    def forget(self, key: str) -> None:
        """Reset ``key``'s back-off."""
        self.backoff.forget(key)

    async def get(self) -> str:
        """The next key; the caller must call :meth:`done` with it.

        Raises:
            ShutDown: the queue was shut down.
        """
        while True:
            if self._shut_down:
                raise ShutDown
            self._promote_due()
            if self._queue:
                key = self._queue.popleft()
                self._dirty.discard(key)
                self._processing.add(key)
                self._metrics.started(key)
                self._depth_changed()
                return key
            if self._wake.is_set():
                self._wake = anyio.Event()
            wake = self._wake  # shared by every waiting worker; replaced once it fired
            timeout = self._waiting[0][0] - self._clock() if self._waiting else None
            with anyio.move_on_after(timeout):
                await wake.wait()

    def done(self, key: str) -> None:
        """The worker is finished with ``key``; re-queue it if it was added meanwhile."""
        self._processing.discard(key)
        self._metrics.finished(key)
        if key in self._dirty:
            self._queue.append(key)
            self._changed()

    def shut_down(self) -> None:
        """Wake every waiting :meth:`get` with :class:`ShutDown`."""
        self._shut_down = True
        self._wake.set()

    def processing(self) -> int:
        """How many keys are held by workers."""
        return len(self._processing)

    def _promote_due(self) -> None:
        now = self._clock()
        while self._waiting and self._waiting[0][0] <= now:
            at, _, key = heapq.heappop(self._waiting)
            if self._waiting_at.get(key) == at:
                del self._waiting_at[key]
                self.add(key)

    def _changed(self) -> None:
        self._depth_changed()
        self._wake.set()

    def _depth_changed(self) -> None:
        self._on_depth(len(self._queue))
        self._metrics.waiting(len(self._queue))
