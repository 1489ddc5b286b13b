"""The planner: from a :class:`~._snapshot.Snapshot`, the steps that move the original's objects
to hpa's shape, and the conflicts it leaves alone. Pure: no I/O.

Per original HostPort (any name but ``port-<n>``), by what it holds and whom it names:

- a port, for a live claim bound to it (or not bound yet): a *move*: create ``port-<n>`` for
  the same claim, point the claim at it, remove the original's finalizer; once the CRDs are
  replaced, complete ``port-<n>``, bind the claim (status), delete the old HostPort;
- a port and no claimRef (made by hand): the same move, to a Reserved ``port-<n>``;
- no port (never allocated), for a live claim: unbind the claim, release the HostPort;
- a claim that is gone, or bound elsewhere: release it, as the original would have.

A ``port-<n>`` being deleted that only the original's finalizer holds, for no claim that still
exists, is released first (its finalizer removed), as the original's controller would.

Two original HostPorts with one port, a ``port-<n>`` that names another claim, a claim that
names a HostPort that is not its own, a deleting claim still used by pods: conflicts; their
objects are not touched, and the CRDs are not replaced while any is left.

Planned again after a partial run, finished steps are not planned again: a claim that names
``port-<n>``, a HostPort without the original's finalizer, a complete ``port-<n>``, a bound
claim need nothing more (``_claims``). Once hpa's CRDs are installed the original's
``status.port`` is not served any more, so a HostPort not moved by then is a conflict whose
message says the way out.
"""

import dataclasses
from collections import defaultdict
from typing import Final

from hpa import api
from hpa.migration import _adopt, _checks, _claims, _snapshot, _state
from hpa.migration import _original as orig
from hpa.migration import _steps as st

Obj = orig.Obj

_HIDDEN: Final = (
    "hpa's CRDs were installed before this HostPort was moved, so the API server no longer "
    "shows the original's status.port and refuses to change it; apply the original's CRDs "
    "again (stored objects keep every field) and run hpa migrate again"
)
_UNSERVED: Final = (
    "it is Allocated, yet the API server shows no status.port, which the original writes with "
    "every status: it still serves another schema (for a moment after a CRD changes); run hpa "
    "migrate again"
)
_ORDER: Final = {"before": 0, "crds": 1, "after": 2}


@dataclasses.dataclass
class _Move:
    hostport: Obj
    claim: Obj | None
    port: int


def plan(snapshot: _snapshot.Snapshot) -> st.Plan:
    """The migration's steps and conflicts for what ``snapshot`` holds."""
    state = _state.State(snapshot)
    for hostport in state.releasing:  # first: the move of its port may create it again
        unit = f"HostPort {orig.name(hostport)}"
        state.steps.append(_state.drop(hostport, api.KIND_HOSTPORT, unit=unit))
    _deleting_claims(state)
    moves: dict[int, list[_Move]] = defaultdict(list)
    for hostport in sorted(state.old.values(), key=orig.name):
        move = _old_hostport(state, hostport)
        if move is not None:
            moves[move.port].append(move)
    for port, candidates in sorted(moves.items()):
        _move(state, port, candidates)
    for key, claim in sorted(state.claims.items()):
        if key not in state.done and not orig.deleting(claim):
            _claims.claim(state, key, claim)
    _claims.leftover_hostports(state)
    state.steps += state.deferred
    for adoption in (
        _adopt.pods(snapshot, blocked=state.blocked, ports=state.port_of_claim),
        _adopt.classes(snapshot),
    ):
        state.steps += adoption.steps
        state.conflicts += adoption.conflicts
        state.warnings += adoption.warnings
    state.steps += [st.ReplaceCrd(unit="crds", name=n) for n in snapshot.crds_to_replace]
    steps = sorted(state.steps, key=lambda s: _ORDER[s.phase])  # stable: units keep order
    return st.Plan(
        tuple(steps), (*_blockers(snapshot, state), *state.conflicts), tuple(state.warnings)
    )


def _blockers(snapshot: _snapshot.Snapshot, state: _state.State) -> list[st.Conflict]:
    """Webhook configurations that would refuse the migration's writes: conflicts while there
    is something to write or to resolve, and nothing once all is migrated (hpa's own are
    installed by then, and a second run must say that there is nothing to do)."""
    if not state.steps and not state.conflicts:
        return []
    return [st.Conflict("install", blocker) for blocker in snapshot.blockers]


def _deleting_claims(state: _state.State) -> None:
    """A claim being deleted goes at once if nothing uses it (as the original would let it)."""
    for key, claim in sorted(state.claims.items()):
        if not orig.deleting(claim) or orig.FINALIZER not in orig.finalizers(claim):
            continue
        if state.pods_of.get(key):
            state.conflict(
                _state.unit(key),
                f"it is being deleted while pods ({state.pods(key)}) still use it, and the "
                "original's finalizer holds it until they are gone: delete those pods, then "
                "run hpa migrate again",
                key,
            )
            continue
        state.gone.add(key)
        state.done.add(key)
        state.steps.append(_state.drop(claim, api.KIND_CLAIM, unit=_state.unit(key)))


def _live_claim(state: _state.State, hostport: Obj) -> Obj | None:
    """The claim a HostPort names, if it still exists with that uid and is not going."""
    ref = orig.claim_ref(hostport)
    claim = state.claims.get((ref[0], ref[1])) if ref else None
    if claim is None or ref is None or orig.uid(claim) != ref[2]:
        return None
    return None if _state.key(claim) in state.gone else claim


