"""The part of the plan for claims no original HostPort decided, and for ``port-<n>``
HostPorts nothing else did: what an earlier, unfinished run left behind."""

from hpa import api
from hpa.migration import _checks, _state
from hpa.migration import _original as orig
from hpa.migration import _steps as st

Obj = orig.Obj


def claim(state: _state.State, key: _state.Key, found: Obj) -> None:
    """Steps (or a conflict) for a claim the HostPorts did not decide."""
    unit, cid, bound = _state.unit(key), _state.claim_id(found), orig.bound_name(found)
    port = api.port_of_hostport_name(bound)
    if port is not None:  # it names port-<n>: moved by an earlier run
        _moved(state, found, port)
    elif not bound:
        if orig.empty_name(found):
            _empty_name(state, key, found)
            if key in state.blocked:
                return
        status = orig.status(found)
        stale = status.get("phase", api.PHASE_PENDING) != api.PHASE_PENDING or bool(
            status.get("port")
        )
        if orig.FINALIZER in orig.finalizers(found) or stale:
            state.steps.append(st.SettleClaim(unit=unit, claim=cid, port=None, reset=stale))
    elif bound in state.old:
        owner = _checks.owner(orig.claim_ref(state.old[bound]))
        state.conflict(
            unit,
            f"it names HostPort {bound}, whose claimRef is {owner}: it has no port of its own "
            "to keep; delete its pods and the claim and create them again, then run hpa "
            "migrate again",
            key,
        )
    elif state.pods_of.get(key):
        state.conflict(
            unit,
            f"it names HostPort {bound}, which does not exist, and pods ({state.pods(key)}) use "
            "it; delete them, then run hpa migrate again",
            key,
        )
    elif state.visible:
        state.steps.append(st.UnbindClaim(unit=unit, claim=cid, old=bound))
        state.steps.append(st.SettleClaim(unit=unit, claim=cid, port=None, reset=True))
    else:
        state.conflict(
            unit,
            f"it names HostPort {bound}, which does not exist, and hpa's CRD no longer lets "
            "spec.hostPortName change; delete the claim and create it again",
            key,
        )


def _empty_name(state: _state.State, key: _state.Key, found: Obj) -> None:
    """The empty ``spec.hostPortName`` the original's webhook writes on every claim it has not
    bound yet: hpa's schema refuses it and its CEL rule refuses removing it, so it goes while
    the original's CRD is installed."""
    unit = _state.unit(key)
    if state.visible:
        state.steps.append(st.UnbindClaim(unit=unit, claim=_state.claim_id(found), old=""))
        return
    state.conflict(
        unit,
        "its spec.hostPortName is empty, as the original writes it on a claim it has not bound "
        "yet; hpa's CRD refuses an empty name and does not let it be removed: apply the "
        "original's CRDs again (stored objects keep every field) and run hpa migrate again",
        key,
    )


def _moved(state: _state.State, found: Obj, port: int) -> None:
    unit, cid = f"port {port}", _state.claim_id(found)
    state.ports.add(port)
    why = state.foreign(port, cid)
    if why is not None:
        state.conflict(
            unit,
            f"HostPortClaim {cid} names it, but {why}; delete the one that is wrong, then run "
            "hpa migrate again",
            _state.key(found),
        )
        return
    if state.needs_create(port):
        state.create(port, orig.class_name(found), cid, unit)
    existing = state.new.get(port)
    if existing is None or not _checks.complete(existing, port):
        state.steps.append(st.CompleteHostPort(unit=unit, port=port, claim=cid))
    state.settle(found, port, unit)


def leftover_hostports(state: _state.State) -> None:
    """``port-<n>`` HostPorts nothing decided that are not as hpa keeps them (an earlier run
    made them for a claim that went since): completed, so that hpa decodes and releases them."""
    for port, hostport in sorted(state.new.items()):
        done = orig.spec(hostport).get("port") == port
        if port in state.ports or (done and orig.FINALIZER not in orig.finalizers(hostport)):
            continue
        if state.visible and orig.port_of(hostport) not in (None, 0, port):
            state.conflict(
                f"port {port}",
                f"HostPort {api.hostport_name(port)} holds port {orig.port_of(hostport)} by "
                "its status.port, not the port of its name; delete it and run hpa migrate again",
            )
            continue
        ref = orig.claim_ref(hostport)
        owner = st.ClaimId(*ref) if ref else None
        state.steps.append(st.CompleteHostPort(unit=f"port {port}", port=port, claim=owner))
