"""What the webhook reads about the cluster: narrow Protocols, implemented over informer caches.

The admission path answers from caches and never waits on the API server in the common case
(docs/architecture.md). The one exception is :meth:`ClaimReader.fetch_claim`: a claim that the
API server has just bound may not be in the cache yet, and one live read before a denial saves
the user a retry. Implementations live with the informers (``hpa.kube``, wired by ``hpa.cli``);
tests use in-memory fakes.
"""

from collections.abc import Iterable, Mapping
from typing import Protocol

from hpa import api, kube


class ClaimReader(Protocol):
    """HostPortClaims, from the cache and, on a miss, from the API server."""

    def claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        """The cached claim, or None if the cache does not hold it. Never blocks."""
        ...

    async def fetch_claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        """The claim as the API server has it now (one GET), or None if it does not exist.

        Raises:
            Exception: any failure to read; the webhook denies with a retry hint.
        """
        ...


class NamespaceReader(Protocol):
    """Namespace labels, from the cache."""

    def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        """The labels of namespace ``name``, or None if the cache does not hold it."""
        ...


class ClassReader(Protocol):
    """HostPortClasses, from the cache."""

    def classes(self) -> Iterable[api.HostPortClass]:
        """Every cached HostPortClass."""
        ...


class PodReader(Protocol):
    """The pods that use claims (those the webhook labelled), from the cache."""

    def pods_using(self, namespace: str, claim_name: str) -> Iterable[kube.Pod]:
        """The cached pods whose claim annotations name this claim."""
        ...


class QuotaReader(Protocol):
    """ResourceQuotas and claim counts, from the cache."""

    def quota_limits(self, namespace: str, key: str) -> Iterable[tuple[str, str]]:
        """``(quota name, hard quantity)`` of each ResourceQuota of the namespace whose
        ``spec.hard`` has ``key``."""
        ...

    def claims_of_class(self, namespace: str, class_name: str) -> int:
        """How many HostPortClaims of the class the namespace holds."""
        ...
