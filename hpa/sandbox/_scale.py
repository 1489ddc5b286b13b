"""The ``/scale`` subresource: an autoscaling/v1 ``Scale`` view of a resource's replicas.

A ``Scale`` carries the object's name, namespace, uid and resourceVersion, ``spec.replicas``
and ``status.replicas`` and ``status.selector`` (the label selector as a string). GET answers
it; PUT and PATCH change ``spec.replicas`` of the object and nothing else, with the object's
resourceVersion as the precondition when the ``Scale`` names one, as kube-apiserver does for
the scalable built-in kinds (here: StatefulSets, whose controller runs in the sandbox).
"""

from typing import Any

from hpa.sandbox import _calls, _engine, _errors, _patching

JSON = dict[str, Any]


def view(obj: JSON) -> JSON:
    """The ``Scale`` of an object."""
    meta = obj["metadata"]
    spec = obj.get("spec") or {}
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    return {
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": {
            key: meta[key]
            for key in ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")
            if key in meta
        },
        # replicas is omitted when 0, as Go's omitempty writes it
        "spec": {"replicas": spec["replicas"]} if spec.get("replicas", 1) else {},
        "status": {
            "replicas": (obj.get("status") or {}).get("replicas", 0),  # never omitted
            "selector": ",".join(f"{k}={v}" for k, v in sorted(selector.items())),
        },
    }


def get(engine: _engine.Engine, call: _calls.Call) -> JSON:
    """GET of ``/scale``."""
    return view(engine.get(call))


async def update(engine: _engine.Engine, call: _calls.Call, scale: JSON) -> JSON:
    """PUT of ``/scale``: set the object's replicas to the Scale's."""
    if scale.get("kind", "Scale") != "Scale":
        raise _errors.bad_request(f"the body of a scale update is a Scale, not {scale['kind']}")
    current = engine.get(call)
    replicas = (scale.get("spec") or {}).get("replicas", 0)
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        raise _errors.invalid(
            group="autoscaling", kind="Scale", name=call.name or "",
            causes=[_errors.field_cause(
                "spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0"
            )],
        )  # fmt: skip
    new = _engine.clone(current)
    new["spec"]["replicas"] = replicas
    precondition = (scale.get("metadata") or {}).get("resourceVersion")
    new["metadata"]["resourceVersion"] = precondition or current["metadata"]["resourceVersion"]
    return view(await engine.update(call, new))


async def patch(engine: _engine.Engine, call: _calls.Call, content_type: str, body: bytes) -> JSON:
    """PATCH of ``/scale``: the patch applies to the Scale, whose replicas are then set."""
    kind, decoded = _engine.decode_patch(content_type, body, custom=False)
    patched = _patching.apply(kind, get(engine, call), decoded)
    if not isinstance(patched, dict):
        raise _errors.bad_request("the patched object is not a Scale")
    return await update(engine, call, patched)
