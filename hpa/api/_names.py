"""Every name hpa shares with the cluster, spelled in exactly one place.

The group, kinds, annotations and namespace label are those of the Go original
(rmb938/hostport-allocator) so that its README quickstart works unchanged.

A HostPort's name is derived from its port (``port-9000``), and in a per-node class from its
port and slot (``port-9000-2``), so that the API server's name uniqueness makes a second
HostPort for the same port (or pair) impossible: a create answers ``409 AlreadyExists`` instead
(the idea of Kubernetes' KEP-1880 IPAddress objects). :func:`hostport_name` and
:func:`parse_hostport_name` are the only code that knows the format; the CRD's CEL rule is
generated from :data:`HOSTPORT_NAME_PREFIX` and :data:`SLOT_SEPARATOR`.
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
#: Between the port and the slot in a per-node HostPort's name (``port-9000-2``).
SLOT_SEPARATOR: Final = "-"
#: The highest slot a per-node HostPort may name: far above any cluster's node count, and it
#: bounds the index's bitmask of a hand-made HostPort.
SLOT_MAX: Final = 65535

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


def hostport_name(port: int, slot: int | None = None) -> str:
    """The name of the HostPort that holds ``port``, or one slot of it (a per-node class).

    Raises:
        ValueError: the port is outside 1..65535, or the slot outside 0..SLOT_MAX.
    """
    if not PORT_MIN <= port <= PORT_MAX:
        raise ValueError(f"port {port} is outside {PORT_MIN}..{PORT_MAX}")
    if slot is None:
        return f"{HOSTPORT_NAME_PREFIX}{port}"
    if not 0 <= slot <= SLOT_MAX:
        raise ValueError(f"slot {slot} is outside 0..{SLOT_MAX}")
    return f"{HOSTPORT_NAME_PREFIX}{port}{SLOT_SEPARATOR}{slot}"


def parse_hostport_name(name: str) -> tuple[int, int | None] | None:
    """The (port, slot) a HostPort name stands for (slot None for ``port-<n>``), or None if the
    name is not of a derived form."""
    rest = name.removeprefix(HOSTPORT_NAME_PREFIX)
    if rest == name:
        return None
    digits, separator, slot_digits = rest.partition(SLOT_SEPARATOR)
    port = _number(digits)
    if port is None or not PORT_MIN <= port <= PORT_MAX:
        return None
    if not separator:
        return port, None
    slot = _number(slot_digits)
    if slot is None or slot > SLOT_MAX:
        return None
    return port, slot


def port_of_hostport_name(name: str) -> int | None:
    """The port a HostPort name stands for (of either form), or None if it is not derived."""
    parsed = parse_hostport_name(name)
    return None if parsed is None else parsed[0]


def _number(digits: str) -> int | None:
    """A decimal number as ``string(int)`` writes it (no sign, no leading zero), or None."""
    if not digits.isascii() or not digits.isdigit() or (digits[0] == "0" and digits != "0"):
        return None
    return int(digits)
