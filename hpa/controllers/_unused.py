"""Claims made at pod admission for a pod that was never created.

The mutating webhook makes and binds a pod's own claim (template annotations) before the rest
of the admission chain has had its say: a later webhook, a policy or a quota may still refuse
the pod. A StatefulSet pod loses nothing by that: its controller creates the pod again, which
finds its claim, and the StatefulSet's retention annotations decide the claim's end. A pod that
nothing re-creates would leave its claim holding a port for good.

So a claim made at admission for a pod that no StatefulSet owns carries
:data:`api.AWAITING_POD_ANNOTATION` (the pod's name) until hpa sees a pod use it. The
annotation is then removed, and the claim is like any other: kept when its pod goes, as
``Retain`` promises. A claim that still carries it :attr:`Context.unused_claim_after
<hpa.controllers._context.Context.unused_claim_after>` seconds after it was created, whose pod
does not exist (read live, not from the cache), was never used: it is deleted, with an Event.
That delay outlasts any admission request (kube-apiserver gives up on one after 60 s).
"""

import contextlib
from typing import Final

from hpa import api, kube
from hpa.controllers import _context, _reconciling

REASON_NEVER_USED: Final = "NeverUsed"


def waiting_for(claim: api.HostPortClaim) -> str:
    """The name of the pod a claim was made for and that has not used it yet, or ""."""
    return claim.metadata.annotations.get(api.AWAITING_POD_ANNOTATION, "")


class UnusedClaims:
    """Marks admission-made claims used, and deletes those whose pod never came."""

    def __init__(self, context: _context.Context) -> None:
        self._ctx = context

    async def settle(self, claim: api.HostPortClaim) -> _reconciling.Result | None:
        """Settle ``claim`` if it was waiting for its pod: a Result when the claim was changed
        (the claim's own update queues it again), else None."""
        pod = waiting_for(claim)
        if not pod:
            return None
        namespace, name = claim.metadata.namespace, claim.metadata.name
        if self._ctx.caches.pods_using(namespace, name):
            patch = {"metadata": {"annotations": {api.AWAITING_POD_ANNOTATION: None}}}
            with contextlib.suppress(kube.NotFound):
                used = await self._ctx.client.patch(
                    kube.CLAIMS, name, patch, namespace=namespace, type=api.HostPortClaim
                )
                self._ctx.wrote_claim(claim, used)
            return _reconciling.Result()
        if self.left(claim) > 0 or await self._pod_exists(namespace, pod):
            return None  # still in its admission, or created and not yet in the cache
        with contextlib.suppress(kube.NotFound, kube.Conflict):
            await self._ctx.client.delete(
                kube.CLAIMS, name, namespace=namespace, uid=claim.metadata.uid
            )
            await self._ctx.recorder.record(
                _context.claim_reference(claim),
                type=kube.WARNING,
                reason=REASON_NEVER_USED,
                message=f"deleted: made when pod {pod} was admitted, but that pod was never "
                "created (refused later in admission, or its request failed); no pod used it",
            )
        return _reconciling.Result()

    def left(self, claim: api.HostPortClaim) -> float:
        """Seconds until a claim waiting for its pod may be found unused (0 when it may)."""
        created = claim.metadata.creation_timestamp
        if not waiting_for(claim) or created is None:
            return 0.0
        age = (api.now() - created).total_seconds()
        return max(0.0, self._ctx.unused_claim_after - age)

    def sooner(self, result: _reconciling.Result, claim: api.HostPortClaim) -> _reconciling.Result:
        """``result``, asking to run again when ``claim`` may be found unused, if sooner."""
        left = self.left(claim) if waiting_for(claim) else 0.0
        if left <= 0 or (result.requeue_after is not None and result.requeue_after <= left):
            return result
        return _reconciling.Result(requeue_after=left)

    async def _pod_exists(self, namespace: str, pod: str) -> bool:
        try:
            await self._ctx.client.get(kube.PODS, pod, namespace=namespace, type=kube.Pod)
        except kube.NotFound:
            return False
        return True
