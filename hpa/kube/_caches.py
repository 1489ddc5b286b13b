"""The informers hpa runs on every replica, and the cached reads built on them.

One :class:`Caches` holds an informer per kind hpa reads: HostPortClasses, HostPortClaims,
HostPorts, Pods (only those the webhook labelled ``hostport.rmb938.com/uses-claims``, kept as a
small projection), Namespaces (for their labels), ResourceQuotas (for the per-class claim
quota), StatefulSets (for the retention policy of per-pod claims) and Nodes (for the eligible
nodes of per-node classes). Reconcilers and the
webhook read from here; the webhook may fall back to one live read
(:meth:`Caches.fetch_claim`) on a cache miss.
"""

from typing import Final

import anyio
import anyio.abc

from hpa import api
from hpa.kube import _builtin_kinds, _client, _endpoints, _exceptions, _informers

#: Names of the store lookups (``Store.add_lookup``): each finds objects by another key.
BY_CLAIM_UID: Final = "claim-uid"
BY_CLAIM: Final = "claim"
BY_CLASS: Final = "class"
BY_NAMESPACE: Final = "namespace"
BY_NAMESPACE_CLASS: Final = "namespace-class"
BY_PORT: Final = "port"
BY_STATEFULSET: Final = "statefulset"


def _namespaced_key(
    obj: api.HostPortClaim
    | _builtin_kinds.Namespace
    | _builtin_kinds.ResourceQuota
    | _builtin_kinds.StatefulSet,
) -> str:
    return _informers.object_key(obj.metadata.namespace, obj.metadata.name)


def _name_key(obj: api.HostPort | _builtin_kinds.Node) -> str:
    return obj.metadata.name


def _class_key(obj: api.HostPortClass) -> str:
    return obj.metadata.name


def _pod_key(pod: _builtin_kinds.Pod) -> str:
    return _informers.object_key(pod.namespace, pod.name)


def _claim_of(hostport: api.HostPort) -> list[str]:
    ref = hostport.spec.claim_ref
    return [] if ref is None else [_informers.object_key(ref.namespace, ref.name)]


def _claim_uid_of(hostport: api.HostPort) -> list[str]:
    ref = hostport.spec.claim_ref
    return [] if ref is None or not ref.uid else [ref.uid]


def _statefulset_of(claim: api.HostPortClaim) -> list[str]:
    name = claim.metadata.labels.get(api.STATEFULSET_LABEL)
    return [] if not name else [_informers.object_key(claim.metadata.namespace, name)]


