"""The quota reconciler: keeps ``status.used`` of hpa's per-class claim quota keys current.

A ResourceQuota may limit claims per class with ``<class>.hostportclass.hostport.rmb938.com/
hostportclaims`` in ``spec.hard`` (the shape of Kubernetes' per-StorageClass PVC quota). The
webhook enforces it on claim CREATE; this reconciler writes ``status.hard`` and ``status.used``
for those keys only, with a merge patch of the status subresource, so ``kubectl describe
quota`` shows used/hard beside kube's own keys, which it never touches (kube's quota
controller keeps the used value of keys it does not evaluate).
"""

import structlog

from hpa import api, kube
from hpa.controllers import _context, _reconciling

logger = structlog.get_logger(__name__)


class QuotaReconciler:
    """Counts claims per class for the ResourceQuotas that limit them."""

    def __init__(self, context: _context.Context) -> None:
        self._ctx = context

    async def reconcile(self, key: str) -> _reconciling.Result:
        namespace, name = kube.split_key(key)
        caches = self._ctx.caches
        quota = caches.quota_informer.store.get(name, namespace=namespace)
        if quota is None:
            return _reconciling.Result()
        hard: dict[str, str] = {}
        used: dict[str, str] = {}
        for quota_key, value in quota.spec.hard.items():
            class_name = api.class_of_quota_key(quota_key)
            if class_name is not None:
                hard[quota_key] = value
                used[quota_key] = str(caches.claims_of_class(namespace, class_name))
        status = quota.status
        if all(status.hard.get(k) == v for k, v in hard.items()) and all(
            status.used.get(k) == v for k, v in used.items()
        ):
            return _reconciling.Result()
        await self._ctx.client.patch(
            kube.RESOURCE_QUOTAS,
            name,
            {"status": {"hard": hard, "used": used}},
            namespace=namespace,
            subresource="status",
            type=kube.ResourceQuota,
        )
        logger.debug("quota usage updated", quota=key, used=used)
        return _reconciling.Result()
