"""Conversion between versions that share a storage: ``events.k8s.io/v1`` Events.

Events are stored in the core ``v1`` shape, so ``kubectl describe`` (which reads core
events) shows events written through ``events.k8s.io/v1`` too, as on a real cluster. The
field mapping is that of ``k8s.io/kubernetes/pkg/apis/events/v1/conversion.go``. Other
resources convert by renaming ``apiVersion`` only.
"""

from typing import Any, Final

from hpa.sandbox import _resources

JSON = dict[str, Any]

#: events.k8s.io/v1 field → core/v1 field.
_EVENT_FIELDS: Final = {
    "regarding": "involvedObject",
    "note": "message",
    "deprecatedSource": "source",
    "deprecatedFirstTimestamp": "firstTimestamp",
    "deprecatedLastTimestamp": "lastTimestamp",
    "deprecatedCount": "count",
    "reportingController": "reportingComponent",
}
_CORE_FIELDS: Final = {core: new for new, core in _EVENT_FIELDS.items()}


def converts(resource: _resources.Resource) -> bool:
    """Whether objects of this resource differ from their stored shape beyond apiVersion."""
    return resource.group == "events.k8s.io"


def _rename(obj: JSON, names: dict[str, str]) -> JSON:
    return {names.get(key, key): value for key, value in obj.items()}


def to_storage(resource: _resources.Resource, obj: JSON) -> JSON:
    """The stored shape of an object written through ``resource``."""
    if not converts(resource):
        return obj
    return _rename(obj, _EVENT_FIELDS)


def from_storage(resource: _resources.Resource, obj: JSON) -> JSON:
    """An object as ``resource`` serves it."""
    if not converts(resource):
        if obj.get("apiVersion") == resource.api_version:
            return obj
        return {**obj, "apiVersion": resource.api_version}
    return {**_rename(obj, _CORE_FIELDS), "apiVersion": resource.api_version}
