"""controller-runtime's and client-go's metric names, updated by the queue and the loop.

Each test names its own queue or controller: the registry is shared by the whole process.
"""

import datetime as dt

import anyio

from hpa import api, controllers, kube
from hpa.controllers import _controller_metrics
from tests import kubefake
from tests.operator_fixtures import Start, claim
from tests.polling import eventually
from tests.unit.samples import exists, sample


def queue_sample(metric: str, name: str) -> float:
    return sample(metric, {"name": name, "controller": name})


async def test_queue_counts_adds_depth_waits_and_work() -> None:
    """Adds, depth (client-go's: keys due, also those due again after their reconcile), the
    wait from add to take, the work from take to done, and delayed adds as retries."""
    queue = controllers.WorkQueue(name="metrics-queue")
    queue.add("a")
    queue.add("b")
    queue.add("a")  # folded: not an add
    assert queue_sample("workqueue_adds_total", "metrics-queue") == 2
    assert queue_sample("workqueue_depth", "metrics-queue") == 2
    assert sample("hpa_workqueue_depth", {"controller": "metrics-queue"}) == 2

    key = await queue.get()
    assert queue_sample("workqueue_depth", "metrics-queue") == 1
    assert sample("hpa_workqueue_depth", {"controller": "metrics-queue"}) == 1
    assert queue_sample("workqueue_queue_duration_seconds_count", "metrics-queue") == 1
    queue.add(key)  # due again once done
    assert queue_sample("workqueue_adds_total", "metrics-queue") == 3
    assert queue_sample("workqueue_depth", "metrics-queue") == 2
    await anyio.sleep(0.02)
    queue.done(key)
    assert queue_sample("workqueue_work_duration_seconds_count", "metrics-queue") == 1
    assert queue_sample("workqueue_work_duration_seconds_sum", "metrics-queue") >= 0.02

    queue.add_rate_limited("c")
    queue.add_after("d", 0.0)
    assert queue_sample("workqueue_retries_total", "metrics-queue") == 2


async def test_queue_reports_work_in_progress_at_scrape_time() -> None:
    """Unfinished work sums the time so far of every key held; the longest is the oldest."""
    queue = controllers.WorkQueue(name="metrics-in-progress")
    queue.add("a")
    queue.add("b")
    first = await queue.get()
    await anyio.sleep(0.05)
    second = await queue.get()
    longest = queue_sample("workqueue_longest_running_processor_seconds", "metrics-in-progress")
    unfinished = queue_sample("workqueue_unfinished_work_seconds", "metrics-in-progress")
    assert longest >= 0.05
    assert unfinished >= longest
    queue.done(first)
    queue.done(second)
    assert queue_sample("workqueue_unfinished_work_seconds", "metrics-in-progress") == 0
    assert queue_sample("workqueue_longest_running_processor_seconds", "metrics-in-progress") == 0


async def test_unnamed_queue_reports_nothing() -> None:
    """As client-go's: only a named queue has metrics."""
    before = sample("workqueue_adds_total", {"name": "", "controller": ""})
    queue = controllers.WorkQueue()
    queue.add("a")
    assert sample("workqueue_adds_total", {"name": "", "controller": ""}) == before == 0


class Outcomes:
    """A reconciler whose outcome is the key's name; ``hold`` blocks until released."""

    def __init__(self) -> None:
        self.release = anyio.Event()
        self.holding = anyio.Event()
        self.calls: list[str] = []

    async def reconcile(self, key: str) -> controllers.Result:
        self.calls.append(key)
        if key == "hold":
            self.holding.set()
            await self.release.wait()
        if key == "later":
            return controllers.Result(requeue_after=3600.0)
        if key == "bad":
            raise RuntimeError("boom")
        if key == "fatal":
            raise controllers.TerminalError("bad spec")
        if key == "conflict":
            raise kube.Conflict("the object has been modified", status=409)
        return controllers.Result()


def result_sample(controller: str, result: str) -> float:
    return sample(
        "controller_runtime_reconcile_total", {"controller": controller, "result": result}
    )


