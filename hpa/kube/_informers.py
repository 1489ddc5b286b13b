"""Informers: list-then-watch loops that keep a typed, in-memory store of one kind.

kr8s's own ``watch`` is not used: it ends silently when the server closes the stream, loops
without back-off on ``410 Gone`` and has no timeouts. This loop:

1. LISTs page by page and replaces the store (emitting changes for what appeared, changed or
   vanished), then sets :attr:`Informer.synced`;
2. WATCHes from the list's resourceVersion with bookmarks and a ``timeoutSeconds`` drawn
   anew each time between ``watch_timeout`` and twice that, as client-go's reflector does, so
   that informers started together do not all reconnect together;
3. when the stream ends (timeout, server restart, a dropped connection), re-watches from the
   last resourceVersion seen: a closed stream is never the end;
4. on ``410 Gone`` (the resourceVersion fell out of the watch window) or a resourceVersion the
   server has not reached yet, re-lists, after a back-off when that keeps happening;
5. on transport errors, 429 and 5xx, waits with exponential back-off and jitter (honouring
   ``Retry-After``), then re-watches or re-lists.

Handlers are plain functions called with ``(old, new)`` for every change (``old`` None on add,
``new`` None on delete). They run in the informer's task, so they must be quick and not block:
they update the port index or add keys to a work queue. Objects in the store are immutable
Structs.
"""

import builtins
import random
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final, Generic, TypeVar

import anyio
import anyio.abc
import msgspec
import prometheus_client
import structlog

from hpa import observability
from hpa.kube import _client, _endpoints, _exceptions

logger = structlog.get_logger(__name__)

T = TypeVar("T")

Handler = Callable[[T | None, T | None], None]

WATCH_RESTARTS: Final = prometheus_client.Counter(
    "hpa_watch_restarts_total",
    "Watches re-opened, by resource and why (closed, gone, error).",
    ["resource", "reason"],
    registry=observability.REGISTRY,
)
UNDECODABLE: Final = prometheus_client.Counter(
    "hpa_undecodable_objects_total",
    "Objects an informer ignored because they do not decode into hpa's types, by resource.",
    ["resource"],
    registry=observability.REGISTRY,
)


def object_key(namespace: str, name: str) -> str:
    """The store key of an object: ``namespace/name``, or ``name`` when cluster-scoped."""
    return f"{namespace}/{name}" if namespace else name


def split_key(key: str) -> tuple[str, str]:
    """``(namespace, name)`` of a store key; the namespace is empty when cluster-scoped."""
    namespace, _, name = key.rpartition("/")
    return namespace, name


class _Meta(msgspec.Struct, frozen=True):
    resourceVersion: str = ""
    name: str = ""
    namespace: str = ""


class _Versioned(msgspec.Struct, frozen=True):
    metadata: _Meta = _Meta()


_VERSION_DECODER: Final = msgspec.json.Decoder(_Versioned)


