"""The little kube-apiserver knows about built-in kinds beyond metadata: pod basics.

Pods need ``spec.containers`` with a name and an image, start ``Pending``, and (without a
kubelet here) never run unless a test writes their status.
"""

from typing import Any

from hpa.sandbox import _errors

JSON = dict[str, Any]


def validate_pod(pod: JSON, old: JSON | None) -> list[JSON]:
    """Field errors of a pod's spec."""
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
