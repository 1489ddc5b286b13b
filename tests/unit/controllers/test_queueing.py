"""The work queue: de-duplication, one reconcile per key, back-off, delayed adds."""

import anyio
import anyio.lowlevel
import pytest

from hpa import controllers
from tests.polling import eventually


async def test_duplicate_adds_are_folded() -> None:
    """A key added twice while waiting is handed out once."""
    queue = controllers.WorkQueue()
    queue.add("a")
    queue.add("b")
    queue.add("a")
    assert len(queue) == 2
    assert [await queue.get(), await queue.get()] == ["a", "b"]


async def test_key_added_while_in_flight_is_requeued_after_done() -> None:
    """A key re-added while a worker holds it comes back only after done()."""
    queue = controllers.WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")
    assert len(queue) == 0
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "a"


async def test_backoff_doubles_per_failure_and_resets() -> None:
    """Per-key back-off grows 5 ms, 10 ms, 20 ms… up to 1000 s and resets on forget()."""
    backoff = controllers.ExponentialBackoff()
    delays = [backoff.when("a") for _ in range(4)]
    assert delays == pytest.approx([0.005, 0.01, 0.02, 0.04])
    assert backoff.when("b") == pytest.approx(0.005)
    for _ in range(40):
        backoff.when("a")
    assert backoff.when("a") == 1000.0
    backoff.forget("a")
    assert backoff.when("a") == pytest.approx(0.005)


async def test_add_after_hands_the_key_out_later() -> None:
    """A delayed key is not handed out before its time, then is."""
    now = [0.0]
    queue = controllers.WorkQueue(clock=lambda: now[0])
    queue.add_after("a", 5.0)
    queue.add_after("a", 10.0)  # the earlier time wins
    with anyio.move_on_after(0.05):
        await queue.get()
        pytest.fail("handed out too early")
    now[0] = 5.0
    queue.add("wake")  # any add wakes the waiting get
    assert {await queue.get(), await queue.get()} == {"a", "wake"}


async def test_workers_never_run_one_key_twice_at_once() -> None:
    """With many workers and repeated adds, a key is reconciled by one worker at a time."""
    running: set[str] = set()
    overlaps = []
    seen = anyio.Event()
    count = 0

    class Reconciler:
        async def reconcile(self, key: str) -> controllers.Result:
            nonlocal count
            if key in running:
                overlaps.append(key)
            running.add(key)
            await anyio.lowlevel.checkpoint()
            running.discard(key)
            count += 1
            if count >= 50:
                seen.set()
            return controllers.Result()

    controller = controllers.Controller("test", Reconciler(), workers=8)
    async with anyio.create_task_group() as group:
        await group.start(controller.run)
        for _ in range(50):
            for key in ("a", "b", "c"):
                controller.queue.add(key)
            await anyio.lowlevel.checkpoint()
        with anyio.fail_after(5):
            await seen.wait()
        group.cancel_scope.cancel()
    assert overlaps == []


async def test_failed_reconcile_is_retried_and_requeue_after_honoured() -> None:
    """A failing reconcile is retried with back-off; Result(requeue_after) runs it again."""
    calls: list[str] = []
    done = anyio.Event()

    class Reconciler:
        async def reconcile(self, key: str) -> controllers.Result:
            calls.append(key)
            if len(calls) < 3:
                raise RuntimeError("boom")
            if len(calls) == 3:
                return controllers.Result(requeue_after=0.01)
            done.set()
            return controllers.Result()

    controller = controllers.Controller("test", Reconciler(), workers=1)
    async with anyio.create_task_group() as group:
        await group.start(controller.run)
        controller.queue.add("k")
        with anyio.fail_after(5):
            await done.wait()
        group.cancel_scope.cancel()
    assert calls == ["k"] * 4
    assert controller.queue.backoff.failures("k") == 0


async def test_terminal_error_is_not_retried() -> None:
    """A TerminalError is logged once and the key is not retried."""
    calls = 0
    failed = anyio.Event()

    class Reconciler:
        async def reconcile(self, key: str) -> controllers.Result:
            nonlocal calls
            calls += 1
            failed.set()
            raise controllers.TerminalError("bad spec")

    controller = controllers.Controller("test", Reconciler(), workers=1)
    async with anyio.create_task_group() as group:
        await group.start(controller.run)
        controller.queue.add("k")
        with anyio.fail_after(5):
            await failed.wait()
        await eventually(lambda: controller.queue.processing() == 0)
        group.cancel_scope.cancel()
    assert calls == 1
    assert len(controller.queue) == 0
