"""Events: what a user reads in ``kubectl describe``.

Repeats of the same event (same object, type, reason and message) within ten minutes bump the
``count`` and ``lastTimestamp`` of the existing Event instead of creating another, as
client-go's event correlator does, so a claim that stays Pending does not flood the namespace.
Recording is best-effort: a failed write is logged and dropped, never raised into a reconcile.
"""

import datetime as dt
import time
from typing import Final

import msgspec
import structlog

from hpa import api
from hpa.kube import _builtin_kinds, _client, _endpoints, _exceptions

logger = structlog.get_logger(__name__)

NORMAL: Final = "Normal"
WARNING: Final = "Warning"

#: How long a repeat is folded into the existing Event.
_DEDUP_WINDOW: Final = 600.0
#: Most distinct events remembered for folding; the oldest are forgotten first.
_MEMORY: Final = 4096


class _Seen(msgspec.Struct, kw_only=True):
    name: str
    namespace: str
    count: int
    first: dt.datetime
    at: float


def reference(
    *, kind: str, metadata: api.ObjectMeta, api_version: str = api.API_VERSION
) -> _builtin_kinds.ObjectReference:
    """The ``involvedObject`` for an object of ``kind`` with ``metadata``."""
    return _builtin_kinds.ObjectReference(
        api_version=api_version,
        kind=kind,
        namespace=metadata.namespace,
        name=metadata.name,
        uid=metadata.uid,
        resource_version=metadata.resource_version,
    )


class EventRecorder:
    """Writes core/v1 Events about objects, folding repeats.

    Args:
        client: where Events are written.
        component: ``source.component`` and ``reportingComponent``.
        instance: ``reportingInstance`` (the pod name), also ``source.host``.
        namespace: where Events about cluster-scoped objects go.
    """

    def __init__(
        self,
        client: _client.Client,
        *,
        component: str = "hpa",
        instance: str = "",
        namespace: str = "default",
    ) -> None:
        self._client = client
        self._component = component
        self._instance = instance
        self._namespace = namespace
        self._seen: dict[tuple[str, str, str, str], _Seen] = {}
        self.written = 0

    async def record(
        self, obj: _builtin_kinds.ObjectReference, *, type: str, reason: str, message: str
    ) -> None:
        """Record that ``reason`` happened to ``obj``; never raises a KubeError."""
        key = (obj.uid or f"{obj.namespace}/{obj.name}", type, reason, message)
        moment = api.now()
        seen = self._seen.get(key)
        try:
            if seen is not None and time.monotonic() - seen.at < _DEDUP_WINDOW:
                await self._bump(seen, moment)
                return
            self._seen[key] = await self._create(obj, type=type, reason=reason, message=message)
            self._forget_oldest()
        except _exceptions.KubeError as error:
            self._seen.pop(key, None)
            logger.warning("event not recorded", reason=reason, object=obj.name, error=str(error))

    async def _create(
        self, obj: _builtin_kinds.ObjectReference, *, type: str, reason: str, message: str
    ) -> _Seen:
        moment = api.now()
        namespace = obj.namespace or self._namespace
        name = f"{obj.name}.{time.time_ns():x}"
        event = _builtin_kinds.Event(
            metadata=api.ObjectMeta(name=name, namespace=namespace),
            involved_object=obj,
            reason=reason,
            message=message,
            type=type,
            count=1,
            source=_builtin_kinds.EventSource(component=self._component, host=self._instance),
            first_timestamp=moment,
            last_timestamp=moment,
            reporting_component=self._component,
            reporting_instance=self._instance,
        )
        self.written += 1
        await self._client.create(
            _endpoints.EVENTS, event, type=_builtin_kinds.Event, namespace=namespace
        )
        return _Seen(name=name, namespace=namespace, count=1, first=moment, at=time.monotonic())

    async def _bump(self, seen: _Seen, moment: dt.datetime) -> None:
        seen.count += 1
        seen.at = time.monotonic()
        self.written += 1
        await self._client.patch(
            _endpoints.EVENTS,
            seen.name,
            {"count": seen.count, "lastTimestamp": msgspec.to_builtins(moment)},
            type=_builtin_kinds.Event,
            namespace=seen.namespace,
        )

    def _forget_oldest(self) -> None:
        while len(self._seen) > _MEMORY:
            del self._seen[next(iter(self._seen))]
