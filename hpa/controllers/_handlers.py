"""Mapping informer changes to work-queue keys and port-index updates.

Its own layer, as controller-runtime's ``handler`` package: reconcilers never see events, and
this module never reconciles. Every function here is called from an informer's task with
``(old, new)`` and must only update the index or add keys.
"""

from collections.abc import Callable

from hpa import api, index, kube
from hpa.controllers import _eligible_nodes

#: How long class status updates are held back to fold a burst of HostPort changes into one.
CLASS_STATUS_DELAY = 1.0

Add = Callable[[str], None]
AddAfter = Callable[[str, float], None]


def _pools(cls: api.HostPortClass) -> list[tuple[int, int]]:
    return [(pool.start, pool.end) for pool in cls.spec.pools]


def _claim_key(claim: api.HostPortClaim) -> str:
    return kube.object_key(claim.metadata.namespace, claim.metadata.name)


def index_classes(ports: index.PortIndex, caches: kube.Caches) -> kube.Handler[api.HostPortClass]:
    """Keep the index's pools and modes equal to the classes' (with a per-node class's
    eligible node count)."""

    def handle(old: api.HostPortClass | None, new: api.HostPortClass | None) -> None:
        if new is None:
            if old is not None:
                ports.remove_class(old.metadata.name)
        elif old is None or old.spec != new.spec:
            nodes = _eligible_nodes.of_class(caches, new)
            ports.set_pools(new.metadata.name, _pools(new), nodes=nodes)

    return handle


def index_hostports(ports: index.PortIndex) -> kube.Handler[api.HostPort]:
    """Hold a HostPort's port (or its slot of it) while it exists; release it when it is gone."""

    def handle(old: api.HostPort | None, new: api.HostPort | None) -> None:
        if new is not None:
            ports.hold(new.spec.port, new.spec.host_port_class_name, slot=new.spec.slot)
        elif old is not None:
            ports.release(old.spec.port, slot=old.spec.slot)

    return handle


def on_node(
    *, caches: kube.Caches, ports: index.PortIndex, claims: Add, classes: Add
) -> kube.Handler[kube.Node]:
    """A node joined, left, was cordoned or relabelled: recount every per-node class's
    eligible nodes, and reconcile the classes whose count changed and their claims (a Pending
    one may bind now, a bound one may be over capacity or no longer be)."""

    def handle(old: kube.Node | None, new: kube.Node | None) -> None:
        if old is not None and new is not None and _same_eligibility(old, new):
            return  # a status heartbeat: no count can change
        for cls in caches.classes():
            name = cls.metadata.name
            nodes = _eligible_nodes.of_class(caches, cls)
            if nodes is None or ports.nodes(name) in (None, nodes):
                continue  # cluster-wide, not indexed yet, or unchanged
            ports.set_nodes(name, nodes)
            classes(name)
            for claim in caches.claim_informer.store.lookup(kube.BY_CLASS, name):
                claims(_claim_key(claim))

    return handle


def _same_eligibility(old: kube.Node, new: kube.Node) -> bool:
    return old.metadata.labels == new.metadata.labels and old.spec == new.spec


def unbound_claims(caches: kube.Caches, class_name: str | None = None) -> list[str]:
    """Keys of the claims without a HostPort (of one class, or of all)."""
    claims = (
        caches.claim_informer.store.list()
        if class_name is None
        else caches.claim_informer.store.lookup(kube.BY_CLASS, class_name)
    )
    return [
        _claim_key(claim)
        for claim in claims
        if not claim.spec.host_port_name and claim.metadata.deletion_timestamp is None
    ]


def on_claim(
    *, caches: kube.Caches, claims: Add, hostports: Add
) -> kube.Handler[api.HostPortClaim]:
    """A claim changed: reconcile it, and the HostPorts that name it."""

    def handle(old: api.HostPortClaim | None, new: api.HostPortClaim | None) -> None:
        claim = new if new is not None else old
        if claim is None:
            return
        key = _claim_key(claim)
        claims(key)
        for hostport in caches.hostport_informer.store.lookup(kube.BY_CLAIM, key):
            hostports(hostport.metadata.name)

    return handle


