"""Releasing per-pod claims as their StatefulSet says, as it does for its PVCs.

The policy is in two annotations of the StatefulSet, both Retain by default, as in Kubernetes:

- ``hostport.rmb938.com/when-deleted: Delete``: the claim gets an ownerReference to the
  StatefulSet when it is made (``_claim_provisioner``), so the garbage collector deletes it
  with the StatefulSet;
- ``hostport.rmb938.com/when-scaled: Delete``: :class:`StatefulSetReconciler` deletes the claims
  of ordinals >= ``spec.replicas`` (a claim still named by a pod waits for that pod to go).

It finds a StatefulSet's claims by their label ``hostport.rmb938.com/statefulset`` and their
ordinal by ``hostport.rmb938.com/ordinal``.
"""

from typing import Final

import structlog

from hpa import api, kube
from hpa.controllers import _context, _reconciling

logger = structlog.get_logger(__name__)

REASON_SCALED_DOWN: Final = "ScaledDown"


class StatefulSetReconciler:
    """Deletes the per-pod claims of ordinals a StatefulSet scaled below (whenScaled=Delete)."""

    def __init__(self, context: _context.Context) -> None:
        self._ctx = context

    async def reconcile(self, key: str) -> _reconciling.Result:
        namespace, name = kube.split_key(key)
        statefulset = self._ctx.caches.statefulset(namespace, name)
        if statefulset is None or statefulset.metadata.deletion_timestamp is not None:
            return _reconciling.Result()  # whenDeleted is the garbage collector's
        policy = statefulset.metadata.annotations.get(api.WHEN_SCALED_ANNOTATION)
        if policy != api.RETENTION_DELETE:
            return _reconciling.Result()
        replicas = statefulset.spec.replicas
        for claim in self._ctx.caches.claims_of_statefulset(namespace, name):
            ordinal = claim.metadata.labels.get(api.ORDINAL_LABEL, "")
            if not ordinal.isdigit() or int(ordinal) < replicas:
                continue
            if claim.metadata.deletion_timestamp is not None:
                continue
            await self._delete(claim, replicas=replicas)
        return _reconciling.Result()

    async def _delete(self, claim: api.HostPortClaim, *, replicas: int) -> None:
        logger.info("deleting claim of scaled-down ordinal", claim=claim.metadata.name)
        try:
            await self._ctx.client.delete(
                kube.CLAIMS,
                claim.metadata.name,
                namespace=claim.metadata.namespace,
                uid=claim.metadata.uid,
            )
        except kube.NotFound:
            return
        await self._ctx.recorder.record(
            _context.claim_reference(claim),
            type=kube.NORMAL,
            reason=REASON_SCALED_DOWN,
            message=f"deleted: its StatefulSet was scaled to {replicas} replicas and its "
            f"{api.WHEN_SCALED_ANNOTATION} is Delete",
        )