class Store(Generic[T]):
    """The objects of one kind, keyed by ``namespace/name`` (or ``name``), with lookups by other
    keys (:meth:`add_lookup`). Readers get immutable Structs; only the informer writes."""

    def __init__(self, *, key: Callable[[T], str]) -> None:
        self._key = key
        self._items: dict[str, T] = {}
        #: lookup name -> the keys an object is found by; lookup name -> key -> store keys.
        self._keyers: dict[str, Callable[[T], Iterable[str]]] = {}
        self._lookups: dict[str, dict[str, set[str]]] = {}

    def get(self, name: str, *, namespace: str = "") -> T | None:
        """The object named ``name`` (in ``namespace``), or None."""
        return self._items.get(object_key(namespace, name))

    def get_key(self, key: str) -> T | None:
        """The object with store key ``key``, or None."""
        return self._items.get(key)

    def list(self) -> builtins.list[T]:
        """Every object, in no particular order."""
        return list(self._items.values())

    def all_keys(self) -> builtins.list[str]:
        """Every store key."""
        return list(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[T]:
        return iter(list(self._items.values()))

    def add_lookup(self, name: str, values: Callable[[T], Iterable[str]]) -> None:
        """Find objects by the keys ``values(obj)`` gives, with :meth:`lookup`."""
        self._keyers[name] = values
        table: dict[str, set[str]] = {}
        for key, obj in self._items.items():
            for value in values(obj):
                table.setdefault(value, set()).add(key)
        self._lookups[name] = table

    def lookup(self, name: str, value: str) -> builtins.list[T]:
        """The objects that lookup ``name`` finds by ``value``."""
        keys = self._lookups[name].get(value, ())
        return [self._items[key] for key in keys if key in self._items]

    def key_of(self, obj: T) -> str:
        """The store key of ``obj``."""
        return self._key(obj)

    def upsert(self, obj: T) -> T | None:
        """Put ``obj`` in the store; returns what it replaced."""
        key = self._key(obj)
        old = self._items.get(key)
        if old is not None:
            self._forget(key, old)
        self._items[key] = obj
        for name, values in self._keyers.items():
            for value in values(obj):
                self._lookups[name].setdefault(value, set()).add(key)
        return old

    def remove(self, key: str) -> T | None:
        """Drop the object with store key ``key``; returns it."""
        old = self._items.pop(key, None)
        if old is not None:
            self._forget(key, old)
        return old

    def _forget(self, key: str, obj: T) -> None:
        """Drop ``obj`` (at store key ``key``) from every lookup."""
        for name, values in self._keyers.items():
            table = self._lookups[name]
            for value in values(obj):
                keys = table.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del table[value]


class Backoff:
    """Exponential back-off with full jitter for reconnecting: ``base·2^n`` capped, reset on
    success; a server's ``Retry-After`` wins when it is longer."""

    def __init__(self, *, base: float = 0.5, cap: float = 30.0) -> None:
        self._base = base
        self._cap = cap
        self._failures = 0

    def next(self, *, retry_after: float | None = None) -> float:
        """Seconds to wait before the next attempt."""
        ceiling = min(self._cap, self._base * 2**self._failures)
        self._failures += 1
        delay = random.uniform(ceiling / 2, ceiling)
        return max(delay, retry_after or 0.0)

    def reset(self) -> None:
        """Forget the failures, after a success."""
        self._failures = 0


class Informer(Generic[T]):
    """Keeps :attr:`store` equal to the API server's objects of one resource.

    Args:
        client: the API client.
        resource: what to list and watch.
        decode: raw JSON of one object → what the store keeps (a Struct or a projection).
        key: the store key of a kept object.
        namespace: list and watch only this namespace (all when empty).
        label_selector: list and watch only matching objects.
        field_selector: list and watch only matching objects (e.g. ``metadata.name=x``).
        watch_timeout: the shortest ``timeoutSeconds`` of a watch request (each is drawn
            between it and twice it).
        page_size: ``limit`` of each list page.
    """

    def __init__(
        self,
        client: _client.Client,
        resource: _endpoints.Resource,
        *,
        decode: Callable[[bytes], T],
        key: Callable[[T], str],
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        watch_timeout: int = 300,
        page_size: int = 500,
    ) -> None:
        self.resource = resource
        self.store: Store[T] = Store(key=key)
        self.synced = anyio.Event()
        self._client = client
        self._decode = decode
        self._namespace = namespace
        self._label_selector = label_selector
        self._field_selector = field_selector
        self._watch_timeout = watch_timeout
        self._page_size = page_size
        self._handlers: list[Handler[T]] = []
        self._backoff = Backoff()
        self.resource_version = ""
        #: When the list/watch started failing (monotonic seconds), None while it works.
        self.failing_since: float | None = None

    def add_handler(self, handler: Handler[T]) -> None:
        """Call ``handler(old, new)`` on every change, from now on."""
        self._handlers.append(handler)

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """List, then watch, forever; :attr:`synced` is set after the first complete list.

        Started at once; never returns (cancel it to stop).
        """
        task_status.started()
        log = logger.bind(resource=self.resource.plural)
        while True:
            reason = "closed"
            try:
                if not self.resource_version:
                    await self._list()
                await self._watch()
            except _exceptions.Gone as error:
                reason = "gone"
                self.resource_version = ""
                # The first re-list waits a moment, the next ones longer: a server that answers
                # every watch with 410 (or too large) must not be listed in a tight loop.
                delay = self._backoff.next()
                log.info("watch expired, listing again", error=str(error), delay=round(delay, 3))
                await anyio.sleep(delay)
            except _exceptions.KubeError as error:
                reason = "error"
                if self.failing_since is None:
                    self.failing_since = time.monotonic()
                delay = self._backoff.next(retry_after=getattr(error, "retry_after", None))
                log.warning(
                    "watch failed, retrying",
                    error=str(error),
                    status=error.status,
                    error_type=type(error).__name__,
                    delay=round(delay, 3),
                )
                await anyio.sleep(delay)
            WATCH_RESTARTS.labels(self.resource.plural, reason).inc()

    async def _list(self) -> None:
        page = await self._client.list_raw(
            self.resource,
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            limit=self._page_size,
        )
        fresh = {}
        for raw in page.items:
            obj = self._decode_or_skip(raw)
            if obj is not None:
                fresh[self.store.key_of(obj)] = obj
        for key in list(self.store.all_keys()):
            if key not in fresh:
                self._emit(self.store.remove(key), None)
        for obj in fresh.values():
            old = self.store.upsert(obj)
            if old != obj:
                self._emit(old, obj)
        self.resource_version = page.resource_version
        self.failing_since = None
        if not self.synced.is_set():
            logger.debug("informer synced", resource=self.resource.plural, count=len(fresh))
            self.synced.set()

    async def _watch(self) -> None:
        async with self._client.watch(
            self.resource,
            resource_version=self.resource_version,
            namespace=self._namespace,
            label_selector=self._label_selector,
            field_selector=self._field_selector,
            timeout_seconds=int(self._watch_timeout * (1 + random.random())),
        ) as events:
            self.failing_since = None  # the API server accepted the watch
            async for event in events:
                self._apply(event)
                self._backoff.reset()
        self._backoff.reset()  # the server ended a healthy stream

    def _apply(self, event: _client.WatchEvent) -> None:
        version = _VERSION_DECODER.decode(event.object).metadata.resourceVersion
        if event.type == "BOOKMARK":
            self.resource_version = version or self.resource_version
            return
        obj = self._decode_or_skip(event.object)
        if obj is None:
            # Keep what the store had: for a HostPort, the port stays held (docs/architecture.md).
            self.resource_version = version or self.resource_version
            return
        if event.type == "DELETED":
            old = self.store.remove(self.store.key_of(obj))
            self._emit(old if old is not None else obj, None)
        else:
            old = self.store.upsert(obj)
            self._emit(old, obj)
        if version:
            self.resource_version = version

    def _decode_or_skip(self, raw: bytes) -> T | None:
        """The typed object, or None (logged) for one this version cannot read: an object the
        API server accepted but hpa's types do not must not stop the informer."""
        try:
            return self._decode(raw)
        except (msgspec.ValidationError, msgspec.DecodeError) as error:
            try:
                meta = _VERSION_DECODER.decode(raw).metadata
            except (msgspec.ValidationError, msgspec.DecodeError):
                meta = _Meta()
            logger.warning(
                "object cannot be decoded, ignored",
                resource=self.resource.plural,
                namespace=meta.namespace,
                name=meta.name,
                error=str(error),
            )
            UNDECODABLE.labels(self.resource.plural).inc()
            return None

    def _emit(self, old: T | None, new: T | None) -> None:
        for handler in self._handlers:
            try:
                handler(old, new)
            except Exception:  # a handler bug must not stop the informer
                logger.exception("informer handler failed", resource=self.resource.plural)


def struct_decoder(type_: type[T]) -> Callable[[bytes], T]:
    """A ``decode`` for :class:`Informer` that decodes into a msgspec Struct."""
    decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(type_)

    def decode(raw: bytes) -> T:
        result: T = decoder.decode(raw)
        return result

    return decode
