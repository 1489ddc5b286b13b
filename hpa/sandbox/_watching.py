"""Watch fan-out: every stored event is offered to the open watches of its resource.

A :class:`Watch` holds its filters (namespace, label and field selectors) and an unbounded
memory stream; :class:`Hub` keeps the watches per resource, so a write costs one dict lookup
plus one cheap ``offer`` per watch of that resource, and the JSON line of an event is encoded
once and shared (:meth:`._store.Event.encoded`). Selector transitions follow kube-apiserver's
watch cache: an object that stops matching is sent as ``DELETED``, one that starts matching as
``ADDED``.
"""

import contextlib
import math
from collections.abc import Callable
from typing import Any

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from hpa.sandbox import _store

JSON = dict[str, Any]
Matcher = Callable[[JSON], bool]
#: What a watch receives: (event type, object, the stored event it came from).
Item = tuple[str, JSON, _store.Event | None]


class Watch:
    """One open watch (see the module docstring)."""

    def __init__(
        self,
        *,
        storage: _store.StorageKey,
        namespace: str | None,
        labels: Matcher | None,
        fields: Matcher | None,
    ) -> None:
        self.storage = storage
        self.namespace = namespace
        self.labels = labels
        self.fields = fields
        self.filtered = namespace is not None or labels is not None or fields is not None
        send: MemoryObjectSendStream[Item | None]
        receive: MemoryObjectReceiveStream[Item | None]
        send, receive = anyio.create_memory_object_stream[Item | None](math.inf)
        self._send = send
        self.receive = receive

    def matches(self, obj: JSON | None) -> bool:
        """Whether an object passes this watch's filters."""
        if obj is None:
            return False
        if self.namespace is not None and obj["metadata"].get("namespace") != self.namespace:
            return False
        if self.labels is not None and not self.labels(obj):
            return False
        return self.fields is None or self.fields(obj)

    def offer(self, event: _store.Event) -> None:
        """Queue an event if it concerns this watch (non-blocking)."""
        if not self.filtered:
            self.push((event.type, event.obj, event))
            return
        now = self.matches(event.obj)
        before = event.type != "ADDED" and self.matches(event.old)
        if event.type == "DELETED":
            if now:
                self.push((event.type, event.obj, event))
        elif now and before:
            self.push((event.type, event.obj, event))
        elif now:
            self.push(("ADDED", event.obj, None))
        elif before:
            self.push(("DELETED", event.obj, None))

    def push(self, item: Item | None) -> None:
        """Queue an item; ``None`` ends the stream."""
        with contextlib.suppress(anyio.ClosedResourceError, anyio.BrokenResourceError):
            self._send.send_nowait(item)

    def close(self) -> None:
        """End the stream: the server closes the HTTP response."""
        self.push(None)

    def release(self) -> None:
        """Close both ends of the stream (after the response ended)."""
        self._send.close()
        self.receive.close()


class Hub:
    """Open watches by resource."""

    def __init__(self) -> None:
        self._watches: dict[_store.StorageKey, set[Watch]] = {}

    def add(self, watch: Watch) -> None:
        """Start delivering events to a watch."""
        self._watches.setdefault(watch.storage, set()).add(watch)

    def remove(self, watch: Watch) -> None:
        """Stop delivering events to a watch."""
        self._watches.get(watch.storage, set()).discard(watch)
        watch.release()

    def publish(self, event: _store.Event) -> None:
        """Offer an event to the watches of its resource."""
        for watch in self._watches.get(event.storage, ()):
            watch.offer(event)

    def count(self) -> int:
        """How many watches are open."""
        return sum(len(watches) for watches in self._watches.values())

    def close_all(self) -> None:
        """End every open watch (the fault a restarting API server causes)."""
        for watches in self._watches.values():
            for watch in list(watches):
                watch.close()
