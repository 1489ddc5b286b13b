"""The schema of per-node classes: a class's allocation mode and node selector, a HostPort's
slot, and the CEL rule that ties a HostPort's name to its port and slot.

A cluster-wide class (the default, the Go original's semantics) hands each port to one claim
in the cluster. A per-node class hands each port to one claim per eligible node: its HostPorts
are named ``port-<n>-<slot>``, the slot counting the port's holders (docs/per-node.md).
"""

from typing import Annotated, Final

import msgspec

from hpa.api import _names, _rules

ALLOCATION_CLUSTER_WIDE: Final = "ClusterWide"
ALLOCATION_PER_NODE: Final = "PerNode"
ALLOCATIONS: Final = (ALLOCATION_CLUSTER_WIDE, ALLOCATION_PER_NODE)

#: Most labels a class's nodeSelector may name.
MAX_NODE_SELECTOR_LABELS: Final = 32

Allocation = Annotated[
    str,
    msgspec.Meta(
        description="ClusterWide (the default): each port is held by one claim in the cluster. "
        "PerNode: each port is held by up to one claim per eligible node, and the scheduler "
        "keeps two pods with the same host port off one node. Immutable.",
        extra_json_schema={
            "enum": list(ALLOCATIONS),
            # The API server defaults it on create and on read, so a class stored before the
            # field existed reads as ClusterWide and the immutability rule holds for it too.
            "default": ALLOCATION_CLUSTER_WIDE,
            "x-kubernetes-validations": [_rules.immutable("allocation")],
        },
    ),
]

NodeSelector = Annotated[
    dict[str, Annotated[str, msgspec.Meta(max_length=63)]],
    msgspec.Meta(
        description="PerNode only: the labels a node must have (all of them, as matchLabels) "
        "to be eligible. Unset: every node. A cordoned node is never eligible. hpa adds it to "
        "the pods of the class's claims as required node affinity.",
        extra_json_schema={"maxProperties": MAX_NODE_SELECTOR_LABELS},
    ),
]

CLASS_SPEC_RULES: Final = [
    _rules.rule(
        "!has(self.nodeSelector) || size(self.nodeSelector) == 0 || "
        f"(has(self.allocation) && self.allocation == '{ALLOCATION_PER_NODE}')",
        f"nodeSelector applies only to allocation {ALLOCATION_PER_NODE}; remove it, or create "
        f"the class with allocation: {ALLOCATION_PER_NODE}",
        field_path=".nodeSelector",
    )
]

Slot = Annotated[
    int,
    msgspec.Meta(
        ge=0,
        le=_names.SLOT_MAX,
        description="Per-node classes only: which holder of the port this is (a count, not a "
        "node: the scheduler places the pods). The name is port-<port>-<slot>. Immutable.",
    ),
]

HOSTPORT_SLOT_RULE: Final = _rules.rule(
    "has(self.slot) == has(oldSelf.slot) && (!has(self.slot) || self.slot == oldSelf.slot)",
    "slot is immutable; delete and re-create the HostPort",
    field_path=".slot",
)

_NAME: Final = "self.metadata.name"
_PORT: Final = "string(self.spec.port)"
_START: Final = len(_names.HOSTPORT_NAME_PREFIX)
_END: Final = f"{_START} + size({_PORT})"  # where the port's digits end in the name
_SEPARATOR_END: Final = f"{_START + len(_names.SLOT_SEPARATOR)} + size({_PORT})"

#: Rules on the whole object (CEL may read metadata.name at the root). The name is cut, not the
#: port's string built up: cel-go's cost estimator cannot bound the size of a concatenation, so
#: kube-apiserver refuses ``name == 'port-' + string(port)`` as 100 times over the CRD's budget.
#: The size test comes first, so that no ``substring`` runs out of the name's range.
HOSTPORT_ROOT_RULES: Final = [
    _rules.rule(
        f"has(self.spec.slot) || ({_NAME}.startsWith('{_names.HOSTPORT_NAME_PREFIX}') && "
        f"{_NAME}.substring({_START}) == {_PORT})",
        f"metadata.name must be {_names.HOSTPORT_NAME_PREFIX}<spec.port>, "
        f"e.g. {_names.hostport_name(9000)} for port 9000",
    ),
    _rules.rule(
        f"!has(self.spec.slot) || (size({_NAME}) > {_SEPARATOR_END} && "
        f"{_NAME}.startsWith('{_names.HOSTPORT_NAME_PREFIX}') && "
        f"{_NAME}.substring({_START}, {_END}) == {_PORT} && "
        f"{_NAME}.substring({_END}, {_SEPARATOR_END}) == '{_names.SLOT_SEPARATOR}' && "
        f"{_NAME}.substring({_SEPARATOR_END}) == string(self.spec.slot))",
        f"metadata.name must be {_names.HOSTPORT_NAME_PREFIX}<spec.port>"
        f"{_names.SLOT_SEPARATOR}<spec.slot>, e.g. {_names.hostport_name(9000, 2)} for port "
        "9000, slot 2",
    ),
]
