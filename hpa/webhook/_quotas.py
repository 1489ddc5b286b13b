"""hpa's per-class claim quota, checked when a claim is created.

Kubernetes limits PersistentVolumeClaims per StorageClass with the ResourceQuota key
``<class>.storageclass.storage.k8s.io/persistentvolumeclaims``; hpa reads the same shape,
``<class>.hostportclass.hostport.rmb938.com/hostportclaims``, and denies a claim CREATE that
would take the namespace above it, with the message kube's quota admission writes.

The count comes from the informer cache, so two creates racing within the cache's lag may both
pass (kube's own quota serialises on the ResourceQuota's resourceVersion; a webhook cannot);
the operator's ``status.used`` makes any overshoot visible. The webhook's failure policy is
Ignore, so while hpa is down the per-class quota is not enforced (docs/features.md).
"""

from hpa import api, kube
from hpa.webhook import _readers as readers
from hpa.webhook import _responses as responses
from hpa.webhook import _reviews as reviews


def check_class_quota(
    quotas: readers.QuotaReader, *, namespace: str, class_name: str
) -> reviews.AdmissionResponse | None:
    """A 403 denial if one more claim of the class exceeds a quota of the namespace."""
    if not class_name:
        return None
    key = api.class_quota_key(class_name)
    for name, hard in quotas.quota_limits(namespace, key):
        limit = kube.quantity_count(hard)
        if limit is None:
            continue
        used = quotas.claims_of_class(namespace, class_name)
        if used + 1 > limit:
            return responses.denied(
                f"exceeded quota: {name}, requested: {key}=1, used: {key}={used}, "
                f"limited: {key}={hard}",
                code=403,
                reason=responses.REASON_FORBIDDEN,
            )
    return None
