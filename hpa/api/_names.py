"""Every name hpa shares with the cluster, spelled in exactly one place.

The group, kinds, annotations and namespace label are those of the Go original
(rmb938/hostport-allocator) so that its README quickstart works unchanged.

A HostPort's name is derived from its port (``port-9000``) so that the API server's name
uniqueness makes a second HostPort for the same port impossible: a create answers
``409 AlreadyExists`` instead (the idea of Kubernetes' KEP-1880 IPAddress objects).
:func:`hostport_name` and :func:`port_of_hostport_name` are the only code that knows the format;
the CRD's CEL rule is generated from :data:`HOSTPORT_NAME_PREFIX`.
"""

from typing import Final

GROUP: Final = "hostport.rmb938.com"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"

KIND_CLASS: Final = "HostPortClass"
KIND_CLAIM: Final = "HostPortClaim"
KIND_HOSTPORT: Final = "HostPort"

PLURAL_CLASS: Final = "hostportclasses"
PLURAL_CLAIM: Final = "hostportclaims"
PLURAL_HOSTPORT: Final = "hostports"

#: ``claim.hostport.rmb938.com/<portName>: <claimName>`` on a pod asks for a claim's port.
CLAIM_ANNOTATION_PREFIX: Final = f"claim.{GROUP}/"
#: ``port.hostport.rmb938.com/<portName>: "<port>"`` is set on the pod for the downward API.
PORT_ANNOTATION_PREFIX: Final = f"port.{GROUP}/"
#: Namespaces labelled ``hostport.rmb938.com: "true"`` are managed by the pod webhooks.
NAMESPACE_LABEL: Final = GROUP
NAMESPACE_LABEL_VALUE: Final = "true"
#: Pods that use claims carry this label, so the operator watches only those pods.
POD_LABEL: Final = f"{GROUP}/uses-claims"

#: Keeps a claim while a pod uses it, a HostPort while its claim exists, a class while it has
#: HostPorts.
FINALIZER: Final = f"{GROUP}/protection"

PORT_MIN: Final = 1
PORT_MAX: Final = 65535

HOSTPORT_NAME_PREFIX: Final = "port-"

#: Pod (template) annotation ``template.hostport.rmb938.com/<portName>: <className>``: the pod
#: gets its own claim ``<podName>-<portName>`` of that class, made at pod CREATE.
TEMPLATE_ANNOTATION_PREFIX: Final = f"template.{GROUP}/"
#: StatefulSet annotations, the shape of ``persistentVolumeClaimRetentionPolicy``: what happens
#: to per-pod claims when the StatefulSet is deleted, or scaled below their ordinal.
WHEN_DELETED_ANNOTATION: Final = f"{GROUP}/when-deleted"
WHEN_SCALED_ANNOTATION: Final = f"{GROUP}/when-scaled"
RETENTION_RETAIN: Final = "Retain"
RETENTION_DELETE: Final = "Delete"
#: Labels of a per-pod claim: its StatefulSet's name and its pod's ordinal.
STATEFULSET_LABEL: Final = f"{GROUP}/statefulset"
ORDINAL_LABEL: Final = f"{GROUP}/ordinal"
#: Annotation of a per-pod claim made by hpa's admission webhook, which binds it in the same
#: request: the claim controller leaves such a claim alone for a moment, so that the two do not
#: both allocate a port for it (one of them then released again).
PROVISIONED_ANNOTATION: Final = f"{GROUP}/provisioned-at-admission"
#: Annotation of a claim made at admission for a pod no StatefulSet owns: the pod's name, until
#: hpa sees a pod use the claim. A claim whose pod was never created (refused later in the
#: admission chain) is deleted (hpa/controllers/_unused.py).
AWAITING_POD_ANNOTATION: Final = f"{GROUP}/awaiting-pod"

#: ResourceQuota key of Kubernetes' own object-count quota on claims.
COUNT_QUOTA_KEY: Final = f"count/{PLURAL_CLAIM}.{GROUP}"
#: ResourceQuota key of hpa's per-class claim quota is ``<class>`` + this, the shape of
#: Kubernetes' per-StorageClass ``<class>.storageclass.storage.k8s.io/persistentvolumeclaims``.
CLASS_QUOTA_SUFFIX: Final = f".hostportclass.{GROUP}/{PLURAL_CLAIM}"


def class_quota_key(class_name: str) -> str:
    """The ResourceQuota ``spec.hard`` key that limits claims of one class in a namespace."""
    return f"{class_name}{CLASS_QUOTA_SUFFIX}"


def class_of_quota_key(key: str) -> str | None:
    """The class a per-class quota key limits, or None if ``key`` is not one."""
    name = key.removesuffix(CLASS_QUOTA_SUFFIX)
    return name if name and name != key else None


def hostport_name(port: int) -> str:
    """The name of the HostPort that holds ``port``.

    Raises:
        ValueError: the port is outside 1..65535.
    """
    if not PORT_MIN <= port <= PORT_MAX:
        raise ValueError(f"port {port} is outside {PORT_MIN}..{PORT_MAX}")
    return f"{HOSTPORT_NAME_PREFIX}{port}"


def port_of_hostport_name(name: str) -> int | None:
    """The port a HostPort name stands for, or None if the name is not of the derived form."""
    digits = name.removeprefix(HOSTPORT_NAME_PREFIX)
    if digits == name or not digits.isascii() or not digits.isdigit() or digits[0] == "0":
        return None
    port = int(digits)
    return port if PORT_MIN <= port <= PORT_MAX else None
