"""The little kube-apiserver knows about built-in kinds beyond metadata: pod basics.

Pods need ``spec.containers`` with a name and an image, start ``Pending``, keep their spec
but for images (and a few fields) on update, and (without a kubelet here) never run unless a
test writes their status.
"""

from typing import Any

from hpa.sandbox import _errors

JSON = dict[str, Any]


_MUTABLE_MESSAGE = (
    "Forbidden: pod updates may not change fields other than `spec.containers[*].image`, "
    "`spec.initContainers[*].image`, `spec.activeDeadlineSeconds`, `spec.tolerations` "
    "(only additions to existing tolerations), `spec.terminationGracePeriodSeconds` "
    "(allow it to be set to 1 if it was previously negative)"
)


_MUTABLE_FIELDS = frozenset(
    {"activeDeadlineSeconds", "tolerations", "terminationGracePeriodSeconds"}
)


def _fixed_part(spec: JSON) -> JSON:
    fixed = {k: v for k, v in spec.items() if k not in _MUTABLE_FIELDS}
    for field in ("containers", "initContainers"):
        if isinstance(fixed.get(field), list):
            fixed[field] = [
                {k: v for k, v in c.items() if k != "image"} if isinstance(c, dict) else c
                for c in fixed[field]
            ]
    return fixed


def validate_pod(pod: JSON, old: JSON | None) -> list[JSON]:
    """Field errors of a pod's spec; on update, only images and a few fields may change."""
    if old is not None and _fixed_part(pod.get("spec") or {}) != _fixed_part(old.get("spec") or {}):
        return [_errors.field_cause("spec", _MUTABLE_MESSAGE, reason="FieldValueForbidden")]
    containers = (pod.get("spec") or {}).get("containers")
    if not containers:
        return [
            _errors.field_cause("spec.containers", "Required value", reason="FieldValueRequired")
        ]
    causes = []
    for index, container in enumerate(containers):
        for field in ("name", "image"):
            if not isinstance(container, dict) or not container.get(field):
                causes.append(
                    _errors.field_cause(
                        f"spec.containers[{index}].{field}",
                        "Required value",
                        reason="FieldValueRequired",
                    )
                )
    return causes


def default_secret(secret: JSON) -> None:
    """A secret without a type is ``Opaque``."""
    if not secret.get("type"):
        secret["type"] = "Opaque"


def default_pod(pod: JSON) -> None:
    """A new pod's status and defaults."""
    spec = pod.setdefault("spec", {})
    spec.setdefault("restartPolicy", "Always")
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("schedulerName", "default-scheduler")
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("serviceAccountName", "default")
    for container in spec.get("containers") or ():
        if isinstance(container, dict):
            container.setdefault("imagePullPolicy", "IfNotPresent")
            container.setdefault("terminationMessagePath", "/dev/termination-log")
            for port in container.get("ports") or ():
                if isinstance(port, dict):
                    port.setdefault("protocol", "TCP")
    pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
