"""What the planner knows while it plans: the snapshot indexed, the steps and conflicts so far,
and which claims are decided."""

from collections import defaultdict

from hpa import api
from hpa.migration import _checks, _snapshot
from hpa.migration import _original as orig
from hpa.migration import _steps as st

Obj = orig.Obj
Key = tuple[str, str]


def key(obj: Obj) -> Key:
    """``(namespace, name)`` of an object."""
    return (orig.namespace(obj), orig.name(obj))


def unit(claim: Key) -> str:
    """The unit of a claim's own steps."""
    return f"claim {claim[0]}/{claim[1]}"


def claim_id(claim: Obj) -> st.ClaimId:
    return st.ClaimId(orig.namespace(claim), orig.name(claim), orig.uid(claim))


def drop(obj: Obj, kind: str, *, unit: str) -> st.DropFinalizer:
    """The step that removes the original's finalizer from ``obj``."""
    return st.DropFinalizer(
        unit=unit, kind=kind, namespace=orig.namespace(obj), name=orig.name(obj), uid=orig.uid(obj)
    )


class State:
    """The snapshot, indexed, and the plan as far as it is made."""

    def __init__(self, snapshot: _snapshot.Snapshot) -> None:
        self.snap = snapshot
        self.visible = snapshot.ports_visible
        self.claims = {key(c): c for c in snapshot.claims}
        self.pods_of: dict[Key, list[str]] = defaultdict(list)
        for pod in snapshot.pods:
            for claim_name in sorted(set(orig.pod_claims(pod).values())):
                self.pods_of[(orig.namespace(pod), claim_name)].append(orig.name(pod))
        #: ``port-<n>`` HostPorts by port, and the original's (every other name) by name.
        self.new: dict[int, Obj] = {}
        self.old: dict[str, Obj] = {}
        #: ``port-<n>`` HostPorts being deleted that only the original's finalizer holds.
        self.releasing: list[Obj] = []
        for hostport in snapshot.hostports:
            port = api.port_of_hostport_name(orig.name(hostport))
            if port is None:
                self.old[orig.name(hostport)] = hostport
            elif self._held_for_nothing(hostport):
                self.releasing.append(hostport)
            else:
                self.new[port] = hostport
        self.steps: list[st.Step] = []
        #: Old HostPorts to delete once the claims' own steps are done.
        self.deferred: list[st.Step] = []
        self.conflicts: list[st.Conflict] = []
        self.warnings: list[str] = []
        self.gone: set[Key] = set()  # deleting claims nothing uses: released
        self.blocked: set[Key] = set()  # claims in a conflict: left alone
        self.done: set[Key] = set()  # claims decided: moved, unbound, gone or blocked
        self.port_of_claim: dict[Key, int] = {}
        self.ports: set[int] = set()  # ports whose port-<n> a move or a conflict decided

    def _held_for_nothing(self, hostport: Obj) -> bool:
        """Whether a HostPort is being deleted and only the original's finalizer keeps it,
        for no claim that still exists: the original would let it go (its controller is
        stopped, so deleting it as a conflict's message says would wait for ever)."""
        if not orig.deleting(hostport) or orig.FINALIZER not in orig.finalizers(hostport):
            return False
        ref = orig.claim_ref(hostport)
        claim = self.claims.get((ref[0], ref[1])) if ref else None
        return claim is None or orig.uid(claim) != (ref[2] if ref else "")

    def conflict(self, unit: str, message: str, *claims: Key) -> None:
        """A conflict; ``claims`` are left alone with it."""
        self.conflicts.append(st.Conflict(unit, message))
        self.blocked.update(claims)
        self.done.update(claims)

    def pods(self, claim: Key) -> str:
        """The names of the pods that use a claim."""
        return ", ".join(self.pods_of.get(claim, []))

    def settle(self, claim: Obj, port: int, unit: str) -> None:
        """The claim keeps ``port``: bind it as hpa does, unless it is so already."""
        found = key(claim)
        self.done.add(found)
        self.port_of_claim[found] = port
        if not _checks.settled(claim, port):
            self.steps.append(st.SettleClaim(unit=unit, claim=claim_id(claim), port=port))

    def create(self, port: int, class_name: str, claim: st.ClaimId | None, unit: str) -> None:
        """Create ``port-<n>`` (before the CRDs are replaced, if they are not yet)."""
        self.steps.append(
            st.CreateHostPort(
                unit=unit, port=port, class_name=class_name, claim=claim, before_swap=self.visible
            )
        )

    def foreign(self, port: int, claim: st.ClaimId | None) -> str | None:
        """Why ``port-<n>`` cannot be ``claim``'s, or None if it is (or does not exist)."""
        existing = self.new.get(port)
        if existing is None or _checks.owned_by(existing, claim):
            return None
        owner = _checks.owner(orig.claim_ref(existing))
        return f"HostPort {api.hostport_name(port)} exists and names {owner}"

    def needs_create(self, port: int) -> bool:
        """Whether ``port-<n>`` is missing (or, before the CRDs, lacks the original's port)."""
        existing = self.new.get(port)
        return existing is None or (self.visible and orig.port_of(existing) != port)
