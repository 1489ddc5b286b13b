"""The controllers' Prometheus metrics, registered in ``observability.REGISTRY``.

Two families side by side:

- hpa's own ``hpa_*`` metrics (ports per class, allocations, claims by phase, repairs);
- the names controller-runtime and client-go give the same things, with their label names,
  types and buckets, so that dashboards and alerts written for any controller-runtime operator
  work on hpa too: ``controller_runtime_reconcile_*`` and ``controller_runtime_*_workers`` for
  the reconcile loop (``_controller``), ``workqueue_*`` for the work queues (``_queueing``,
  through :class:`QueueMetrics`).

Each is updated where the thing it counts happens: the loop's outcome in the loop, a key's way
through the queue in the queue. What is a state rather than an event (time spent by reconciles
still running, claims by phase) is computed when Prometheus scrapes, by a collector.
"""

import collections
import contextlib
import time
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Final

from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from hpa import api, observability

PORTS: Final = observability.gauge(
    "hpa_ports",
    "Ports of a HostPortClass by state (total, allocated, free, over_capacity); a per-node "
    "class counts (port, slot) pairs.",
    ["class", "state"],
)
ALLOCATIONS: Final = observability.counter(
    "hpa_allocations",
    "Ports allocated to claims (HostPorts created and bound).",
)
ALLOCATION_FAILURES: Final = observability.counter(
    "hpa_allocation_failures",
    "Claims left Pending, by the reason of their Bound condition (ClassNotFound, ClassFull, ...).",
    ["reason"],
)
ALLOCATION_CONFLICTS: Final = observability.counter(
    "hpa_allocation_conflicts",
    "Candidate ports found taken when their HostPort was created (409): another writer, or a "
    "cache behind the API server; the next candidate is tried.",
)
RECONCILE_DURATION: Final = observability.histogram(
    "hpa_reconcile_duration_seconds",
    "Time of one reconcile, by controller.",
    ["controller"],
)
RECONCILE_ERRORS: Final = observability.counter(
    "hpa_reconcile_errors",
    "Reconciles that failed, by controller.",
    ["controller"],
)
WORKQUEUE_DEPTH: Final = observability.gauge(
    "hpa_workqueue_depth",
    "Keys waiting in a controller's work queue.",
    ["controller"],
)
REPAIR_ACTIONS: Final = observability.counter(
    "hpa_repair_actions",
    "Inconsistencies the repair loop found and fixed, by kind.",
    ["kind"],
)

# --- controller-runtime's reconcile loop metrics --------------------------------------------

#: The ``result`` label of ``controller_runtime_reconcile_total``.
RESULT_SUCCESS: Final = "success"
RESULT_ERROR: Final = "error"
RESULT_REQUEUE: Final = "requeue"
RESULT_REQUEUE_AFTER: Final = "requeue_after"
RESULTS: Final = (RESULT_SUCCESS, RESULT_ERROR, RESULT_REQUEUE, RESULT_REQUEUE_AFTER)

#: controller-runtime's buckets for the reconcile time: fine up to 1 s, coarser up to 60 s.
RECONCILE_TIME_BUCKETS: Final = (
    *(0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5),
    *(0.6, 0.7, 0.8, 0.9, 1.0, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5),
    *(5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 15.0, 20.0, 25.0, 30.0, 40.0, 50.0, 60.0),
)

RECONCILE_TOTAL: Final = observability.counter(
    "controller_runtime_reconcile",
    "Reconciles per controller, by result: success, error, requeue (retried with back-off "
    "without an error: a write conflict), requeue_after (asked to run again later).",
    ["controller", "result"],
)
RECONCILE_ERRORS_TOTAL: Final = observability.counter(
    "controller_runtime_reconcile_errors",
    "Reconciles per controller that failed (retried with back-off, or terminal).",
    ["controller"],
)
TERMINAL_RECONCILE_ERRORS: Final = observability.counter(
    "controller_runtime_terminal_reconcile_errors",
    "Reconciles per controller that failed for good: not retried until the object changes.",
    ["controller"],
)
RECONCILE_TIME: Final = observability.histogram(
    "controller_runtime_reconcile_time_seconds",
    "Time of one reconcile, by controller.",
    ["controller"],
    buckets=RECONCILE_TIME_BUCKETS,
)
MAX_CONCURRENT_RECONCILES: Final = observability.gauge(
    "controller_runtime_max_concurrent_reconciles",
    "Workers of a controller: how many keys it may reconcile at once.",
    ["controller"],
)
ACTIVE_WORKERS: Final = observability.gauge(
    "controller_runtime_active_workers",
    "Workers of a controller reconciling a key right now.",
    ["controller"],
)

# --- client-go's work queue metrics ---------------------------------------------------------

