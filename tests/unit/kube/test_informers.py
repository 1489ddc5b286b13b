"""Informers: list then watch, re-watch on close, re-list on 410, back off on errors."""

from typing import Any

import anyio
import pytest

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
