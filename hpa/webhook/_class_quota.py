"""hpa's per-class claim quota, checked when a claim is created.

Kubernetes limits PersistentVolumeClaims per StorageClass with the ResourceQuota key
``<class>.storageclass.storage.k8s.io/persistentvolumeclaims``; hpa reads the same shape,
``<class>.hostportclass.hostport.rmb938.com/hostportclaims``, and denies a claim CREATE that
would take the namespace above it, with the message kube's quota admission writes.

The count is the informer cache's, plus the claims this replica admitted that the cache does
not show yet: ``kubectl apply`` of many claims sends them back to back, faster than the watch
brings each one, and counting only the cache would let the whole file through. An admitted
claim is counted that way for at most :data:`ADMITTED_TTL` seconds (a create refused later in
the chain, by the object-count quota for instance, is then forgotten). Two replicas admitting
at once can still overshoot by what the other one admitted within the cache's lag (kube's own
quota serialises on the ResourceQuota's resourceVersion; a webhook cannot); the operator's
``status.used`` shows any overshoot. The webhook's failure policy is Ignore, so while hpa is
down the per-class quota is not enforced (docs/features.md).
"""

import time
from collections.abc import Callable
from typing import Final

from hpa import api, kube
from hpa.webhook import _readers as readers
from hpa.webhook import _responses as responses
from hpa.webhook import _reviews as reviews

#: Seconds an admitted claim is counted while the cache does not show it.
ADMITTED_TTL: Final = 30.0


class ClassQuota:
    """Checks claim CREATEs against the per-class quotas of their namespace.

    Args:
        quotas: ResourceQuotas and cached claim counts.
        claims: the cached claims, to tell when an admitted claim has reached the cache.
        clock: monotonic seconds (replaced in tests).
        ttl: how long an admitted claim is counted while the cache does not show it.
    """

    def __init__(
        self,
        quotas: readers.QuotaReader,
        *,
        claims: readers.ClaimReader,
        clock: Callable[[], float] = time.monotonic,
        ttl: float = ADMITTED_TTL,
    ) -> None:
        self._quotas = quotas
        self._claims = claims
        self._clock = clock
        self._ttl = ttl
        self._admitted: dict[tuple[str, str], dict[str, float]] = {}

    def _in_flight(self, namespace: str, class_name: str) -> dict[str, float]:
        """Claims admitted here, not yet in the cache, not expired."""
        now = self._clock()
        admitted = self._admitted.get((namespace, class_name), {})
        live = {
            name: expiry
            for name, expiry in admitted.items()
            if expiry > now and self._claims.claim(namespace, name) is None
        }
        if live:
            self._admitted[(namespace, class_name)] = live
        else:
            self._admitted.pop((namespace, class_name), None)
        return live

    def check(
        self, *, namespace: str, class_name: str, name: str, dry_run: bool = False
    ) -> reviews.AdmissionResponse | None:
        """A 403 denial if one more claim of the class exceeds a quota of the namespace;
        None (and the claim is counted from now on, unless a dry run) if it fits."""
        if not class_name:
            return None
        key = api.class_quota_key(class_name)
        limits = list(self._quotas.quota_limits(namespace, key))
        if not limits:
            return None
        in_flight = self._in_flight(namespace, class_name)
        used = self._quotas.claims_of_class(namespace, class_name) + len(in_flight)
        for quota_name, hard in limits:
            limit = kube.quantity_count(hard)
            if limit is not None and used + 1 > limit:
                return responses.denied(
                    f"exceeded quota: {quota_name}, requested: {key}=1, used: {key}={used}, "
                    f"limited: {key}={hard}",
                    code=403,
                    reason=responses.REASON_FORBIDDEN,
                )
        if not dry_run:
            in_flight[name] = self._clock() + self._ttl
            self._admitted[(namespace, class_name)] = in_flight
        return None
