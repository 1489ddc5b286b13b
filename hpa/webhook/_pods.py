"""A projection of the Pod: the fields the pod webhooks read, and where they live.

Only metadata, the containers' ports and ``hostNetwork`` are decoded; everything else in the pod
is skipped by the decoder. :class:`PortRef` remembers where each port sits, both as the field
path a denial names (``spec.containers[0].ports[1]``) and as the JSON pointer a patch writes to.
"""

import re
from collections.abc import Iterator, Mapping
from typing import Any, Final

import msgspec

from hpa import api


class ContainerPort(api.Wire, frozen=True, kw_only=True):
    """``containers[].ports[]``."""

    name: str = ""
    container_port: int = 0
    host_port: int = 0
    protocol: str = "TCP"


class Container(api.Wire, frozen=True, kw_only=True):
    """A container, init container or ephemeral container."""

    name: str = ""
    ports: tuple[ContainerPort, ...] = ()


class PodSpec(api.Wire, frozen=True, kw_only=True):
    """``spec``: the containers, the network mode and the affinity (kept as sent, to be
    merged with a per-node class's nodes)."""

    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    ephemeral_containers: tuple[Container, ...] = ()
    host_network: bool = False
    affinity: dict[str, Any] | None = None


class PodMeta(api.Wire, frozen=True, kw_only=True):
    """``metadata``: the name, labels and annotations."""

    name: str = ""
    generate_name: str = ""
    namespace: str = ""
    labels: dict[str, str] = {}
    annotations: dict[str, str] = {}
    owner_references: tuple[api.OwnerReference, ...] = ()


class Pod(api.Wire, frozen=True, kw_only=True):
    """The part of a Pod the webhooks read."""

    metadata: PodMeta = PodMeta()
    spec: PodSpec = PodSpec()


#: The container lists of a pod spec, as spelled on the wire.
SECTIONS: Final = ("containers", "initContainers", "ephemeralContainers")


class PortRef(msgspec.Struct, frozen=True, kw_only=True):
    """One container port and where it sits in the pod."""

    section: str
    container_index: int
    port_index: int
    port: ContainerPort

    @property
    def field(self) -> str:
        """The field path, as denials name it."""
        return f"spec.{self.section}[{self.container_index}].ports[{self.port_index}]"

    @property
    def tokens(self) -> tuple[str | int, ...]:
        """The JSON pointer tokens of the port."""
        return ("spec", self.section, self.container_index, "ports", self.port_index)


def ports(pod: Pod) -> Iterator[PortRef]:
    """Every container port of the pod, containers first, then init and ephemeral ones."""
    lists = (pod.spec.containers, pod.spec.init_containers, pod.spec.ephemeral_containers)
    for section, containers in zip(SECTIONS, lists, strict=True):
        for ci, container in enumerate(containers):
            for pi, port in enumerate(container.ports):
                yield PortRef(section=section, container_index=ci, port_index=pi, port=port)


def claim_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    """Port name → claim name, from the ``claim.hostport.rmb938.com/<portName>`` annotations."""
    return _with_prefix(annotations, api.CLAIM_ANNOTATION_PREFIX)


def template_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    """Port name → class name, from ``template.hostport.rmb938.com/<portName>`` annotations."""
    return _with_prefix(annotations, api.TEMPLATE_ANNOTATION_PREFIX)


def port_annotations(annotations: Mapping[str, str]) -> dict[str, str]:
    """Port name → port (as text), from the ``port.hostport.rmb938.com/<portName>`` annotations."""
    return _with_prefix(annotations, api.PORT_ANNOTATION_PREFIX)


def _with_prefix(annotations: Mapping[str, str], prefix: str) -> dict[str, str]:
    return {k.removeprefix(prefix): v for k, v in annotations.items() if k.startswith(prefix)}


def claim_field(port_name: str) -> str:
    """The field path of a claim annotation."""
    return f"metadata.annotations[{api.CLAIM_ANNOTATION_PREFIX}{port_name}]"


def port_field(port_name: str) -> str:
    """The field path of a port annotation."""
    return f"metadata.annotations[{api.PORT_ANNOTATION_PREFIX}{port_name}]"


# IANA_SVC_NAME, as Kubernetes validates container port names: at most 15 characters, lowercase
# letters, digits and single hyphens inside, at least one letter.
_PORT_NAME: Final = re.compile(r"^[a-z0-9]([a-z0-9]|-(?=[a-z0-9]))*$")
_HAS_LETTER: Final = re.compile(r"[a-z]")


def valid_port_name(name: str) -> bool:
    """Whether ``name`` is a valid container port name (IANA_SVC_NAME)."""
    return len(name) <= 15 and bool(_PORT_NAME.match(name)) and bool(_HAS_LETTER.search(name))
