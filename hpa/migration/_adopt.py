"""The part of the plan for what hpa adopts as it is: pods that use claims (they get hpa's
label, nothing else) and classes (hpa's finalizer, and pools hpa's CRD accepts)."""

import dataclasses

from hpa import api
from hpa.migration import _original as orig
from hpa.migration import _snapshot
from hpa.migration import _steps as st

Key = tuple[str, str]


@dataclasses.dataclass
class Adoption:
    """Steps, conflicts and warnings about pods and classes."""

    steps: list[st.Step] = dataclasses.field(default_factory=list)
    conflicts: list[st.Conflict] = dataclasses.field(default_factory=list)
    warnings: list[str] = dataclasses.field(default_factory=list)


def pods(snapshot: _snapshot.Snapshot, *, blocked: set[Key], ports: dict[Key, int]) -> Adoption:
    """Label the pods that use claims, except those of a claim in a conflict (left alone with
    it); warn of a pod whose recorded port is not its claim's."""
    found = Adoption()
    for pod in sorted(snapshot.pods, key=lambda p: (orig.namespace(p), orig.name(p))):
        namespace, name = orig.namespace(pod), orig.name(pod)
        uses = orig.pod_claims(pod)
        if any((namespace, claim) in blocked for claim in uses.values()):
            continue
        labels = orig.meta(pod).get("labels") or {}
        if labels.get(api.POD_LABEL) != "true":
            found.steps.append(
                st.LabelPod(
                    unit=f"pod {namespace}/{name}", namespace=namespace, name=name,
                    uid=orig.uid(pod),
                )
            )  # fmt: skip
        recorded = orig.pod_ports(pod)
        for port_name, claim in sorted(uses.items()):
            port = ports.get((namespace, claim))
            if port is not None and recorded.get(port_name) not in (None, str(port)):
                found.warnings.append(
                    f"pod {namespace}/{name} records port {recorded[port_name]} for "
                    f"{port_name}, but claim {claim} keeps port {port}; re-create the pod"
                )
    if snapshot.hpa_policies and found.steps:
        found.conflicts.append(
            st.Conflict(
                "install",
                f"hpa's ValidatingAdmissionPolicyBinding {', '.join(snapshot.hpa_policies)} is "
                "installed and refuses adding hpa's label to running pods: run hpa migrate "
                "before installing hpa, or delete the binding for the migration",
            )
        )
    return found


def classes(snapshot: _snapshot.Snapshot) -> Adoption:
    """hpa's finalizer instead of the original's; overlapping pools merged (the same ports)."""
    found = Adoption()
    for cls in sorted(snapshot.classes, key=orig.name):
        name, unit, fins = orig.name(cls), f"class {orig.name(cls)}", orig.finalizers(cls)
        if orig.deleting(cls):
            if orig.FINALIZER in fins:  # the original lets a deleted class go at once
                found.steps.append(
                    st.DropFinalizer(
                        unit=unit, kind=api.KIND_CLASS, namespace="", name=name, uid=orig.uid(cls)
                    )
                )
            continue
        pools = orig.normalized_pools(cls) if orig.pools_need_change(cls) else None
        if pools is not None and not 1 <= len(pools) <= api.MAX_POOLS:
            found.conflicts.append(
                st.Conflict(
                    unit,
                    f"it has {len(pools)} pool(s) once overlapping ones are merged and empty "
                    f"ones dropped; hpa takes 1 to {api.MAX_POOLS}: edit spec.pools, then run "
                    "hpa migrate again",
                )
            )
            continue
        if pools is not None or orig.FINALIZER in fins or api.FINALIZER not in fins:
            found.steps.append(
                st.SettleClass(
                    unit=unit, name=name, uid=orig.uid(cls),
                    pools=tuple((p["start"], p["end"]) for p in pools) if pools else None,
                    old_pools=orig.pools_text(orig.spec(cls).get("pools") or []),
                )
            )  # fmt: skip
    return found
