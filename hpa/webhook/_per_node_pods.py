"""Pods of per-node claims: the class's nodes as required node affinity, one pod per claim.

A per-node class's port is held once per eligible node, and the scheduler's NodePorts filter
places the pods that use it. Two things make that hold:

- the pod may run only on the class's eligible nodes: its ``nodeSelector`` is added to the
  pod's required node affinity. Required ``nodeSelectorTerms`` are ORed and the requirements
  inside one term ANDed, so the class's requirements go into every term the pod has (or into a
  new one), which ANDs them with whatever the pod asked for;
- a claim serves one pod at a time: a second live pod naming it would need a second node's
  port under one holder, so it is refused, naming the pod that uses the claim.
"""

import copy
from collections.abc import Iterable, Mapping
from typing import Any, Final

from hpa import api
from hpa.webhook import _readers as readers

_REQUIRED: Final = "requiredDuringSchedulingIgnoredDuringExecution"


def per_node_class(
    classes: readers.ClassReader | None, claim: api.HostPortClaim
) -> api.HostPortClass | None:
    """The claim's class, if it is per node (and the reader knows it)."""
    if classes is None:
        return None
    name = claim.spec.host_port_class_name
    cls = next((c for c in classes.classes() if c.metadata.name == name), None)
    return cls if cls is not None and cls.spec.per_node else None


def in_use_by(pods: readers.PodReader | None, claim: api.HostPortClaim, *, pod_name: str) -> str:
    """Why a per-node claim cannot serve this pod (another live pod uses it), or ""."""
    if pods is None:
        return ""
    namespace, name = claim.metadata.namespace, claim.metadata.name
    others = sorted(
        pod.name
        for pod in pods.pods_using(namespace, name)
        # a pod of the same name is this one created again: the cache still shows the old one
        if pod.deletion_timestamp is None and pod.name != pod_name
    )
    if not others:
        return ""
    return (
        f"HostPortClaim {namespace}/{name} is of per-node HostPortClass "
        f"{claim.spec.host_port_class_name!r} and is already used by pod {others[0]}; a "
        f"per-node claim serves one pod at a time: give this pod a claim of its own, or "
        f"delete pod {others[0]} first"
    )


def with_required_labels(
    affinity: Mapping[str, Any] | None, labels: Iterable[tuple[str, str]]
) -> dict[str, Any] | None:
    """The pod's ``affinity`` with each ``(key, value)`` required of its node, ANDed with
    the pod's own required terms; None if the pod already requires all of them."""
    wanted = [{"key": k, "operator": "In", "values": [v]} for k, v in sorted(set(labels))]
    merged: dict[str, Any] = copy.deepcopy(dict(affinity or {}))
    node = merged.setdefault("nodeAffinity", {})
    required = node.setdefault(_REQUIRED, {})
    terms = required.get("nodeSelectorTerms") or [{}]
    changed = False
    for term in terms:
        expressions = term.setdefault("matchExpressions", [])
        for expression in wanted:
            if expression not in expressions:
                expressions.append(expression)
                changed = True
    required["nodeSelectorTerms"] = terms
    return merged if changed else None
