"""The writes of the ``before`` phase, made while the original's CRDs are installed (and the
label, which needs no CRD): create ``port-<n>``, point a claim at it or unbind it, remove the
original's finalizer, delete an old HostPort, label a pod."""

from typing import Any

from hpa import api, kube
from hpa.migration import _original as orig
from hpa.migration import _steps as st
from hpa.migration import _writes

Obj = dict[str, Any]


async def create(writer: _writes.Writer, step: st.CreateHostPort) -> bool:
    """``port-<n>``: in the original's shape before the CRDs are replaced (Allocated, with its
    ``status.port``, so that the installation is still the original's own), else in hpa's."""
    name = api.hostport_name(step.port)
    spec: Obj = {"hostPortClassName": step.class_name}
    if step.claim is not None:
        claim = step.claim
        spec["claimRef"] = {"namespace": claim.namespace, "name": claim.name, "uid": claim.uid}
    if not step.before_swap:
        spec["port"] = step.port
        if step.claim is not None:
            spec["reclaimPolicy"] = api.RECLAIM_DELETE
    finalizer = orig.FINALIZER if step.before_swap else api.FINALIZER
    body = {"metadata": {"name": name, "finalizers": [finalizer]}, "spec": spec}
    changed = True
    try:
        hostport: Obj = await writer.client.create(kube.HOSTPORTS, body, type=dict[str, Any])
    except kube.AlreadyExists:
        hostport, changed = await writer.hostport(step.port, step.claim), False
    if step.before_swap and orig.port_of(hostport) != step.port:
        status = {"phase": orig.PHASE_ALLOCATED, "port": step.port}
        await writer.patch(kube.HOSTPORTS, hostport, {"status": status}, status=True)
        changed = True
    return changed


async def point(writer: _writes.Writer, step: st.PointClaim) -> bool:
    claim = await writer.claim(step.claim)
    current = orig.bound_name(claim)
    if current == step.new:
        return False
    if current != step.old:
        raise _writes.StepError(f"spec.hostPortName is {current or 'unset'}, not {step.old}")
    patch = _writes.versioned(claim) | {"spec": {"hostPortName": step.new}}
    await writer.patch(kube.CLAIMS, claim, patch)
    return True


async def unbind(writer: _writes.Writer, step: st.UnbindClaim) -> bool:
    claim = await writer.claim(step.claim)
    current = orig.bound_name(claim)
    if "hostPortName" not in orig.spec(claim):
        return False
    if current != step.old:
        raise _writes.StepError(f"spec.hostPortName is {current}, not {step.old}")
    patch = _writes.versioned(claim) | {"spec": {"hostPortName": None}}
    await writer.patch(kube.CLAIMS, claim, patch)
    return True


async def drop_finalizer(writer: _writes.Writer, step: st.DropFinalizer) -> bool:
    resource = _writes.RESOURCES[step.kind]
    found = await writer.get(resource, step.name, step.namespace)
    if found is None:
        return False
    if orig.uid(found) != step.uid:
        raise _writes.StepError(f"{step.kind} {step.name} was re-created (uid {orig.uid(found)})")
    if orig.FINALIZER not in orig.finalizers(found):
        return False
    kept = [f for f in orig.finalizers(found) if f != orig.FINALIZER]
    await writer.patch(resource, found, _writes.versioned(found, finalizers=kept))
    return True


async def delete(writer: _writes.Writer, step: st.DeleteHostPort) -> bool:
    try:
        await writer.client.delete(kube.HOSTPORTS, step.name, uid=step.uid)
    except kube.NotFound:
        return False
    return True


async def label(writer: _writes.Writer, step: st.LabelPod) -> bool:
    """hpa's label on the pod; its spec and annotations are not touched."""
    pod = await writer.get(kube.PODS, step.name, step.namespace)
    if pod is None or orig.uid(pod) != step.uid:
        return False  # gone (or another pod by now): nothing of ours to label
    if (orig.meta(pod).get("labels") or {}).get(api.POD_LABEL) == "true":
        return False
    await writer.patch(kube.PODS, pod, {"metadata": {"labels": {api.POD_LABEL: "true"}}})
    return True
