"""WATCH semantics (API concepts: "Efficient detection of changes", "Watch bookmarks",
"Resource versions")."""

from typing import Any

import anyio

from hpa import sandbox as sandbox_module
from tests.integration.sandbox.conftest import CLAIMS, Api, claim
from tests.sandbox_fixtures import poll_until


def _summary(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["type"], e["object"]["metadata"].get("name", "")) for e in events]


async def test_watch_from_a_version_replays_what_followed(api: Api) -> None:
    """A watch from a resourceVersion sends every later change, then ends at timeoutSeconds.

    Ref: API concepts, "Efficient detection of changes".
    """
    start = (await api.get(CLAIMS)).body["metadata"]["resourceVersion"]
    await api.post(CLAIMS, claim("a"))
    await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": "1"}}})
    await api.delete(f"{CLAIMS}/a")
    events = await api.lines(
        CLAIMS, {"watch": "1", "resourceVersion": start, "timeoutSeconds": "1"}
    )
    assert _summary(events) == [("ADDED", "a"), ("MODIFIED", "a"), ("DELETED", "a")]
    versions = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert versions == sorted(versions)


async def test_watch_without_version_starts_with_the_current_state(api: Api) -> None:
    """A watch without resourceVersion first sends synthetic ADDED events.

    Ref: API concepts, "Resource versions" (semantics for watch: unset).
    """
    await api.post(CLAIMS, claim("a"))
    events = await api.lines(CLAIMS, {"watch": "true", "timeoutSeconds": "1"})
    assert _summary(events) == [("ADDED", "a")]


async def test_live_events_reach_an_open_watch(api: Api, sandbox: sandbox_module.Sandbox) -> None:
    """Writes made while a watch is open are streamed to it (legacy /watch/ path too).

    Ref: API concepts, "Efficient detection of changes".
    """
    rv = (await api.get(CLAIMS)).body["metadata"]["resourceVersion"]
    path = "/apis/hostport.rmb938.com/v1alpha1/watch/namespaces/default/hostportclaims"
    received: list[dict[str, Any]] = []

    async def watch() -> None:
        received.extend(await api.lines(path, {"resourceVersion": rv, "timeoutSeconds": "2"}))

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        await poll_until(lambda: sandbox.watch_count == 1)
        await api.post(CLAIMS, claim("live"))
    assert _summary(received) == [("ADDED", "live")]


async def test_bookmarks_carry_the_current_version(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """allowWatchBookmarks=true gets BOOKMARK events with only a resourceVersion.

    Ref: API concepts, "Watch bookmarks".
    """
    sandbox.bookmark_interval = 0.05
    rv = (await api.get(CLAIMS)).body["metadata"]["resourceVersion"]
    events = await api.lines(
        CLAIMS,
        {"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true", "timeoutSeconds": "1"},
    )
    bookmarks = [e for e in events if e["type"] == "BOOKMARK"]
    assert bookmarks
    assert bookmarks[0]["object"]["kind"] == "HostPortClaim"
    assert set(bookmarks[0]["object"]["metadata"]) == {"resourceVersion"}


async def test_initial_events_end_with_an_annotated_bookmark(api: Api) -> None:
    """sendInitialEvents=true sends the state, then a bookmark marking its end.

    Ref: API concepts, "Streaming lists".
    """
    await api.post(CLAIMS, claim("a"))
    params = {
        "watch": "1",
        "sendInitialEvents": "true",
        "resourceVersionMatch": "NotOlderThan",
        "allowWatchBookmarks": "true",
        "timeoutSeconds": "1",
    }
    events = await api.lines(CLAIMS, params)
    assert events[0]["type"] == "ADDED"
    assert events[1]["type"] == "BOOKMARK"
    assert events[1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


async def test_watch_from_an_expired_version_gets_410(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """A watch from a version older than the window ends with an ERROR event, Status 410.

    Ref: API concepts, "Efficient detection of changes" (410 Gone).
    """
    rv = (await api.get(CLAIMS)).body["metadata"]["resourceVersion"]
    await api.post(CLAIMS, claim("a"))
    sandbox.faults.expire_watch_window()
    events = await api.lines(CLAIMS, {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "5"})
    assert len(events) == 1 and events[0]["type"] == "ERROR"
    status = events[0]["object"]
    assert (status["kind"], status["code"], status["reason"]) == ("Status", 410, "Expired")


async def test_small_window_expires_old_versions() -> None:
    """With watch_window=N, versions more than N events back answer 410.

    Ref: API concepts, "Efficient detection of changes" (compaction).
    """
    async with sandbox_module.Sandbox(watch_window=5) as server:
        await server.install_crds()
        first = await server.create(claim("c0"))
        for index in range(1, 20):
            await server.create(claim(f"c{index}"))
        assert server.store.too_old(int(first["metadata"]["resourceVersion"]))
        assert not server.store.too_old(server.store.rv - 3)


async def test_label_selector_transitions_are_added_and_deleted(api: Api) -> None:
    """An object entering a watch's selector is ADDED, one leaving it is DELETED.

    Ref: API concepts, "Efficient detection of changes" (watch with selectors).
    """
    rv = (await api.get(CLAIMS)).body["metadata"]["resourceVersion"]
    await api.post(CLAIMS, claim("a"))
    await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"team": "x"}}})
    await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"team": "y"}}})
    events = await api.lines(
        CLAIMS,
        {"watch": "1", "resourceVersion": rv, "labelSelector": "team=x", "timeoutSeconds": "1"},
    )
    assert _summary(events) == [("ADDED", "a"), ("DELETED", "a")]


async def test_drop_watches_ends_open_streams(api: Api, sandbox: sandbox_module.Sandbox) -> None:
    """faults.drop_watches() closes every open watch (as an API server restart does).

    Ref: API concepts, "Efficient detection of changes" (clients must re-watch).
    """
    done = anyio.Event()

    async def watch() -> None:
        await api.lines(CLAIMS, {"watch": "1", "timeoutSeconds": "60"})
        done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(watch)
        await poll_until(lambda: sandbox.watch_count == 1)
        sandbox.faults.drop_watches()
        with anyio.fail_after(5):
            await done.wait()
    assert sandbox.watch_count == 0


async def test_watch_of_one_name(api: Api) -> None:
    """A watch on a named URL or metadata.name field selector sees only that object.

    Ref: API concepts, "Efficient detection of changes"; Field selectors.
    """
    rv = (await api.get(CLAIMS)).body["metadata"]["resourceVersion"]
    await api.post(CLAIMS, claim("a"))
    await api.post(CLAIMS, claim("b"))
    params = {
        "watch": "1",
        "resourceVersion": rv,
        "timeoutSeconds": "1",
        "fieldSelector": "metadata.name=b",
    }
    assert _summary(await api.lines(CLAIMS, params)) == [("ADDED", "b")]
