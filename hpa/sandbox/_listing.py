"""LIST and the start of a WATCH (API concepts: "Efficient detection of changes",
"Retrieving large results sets in chunks", "Resource versions").

A list answers the current state with the store's resourceVersion; ``limit`` and
``continue`` page through it in key order, the token holding the list's resourceVersion and
the last key returned (the pages after the first show the current state rather than a
snapshot; a token older than the event window answers ``410 Expired``, as an etcd compaction
does). A watch starts from a resourceVersion: unset or ``"0"`` sends the current objects as
synthetic ``ADDED`` events first; a version still in the event window replays what followed
it; an older version ends the watch with an ``ERROR`` event holding a ``410 Expired`` Status.
"""

import base64
import binascii
from collections.abc import Callable
from typing import Any

import msgspec

from hpa.sandbox import _calls, _engine, _errors, _store, _watching

JSON = dict[str, Any]
Matcher = Callable[[JSON], bool]


class Selection(msgspec.Struct, kw_only=True):
    """The filters and paging of a list or watch."""

    labels: Matcher | None = None
    fields: Matcher | None = None
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""


def _encode_token(rv: int, key: _store.Key) -> str:
    raw = msgspec.json.encode({"rv": rv, "start": list(key)})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(token: str) -> tuple[int, _store.Key]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = msgspec.json.decode(base64.urlsafe_b64decode(padded))
        return int(data["rv"]), (str(data["start"][0]), str(data["start"][1]))
    except (binascii.Error, msgspec.DecodeError, KeyError, TypeError, ValueError, IndexError):
        raise _errors.bad_request("invalid continue token") from None


def _too_old(rv: int, current: int) -> _errors.ApiError:
    return _errors.gone(f"too old resource version: {rv} ({current})")


def _check_version(store: _store.Store, selection: Selection) -> None:
    text = selection.resource_version
    if not text or text == "0":
        return
    try:
        rv = int(text)
    except ValueError:
        raise _errors.bad_request(f"invalid resource version: {text!r}") from None
    if selection.resource_version_match == "Exact" and store.too_old(rv):
        raise _too_old(rv, store.rv)


def list_objects(engine: _engine.Engine, call: _calls.Call, selection: Selection) -> JSON:
    """The list object (``<Kind>List``) for a LIST request."""
    store = engine.store
    resource = call.resource
    rv = store.rv
    after: _store.Key | None = None
    if selection.continue_token:
        token_rv, after = _decode_token(selection.continue_token)
        if store.too_old(token_rv):
            raise _errors.gone(
                "The provided continue parameter is too old to display a consistent list "
                "result. You can start a new list without the continue parameter."
            )
        rv = token_rv
    else:
        _check_version(store, selection)
    items: list[JSON] = []
    meta: JSON = {"resourceVersion": str(rv)}
    filtered = selection.labels is not None or selection.fields is not None
    for obj in store.items(resource.storage_key, namespace=call.namespace, after=after):
        if selection.labels is not None and not selection.labels(obj):
            continue
        if selection.fields is not None and not selection.fields(obj):
            continue
        if selection.limit and len(items) == selection.limit:
            last = items[-1]["metadata"]
            last_key = (last.get("namespace", ""), last["name"])
            meta["continue"] = _encode_token(rv, last_key)
            if not filtered:
                meta["remainingItemCount"] = _remaining(store, call, last_key)
            break
        items.append(engine.versioned(resource, obj))
    return {
        "kind": resource.list_kind,
        "apiVersion": resource.api_version,
        "metadata": meta,
        "items": items,
    }


def _remaining(store: _store.Store, call: _calls.Call, last: _store.Key) -> int:
    table = store.table(call.resource.storage_key)
    end = len(table)
    if call.namespace is not None:
        end = table.bisect_right((call.namespace, "\U0010ffff"))
    return int(end - table.bisect_right(last))


def open_watch(
    engine: _engine.Engine, call: _calls.Call, selection: Selection, *, send_initial: bool
) -> tuple[_watching.Watch, list[_watching.Item], _errors.ApiError | None]:
    """Register a watch; returns it, the events to send first, and a 410 to end with if any.

    Registration and the snapshot happen without an ``await`` between them, so no event can
    fall between the initial state and the live stream.
    """
    store = engine.store
    watch = _watching.Watch(
        storage=call.resource.storage_key,
        namespace=call.namespace,
        labels=selection.labels,
        fields=selection.fields,
    )
    text = selection.resource_version
    initial: list[_watching.Item] = []
    if send_initial or not text or text == "0":
        for obj in store.items(call.resource.storage_key, namespace=call.namespace):
            if watch.matches(obj):
                initial.append(("ADDED", obj, None))
        return watch, initial, None
    try:
        rv = int(text)
    except ValueError:
        raise _errors.bad_request(f"invalid resource version: {text!r}") from None
    if store.too_old(rv):
        return watch, [], _too_old(rv, store.rv)
    replay = _watching.Watch(
        storage=watch.storage, namespace=watch.namespace, labels=watch.labels, fields=watch.fields
    )
    for event in store.since(rv, call.resource.storage_key):
        replay.offer(event)
    replay.close()
    while True:
        item = replay.receive.receive_nowait()
        if item is None:
            break
        initial.append(item)
    replay.release()
    return watch, initial, None