#: client-go's buckets for queue and work durations: powers of ten from 10 ns to 1000 s.
WORKQUEUE_BUCKETS: Final = (1e-8, 1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 0.01, 0.1, 1.0, 10.0, 100.0, 1e3)
#: Labels of the work queue family: the queue's name, and (as controller-runtime adds) the
#: controller it feeds, which is the same name.
_QUEUE_LABELS: Final = ["name", "controller"]

QUEUE_DEPTH: Final = observability.gauge(
    "workqueue_depth",
    "Keys a work queue holds to be processed: waiting, or due again once their reconcile ends.",
    _QUEUE_LABELS,
)
QUEUE_ADDS: Final = observability.counter(
    "workqueue_adds",
    "Keys put in a work queue (an add of a key already waiting is not counted).",
    _QUEUE_LABELS,
)
QUEUE_DURATION: Final = observability.histogram(
    "workqueue_queue_duration_seconds",
    "Time a key waits in a work queue, from its add to a worker taking it.",
    _QUEUE_LABELS,
    buckets=WORKQUEUE_BUCKETS,
)
WORK_DURATION: Final = observability.histogram(
    "workqueue_work_duration_seconds",
    "Time a worker holds a key taken from a work queue.",
    _QUEUE_LABELS,
    buckets=WORKQUEUE_BUCKETS,
)
QUEUE_RETRIES: Final = observability.counter(
    "workqueue_retries",
    "Delayed adds to a work queue: retries after a failure, and requeues after a delay.",
    _QUEUE_LABELS,
)


class QueueMetrics:
    """What one named work queue reports: the queue calls it at each step of a key.

    Keys' add and start times are kept here, not in the queue, as client-go's queue metrics
    keep them. The two gauges of work still in progress are computed at scrape time from the
    start times of the keys workers hold.
    """

    def __init__(self, name: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self._clock = clock
        self._depth = QUEUE_DEPTH.labels(name, name)
        self._adds = QUEUE_ADDS.labels(name, name)
        self._latency = QUEUE_DURATION.labels(name, name)
        self._work = WORK_DURATION.labels(name, name)
        self._retries = QUEUE_RETRIES.labels(name, name)
        self._waiting = WORKQUEUE_DEPTH.labels(name)
        self._added_at: dict[str, float] = {}
        self._started_at: dict[str, float] = {}
        _IN_PROGRESS.track(self)

    def added(self, key: str) -> None:
        """``key`` is now due (waiting, or due again after its current reconcile)."""
        self._adds.inc()
        self._depth.inc()
        self._added_at.setdefault(key, self._clock())

    def started(self, key: str) -> None:
        """A worker took ``key``."""
        now = self._clock()
        self._depth.dec()
        added = self._added_at.pop(key, None)
        if added is not None:
            self._latency.observe(now - added)
        self._started_at[key] = now

    def finished(self, key: str) -> None:
        """The worker is done with ``key``."""
        started = self._started_at.pop(key, None)
        if started is not None:
            self._work.observe(self._clock() - started)

    def retried(self) -> None:
        """A delayed add: a retry or a requeue after a delay."""
        self._retries.inc()

    def waiting(self, count: int) -> None:
        """``count`` keys now wait to be taken (``hpa_workqueue_depth``)."""
        self._waiting.set(count)

    def in_progress(self) -> tuple[float, float]:
        """Seconds of work in progress, summed over the keys held and the longest of them."""
        now = self._clock()
        ages = [now - started for started in self._started_at.values()]
        return sum(ages), max(ages, default=0.0)


class _Unnamed(QueueMetrics):
    """The metrics of an unnamed queue: none."""

    def __init__(self) -> None:
        self.name = ""

    def added(self, key: str) -> None:
        pass

    def started(self, key: str) -> None:
        pass

    def finished(self, key: str) -> None:
        pass

    def retried(self) -> None:
        pass

    def waiting(self, count: int) -> None:
        pass

    def in_progress(self) -> tuple[float, float]:
        return 0.0, 0.0


UNNAMED_QUEUE: Final[QueueMetrics] = _Unnamed()


class _InProgress(Collector):
    """``workqueue_unfinished_work_seconds`` and ``workqueue_longest_running_processor_seconds``
    of every live named queue, summed (and the longest taken) over queues of one name."""

    def __init__(self) -> None:
        self._queues: weakref.WeakSet[QueueMetrics] = weakref.WeakSet()

    def track(self, queue: QueueMetrics) -> None:
        self._queues.add(queue)

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        unfinished, longest = self._families()
        totals: dict[str, list[float]] = {}
        for queue in list(self._queues):
            total, oldest = queue.in_progress()
            entry = totals.setdefault(queue.name, [0.0, 0.0])
            entry[0] += total
            entry[1] = max(entry[1], oldest)
        for name, (total, oldest) in sorted(totals.items()):
            unfinished.add_metric([name, name], total)
            longest.add_metric([name, name], oldest)
        return [unfinished, longest]

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "workqueue_unfinished_work_seconds",
                "Seconds of work in progress that workqueue_work_duration_seconds has not seen "
                "yet: the time so far of every key workers hold, summed. Growing steadily "
                "means stuck reconciles.",
                labels=_QUEUE_LABELS,
            ),
            GaugeMetricFamily(
                "workqueue_longest_running_processor_seconds",
                "Seconds the longest-held key of a work queue has been held by its worker.",
                labels=_QUEUE_LABELS,
            ),
        ]