async def test_loop_counts_each_result_once() -> None:
    """success, requeue_after, error (also terminal) and requeue (a conflict) are counted as
    controller-runtime counts them, with the errors and the reconcile time."""
    name = "metrics-results"
    reconciler = Outcomes()
    controller = controllers.Controller(name, reconciler, workers=1)
    assert result_sample(name, "success") == 0
    assert exists("controller_runtime_reconcile_total", {"controller": name, "result": "error"})
    assert exists("controller_runtime_reconcile_errors_total", {"controller": name})
    assert sample("controller_runtime_max_concurrent_reconciles", {"controller": name}) == 1
    async with anyio.create_task_group() as group:
        await group.start(controller.run)
        for key in ("ok", "later", "fatal", "conflict", "bad"):
            controller.queue.add(key)
        # "bad" is retried with back-off (5 ms, 10 ms, ...): wait for a few errors.
        await eventually(lambda: result_sample(name, "error") >= 3)
        group.cancel_scope.cancel()
    errors = result_sample(name, "error")
    assert result_sample(name, "success") == 1
    assert result_sample(name, "requeue_after") == 1
    assert result_sample(name, "requeue") >= 1
    assert sample("controller_runtime_terminal_reconcile_errors_total", {"controller": name}) == 1
    assert sample("controller_runtime_reconcile_errors_total", {"controller": name}) == errors
    assert sample("hpa_reconcile_errors_total", {"controller": name}) == errors
    reconciles = sum(result_sample(name, result) for result in _controller_metrics.RESULTS)
    time_count = sample("controller_runtime_reconcile_time_seconds_count", {"controller": name})
    assert time_count == reconciles == len(reconciler.calls)


async def test_loop_reports_busy_workers() -> None:
    """controller_runtime_active_workers counts the workers inside a reconcile."""
    name = "metrics-workers"
    reconciler = Outcomes()
    controller = controllers.Controller(name, reconciler, workers=3)
    assert sample("controller_runtime_max_concurrent_reconciles", {"controller": name}) == 3
    async with anyio.create_task_group() as group:
        await group.start(controller.run)
        controller.queue.add("hold")
        with anyio.fail_after(5):
            await reconciler.holding.wait()
        assert sample("controller_runtime_active_workers", {"controller": name}) == 1
        reconciler.release.set()
        await eventually(lambda: controller.queue.processing() == 0)
        assert sample("controller_runtime_active_workers", {"controller": name}) == 0
        group.cancel_scope.cancel()


def _claim(
    name: str, *, phase: str = "", reason: str = "", since: float = 0.0
) -> api.HostPortClaim:
    stamp = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=since)
    conditions: tuple[api.Condition, ...] = ()
    if reason:
        status = api.CONDITION_TRUE if phase == api.PHASE_BOUND else api.CONDITION_FALSE
        condition = api.Condition(
            type="Bound", status=status, reason=reason, message="", last_transition_time=stamp
        )
        conditions = (condition,)
    return api.HostPortClaim(
        metadata=api.ObjectMeta(name=name, namespace="default", creation_timestamp=stamp),
        spec=api.HostPortClaimSpec(host_port_class_name="census"),
        status=api.HostPortClaimStatus(phase=phase, conditions=conditions),
    )


def census(phase: str, reason: str) -> float:
    return sample("hpa_claims", {"class": "census", "phase": phase, "reason": reason})


def oldest(reason: str) -> float:
    return sample("hpa_oldest_pending_claim_seconds", {"class": "census", "reason": reason})


def test_claims_are_counted_from_the_cache_while_leading() -> None:
    """hpa_claims counts the claims by class, phase and reason at each scrape, and
    hpa_oldest_pending_claim_seconds tells how long the oldest Pending one waits; both only
    while leading, and hpa_ports is dropped when leading ends."""
    claims = [
        _claim("full-1", phase=api.PHASE_PENDING, reason="ClassFull", since=600),
        _claim("full-2", phase=api.PHASE_PENDING, reason="ClassFull", since=60),
        _claim("bound", phase=api.PHASE_BOUND, reason="Bound", since=900),
        _claim("new", since=30),
    ]
    _controller_metrics.PORTS.labels("census", "free").set(3)
    with _controller_metrics.leading(claims):
        assert census("Pending", "ClassFull") == 2
        assert census("Bound", "Bound") == 1
        assert census("Unreconciled", "") == 1
        assert 600 <= oldest("ClassFull") < 700
        assert 30 <= oldest("") < 100
        assert not exists(
            "hpa_oldest_pending_claim_seconds", {"class": "census", "reason": "Bound"}
        )
        claims.append(_claim("full-3", phase=api.PHASE_PENDING, reason="ClassFull"))
        assert census("Pending", "ClassFull") == 3  # read anew at each scrape
    assert not exists("hpa_claims", {"class": "census", "phase": "Pending", "reason": "ClassFull"})
    assert not exists("hpa_ports", {"class": "census", "state": "free"})


async def test_operator_reports_pending_claims(operator: Start, cluster: kubefake.FakeApi) -> None:
    """The manager counts its claim cache while it leads: a claim of a missing class shows as
    Pending (ClassNotFound), and how long it has waited."""
    async with operator():
        await cluster.add("hostportclaims", claim("orphan", class_name="metrics-missing"))
        labels = {"class": "metrics-missing", "phase": "Pending", "reason": "ClassNotFound"}
        await eventually(lambda: sample("hpa_claims", labels) == 1)
        assert exists(
            "hpa_oldest_pending_claim_seconds",
            {"class": "metrics-missing", "reason": "ClassNotFound"},
        )
    assert not exists("hpa_claims", labels)
