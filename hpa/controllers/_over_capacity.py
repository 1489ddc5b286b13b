"""Claims of a per-node class beyond their port's node count, after nodes went away.

hpa never takes a bound port back. When a per-node class loses eligible nodes (deleted,
cordoned, relabelled), a port may have more holders than nodes: the holders on its highest
slots are over capacity (the index's ``over_capacity``), and their pods may find no node to run
on. Such a claim gets the condition ``OverCapacity`` (True, with the figures) and one Warning
Event, so that someone can act: add nodes, or delete claims. The condition turns False when
capacity returns (nodes come back, or other holders of the port go); a claim that was never
over capacity gets no condition at all.
"""

from typing import Final

from hpa import api, kube
from hpa.controllers import _claim_writes, _context

OVER_CAPACITY: Final = "OverCapacity"
REASON_NODES_GONE: Final = "NodesGone"
REASON_WITHIN_CAPACITY: Final = "WithinCapacity"


async def reconcile(
    context: _context.Context, claim: api.HostPortClaim, port: int, slot: int | None
) -> api.HostPortClaim:
    """Set or clear the claim's OverCapacity condition; the claim as it is now."""
    class_name = claim.spec.host_port_class_name
    nodes = context.ports.nodes(class_name)
    old = api.find_condition(claim.status.conditions, OVER_CAPACITY)
    over = (
        slot is not None
        and nodes is not None
        and (port, slot) in set(context.ports.over_capacity(class_name))
    )
    if not over and (old is None or old.status != api.CONDITION_TRUE):
        return claim
    generation = claim.metadata.generation
    if over:
        holders = context.ports.slot_holders(port)
        wanted = _context.condition(
            OVER_CAPACITY,
            True,
            REASON_NODES_GONE,
            f"HostPortClass {class_name!r} has {nodes} eligible nodes and port {port} has "
            f"{holders} holders: this claim (slot {slot}) is beyond them, and its pod may find "
            "no node to run on; the port stays bound. Add eligible nodes, or delete claims of "
            "this port",
            generation=generation,
        )
    else:
        wanted = _context.condition(
            OVER_CAPACITY,
            False,
            REASON_WITHIN_CAPACITY,
            f"port {port} has no more holders than the eligible nodes of HostPortClass "
            f"{class_name!r}",
            generation=generation,
        )
    if _context.same_condition(old, wanted):
        return claim
    claim = await _claim_writes.patch_condition(context, claim, wanted)
    if over and (old is None or old.status != api.CONDITION_TRUE):
        await context.recorder.record(
            _context.claim_reference(claim),
            type=kube.WARNING,
            reason=OVER_CAPACITY,
            message=wanted.message,
        )
    return claim
