"""The only package that talks to the cluster: configuration, typed calls, informers, leases.

kr8s finds the configuration and authenticates (:class:`Kr8sTransport`); :class:`Client` makes
typed calls to the endpoints of ``_endpoints``, decoded with msgspec into hpa's kinds and the
built-in ones of ``_builtin_kinds``, and raises the typed errors of ``_exceptions``;
:class:`Informer` keeps a store per kind by list-then-watch, with lookups by other keys;
:class:`Caches` bundles the informers hpa needs; :class:`LeaderElector` holds a Lease with
client-go's semantics.
"""

from hpa.kube._builtin_kinds import (
    Event,
    EventSource,
    Lease,
    LeaseSpec,
    Namespace,
    ObjectReference,
    Pod,
    ResourceQuota,
    ResourceQuotaSpec,
    ResourceQuotaStatus,
    StatefulSet,
    StatefulSetSpec,
    pod_projection,
)
from hpa.kube._caches import (
    BY_CLAIM,
    BY_CLAIM_UID,
    BY_CLASS,
    BY_NAMESPACE,
    BY_NAMESPACE_CLASS,
    BY_STATEFULSET,
    Caches,
)
from hpa.kube._client import DEFAULT_TIMEOUT, Client, Page, PatchType, WatchEvent
from hpa.kube._election import LEADER, LeaderElector
from hpa.kube._endpoints import (
    CLAIMS,
    CLASSES,
    EVENTS,
    HOSTPORTS,
    LEASES,
    NAMESPACES,
    PODS,
    RESOURCE_QUOTAS,
    STATEFULSETS,
    Resource,
)
from hpa.kube._exceptions import (
    AlreadyExists,
    Conflict,
    Forbidden,
    Gone,
    Invalid,
    KubeError,
    NotFound,
    Retryable,
    Status,
    Unauthorized,
    error_from_response,
    error_from_status,
)
from hpa.kube._informers import (
    WATCH_RESTARTS,
    Backoff,
    Handler,
    Informer,
    Store,
    object_key,
    split_key,
    struct_decoder,
)
from hpa.kube._micro_time import micro_time
from hpa.kube._quantities import quantity_count
from hpa.kube._recording import NORMAL, WARNING, EventRecorder, reference
from hpa.kube._transport import Kr8sTransport, Request, Response, Stream, Transport

__all__ = [
    "BY_CLAIM",
    "BY_CLAIM_UID",
    "BY_CLASS",
    "BY_NAMESPACE",
    "BY_NAMESPACE_CLASS",
    "BY_STATEFULSET",
    "CLAIMS",
    "CLASSES",
    "DEFAULT_TIMEOUT",
    "EVENTS",
    "HOSTPORTS",
    "LEADER",
    "LEASES",
    "NAMESPACES",
    "NORMAL",
    "PODS",
    "RESOURCE_QUOTAS",
    "STATEFULSETS",
    "WARNING",
    "WATCH_RESTARTS",
    "AlreadyExists",
    "Backoff",
    "Caches",
    "Client",
    "Conflict",
    "Event",
    "EventRecorder",
    "EventSource",
    "Forbidden",
    "Gone",
    "Handler",
    "Informer",
    "Invalid",
    "Kr8sTransport",
    "KubeError",
    "LeaderElector",
    "Lease",
    "LeaseSpec",
    "Namespace",
    "NotFound",
    "ObjectReference",
    "Page",
    "PatchType",
    "Pod",
    "Request",
    "Resource",
    "ResourceQuota",
    "ResourceQuotaSpec",
    "ResourceQuotaStatus",
    "Response",
    "Retryable",
    "StatefulSet",
    "StatefulSetSpec",
    "Status",
    "Store",
    "Stream",
    "Transport",
    "Unauthorized",
    "WatchEvent",
    "error_from_response",
    "error_from_status",
    "micro_time",
    "object_key",
    "pod_projection",
    "quantity_count",
    "reference",
    "split_key",
    "struct_decoder",
]
