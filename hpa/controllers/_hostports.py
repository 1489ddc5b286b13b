"""The HostPort reconciler: keeps a HostPort while its claim wants it, releases it otherwise.

A HostPort is wanted while its claim exists with the uid of ``spec.claimRef`` and is either
not bound yet or bound to this HostPort (``spec.hostPortName`` is set once, so a claim bound to
another HostPort will never want this one: that happens when two writers raced for the claim).
A wanted HostPort gets the finalizer and phase Allocated. An unwanted one is deleted; its
finalizer is removed once its claim is gone, is being deleted, or is another claim.

"The claim is gone" is never concluded from the cache alone: the cache may not have seen a
claim another replica just created, so a live read confirms it first.
"""

from typing import Final

import structlog

from hpa import api, kube
from hpa.controllers import _context, _reconciling

logger = structlog.get_logger(__name__)

REASON_RELEASED: Final = "Released"


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
        elif not wanted:
            await self._release(hostport, claim)
        else:
            await self._keep(hostport)
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

    async def _release(self, hostport: api.HostPort, claim: api.HostPortClaim | None) -> None:
        ref = hostport.spec.claim_ref
        why = "its claim is gone" if claim is None else "its claim is bound to another HostPort"
        if claim is not None and ref is not None and claim.metadata.uid != ref.uid:
            why = "its claim was deleted and re-created"
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