_IN_PROGRESS: Final = _InProgress()
observability.REGISTRY.register(_IN_PROGRESS)

# --- claims by phase, from the leader's cache -----------------------------------------------

#: The ``phase`` of a claim hpa has not given a status yet.
PHASE_UNRECONCILED: Final = "Unreconciled"
_BOUND_CONDITION: Final = "Bound"


class _ClaimCensus(Collector):
    """``hpa_claims`` and ``hpa_oldest_pending_claim_seconds``, counted at scrape time from the
    claim caches of the controllers that are running (the leader's)."""

    def __init__(self) -> None:
        self._sources: list[Iterable[api.HostPortClaim]] = []

    @contextlib.contextmanager
    def counting(self, claims: Iterable[api.HostPortClaim]) -> Iterator[None]:
        """Count ``claims`` (re-read at each scrape) while the block runs."""
        self._sources.append(claims)
        try:
            yield
        finally:
            self._sources.remove(claims)

    def describe(self) -> Iterable[Metric]:
        return self._families()

    def collect(self) -> Iterable[Metric]:
        claims_family, oldest_family = self._families()
        sources = list(self._sources)
        claims: Iterable[api.HostPortClaim] = sources[0] if len(sources) == 1 else []
        if len(sources) > 1:
            # Two leaders in one process (tests): each claim once, by namespace/name.
            claims = {
                (claim.metadata.namespace, claim.metadata.name): claim
                for source in sources
                for claim in source
            }.values()
        counts: collections.Counter[tuple[str, str, str]] = collections.Counter()
        since: dict[tuple[str, str], float] = {}
        for claim in claims:
            cls = claim.spec.host_port_class_name
            phase = claim.status.phase or PHASE_UNRECONCILED
            bound = api.find_condition(claim.status.conditions, _BOUND_CONDITION)
            reason = bound.reason if bound is not None else ""
            counts[cls, phase, reason] += 1
            started = _pending_since(claim, bound)
            if started is not None:
                key = (cls, reason)
                since[key] = min(since.get(key, started), started)
        for (cls, phase, reason), count in sorted(counts.items()):
            claims_family.add_metric([cls, phase, reason], count)
        now = time.time()
        for (cls, reason), started in sorted(since.items()):
            oldest_family.add_metric([cls, reason], max(0.0, now - started))
        return [claims_family, oldest_family]

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(
                "hpa_claims",
                "HostPortClaims by class, phase (Pending, Bound, Deleting, Unreconciled) and "
                "the reason of their Bound condition; reported by the leader.",
                labels=["class", "phase", "reason"],
            ),
            GaugeMetricFamily(
                "hpa_oldest_pending_claim_seconds",
                "Seconds the longest-Pending claim of a class has waited for a port, by the "
                "reason it is Pending; reported by the leader.",
                labels=["class", "reason"],
            ),
        ]


def _pending_since(claim: api.HostPortClaim, bound: api.Condition | None) -> float | None:
    """When a claim that waits for a port started waiting (epoch seconds), else None.

    A claim waits while it is Pending or has no status yet, and is not being deleted; it has
    waited since its Bound condition turned False, or, before it has one, since it was made.
    """
    if claim.status.phase not in ("", api.PHASE_PENDING):
        return None
    if claim.metadata.deletion_timestamp is not None:
        return None
    if bound is not None and bound.status == api.CONDITION_FALSE:
        return bound.last_transition_time.timestamp()
    created = claim.metadata.creation_timestamp
    return created.timestamp() if created is not None else None


_CLAIM_CENSUS: Final = _ClaimCensus()
observability.REGISTRY.register(_CLAIM_CENSUS)


@contextlib.contextmanager
def leading(claims: Iterable[api.HostPortClaim]) -> Iterator[None]:
    """The metrics only the leader reports, for as long as the block runs (its leadership).

    Its claim cache is counted into ``hpa_claims`` meanwhile; afterwards ``hpa_ports``, which
    the class controller sets on the leader only, is cleared, so that a replica that stopped
    leading does not go on reporting counts that nothing updates any more.
    """
    try:
        with _CLAIM_CENSUS.counting(claims):
            yield
    finally:
        PORTS.clear()