def on_hostport(
    *, caches: kube.Caches, claims: Add, hostports: Add, classes: AddAfter
) -> kube.Handler[api.HostPort]:
    """A HostPort changed: reconcile it, its claim and its class; a freed port may let a
    Pending claim bind."""

    def handle(old: api.HostPort | None, new: api.HostPort | None) -> None:
        hostport = new if new is not None else old
        if hostport is None:
            return
        hostports(hostport.metadata.name)
        ref = hostport.spec.claim_ref
        if ref is not None:
            claims(kube.object_key(ref.namespace, ref.name))
        classes(hostport.spec.host_port_class_name, CLASS_STATUS_DELAY)
        if new is None:
            for key in unbound_claims(caches):
                claims(key)
            if hostport.spec.slot is not None:
                # one holder fewer: the others of the port may be within capacity again
                for other in caches.hostports_of_port(hostport.spec.port):
                    if (ref := other.spec.claim_ref) is not None:
                        claims(kube.object_key(ref.namespace, ref.name))
        elif new.spec.claim_ref is None and old is None:
            # a port reserved by an administrator: a static claim may be waiting for it
            for key in unbound_claims(caches, new.spec.host_port_class_name):
                claims(key)

    return handle


def on_class(*, caches: kube.Caches, claims: Add, classes: Add) -> kube.Handler[api.HostPortClass]:
    """A class changed: reconcile it, and the claims of it still waiting for a port (all its
    claims when a per-node class's eligible nodes may have changed: some may be over capacity
    now, or no longer)."""

    def handle(old: api.HostPortClass | None, new: api.HostPortClass | None) -> None:
        cls = new if new is not None else old
        if cls is None or (old is not None and new is not None and _status_only(old, new)):
            return  # its own status write; reacting would loop
        name = cls.metadata.name
        classes(name)
        if (
            old is not None
            and new is not None
            and new.spec.per_node
            and (old.spec.node_selector != new.spec.node_selector)
        ):
            for claim in caches.claim_informer.store.lookup(kube.BY_CLASS, name):
                claims(_claim_key(claim))
            return
        for key in unbound_claims(caches, name):
            claims(key)

    return handle


def _status_only(old: api.HostPortClass, new: api.HostPortClass) -> bool:
    return (
        old.spec == new.spec
        and old.metadata.deletion_timestamp == new.metadata.deletion_timestamp
        and old.metadata.finalizers == new.metadata.finalizers
    )


def on_pod(*, claims: Add) -> kube.Handler[kube.Pod]:
    """A pod that uses claims changed: its claims may now be deletable."""

    def handle(old: kube.Pod | None, new: kube.Pod | None) -> None:
        for pod in (old, new):
            if pod is not None:
                for claim_name in pod.claims.values():
                    claims(kube.object_key(pod.namespace, claim_name))

    return handle


def on_quota(*, quotas: Add) -> kube.Handler[kube.ResourceQuota]:
    """A ResourceQuota changed: recount its per-class claim keys."""

    def handle(old: kube.ResourceQuota | None, new: kube.ResourceQuota | None) -> None:
        quota = new if new is not None else old
        if new is not None and quota is not None:
            quotas(kube.object_key(quota.metadata.namespace, quota.metadata.name))

    return handle


def claims_counted(*, caches: kube.Caches, quotas: Add) -> kube.Handler[api.HostPortClaim]:
    """A claim was created or removed: recount the quotas of its namespace."""

    def handle(old: api.HostPortClaim | None, new: api.HostPortClaim | None) -> None:
        if old is not None and new is not None:
            return  # an update changes no count
        claim = new if new is not None else old
        if claim is None:
            return
        for quota in caches.quotas(claim.metadata.namespace):
            quotas(kube.object_key(quota.metadata.namespace, quota.metadata.name))

    return handle


def on_statefulset(*, statefulsets: Add) -> kube.Handler[kube.StatefulSet]:
    """A StatefulSet changed (e.g. scaled): check its per-pod claims."""

    def handle(old: kube.StatefulSet | None, new: kube.StatefulSet | None) -> None:
        if new is not None:
            statefulsets(kube.object_key(new.metadata.namespace, new.metadata.name))

    return handle
