"""The wire types of the built-in kinds hpa reads and writes.

hpa's own kinds are typed in ``hpa.api``; the built-in kinds here are typed only as far as hpa
reads them (pods as a small projection), and unknown fields are ignored on decode.
"""

import datetime as dt

import msgspec

from hpa import api


class Pod(api.Wire, frozen=True, kw_only=True):
    """A pod as hpa keeps it: its identity and the claims its annotations name.

    ``claims`` maps a container port name to a claim name in the pod's namespace
    (``claim.hostport.rmb938.com/<portName>: <claimName>``); every other annotation is dropped
    so thousands of pods cost little memory.
    """

    namespace: str
    name: str
    uid: str = ""
    deletion_timestamp: dt.datetime | None = None
    claims: dict[str, str] = {}


class _PodWire(api.Wire, frozen=True, kw_only=True):
    metadata: api.ObjectMeta = api.ObjectMeta()


def pod_projection(raw: bytes) -> Pod:
    """Decode a pod and keep only what hpa reads of it."""
    meta = msgspec.json.decode(raw, type=_PodWire).metadata
    return Pod(
        namespace=meta.namespace,
        name=meta.name,
        uid=meta.uid,
        deletion_timestamp=meta.deletion_timestamp,
        claims={
            key.removeprefix(api.CLAIM_ANNOTATION_PREFIX): value
            for key, value in meta.annotations.items()
            if key.startswith(api.CLAIM_ANNOTATION_PREFIX)
        },
    )


class Namespace(api.Wire, frozen=True, kw_only=True):
    """A namespace; hpa reads its labels."""

    api_version: str = "v1"
    kind: str = "Namespace"
    metadata: api.ObjectMeta = api.ObjectMeta()


class NodeSpec(api.Wire, frozen=True, kw_only=True):
    """The part of a Node's spec hpa reads: whether it is cordoned."""

    unschedulable: bool = False


class Node(api.Wire, frozen=True, kw_only=True):
    """A Node; hpa reads its labels and whether it is cordoned, to count a per-node class's
    eligible nodes."""

    api_version: str = "v1"
    kind: str = "Node"
    metadata: api.ObjectMeta = api.ObjectMeta()
    spec: NodeSpec = NodeSpec()


class StatefulSetSpec(api.Wire, frozen=True, kw_only=True):
    """The part of a StatefulSet's spec hpa reads."""

    replicas: int = 1


class StatefulSet(api.Wire, frozen=True, kw_only=True):
    """A StatefulSet as hpa keeps it: identity, annotations (retention policy) and replicas."""

    api_version: str = "apps/v1"
    kind: str = "StatefulSet"
    metadata: api.ObjectMeta = api.ObjectMeta()
    spec: StatefulSetSpec = StatefulSetSpec()


class ResourceQuotaSpec(api.Wire, frozen=True, kw_only=True):
    """The part of a ResourceQuota's spec hpa reads: the limits, as quantity strings."""

    hard: dict[str, str] = {}


class ResourceQuotaStatus(api.Wire, frozen=True, kw_only=True):
    """What a ResourceQuota has observed."""

    hard: dict[str, str] = {}
    used: dict[str, str] = {}


class ResourceQuota(api.Wire, frozen=True, kw_only=True):
    """A namespace's ResourceQuota; hpa enforces and counts its per-class claim keys."""

    api_version: str = "v1"
    kind: str = "ResourceQuota"
    metadata: api.ObjectMeta = api.ObjectMeta()
    spec: ResourceQuotaSpec = ResourceQuotaSpec()
    status: ResourceQuotaStatus = ResourceQuotaStatus()


class LeaseSpec(api.Wire, frozen=True, kw_only=True):
    """``coordination.k8s.io/v1`` LeaseSpec; times are MicroTime strings, kept as sent."""

    holder_identity: str = ""
    lease_duration_seconds: int = 0
    acquire_time: str = ""
    renew_time: str = ""
    lease_transitions: int = 0


class Lease(api.Wire, frozen=True, kw_only=True):
    """A coordination Lease, the lock of leader election."""

    api_version: str = "coordination.k8s.io/v1"
    kind: str = "Lease"
    metadata: api.ObjectMeta = api.ObjectMeta()
    spec: LeaseSpec = LeaseSpec()


class ObjectReference(api.Wire, frozen=True, kw_only=True):
    """``involvedObject`` of an Event."""

    api_version: str = ""
    kind: str = ""
    namespace: str = ""
    name: str = ""
    uid: str = ""
    resource_version: str = ""


class EventSource(api.Wire, frozen=True, kw_only=True):
    """``source`` of an Event."""

    component: str = ""
    host: str = ""


class Event(api.Wire, frozen=True, kw_only=True):
    """A ``core/v1`` Event, as hpa writes it."""

    api_version: str = "v1"
    kind: str = "Event"
    metadata: api.ObjectMeta = api.ObjectMeta()
    involved_object: ObjectReference
    reason: str
    message: str
    # No defaults: an encoded Struct omits default values, and both must reach the server.
    type: str
    source: EventSource = EventSource()
    count: int
    first_timestamp: dt.datetime | None = None
    last_timestamp: dt.datetime | None = None
    reporting_component: str = ""
    reporting_instance: str = ""
