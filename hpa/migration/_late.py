"""The CRDs replaced by hpa's, and the writes that need hpa's schema: ``port-<n>`` completed,
claims bound as hpa binds them, classes adopted."""

import time
from typing import Any

import anyio

from hpa import api, kube
from hpa.migration import _checks, _snapshot, _writes
from hpa.migration import _original as orig
from hpa.migration import _steps as st

Obj = dict[str, Any]


async def replace_crd(writer: _writes.Writer, step: st.ReplaceCrd) -> bool:
    """Replace the CRD's spec by hpa's (the stored objects stay), then wait until it is
    Established. Its labels get hpa's; other metadata is kept."""
    wanted = _snapshot.wanted_crds()[step.name]
    current = await writer.get(_snapshot.CRDS, step.name)
    if current is None:
        await writer.client.create(_snapshot.CRDS, wanted, type=dict[str, Any])
    elif orig.is_hpa_crd(current, wanted):
        return False
    else:
        labels = {**(orig.meta(current).get("labels") or {}), **wanted["metadata"]["labels"]}
        version = orig.meta(current)["resourceVersion"]
        operations = [
            {"op": "test", "path": "/metadata/resourceVersion", "value": version},
            {"op": "replace", "path": "/spec", "value": wanted["spec"]},
            {"op": "add", "path": "/metadata/labels", "value": labels},
        ]
        await writer.client.patch(
            _snapshot.CRDS, step.name, operations, patch_type="json", type=dict[str, Any]
        )
    deadline = time.monotonic() + writer.settle_timeout
    while True:
        crd = await writer.get(_snapshot.CRDS, step.name) or {}
        conditions = {
            c.get("type"): c.get("status") for c in orig.status(crd).get("conditions", [])
        }
        if conditions.get("Established") == conditions.get("NamesAccepted") == "True":
            return True
        if time.monotonic() > deadline:
            raise _writes.StepError(f"not Established within {writer.settle_timeout:.0f} s")
        await anyio.sleep(0.2)


async def complete(writer: _writes.Writer, step: st.CompleteHostPort) -> bool:
    hostport = await writer.hostport(step.port, step.claim)
    spec = orig.spec(hostport)
    fields: Obj = {}
    if spec.get("port") != step.port:
        fields["port"] = step.port
    if step.reclaim_policy and not spec.get("reclaimPolicy"):
        fields["reclaimPolicy"] = step.reclaim_policy
    finalizers = orig.swapped_finalizers(hostport, add_hpa=True)
    changed = False
    if fields or finalizers != orig.finalizers(hostport):
        patch = _writes.versioned(hostport, finalizers=finalizers)
        hostport = await writer.patch(kube.HOSTPORTS, hostport, patch | {"spec": fields})
        if orig.spec(hostport).get("port") != step.port:
            raise _writes.Stale()
        changed = True
    if orig.status(hostport).get("phase") != step.wanted_phase:
        generation = orig.meta(hostport).get("generation")
        status = {"phase": step.wanted_phase, "observedGeneration": generation}
        await writer.patch(kube.HOSTPORTS, hostport, {"status": status}, status=True)
        changed = True
    return changed


async def settle_claim(writer: _writes.Writer, step: st.SettleClaim) -> bool:
    claim = await writer.claim(step.claim)
    finalizers = orig.swapped_finalizers(claim, add_hpa=step.port is not None)
    changed = False
    if finalizers != orig.finalizers(claim):
        claim = await writer.patch(
            kube.CLAIMS, claim, _writes.versioned(claim, finalizers=finalizers)
        )
        changed = True
    status = orig.status(claim)
    if step.port is not None and not _checks.settled(claim, step.port):
        status = bound_status(claim, step.port)
        claim = await writer.patch(kube.CLAIMS, claim, {"status": status}, status=True)
        if orig.status(claim).get("port") != step.port:
            raise _writes.Stale()
        changed = True
    elif step.reset and (status.get("phase") != api.PHASE_PENDING or status.get("port")):
        reset = {"phase": api.PHASE_PENDING, "port": None}
        await writer.patch(kube.CLAIMS, claim, {"status": reset}, status=True)
        changed = True
    return changed


async def settle_class(writer: _writes.Writer, step: st.SettleClass) -> bool:
    cls = await writer.get(kube.CLASSES, step.name)
    if cls is None:
        return False
    finalizers = orig.swapped_finalizers(cls, add_hpa=True)
    patch = _writes.versioned(cls, finalizers=finalizers)
    pools = [{"start": s, "end": e} for s, e in step.pools or ()]
    if step.pools is not None and orig.spec(cls).get("pools") != pools:
        patch["spec"] = {"pools": pools}
    elif finalizers == orig.finalizers(cls):
        return False
    await writer.patch(kube.CLASSES, cls, patch)
    return True


def bound_status(claim: Obj, port: int) -> Obj:
    """The status hpa gives a bound claim: phase, port and the Bound condition (its transition
    time kept if it was True already, as apimachinery's SetStatusCondition does)."""
    generation = orig.meta(claim).get("generation", 0)
    conditions = orig.status(claim).get("conditions") or []
    old = _checks.condition(claim, st.BOUND)
    since = old.get("lastTransitionTime") if old.get("status") == api.CONDITION_TRUE else None
    condition = {
        "type": st.BOUND,
        "status": api.CONDITION_TRUE,
        "reason": st.BOUND,
        "message": st.bound_message(port),
        "lastTransitionTime": since or api.now().isoformat().replace("+00:00", "Z"),
        "observedGeneration": generation,
    }
    return {
        "phase": api.PHASE_BOUND,
        "port": port,
        "observedGeneration": generation,
        "conditions": [*(c for c in conditions if c.get("type") != st.BOUND), condition],
    }
