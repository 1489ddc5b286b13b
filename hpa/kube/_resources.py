"""Resource descriptors and the wire types of the built-in kinds hpa reads.

A :class:`Resource` names an API endpoint (group, version, plural) and says whether it is
namespaced; it builds the request paths, so no other code spells a URL. hpa's own kinds are
typed in ``hpa.api``; the built-in kinds here are typed only as far as hpa reads them (pods as
a small projection), and unknown fields are ignored on decode.
"""

import datetime as dt
from typing import Final

import msgspec

from hpa import api


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    """One API resource: where it is served and whether it is namespaced."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``group/version``, or ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        """``/api/v1`` or ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, *, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """The path of the collection, or of one object (and a subresource of it).

        Args:
            namespace: for a namespaced resource, the namespace; empty lists across all of them.
            name: the object's name; empty for the collection.
            subresource: e.g. ``status``; needs ``name``.
        """
        parts = [self.prefix]
        if self.namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


CLASSES: Final = Resource(
    group=api.GROUP,
    version=api.VERSION,
    plural=api.PLURAL_CLASS,
    kind=api.KIND_CLASS,
    namespaced=False,
)
CLAIMS: Final = Resource(
    group=api.GROUP,
    version=api.VERSION,
    plural=api.PLURAL_CLAIM,
    kind=api.KIND_CLAIM,
    namespaced=True,
)
HOSTPORTS: Final = Resource(
    group=api.GROUP,
    version=api.VERSION,
    plural=api.PLURAL_HOSTPORT,
    kind=api.KIND_HOSTPORT,
    namespaced=False,
)
PODS: Final = Resource(group="", version="v1", plural="pods", kind="Pod", namespaced=True)
NAMESPACES: Final = Resource(
    group="", version="v1", plural="namespaces", kind="Namespace", namespaced=False
)
STATEFULSETS: Final = Resource(
    group="apps", version="v1", plural="statefulsets", kind="StatefulSet", namespaced=True
)
RESOURCE_QUOTAS: Final = Resource(
    group="", version="v1", plural="resourcequotas", kind="ResourceQuota", namespaced=True
)
EVENTS: Final = Resource(group="", version="v1", plural="events", kind="Event", namespaced=True)
LEASES: Final = Resource(
    group="coordination.k8s.io", version="v1", plural="leases", kind="Lease", namespaced=True
)


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


_SI_FACTORS: Final = {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
_BINARY_FACTORS: Final = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40}


def quantity_count(value: str) -> int | None:
    """A Kubernetes quantity that counts objects (``"3"``, ``"2k"``, ``"1Ki"``), or None if
    ``value`` is not a whole number of that form."""
    text = value.strip()
    for suffixes in (_BINARY_FACTORS, _SI_FACTORS):
        for suffix, factor in suffixes.items():
            digits = text.removesuffix(suffix)
            if digits != text and digits.isascii() and digits.isdigit():
                return int(digits) * factor
    return int(text) if text.isascii() and text.isdigit() else None


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


def micro_time(moment: dt.datetime) -> str:
    """A time as ``metav1.MicroTime`` (RFC 3339 with exactly six fractional digits)."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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
