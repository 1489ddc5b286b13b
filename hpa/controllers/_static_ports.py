"""Static claims (``spec.port``): exactly that port, or Pending, never taken from another.

A static claim skips the index's candidates. It creates ``port-<spec.port>``, or, if an
administrator reserved that port (a HostPort of its class without ``claimRef``), sets the
reserved HostPort's claimRef. Any other holder leaves it Pending (``PortTaken``) until that
HostPort is gone: a claim is never robbed of its port.

In a per-node class it takes the lowest free slot of that port (``port-<spec.port>-<slot>``),
while the port has fewer holders than the class has eligible nodes, and no cluster-wide
HostPort holds it.
"""

from typing import Final

import msgspec

from hpa import api, kube
from hpa.controllers import _claim_writes, _context, _releasing

REASON_PORT_TAKEN: Final = "PortTaken"
REASON_PORT_OUTSIDE_POOLS: Final = "PortOutsidePools"


async def take(
    context: _context.Context, claim: api.HostPortClaim, port: int
) -> api.HostPort | tuple[str, str]:
    """Make a HostPort of ``port`` the claim's: that HostPort once it is, else why not (the
    reason and message of the claim's Pending condition)."""
    class_name = claim.spec.host_port_class_name
    if not context.ports.in_pools(class_name, port):
        return (
            REASON_PORT_OUTSIDE_POOLS,
            f"spec.port {port} is not in the pools of HostPortClass {class_name!r}; use a port "
            f"of its pools (kubectl get hostportclass {class_name} -o yaml)",
        )
    nodes = context.ports.nodes(class_name)
    existing = None
    for slot in _candidate_slots(context, port, nodes):
        name = api.hostport_name(port, slot)
        existing = context.caches.hostport_informer.store.get(name)
        if existing is not None and _reserved_for(existing, class_name):
            return await _take_reserved(context, claim, existing)
        if existing is None and _free(context, port, slot, nodes):
            created = await _create(context, claim, port, slot)
            if created is not None:
                return created
            existing = context.caches.hostport_informer.store.get(name)
    if nodes is not None:
        return REASON_PORT_TAKEN, (
            f"port {port} is taken on all {nodes} eligible nodes of HostPortClass "
            f"{class_name!r}; the claim binds when one of its HostPorts is deleted or a node "
            "becomes eligible"
        )
    return REASON_PORT_TAKEN, _taken_message(port, existing)


def _candidate_slots(context: _context.Context, port: int, nodes: int | None) -> list[int | None]:
    """The slots a static claim may try, lowest first: the one cluster-wide name, or each slot
    below the node count while no cluster-wide HostPort holds the port."""
    if nodes is None:
        return [None]
    return [] if context.ports.holder(port) is not None else list(range(nodes))


def _free(context: _context.Context, port: int, slot: int | None, nodes: int | None) -> bool:
    """Whether a new HostPort may take ``slot`` of ``port``: nobody holds it, and in a
    per-node class the port has fewer holders than nodes."""
    ports = context.ports
    if ports.holder(port, slot=slot) is not None:
        return False
    return nodes is None or ports.slot_holders(port) < nodes


async def _create(
    context: _context.Context, claim: api.HostPortClaim, port: int, slot: int | None
) -> api.HostPort | None:
    """Create the HostPort of ``port`` (and ``slot``) for the claim; None if someone holds it."""
    class_name = claim.spec.host_port_class_name
    context.ports.hold(port, class_name, slot=slot)
    policy = _releasing.policy_for_claim(context, claim)
    body = _claim_writes.hostport_for(claim, port, policy, slot=slot)
    try:
        hostport = await context.client.create(kube.HOSTPORTS, body, type=api.HostPort)
    except kube.AlreadyExists:
        return None  # the index keeps it held: someone does
    except BaseException:
        context.ports.release(port, slot=slot)
        raise
    context.created[claim.metadata.uid] = hostport
    return hostport


async def _take_reserved(
    context: _context.Context, claim: api.HostPortClaim, hostport: api.HostPort
) -> api.HostPort:
    """Set the claimRef of a reserved HostPort (allowed once, by its CEL rule).

    Unless the administrator set one, its reclaim policy becomes Retain, as for a
    PersistentVolume made by hand: when the claim goes, the port stays Released for the
    administrator rather than returning to the pool.
    """
    patch = {
        "metadata": {"resourceVersion": hostport.metadata.resource_version},
        "spec": {
            "claimRef": msgspec.to_builtins(_claim_writes.claim_ref(claim)),
            "reclaimPolicy": hostport.spec.reclaim_policy or api.RECLAIM_RETAIN,
        },
    }
    taken = await context.client.patch(
        kube.HOSTPORTS, hostport.metadata.name, patch, type=api.HostPort
    )
    context.created[claim.metadata.uid] = taken
    return taken


def _reserved_for(hostport: api.HostPort, class_name: str) -> bool:
    """Whether an administrator reserved this HostPort (no claimRef) for the class."""
    return (
        hostport.spec.claim_ref is None
        and hostport.spec.host_port_class_name == class_name
        and hostport.metadata.deletion_timestamp is None
    )


def _taken_message(port: int, holder: api.HostPort | None) -> str:
    name = api.hostport_name(port)
    if holder is None:
        return (
            f"port {port} is held by another claim (HostPort {name}); the claim binds when "
            "it is freed"
        )
    ref = holder.spec.claim_ref
    if ref is None:
        return (
            f"port {port} is reserved by HostPort {name} for HostPortClass "
            f"{holder.spec.host_port_class_name!r}; only a claim of that class may take it"
        )
    phase = holder.status.phase or api.PHASE_PENDING
    return (
        f"port {port} is held by HostPort {name} (claim {ref.namespace}/{ref.name}, phase "
        f"{phase}); the claim binds when that HostPort is deleted"
    )