class Caches:
    """Informers for every kind hpa reads, and the cached reads the webhook uses.

    Args:
        client: the API client.
        watch_timeout: ``timeoutSeconds`` of each watch.
    """

    def __init__(self, client: _client.Client, *, watch_timeout: int = 300) -> None:
        self._client = client
        self.class_informer = _informers.Informer(
            client,
            _endpoints.CLASSES,
            decode=_informers.struct_decoder(api.HostPortClass),
            key=_class_key,
            watch_timeout=watch_timeout,
        )
        self.claim_informer = _informers.Informer(
            client,
            _endpoints.CLAIMS,
            decode=_informers.struct_decoder(api.HostPortClaim),
            key=_namespaced_key,
            watch_timeout=watch_timeout,
        )
        self.hostport_informer = _informers.Informer(
            client,
            _endpoints.HOSTPORTS,
            decode=_informers.struct_decoder(api.HostPort),
            key=_name_key,
            watch_timeout=watch_timeout,
        )
        self.pod_informer = _informers.Informer(
            client,
            _endpoints.PODS,
            decode=_builtin_kinds.pod_projection,
            key=_pod_key,
            label_selector=api.POD_LABEL,
            watch_timeout=watch_timeout,
        )
        self.namespace_informer = _informers.Informer(
            client,
            _endpoints.NAMESPACES,
            decode=_informers.struct_decoder(_builtin_kinds.Namespace),
            key=_namespaced_key,
            watch_timeout=watch_timeout,
        )
        self.quota_informer = _informers.Informer(
            client,
            _endpoints.RESOURCE_QUOTAS,
            decode=_informers.struct_decoder(_builtin_kinds.ResourceQuota),
            key=_namespaced_key,
            watch_timeout=watch_timeout,
        )
        self.statefulset_informer = _informers.Informer(
            client,
            _endpoints.STATEFULSETS,
            decode=_informers.struct_decoder(_builtin_kinds.StatefulSet),
            key=_namespaced_key,
            watch_timeout=watch_timeout,
        )
        self.node_informer = _informers.Informer(
            client,
            _endpoints.NODES,
            decode=_informers.struct_decoder(_builtin_kinds.Node),
            key=_name_key,
            watch_timeout=watch_timeout,
        )
        self.claim_informer.store.add_lookup(BY_STATEFULSET, _statefulset_of)
        self.quota_informer.store.add_lookup(BY_NAMESPACE, lambda q: [q.metadata.namespace])
        self.claim_informer.store.add_lookup(
            BY_NAMESPACE_CLASS,
            lambda c: [_informers.object_key(c.metadata.namespace, c.spec.host_port_class_name)],
        )
        self.hostport_informer.store.add_lookup(BY_CLAIM, _claim_of)
        self.hostport_informer.store.add_lookup(BY_CLAIM_UID, _claim_uid_of)
        self.hostport_informer.store.add_lookup(BY_CLASS, lambda hp: [hp.spec.host_port_class_name])
        self.hostport_informer.store.add_lookup(BY_PORT, lambda hp: [str(hp.spec.port)])
        self.claim_informer.store.add_lookup(
            BY_CLASS, lambda claim: [claim.spec.host_port_class_name]
        )
        self.pod_informer.store.add_lookup(
            BY_CLAIM,
            lambda pod: [_informers.object_key(pod.namespace, c) for c in pod.claims.values()],
        )
        self.synced = anyio.Event()

    def _informers(self) -> list[_informers.Informer[object]]:
        return [
            self.class_informer,  # type: ignore[list-item]
            self.claim_informer,  # type: ignore[list-item]
            self.hostport_informer,  # type: ignore[list-item]
            self.pod_informer,  # type: ignore[list-item]
            self.namespace_informer,  # type: ignore[list-item]
            self.quota_informer,  # type: ignore[list-item]
            self.statefulset_informer,  # type: ignore[list-item]
            self.node_informer,  # type: ignore[list-item]
        ]

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run every informer; started once all of them have listed, then runs until
        cancelled."""
        async with anyio.create_task_group() as group:
            for informer in self._informers():
                await group.start(informer.run, name=f"informer-{informer.resource.plural}")
            for informer in self._informers():
                await informer.synced.wait()
            self.synced.set()
            task_status.started()

    def failing_for(self, now: float) -> float:
        """Seconds the longest-failing informer has failed to list or watch (0 when all
        work), measured from ``now`` (``time.monotonic()``)."""
        since = [i.failing_since for i in self._informers() if i.failing_since is not None]
        return now - min(since) if since else 0.0

    # --- reads for the webhook and the reconcilers ---------------------------------------

    def claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        """The cached claim, or None if the cache has not seen it."""
        return self.claim_informer.store.get(name, namespace=namespace)

    async def fetch_claim(
        self, namespace: str, name: str, *, request_timeout: float = 5.0
    ) -> api.HostPortClaim | None:
        """The claim as the API server has it now, or None if it does not exist.

        Raises:
            KubeError: the read failed for another reason than NotFound.
        """
        try:
            return await self._client.get(
                _endpoints.CLAIMS,
                name,
                namespace=namespace,
                type=api.HostPortClaim,
                request_timeout=request_timeout,
            )
        except _exceptions.NotFound:
            return None

    def namespace_labels(self, name: str) -> dict[str, str] | None:
        """The labels of a namespace, or None if the cache has not seen it."""
        namespace = self.namespace_informer.store.get(name)
        return None if namespace is None else dict(namespace.metadata.labels)

    def classes(self) -> list[api.HostPortClass]:
        """Every HostPortClass in the cache."""
        return self.class_informer.store.list()

    def hostports_of_claim(self, claim: api.HostPortClaim) -> list[api.HostPort]:
        """HostPorts whose claimRef names this claim (same uid)."""
        return self.hostport_informer.store.lookup(BY_CLAIM_UID, claim.metadata.uid)

    def hostports_of_port(self, port: int) -> list[api.HostPort]:
        """The cached HostPorts of ``port``: one, or one per slot in a per-node class."""
        return self.hostport_informer.store.lookup(BY_PORT, str(port))

    def pods_using(self, namespace: str, claim_name: str) -> list[_builtin_kinds.Pod]:
        """Pods whose claim annotations name this claim."""
        return self.pod_informer.store.lookup(
            BY_CLAIM, _informers.object_key(namespace, claim_name)
        )

    def quota_limits(self, namespace: str, key: str) -> list[tuple[str, str]]:
        """``(name, hard)`` of each cached ResourceQuota of the namespace limiting ``key``."""
        return sorted(
            (quota.metadata.name, quota.spec.hard[key])
            for quota in self.quota_informer.store.lookup(BY_NAMESPACE, namespace)
            if key in quota.spec.hard
        )

    def quotas(self, namespace: str) -> list[_builtin_kinds.ResourceQuota]:
        """The cached ResourceQuotas of a namespace."""
        return self.quota_informer.store.lookup(BY_NAMESPACE, namespace)

    def claims_of_class(self, namespace: str, class_name: str) -> int:
        """How many claims of a class the namespace holds (in the cache)."""
        return len(
            self.claim_informer.store.lookup(
                BY_NAMESPACE_CLASS, _informers.object_key(namespace, class_name)
            )
        )

    def nodes(self) -> list[_builtin_kinds.Node]:
        """Every Node in the cache."""
        return self.node_informer.store.list()

    def statefulset(self, namespace: str, name: str) -> _builtin_kinds.StatefulSet | None:
        """The cached StatefulSet, or None."""
        return self.statefulset_informer.store.get(name, namespace=namespace)

    def claims_of_statefulset(self, namespace: str, name: str) -> list[api.HostPortClaim]:
        """Per-pod claims labelled with this StatefulSet."""
        return self.claim_informer.store.lookup(
            BY_STATEFULSET, _informers.object_key(namespace, name)
        )
