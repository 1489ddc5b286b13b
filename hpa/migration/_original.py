"""What the Go original (rmb938/hostport-allocator) writes, read from plain objects.

The original keeps the same group and kinds as hpa, but another shape inside them:

- a HostPort is named ``hpc-<claim uid>`` (or anything, when an administrator made it), holds
  its port in ``status.port`` (0 until allocated), names its claim in ``spec.claimRef`` (a
  full ObjectReference) and has the phases Pending, Allocated and Deleting;
- a claim names its HostPort in ``spec.hostPortName`` and has no ``status.port``: its port is
  its HostPort's;
- a class has ``spec.pools`` only, which may overlap (hpa's CRD refuses that);
- all three carry the finalizer ``hostport.rmb938.com``, the group itself.

Objects are read as decoded JSON (``Obj``), never as hpa's types: an original HostPort does
not decode into :class:`hpa.api.HostPort`, which is why hpa's informers skip them.
"""

from typing import Any, Final

from hpa import api

Obj = dict[str, Any]

#: The finalizer the original puts on every object of its three kinds.
FINALIZER: Final = api.GROUP
#: The name the original gives the HostPort of a claim: this and the claim's uid.
HOSTPORT_PREFIX: Final = "hpc-"
#: The original's HostPort phase of a port handed out.
PHASE_ALLOCATED: Final = "Allocated"


def meta(obj: Obj) -> Obj:
    """``metadata`` (empty if missing)."""
    found: Obj = obj.get("metadata") or {}
    return found


def spec(obj: Obj) -> Obj:
    found: Obj = obj.get("spec") or {}
    return found


def status(obj: Obj) -> Obj:
    found: Obj = obj.get("status") or {}
    return found


def name(obj: Obj) -> str:
    return str(meta(obj).get("name", ""))


def namespace(obj: Obj) -> str:
    return str(meta(obj).get("namespace", ""))


def uid(obj: Obj) -> str:
    return str(meta(obj).get("uid", ""))


def finalizers(obj: Obj) -> list[str]:
    return [str(f) for f in meta(obj).get("finalizers") or []]


def deleting(obj: Obj) -> bool:
    """Whether the object has a deletionTimestamp."""
    return bool(meta(obj).get("deletionTimestamp"))


def swapped_finalizers(obj: Obj, *, add_hpa: bool) -> list[str]:
    """The object's finalizers without the original's, with hpa's if ``add_hpa``; others kept."""
    kept = [f for f in finalizers(obj) if f != FINALIZER]
    if add_hpa and api.FINALIZER not in kept:
        kept.append(api.FINALIZER)
    return kept


def port_of(hostport: Obj) -> int | None:
    """The port an original HostPort holds: ``status.port``; 0 when it never got one, None
    when the API server does not show the field (hpa's CRD is installed and prunes it)."""
    value = status(hostport).get("port")
    return int(value) if isinstance(value, int) else None


def claim_ref(hostport: Obj) -> tuple[str, str, str] | None:
    """``(namespace, name, uid)`` of the claim a HostPort names, or None."""
    ref = spec(hostport).get("claimRef")
    if not ref or not ref.get("name"):
        return None
    return (str(ref.get("namespace", "")), str(ref["name"]), str(ref.get("uid", "")))


def empty_name(claim: Obj) -> bool:
    """Whether a claim has ``spec.hostPortName: ""``: the original's claim webhook writes the
    whole claim back, and its Go type has no omitempty on that field, so every claim it has not
    bound yet holds an empty one."""
    return spec(claim).get("hostPortName", None) == ""


def class_name(obj: Obj) -> str:
    """``spec.hostPortClassName`` of a claim or a HostPort."""
    return str(spec(obj).get("hostPortClassName", ""))


def bound_name(claim: Obj) -> str:
    """``spec.hostPortName`` of a claim ('' when unset)."""
    return str(spec(claim).get("hostPortName") or "")


def pod_claims(pod: Obj) -> dict[str, str]:
    """``{portName: claimName}`` of a pod's claim annotations."""
    annotations = meta(pod).get("annotations") or {}
    return {
        key.removeprefix(api.CLAIM_ANNOTATION_PREFIX): str(value)
        for key, value in annotations.items()
        if key.startswith(api.CLAIM_ANNOTATION_PREFIX) and value
    }


def pod_ports(pod: Obj) -> dict[str, str]:
    """``{portName: port}`` of a pod's port annotations (as the original wrote them)."""
    annotations = meta(pod).get("annotations") or {}
    return {
        key.removeprefix(api.PORT_ANNOTATION_PREFIX): str(value)
        for key, value in annotations.items()
        if key.startswith(api.PORT_ANNOTATION_PREFIX)
    }


def normalized_pools(cls: Obj) -> list[dict[str, int]]:
    """A class's pools as hpa's CRD accepts them: the same ports, sorted, overlapping pools
    merged and empty (backwards) ones dropped."""
    pools = sorted(
        (int(p["start"]), int(p["end"]))
        for p in spec(cls).get("pools") or []
        if int(p["start"]) <= int(p["end"])
    )
    merged: list[list[int]] = []
    for start, end in pools:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [{"start": start, "end": end} for start, end in merged]


def pools_need_change(cls: Obj) -> bool:
    """Whether hpa's CRD would refuse the class's pools as they are (none, overlapping ones,
    start > end)."""
    given = [(int(p["start"]), int(p["end"])) for p in spec(cls).get("pools") or []]
    wanted = [(p["start"], p["end"]) for p in normalized_pools(cls)]
    return not wanted or sorted(given) != wanted


def pools_text(pools: list[dict[str, int]] | list[Obj]) -> str:
    """Pools as ``9000-9100,9500-9600``."""
    return ",".join(f"{p['start']}-{p['end']}" for p in pools) or "none"


def is_hpa_crd(crd: Obj, wanted: Obj) -> bool:
    """Whether an installed CRD serves hpa's schema (``wanted``, as hpa generates it)."""

    def schemas(doc: Obj) -> list[Any]:
        return [
            (v.get("name"), (v.get("schema") or {}).get("openAPIV3Schema"))
            for v in spec(doc).get("versions") or []
        ]

    return schemas(crd) == schemas(wanted)


def ports_visible(hostports_crd: Obj | None) -> bool:
    """Whether the served HostPort schema still has the original's ``status.port``.

    Under hpa's CRD the API server prunes it when it reads an original HostPort from storage
    (the field is still in etcd, and shows again if the original's CRD is applied again).
    """
    if hostports_crd is None:
        return False
    for version in spec(hostports_crd).get("versions") or []:
        schema = (version.get("schema") or {}).get("openAPIV3Schema") or {}
        status_schema = (schema.get("properties") or {}).get("status") or {}
        if "port" in (status_schema.get("properties") or {}):
            return True
    return False
