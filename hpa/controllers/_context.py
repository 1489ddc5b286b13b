"""What every reconciler shares: the client, the caches, the port index and the recorder.

It also remembers hpa's own recent writes, because the caches lag behind them:

- :attr:`Context.created` maps a claim's uid to the HostPort created for it until the claim is
  bound, so a reconcile that runs before the HostPort reaches the cache adopts it rather than
  allocating a second port;
- :meth:`Context.fresh_claim` returns the claim as hpa last wrote it while the cache still shows
  a version that write replaced, so a reconcile never acts on a version it already superseded.
"""

import dataclasses

from hpa import api, index, kube


@dataclasses.dataclass
class Context:
    """State shared by the reconcilers of one process."""

    client: kube.Client
    caches: kube.Caches
    ports: index.PortIndex
    recorder: kube.EventRecorder
    #: Tries of candidate ports per reconcile before giving up (and backing off).
    max_tries: int = 16
    #: Seconds after which a claim made at admission for a pod that never came is deleted.
    unused_claim_after: float = 60.0
    created: dict[str, api.HostPort] = dataclasses.field(default_factory=dict)
    _written: dict[str, api.HostPortClaim] = dataclasses.field(default_factory=dict)
    _replaced: dict[str, set[str]] = dataclasses.field(default_factory=dict)

    def wrote_claim(self, old: api.HostPortClaim, new: api.HostPortClaim) -> None:
        """Remember that ``new`` replaced ``old`` (and what ``old`` replaced)."""
        uid = new.metadata.uid
        self._replaced.setdefault(uid, set()).add(old.metadata.resource_version)
        self._written[uid] = new

    def fresh_claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        """The claim: from the cache, or hpa's own newer write if the cache is behind it."""
        cached = self.caches.claim(namespace, name)
        if cached is None:
            return None
        uid = cached.metadata.uid
        replaced = self._replaced.get(uid)
        if replaced is not None and cached.metadata.resource_version in replaced:
            return self._written[uid]
        self._replaced.pop(uid, None)
        self._written.pop(uid, None)
        return cached

    def forget_claim(self, uid: str) -> None:
        """Drop what is remembered of a claim that is gone."""
        self._replaced.pop(uid, None)
        self._written.pop(uid, None)
        self.created.pop(uid, None)


def claim_reference(claim: api.HostPortClaim) -> kube.ObjectReference:
    """The Event ``involvedObject`` of a claim."""
    return kube.reference(kind=api.KIND_CLAIM, metadata=claim.metadata)


def hostport_reference(hostport: api.HostPort) -> kube.ObjectReference:
    """The Event ``involvedObject`` of a HostPort."""
    return kube.reference(kind=api.KIND_HOSTPORT, metadata=hostport.metadata)


def class_reference(cls: api.HostPortClass) -> kube.ObjectReference:
    """The Event ``involvedObject`` of a HostPortClass."""
    return kube.reference(kind=api.KIND_CLASS, metadata=cls.metadata)


def condition(
    type_: str, status: bool, reason: str, message: str, *, generation: int = 0
) -> api.Condition:
    """A condition stamped now (``set_condition`` keeps the old time if status is unchanged)."""
    return api.Condition(
        type=type_,
        status=api.CONDITION_TRUE if status else api.CONDITION_FALSE,
        reason=reason,
        message=message,
        last_transition_time=api.now(),
        observed_generation=generation,
    )


def same_condition(old: api.Condition | None, new: api.Condition) -> bool:
    """Whether writing ``new`` would change nothing a reader cares about."""
    return (
        old is not None
        and old.status == new.status
        and old.reason == new.reason
        and old.message == new.message
        and old.observed_generation == new.observed_generation
    )
