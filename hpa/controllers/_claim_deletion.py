"""Deleting a claim: it waits for its pods, then lets its HostPort go as its policy says.

While a pod (of the pod cache) names the claim in a claim annotation, nothing happens but an
``InUse`` Event. Then the claim's phase becomes Deleting, and its HostPort is released as its
reclaim policy says (``_releasing``): deleted (the claim's finalizer goes once it is gone), or
marked Released and kept (Retain, or until the class's reuse delay is over), and the finalizer
goes at once.
"""

import contextlib
from typing import Final

from hpa import api, kube
from hpa.controllers import _claim_writes, _context, _reconciling, _releasing

REASON_IN_USE: Final = "InUse"


async def finalize(context: _context.Context, claim: api.HostPortClaim) -> _reconciling.Result:
    """One step of a deleted claim's way out."""
    if api.FINALIZER not in claim.metadata.finalizers:
        context.forget_claim(claim.metadata.uid)
        return _reconciling.Result()
    pods = context.caches.pods_using(claim.metadata.namespace, claim.metadata.name)
    if pods:
        message = "used by pod " + ", ".join(sorted(pod.name for pod in pods)[:5])
        await context.recorder.record(
            _context.claim_reference(claim),
            type=kube.NORMAL,
            reason=REASON_IN_USE,
            message=f"deletion waits: {message}",
        )
        return _reconciling.Result()  # a pod event queues the claim again
    if claim.status.phase != api.PHASE_DELETING:
        claim = await _claim_writes.patch_status(
            context, claim, phase=api.PHASE_DELETING, port=claim.status.port, condition=None
        )
    if await _delete_hostports(context, claim):
        return _reconciling.Result()  # the HostPort's deletion queues the claim again
    await _claim_writes.patch_finalizers(
        context, claim, tuple(f for f in claim.metadata.finalizers if f != api.FINALIZER)
    )
    context.forget_claim(claim.metadata.uid)
    return _reconciling.Result()


async def _delete_hostports(context: _context.Context, claim: api.HostPortClaim) -> bool:
    """Release the claim's HostPorts; True while any of them is still to go.

    A HostPort kept after release (Retain, or a reuse delay) is marked Released and the
    claim does not wait for it; the HostPort reconciler deletes it when its delay is over.
    """
    hostports = {hp.metadata.name: hp for hp in context.caches.hostports_of_claim(claim)}
    created = context.created.get(claim.metadata.uid)
    if created is not None:
        hostports.setdefault(created.metadata.name, created)
    for name, hostport in list(hostports.items()):
        if hostport.metadata.deletion_timestamp is not None:
            continue
        if _releasing.kept_after_release(context, hostport):
            with contextlib.suppress(kube.NotFound):
                await _releasing.mark_released(context, hostport, why="its claim was deleted")
            del hostports[name]
            continue
        # NotFound: gone already; Conflict: the name holds another HostPort now.
        with contextlib.suppress(kube.NotFound, kube.Conflict):
            await context.client.delete(
                kube.HOSTPORTS, hostport.metadata.name, uid=hostport.metadata.uid
            )
    context.created.pop(claim.metadata.uid, None)
    return any(
        hp.metadata.uid == h.metadata.uid
        for h in hostports.values()
        if (hp := context.caches.hostport_informer.store.get(h.metadata.name)) is not None
    )
