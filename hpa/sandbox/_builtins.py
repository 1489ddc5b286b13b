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


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object", type(None): "null"}[type(value)]


#: What kube-apiserver decodes pods into (the fields the sandbox and hpa read): a value of
#: another JSON type fails the Go decode, as 400 BadRequest, before anything else looks at it.
_CONTAINER_FIELDS: dict[str, type] = {"name": str, "image": str, "ports": list}
_PORT_FIELDS: dict[str, type] = {
    "name": str,
    "containerPort": int,
    "hostPort": int,
    "protocol": str,
}
_GO_TYPES: dict[type, str] = {str: "string", int: "int32", bool: "bool", list: "[]", dict: "struct"}


def _mistyped(value: Any, expected: type, path: str) -> _errors.ApiError | None:
    if value is None or (isinstance(value, expected) and not (
        expected is int and isinstance(value, bool)
    )):  # fmt: skip
        return None
    return _errors.bad_request(
        f'Pod in version "v1" cannot be handled as a Pod: json: cannot unmarshal '
        f"{_json_type(value)} into Go struct field {path} of type {_GO_TYPES[expected]}"
    )


def _metadata_problems(pod: JSON) -> list[_errors.ApiError | None]:
    """Labels and annotations are ``map[string]string`` to kube-apiserver's decoder, which
    refuses anything else before admission (CEL in a matchCondition never sees it)."""
    meta = pod.get("metadata")
    problems = [_mistyped(meta, dict, "Pod.metadata")]
    meta = meta if isinstance(meta, dict) else {}
    for field in ("labels", "annotations"):
        values = meta.get(field)
        problems.append(_mistyped(values, dict, f"ObjectMeta.metadata.{field}"))
        for value in values.values() if isinstance(values, dict) else ():
            problems.append(_mistyped(value, str, f"ObjectMeta.metadata.{field}"))
    return problems


def _check_pod_shape(pod: JSON) -> None:
    """Raise 400 for a pod that cannot be decoded (wrong JSON types)."""
    spec = pod.get("spec")
    problems = [*_metadata_problems(pod), _mistyped(spec, dict, "Pod.spec")]
    spec = spec if isinstance(spec, dict) else {}
    problems.append(_mistyped(spec.get("hostNetwork"), bool, "PodSpec.spec.hostNetwork"))
    for list_field in ("containers", "initContainers", "ephemeralContainers"):
        containers = spec.get(list_field)
        problems.append(_mistyped(containers, list, f"PodSpec.spec.{list_field}"))
        for container in containers if isinstance(containers, list) else ():
            at = f"Container.spec.{list_field}"
            problems.append(_mistyped(container, dict, f"PodSpec.spec.{list_field}"))
            container = container if isinstance(container, dict) else {}
            for field, expected in _CONTAINER_FIELDS.items():
                problems.append(_mistyped(container.get(field), expected, f"{at}.{field}"))
            ports = container.get("ports")
            for port in ports if isinstance(ports, list) else ():
                problems.append(_mistyped(port, dict, f"{at}.ports"))
                port = port if isinstance(port, dict) else {}
                for field, expected in _PORT_FIELDS.items():
                    problems.append(
                        _mistyped(port.get(field), expected, f"ContainerPort.{at}.ports.{field}")
                    )
    for problem in problems:
        if problem is not None:
            raise problem


def validate_pod(pod: JSON, old: JSON | None) -> list[JSON]:
    """Field errors of a pod's spec; on update, only images and a few fields may change.

    Raises:
        ApiError: 400, the pod cannot be decoded (a field of the wrong JSON type).
    """
    _check_pod_shape(pod)
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


def validate_event(event: JSON, old: JSON | None) -> list[JSON]:
    """A core/v1 Event lives in the namespace of the object it is about; one about a
    cluster-scoped object lives in ``default`` (kube-apiserver's ``legacyValidateEvent``, for
    Events without ``eventTime``, which also lets those name no namespace at all)."""
    involved = event.get("involvedObject") or {}
    involved_namespace = involved.get("namespace") or "" if isinstance(involved, dict) else ""
    namespace = (event.get("metadata") or {}).get("namespace") or ""
    allowed = ("", "default") if not involved_namespace else (involved_namespace,)
    if event.get("eventTime") and not involved_namespace:
        allowed = ("default", "kube-system")
    if namespace in allowed:
        return []
    message = f'Invalid value: "{involved_namespace}": does not match event.namespace'
    return [_errors.field_cause("involvedObject.namespace", message)]


def default_secret(secret: JSON) -> None:
    """A secret without a type is ``Opaque``."""
    if not secret.get("type"):
        secret["type"] = "Opaque"


def default_pod(pod: JSON) -> None:
    """A new pod's status and defaults.

    Raises:
        ApiError: 400, the pod cannot be decoded (a field of the wrong JSON type).
    """
    _check_pod_shape(pod)
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
    for container in [*(spec.get("containers") or ()), *(spec.get("initContainers") or ())]:
        for port in (container.get("ports") or ()) if isinstance(container, dict) else ():
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
                # As kube-apiserver defaults it: on the host's network, a port is a host port.
                if spec.get("hostNetwork") is True and not port.get("hostPort"):
                    port["hostPort"] = port.get("containerPort")
    pod["status"] = {"phase": "Pending", "qosClass": "BestEffort"}
