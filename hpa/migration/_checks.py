"""Predicates on the objects as they are: who a ``port-<n>`` HostPort names, and whether a
HostPort or a claim is already as hpa keeps it (then the migration plans nothing for it)."""

from hpa import api
from hpa.migration import _original as orig
from hpa.migration import _steps as st

Obj = orig.Obj


def owner(ref: tuple[str, str, str] | None) -> str:
    """A claimRef as text."""
    return st.owner(st.ClaimId(*ref) if ref else None)


def owned_by(hostport: Obj, claim: st.ClaimId | None) -> bool:
    """Whether a HostPort names exactly ``claim`` (or no claim, for None)."""
    ref = orig.claim_ref(hostport)
    if claim is None:
        return ref is None
    return ref == (claim.namespace, claim.name, claim.uid)


def complete(hostport: Obj, port: int) -> bool:
    """Whether ``port-<n>`` is as hpa keeps it: its port, hpa's finalizer only, its phase."""
    fins = orig.finalizers(hostport)
    phase = api.PHASE_ALLOCATED if orig.claim_ref(hostport) else api.PHASE_RESERVED
    return (
        orig.spec(hostport).get("port") == port
        and api.FINALIZER in fins
        and orig.FINALIZER not in fins
        and orig.status(hostport).get("phase") == phase
    )


def condition(obj: Obj, type_: str) -> Obj:
    """The status condition of that type (empty if there is none)."""
    found: Obj = next(
        (c for c in orig.status(obj).get("conditions") or [] if c.get("type") == type_), {}
    )
    return found


def settled(claim: Obj, port: int) -> bool:
    """Whether a claim is bound as hpa binds it: finalizer, phase, port and condition."""
    fins, status, bound = orig.finalizers(claim), orig.status(claim), condition(claim, st.BOUND)
    return (
        api.FINALIZER in fins
        and orig.FINALIZER not in fins
        and status.get("phase") == api.PHASE_BOUND
        and status.get("port") == port
        and bound.get("status") == api.CONDITION_TRUE
        and bound.get("message") == st.bound_message(port)
        and bound.get("observedGeneration") == orig.meta(claim).get("generation")
    )
