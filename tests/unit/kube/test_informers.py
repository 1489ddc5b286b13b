"""Informers: list then watch, re-watch on close, re-list on 410, back off on errors."""

from typing import Any

import anyio
import pytest
import structlog.testing

from hpa import api, kube
from tests import kubefake
from tests.polling import eventually


def _claim(name: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"hostPortClassName": "sample"},
    }


@pytest.fixture
def fake() -> kubefake.FakeApi:
    """An empty in-memory API server."""
    return kubefake.FakeApi()


def _informer(fake: kubefake.FakeApi) -> kube.Informer[api.HostPortClaim]:
    return kube.Informer(
        kube.Client(fake),
        kube.CLAIMS,
        decode=kube.struct_decoder(api.HostPortClaim),
        key=lambda c: kube.object_key(c.metadata.namespace, c.metadata.name),
        page_size=2,
    )


async def test_lists_then_follows_changes(fake: kubefake.FakeApi) -> None:
    """The store holds what was listed, then every add, change and delete, with handlers."""
    for name in ("a", "b", "c"):
        fake.put(api.PLURAL_CLAIM, _claim(name))
    informer = _informer(fake)
    changes: list[tuple[str | None, str | None]] = []
    informer.add_handler(
        lambda old, new: changes.append((old and old.metadata.name, new and new.metadata.name))
    )
    async with anyio.create_task_group() as group:
        await group.start(informer.run)
        await informer.synced.wait()
        assert sorted(c.metadata.name for c in informer.store.list()) == ["a", "b", "c"]
        fake.put(api.PLURAL_CLAIM, _claim("d"))
        await fake.request(
            kube.Request(method="DELETE", path=kube.CLAIMS.path(namespace="default", name="a"))
        )
        await eventually(lambda: informer.store.get("d", namespace="default") is not None)
        await eventually(lambda: informer.store.get("a", namespace="default") is None)
        group.cancel_scope.cancel()
    assert (None, "d") in changes
    assert ("a", None) in changes


async def test_survives_closed_streams_gone_and_errors(fake: kubefake.FakeApi) -> None:
    """A closed stream re-watches, 410 re-lists (reporting what vanished meanwhile), and
    injected 500s are retried: the store ends equal to the server."""
    fake.put(api.PLURAL_CLAIM, _claim("a"))
    informer = _informer(fake)
    deleted: list[str] = []
    informer.add_handler(
        lambda old, new: deleted.append(old.metadata.name) if new is None and old else None
    )
    async with anyio.create_task_group() as group:
        await group.start(informer.run)
        await informer.synced.wait()
        fake.drop_watches()
        fake.put(api.PLURAL_CLAIM, _claim("b"))
        await eventually(lambda: informer.store.get("b", namespace="default") is not None)
        fake.fail(verb="watch", resource=api.PLURAL_CLAIM, status=500, times=2)
        fake.fail(verb="list", resource=api.PLURAL_CLAIM, status=500, times=1)
        fake.expire()
        fake.drop_watches()
        fake.objects[api.PLURAL_CLAIM].pop(("default", "a"))  # vanishes without an event
        fake.expire()
        fake.put(api.PLURAL_CLAIM, _claim("c"))
        await eventually(lambda: informer.store.get("c", namespace="default") is not None)
        await eventually(lambda: informer.store.get("a", namespace="default") is None)
        group.cancel_scope.cancel()
    assert "a" in deleted
    restarts = kube.WATCH_RESTARTS.labels(api.PLURAL_CLAIM, "gone")._value.get()
    assert restarts >= 1


async def test_undecodable_objects_are_skipped(fake: kubefake.FakeApi) -> None:
    """An object the API server accepted but hpa's types cannot read (found by fuzzing the
    sandbox: ``metadata.finalizers: 1``) is skipped, listed or watched, and the informer goes
    on with the next ones instead of ending (which took the whole process down)."""
    bad = {**_claim("bad"), "metadata": {"name": "bad", "namespace": "default", "finalizers": 1}}
    fake.put(api.PLURAL_CLAIM, _claim("a"))
    fake.put(api.PLURAL_CLAIM, bad)
    informer = _informer(fake)
    async with anyio.create_task_group() as group:
        await group.start(informer.run)
        await informer.synced.wait()
        assert [c.metadata.name for c in informer.store.list()] == ["a"]
        fake.put(api.PLURAL_CLAIM, {**bad, "metadata": {**bad["metadata"], "name": "worse"}})
        fake.put(api.PLURAL_CLAIM, _claim("b"))
        await eventually(lambda: informer.store.get("b", namespace="default") is not None)
        group.cancel_scope.cancel()
    assert informer.store.get("worse", namespace="default") is None


async def test_watch_timeouts_are_spread(fake: kubefake.FakeApi) -> None:
    """Each watch asks for its own timeoutSeconds between watch_timeout and twice that, so
    informers started together do not all reconnect together."""
    informer = kube.Informer(
        kube.Client(fake),
        kube.CLAIMS,
        decode=kube.struct_decoder(api.HostPortClaim),
        key=lambda c: kube.object_key(c.metadata.namespace, c.metadata.name),
        watch_timeout=100,
    )
    async with anyio.create_task_group() as group:
        await group.start(informer.run)
        for opened in range(1, 9):
            await eventually(
                lambda opened=opened: len(fake.watch_params) >= opened and fake.watches
            )
            fake.drop_watches()
        group.cancel_scope.cancel()
    timeouts = [int(p["timeoutSeconds"]) for p in fake.watch_params]
    assert all(100 <= t < 200 for t in timeouts)
    assert len(set(timeouts)) > 1


async def test_repeated_gone_lists_again_with_growing_delays(fake: kubefake.FakeApi) -> None:
    """A server that keeps answering 410 is listed again each time, after a longer wait."""
    informer = _informer(fake)
    fake.fail(verb="watch", resource=api.PLURAL_CLAIM, status=410, times=3)
    with structlog.testing.capture_logs() as logs:
        async with anyio.create_task_group() as group:
            await group.start(informer.run)
            await eventually(lambda: len(fake.watches) == 1, timeout=10)  # past the 3 faults
            fake.put(api.PLURAL_CLAIM, _claim("a"))
            await eventually(lambda: informer.store.get("a", namespace="default") is not None)
            group.cancel_scope.cancel()
    delays = [e["delay"] for e in logs if e["event"] == "watch expired, listing again"]
    assert len(delays) == 3
    assert delays == sorted(delays) and delays[0] > 0


async def test_too_large_resource_version_lists_again(fake: kubefake.FakeApi) -> None:
    """A watch from a resourceVersion the server has not reached (504, as kube-apiserver
    answers behind another replica) is answered by listing again, as client-go does."""
    informer = _informer(fake)
    fake.fail(
        verb="watch",
        resource=api.PLURAL_CLAIM,
        status=504,
        reason="Timeout",
        message="Too large resource version: 12, current: 9",
    )
    with structlog.testing.capture_logs() as logs:
        async with anyio.create_task_group() as group:
            await group.start(informer.run)
            await informer.synced.wait()
            fake.put(api.PLURAL_CLAIM, _claim("a"))
            await eventually(lambda: informer.store.get("a", namespace="default") is not None)
            group.cancel_scope.cancel()
    [relisted] = [e for e in logs if e["event"] == "watch expired, listing again"]
    assert relisted["error"].startswith("Too large resource version")