def _old_hostport(state: _state.State, hostport: Obj) -> _Move | None:
    """A move to plan with the others of its port, or None when the HostPort is released,
    left to a conflict, or part of its claim's unbinding."""
    name, ref = orig.name(hostport), orig.claim_ref(hostport)
    if ref is not None and (ref[0], ref[1]) in state.blocked:
        return None
    claim = _live_claim(state, hostport)
    bound = orig.bound_name(claim) if claim is not None else ""
    if not state.visible:
        if claim is not None and bound == name:
            state.conflict(f"HostPort {name}", _HIDDEN, _state.key(claim))
        elif orig.FINALIZER in orig.finalizers(hostport):
            state.conflict(f"HostPort {name}", _HIDDEN)
        else:
            _release(state, hostport, "left over from an earlier run of hpa migrate", late=True)
        return None
    port = orig.port_of(hostport)
    if port is None and orig.status(hostport).get("phase") == orig.PHASE_ALLOCATED:
        state.conflict(f"HostPort {name}", _UNSERVED, *([_state.key(claim)] if claim else []))
        return None
    port = port or 0
    if claim is None:
        if ref is None and port:
            return _Move(hostport, None, port)
        why = "it never got a port" if ref is None else "its claim is gone"
        _release(state, hostport, why, late=False)
    elif api.port_of_hostport_name(bound) is not None:  # moved by an earlier run
        unit = f"port {api.port_of_hostport_name(bound)}"
        if orig.FINALIZER in orig.finalizers(hostport):
            state.steps.append(_state.drop(hostport, api.KIND_HOSTPORT, unit=unit))
        state.deferred.append(
            st.DeleteHostPort(
                unit=unit, name=name, uid=orig.uid(hostport), why=f"replaced by {bound}", late=True
            )
        )
    elif bound not in (name, ""):
        state.warnings.append(
            f"HostPort {name} names claim {orig.name(claim)}, which is bound to {bound}: it "
            "is released"
        )
        _release(state, hostport, f"its claim is bound to {bound}", late=False)
    elif port:
        return _Move(hostport, claim, port)
    elif bound:
        _unbind(state, claim, hostport)
    else:
        _release(state, hostport, "it never got a port", late=False)
    return None


def _release(state: _state.State, hostport: Obj, why: str, *, late: bool) -> None:
    name, unit = orig.name(hostport), f"HostPort {orig.name(hostport)}"
    if orig.FINALIZER in orig.finalizers(hostport):
        state.steps.append(_state.drop(hostport, api.KIND_HOSTPORT, unit=unit))
    state.steps.append(
        st.DeleteHostPort(unit=unit, name=name, uid=orig.uid(hostport), why=why, late=late)
    )


def _unbind(state: _state.State, claim: Obj, hostport: Obj) -> None:
    key, cid = _state.key(claim), _state.claim_id(claim)
    if state.pods_of.get(key):
        state.conflict(
            _state.unit(key),
            f"its HostPort {orig.name(hostport)} never got a port, yet pods ({state.pods(key)}) "
            "use it; delete them, then run hpa migrate again",
            key,
        )
        return
    state.done.add(key)
    state.steps.append(st.UnbindClaim(unit=_state.unit(key), claim=cid, old=orig.name(hostport)))
    _release(state, hostport, "it never got a port", late=False)
    state.steps.append(st.SettleClaim(unit=_state.unit(key), claim=cid, port=None, reset=True))


def _move(state: _state.State, port: int, candidates: list[_Move]) -> None:
    """The steps that move one port to ``port-<n>``, in the order that keeps it held."""
    state.ports.add(port)
    keys = [_state.key(m.claim) for m in candidates if m.claim is not None]
    move = candidates[0]
    claim = _state.claim_id(move.claim) if move.claim is not None else None
    if len(candidates) > 1:
        held = "; ".join(
            f"{orig.name(m.hostport)} for {_checks.owner(orig.claim_ref(m.hostport))}"
            for m in candidates
        )
        state.conflict(
            f"port {port}",
            f"{len(candidates)} of the original's HostPorts hold it: {held}; keep one (delete "
            "the others' pods and claims), then run hpa migrate again",
            *keys,
        )
        return
    why = state.foreign(port, claim)
    if why is not None:
        state.conflict(
            f"port {port}",
            f"the original's HostPort {orig.name(move.hostport)} gives it to "
            f"{st.owner(claim)}, but {why}; delete the one that is wrong, then run hpa "
            "migrate again",
            *keys,
        )
        return
    unit = f"port {port}"
    if state.needs_create(port):
        state.create(port, orig.class_name(move.hostport), claim, unit)
    if move.claim is not None and claim is not None:
        old, new = orig.bound_name(move.claim), api.hostport_name(port)
        state.steps.append(st.PointClaim(unit=unit, claim=claim, old=old, new=new))
    if orig.FINALIZER in orig.finalizers(move.hostport):
        state.steps.append(_state.drop(move.hostport, api.KIND_HOSTPORT, unit=unit))
    state.steps.append(st.CompleteHostPort(unit=unit, port=port, claim=claim))
    if move.claim is not None:
        state.settle(move.claim, port, unit)
    name, uid = orig.name(move.hostport), orig.uid(move.hostport)
    why = f"replaced by {api.hostport_name(port)}"
    state.steps.append(st.DeleteHostPort(unit=unit, name=name, uid=uid, why=why, late=True))
