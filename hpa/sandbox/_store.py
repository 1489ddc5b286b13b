"""The in-memory storage: objects per resource, one resourceVersion counter, an event log.

Objects are plain JSON dicts, never mutated once stored (writers store a new dict), so reads
and watch events can share them. Each resource's objects live in a ``SortedDict`` keyed by
``(namespace, name)``, which gives etcd's key order for lists, O(log n) ``continue`` and
per-namespace ranges without a scan. Every write takes the next value of a single global
counter as its resourceVersion (etcd's revision) and appends one :class:`Event` to a log that
keeps the last ``window`` events: watches resume from it, and a version older than the window
answers ``410 Gone``, as etcd compaction does. Live fan-out is in :mod:`._watching`.
"""

import bisect
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
from sortedcontainers import SortedDict

JSON = dict[str, Any]
Key = tuple[str, str]
StorageKey = tuple[str, str]


class Event:
    """One change: ``ADDED``, ``MODIFIED`` or ``DELETED`` of an object at a resourceVersion."""

    __slots__ = ("_encoded", "obj", "old", "rv", "storage", "type")

    def __init__(
        self, type: str, obj: JSON, *, rv: int, storage: StorageKey, old: JSON | None
    ) -> None:
        self.type = type
        self.obj = obj
        self.old = old
        self.rv = rv
        self.storage = storage
        self._encoded: dict[str, bytes] = {}

    def encoded(self, api_version: str) -> bytes:
        """The watch line of this event, encoded once per apiVersion and shared by watchers."""
        line = self._encoded.get(api_version)
        if line is None:
            obj = self.obj
            if obj.get("apiVersion") != api_version:
                obj = {**obj, "apiVersion": api_version}
            line = msgspec.json.encode({"type": self.type, "object": obj}) + b"\n"
            self._encoded[api_version] = line
        return line


class Store:
    """Objects, the resourceVersion counter and the event log (see the module docstring)."""

    def __init__(self, *, window: int = 10_000) -> None:
        self.window = window
        self.rv = 1
        self._tables: dict[StorageKey, SortedDict] = {}
        self._log: list[Event] = []
        self._log_rvs: list[int] = []
        #: Events at or below this version are gone from the log.
        self.compacted = 0
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, listener: Callable[[Event], None]) -> None:
        """Call ``listener`` synchronously with every event after it is stored."""
        self._listeners.append(listener)

    def table(self, storage: StorageKey) -> SortedDict:
        """The objects of one resource, by (namespace, name)."""
        table = self._tables.get(storage)
        if table is None:
            table = self._tables[storage] = SortedDict()
        return table

    def get(self, storage: StorageKey, key: Key) -> JSON | None:
        """The object at ``key``, if any."""
        obj: JSON | None = self.table(storage).get(key)
        return obj

    def items(
        self, storage: StorageKey, *, namespace: str | None = None, after: Key | None = None
    ) -> Iterator[JSON]:
        """Objects in key order, optionally one namespace, strictly after a key."""
        table = self.table(storage)
        lower: Key | None = after
        upper: Key | None = None
        if namespace is not None:
            start = (namespace, "")
            if lower is None or lower < start:
                lower = start
            upper = (namespace, "\U0010ffff")
        keys = table.irange(lower, upper, inclusive=(after is None or lower != after, True))
        for key in keys:
            yield table[key]

    def count(self, storage: StorageKey) -> int:
        """How many objects a resource holds."""
        return len(self.table(storage))

    def next_rv(self) -> int:
        """Take the next resourceVersion."""
        self.rv += 1
        return self.rv

    def write(self, type: str, storage: StorageKey, key: Key, obj: JSON, *, rv: int) -> Event:
        """Store (or, for ``DELETED``, remove) an object whose metadata already carries ``rv``."""
        table = self.table(storage)
        old = table.get(key)
        if type == "DELETED":
            table.pop(key, None)
        else:
            table[key] = obj
        event = Event(type, obj, rv=rv, storage=storage, old=old)
        self._append(event)
        for listener in self._listeners:
            listener(event)
        return event

    def _append(self, event: Event) -> None:
        self._log.append(event)
        self._log_rvs.append(event.rv)
        if len(self._log) > self.window * 2 or (self.window == 0 and self._log):
            self.compact(self.window)

    def compact(self, keep: int) -> None:
        """Forget all but the last ``keep`` events (``0`` empties the log)."""
        drop = max(0, len(self._log) - keep)
        if drop:
            self.compacted = self._log_rvs[drop - 1]
            del self._log[:drop]
            del self._log_rvs[:drop]

    def expire(self) -> None:
        """Forget every event so far: any watch or continue from a version so far gets 410.

        The counter moves on by one so that a list made afterwards can be watched from.
        """
        self.rv += 1
        self.compacted = self.rv
        self._log.clear()
        self._log_rvs.clear()

    def too_old(self, rv: int) -> bool:
        """Whether events after ``rv`` are no longer all in the log."""
        if len(self._log) > self.window:
            self.compact(self.window)
        return rv < self.compacted

    def since(self, rv: int, storage: StorageKey) -> list[Event]:
        """Logged events of one resource after ``rv`` (check :meth:`too_old` first)."""
        start = bisect.bisect_right(self._log_rvs, rv)
        return [event for event in self._log[start:] if event.storage == storage]
