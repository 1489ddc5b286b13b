"""The HostPort reconciler: keeps a HostPort while its claim wants it, releases it otherwise.

A HostPort is wanted while its claim exists with the uid of ``spec.claimRef`` and is either
not bound yet or bound to this HostPort (``spec.hostPortName`` is set once, so a claim bound to
another HostPort will never want this one: that happens when two writers raced for the claim).
A wanted HostPort gets the finalizer and phase Allocated. An unwanted one is released as its
reclaim policy says (``_releasing``): deleted, kept Released until its reuse delay is over, or
kept Released for good (Retain). A HostPort left over from two writers racing for one claim is
always deleted. Its finalizer is removed once its claim is gone, is being deleted, or is
another claim.

A HostPort without ``claimRef`` was created by an administrator to reserve the port: it gets
phase Reserved and is never deleted by hpa; only a claim asking for that port
(``spec.port``) may bind it.

"The claim is gone" is never concluded from the cache alone: the cache may not have seen a
claim another replica just created, so a live read confirms it first.
"""

from typing import Final

import structlog

from hpa import api, kube
from hpa.controllers import _context, _reconciling, _releasing

logger = structlog.get_logger(__name__)

REASON_RELEASED: Final = "Released"
REASON_CLAIM_EXISTS: Final = "ClaimExists"


class HostPortReconciler:
    """Allocates, keeps and releases HostPorts according to their claims."""

    def __init__(self, context: _context.Context) -> None:
        self._ctx = context

    async def reconcile(self, key: str) -> _reconciling.Result:
        hostport = self._ctx.caches.hostport_informer.store.get(key)
        if hostport is None:
            return _reconciling.Result()
        claim = await self._claim(hostport)
        wanted = _wants(claim, hostport)
        if hostport.metadata.deletion_timestamp is not None:
            await self._finalize(hostport, claim, wanted=wanted)
        elif hostport.spec.claim_ref is None:
            await self._reserve(hostport)
        elif not wanted:
            return await self._release(hostport, claim)
        elif claim is None or claim.metadata.deletion_timestamp is None:
            await self._keep(hostport)
        # else: the claim is going; its reconciler releases the HostPort
        return _reconciling.Result()

    async def _claim(self, hostport: api.HostPort) -> api.HostPortClaim | None:
        ref = hostport.spec.claim_ref
        if ref is None:
            return None
        claim = self._ctx.fresh_claim(ref.namespace, ref.name)
        if claim is None:
            claim = await self._ctx.caches.fetch_claim(ref.namespace, ref.name)
        return claim

    async def _finalize(
        self, hostport: api.HostPort, claim: api.HostPortClaim | None, *, wanted: bool
    ) -> None:
        if api.FINALIZER not in hostport.metadata.finalizers:
            return
        claim_going = claim is not None and claim.metadata.deletion_timestamp is not None
        if wanted and not claim_going:
            if hostport.status.phase != api.PHASE_DELETING:
                await self._patch_phase(hostport, api.PHASE_DELETING)
                assert claim is not None  # wanted: its claim exists
                await self._ctx.recorder.record(
                    _context.hostport_reference(hostport),
                    type=kube.WARNING,
                    reason=REASON_CLAIM_EXISTS,
                    message=f"deletion waits: HostPortClaim {claim.metadata.namespace}/"
                    f"{claim.metadata.name} still holds this port; delete the claim to free it",
                )
            return  # kept while its claim exists; deleting the claim releases it
        await self._ctx.client.patch(
            kube.HOSTPORTS,
            hostport.metadata.name,
            {
                "metadata": {
                    "resourceVersion": hostport.metadata.resource_version,
                    "finalizers": [f for f in hostport.metadata.finalizers if f != api.FINALIZER],
                }
            },
            type=api.HostPort,
        )

    async def _reserve(self, hostport: api.HostPort) -> None:
        if hostport.status.phase != api.PHASE_RESERVED:
            await self._patch_phase(hostport, api.PHASE_RESERVED)

    async def _release(
        self, hostport: api.HostPort, claim: api.HostPortClaim | None
    ) -> _reconciling.Result:
        ref = hostport.spec.claim_ref
        raced = claim is not None and ref is not None and claim.metadata.uid == ref.uid
        why = "its claim is bound to another HostPort" if raced else "its claim is gone"
        if claim is not None and not raced:
            elsewhere = claim.spec.host_port_name
            why = (
                f"its claimRef names HostPortClaim {claim.metadata.namespace}/"
                f"{claim.metadata.name}, which is bound to HostPort {elsewhere}"
                if elsewhere and elsewhere != hostport.metadata.name
                else "its claim was deleted and re-created"
            )
        if not raced and _releasing.kept_after_release(self._ctx, hostport):
            return await self._cool_down(hostport, why=why)
        await self._delete(hostport, why=why)
        return _reconciling.Result()

    async def _cool_down(self, hostport: api.HostPort, *, why: str) -> _reconciling.Result:
        """Keep a released HostPort: for good under Retain, else until its delay is over."""
        hostport = await _releasing.mark_released(self._ctx, hostport, why=why)
        if _releasing.policy(self._ctx, hostport) == api.RECLAIM_RETAIN:
            return _reconciling.Result()
        remaining = _releasing.remaining_delay(self._ctx, hostport)
        if remaining > 0:
            return _reconciling.Result(requeue_after=remaining)
        await self._delete(hostport, why=f"{why}; its reuse delay is over")
        return _reconciling.Result()

    async def _delete(self, hostport: api.HostPort, *, why: str) -> None:
        logger.info("releasing hostport", hostport=hostport.metadata.name, why=why)
        try:
            await self._ctx.client.delete(
                kube.HOSTPORTS, hostport.metadata.name, uid=hostport.metadata.uid
            )
        except kube.NotFound:
            return
        await self._ctx.recorder.record(
            _context.hostport_reference(hostport),
            type=kube.NORMAL,
            reason=REASON_RELEASED,
            message=f"port {hostport.spec.port} released: {why}",
        )

    async def _keep(self, hostport: api.HostPort) -> None:
        if api.FINALIZER not in hostport.metadata.finalizers:
            hostport = await self._ctx.client.patch(
                kube.HOSTPORTS,
                hostport.metadata.name,
                {
                    "metadata": {
                        "resourceVersion": hostport.metadata.resource_version,
                        "finalizers": [*hostport.metadata.finalizers, api.FINALIZER],
                    }
                },
                type=api.HostPort,
            )
        if hostport.status.phase != api.PHASE_ALLOCATED:
            await self._patch_phase(hostport, api.PHASE_ALLOCATED)

    async def _patch_phase(self, hostport: api.HostPort, phase: str) -> None:
        await self._ctx.client.patch(
            kube.HOSTPORTS,
            hostport.metadata.name,
            {"status": {"phase": phase, "observedGeneration": hostport.metadata.generation}},
            subresource="status",
            type=api.HostPort,
        )


def _wants(claim: api.HostPortClaim | None, hostport: api.HostPort) -> bool:
    """Whether ``claim`` is the live owner of ``hostport``."""
    ref = hostport.spec.claim_ref
    return (
        claim is not None
        and ref is not None
        and claim.metadata.uid == ref.uid
        and claim.spec.host_port_name in ("", hostport.metadata.name)
    )
