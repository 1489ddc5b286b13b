"""Wire types of the three kinds: HostPortClass, HostPortClaim and HostPort.

The CRDs are generated from these Structs (see ``_crds.py``): bounds, patterns, enums and
descriptions given here with ``msgspec.Meta`` become the OpenAPI schema, and CEL rules given as
``x-kubernetes-validations`` in ``extra_json_schema`` become the API server's own checks, so the
invariants hold even while the webhook is down.
"""

import datetime as dt
from typing import Annotated, Final

import msgspec

from hpa.api import _meta, _names, _per_node, _rules, _wire

PHASE_PENDING: Final = "Pending"
PHASE_BOUND: Final = "Bound"
PHASE_ALLOCATED: Final = "Allocated"
PHASE_DELETING: Final = "Deleting"
#: A HostPort whose claim is gone, kept (reclaim policy Retain, or cooling for the reuse delay).
PHASE_RELEASED: Final = "Released"
#: A HostPort an administrator created without a claimRef: held, handed only to a static claim.
PHASE_RESERVED: Final = "Reserved"

CLAIM_PHASES: Final = (PHASE_PENDING, PHASE_BOUND, PHASE_DELETING)
HOSTPORT_PHASES: Final = (
    PHASE_PENDING,
    PHASE_ALLOCATED,
    PHASE_RELEASED,
    PHASE_RESERVED,
    PHASE_DELETING,
)

RECLAIM_DELETE: Final = "Delete"
RECLAIM_RETAIN: Final = "Retain"
RECLAIM_POLICIES: Final = (RECLAIM_DELETE, RECLAIM_RETAIN)

#: Longest reuse delay a class may ask for (one day).
MAX_REUSE_DELAY: Final = 86400

#: Most pools a class may have; bounds the cost of the no-overlap CEL rule (n² comparisons).
MAX_POOLS: Final = 64

Port = Annotated[
    int,
    msgspec.Meta(ge=_names.PORT_MIN, le=_names.PORT_MAX, description="A TCP/UDP port number."),
]

ObjectName = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=253,
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
        description="The name of a Kubernetes object (a DNS subdomain).",
    ),
]


_rule = _rules.rule
_immutable = _rules.immutable


Conditions = Annotated[
    tuple[_meta.Condition, ...],
    msgspec.Meta(
        description="The latest observations of the object's state (metav1.Condition).",
        extra_json_schema={
            "x-kubernetes-list-type": "map",
            "x-kubernetes-list-map-keys": ["type"],
            "maxItems": 16,
        },
    ),
]


# --- HostPortClass -------------------------------------------------------------------------


class PortPool(_wire.Wire, frozen=True, kw_only=True):
    """An inclusive range of ports, ``start`` to ``end``."""

    start: Port
    end: Port


Pools = Annotated[
    tuple[
        Annotated[
            PortPool,
            msgspec.Meta(
                extra_json_schema={
                    "x-kubernetes-validations": [
                        _rule(
                            "self.start <= self.end",
                            "start must be less than or equal to end",
                            field_path=".start",
                        )
                    ]
                }
            ),
        ],
        ...,
    ],
    msgspec.Meta(
        min_length=1,
        max_length=MAX_POOLS,
        description="Ranges of ports this class hands out. Pools of one class must not overlap.",
        extra_json_schema={
            "x-kubernetes-list-type": "atomic",
            "x-kubernetes-validations": [
                _rule(
                    # A backwards pool (start > end) is the start <= end rule's to report:
                    # it overlaps nothing, not even itself.
                    "self.all(a, a.start > a.end || "
                    "self.exists_one(b, b.start <= b.end && a.start <= b.end && b.start <= a.end))",
                    "pools of one class must not overlap; merge or split them",
                )
            ],
        },
    ),
]


ReclaimPolicy = Annotated[
    str,
    msgspec.Meta(
        description="What happens to a HostPort when its claim is deleted: Delete frees the "
        "port; Retain keeps the HostPort (phase Released) until an administrator deletes it.",
        extra_json_schema={"enum": list(RECLAIM_POLICIES)},
    ),
]


class HostPortClassSpec(_wire.Wire, frozen=True, kw_only=True):
    """The pools of ports a class hands out, and what happens to a port once released."""

    pools: Pools
    allocation: _per_node.Allocation = _per_node.ALLOCATION_CLUSTER_WIDE
    node_selector: _per_node.NodeSelector = msgspec.field(default_factory=dict)
    reclaim_policy: ReclaimPolicy = RECLAIM_DELETE
    reuse_delay_seconds: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            le=MAX_REUSE_DELAY,
            description="Seconds a port released by a claim of this class stays held (HostPort "
            "phase Released) before it may be handed out again. 0 frees it at once.",
        ),
    ] = 0

    @property
    def per_node(self) -> bool:
        """Whether each port is held once per eligible node (else once in the cluster)."""
        return self.allocation == _per_node.ALLOCATION_PER_NODE


class HostPortClassStatus(_wire.Wire, frozen=True, kw_only=True):
    """How many of the class's ports are taken."""

    ranges: Annotated[
        str, msgspec.Meta(description="The pools as text, e.g. 9000-9500,10000-10100.")
    ] = ""
    total: Annotated[
        int,
        msgspec.Meta(
            ge=0, description="Ports in the pools; for PerNode, ports in the pools times nodes."
        ),
    ] = 0
    nodes: Annotated[
        int, msgspec.Meta(ge=0, description="PerNode: the eligible nodes; unset for ClusterWide.")
    ] = 0
    allocated: Annotated[
        int, msgspec.Meta(ge=0, description="Ports held by HostPorts of this class.")
    ] = 0
    free: Annotated[
        int,
        msgspec.Meta(
            ge=0, description="Ports in the pools held by no HostPort, of this class or another."
        ),
    ] = 0
    outside_pools: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            description="Ports held by HostPorts of this class that its pools no longer contain.",
        ),
    ] = 0
    over_capacity: Annotated[
        int,
        msgspec.Meta(
            ge=0,
            description="PerNode: HostPorts beyond their port's eligible node count, after "
            "nodes went away; they keep their port.",
        ),
    ] = 0
    observed_generation: Annotated[int, msgspec.Meta(ge=0)] = 0
    conditions: Conditions = ()


class HostPortClass(_wire.Wire, frozen=True, kw_only=True):
    """Pools of host ports that claims of this class are given ports from."""

    api_version: str = _names.API_VERSION
    kind: str = _names.KIND_CLASS
    metadata: _meta.ObjectMeta = _meta.ObjectMeta()
    spec: Annotated[
        HostPortClassSpec,
        msgspec.Meta(extra_json_schema={"x-kubernetes-validations": _per_node.CLASS_SPEC_RULES}),
    ]
    status: HostPortClassStatus = HostPortClassStatus()


# --- HostPortClaim -------------------------------------------------------------------------


class HostPortClaimSpec(_wire.Wire, frozen=True, kw_only=True):
    """What a claim asks for."""

    host_port_class_name: Annotated[
        ObjectName,
        msgspec.Meta(
            description="The HostPortClass to take a port from.",
            extra_json_schema={"x-kubernetes-validations": [_immutable("hostPortClassName")]},
        ),
    ]
    host_port_name: Annotated[
        ObjectName,
        msgspec.Meta(description="The HostPort bound to this claim; set by hpa, once."),
    ] = ""
    port: (
        Annotated[
            Port,
            msgspec.Meta(
                description="A specific port to claim (a static port); it must lie in the "
                "class's pools. Unset: hpa picks the lowest free one, taking ports no other "
                "class's pools contain before shared ones. Immutable."
            ),
        ]
        | None
    ) = None
    reclaim_policy: (
        Annotated[
            ReclaimPolicy,
            msgspec.Meta(description="Overrides the class's reclaimPolicy for this claim."),
        ]
        | None
    ) = None


_CLAIM_SPEC_RULES: Final = [
    _rule(
        "!has(oldSelf.hostPortName) || "
        "(has(self.hostPortName) && self.hostPortName == oldSelf.hostPortName)",
        "hostPortName is set once, when the claim is bound, and never changes",
        field_path=".hostPortName",
    ),
    _rule(
        "has(self.port) == has(oldSelf.port) && (!has(self.port) || self.port == oldSelf.port)",
        "port is immutable; delete and re-create the claim",
        field_path=".port",
    ),
]


class HostPortClaimStatus(_wire.Wire, frozen=True, kw_only=True):
    """Where a claim stands."""

    phase: Annotated[
        str,
        msgspec.Meta(
            description="Pending, Bound or Deleting.",
            extra_json_schema={"enum": list(CLAIM_PHASES)},
        ),
    ] = ""
    port: Annotated[int, msgspec.Meta(ge=0, le=_names.PORT_MAX, description="The bound port.")] = 0
    observed_generation: Annotated[int, msgspec.Meta(ge=0)] = 0
    conditions: Conditions = ()


class HostPortClaim(_wire.Wire, frozen=True, kw_only=True):
    """A namespace's request for one host port from a class."""

    api_version: str = _names.API_VERSION
    kind: str = _names.KIND_CLAIM
    metadata: _meta.ObjectMeta = _meta.ObjectMeta()
    spec: Annotated[
        HostPortClaimSpec,
        msgspec.Meta(extra_json_schema={"x-kubernetes-validations": _CLAIM_SPEC_RULES}),
    ]
    status: HostPortClaimStatus = HostPortClaimStatus()


# --- HostPort ------------------------------------------------------------------------------


class ClaimRef(_wire.Wire, frozen=True, kw_only=True):
    """The claim a HostPort is bound to."""

    namespace: ObjectName
    name: ObjectName
    uid: Annotated[str, msgspec.Meta(max_length=64)] = ""


class HostPortSpec(_wire.Wire, frozen=True, kw_only=True):
    """The port a HostPort holds and for whom."""

    host_port_class_name: Annotated[
        ObjectName,
        msgspec.Meta(
            description="The class the port was taken from.",
            extra_json_schema={"x-kubernetes-validations": [_immutable("hostPortClassName")]},
        ),
    ]
    port: Annotated[
        Port,
        msgspec.Meta(
            description="The port held. The object's name is derived from it (port-<port>, "
            "or port-<port>-<slot> in a per-node class).",
            extra_json_schema={"x-kubernetes-validations": [_immutable("port")]},
        ),
    ]
    slot: _per_node.Slot | None = None
    claim_ref: (
        Annotated[ClaimRef, msgspec.Meta(description="The claim this port is bound to.")] | None
    ) = None
    reclaim_policy: (
        Annotated[
            ReclaimPolicy,
            msgspec.Meta(
                description="Copied from the claim or class when the HostPort is created; "
                "unset means the class's policy at release time."
            ),
        ]
        | None
    ) = None


_HOSTPORT_SPEC_RULES: Final = [
    _rule(
        "!has(oldSelf.claimRef) || (has(self.claimRef) && self.claimRef == oldSelf.claimRef)",
        "claimRef is set once and never changes",
        field_path=".claimRef",
    ),
    _per_node.HOSTPORT_SLOT_RULE,
]


class HostPortStatus(_wire.Wire, frozen=True, kw_only=True):
    """Where a HostPort stands."""

    phase: Annotated[
        str,
        msgspec.Meta(
            description="Pending, Allocated, Released, Reserved or Deleting.",
            extra_json_schema={"enum": list(HOSTPORT_PHASES)},
        ),
    ] = ""
    released_at: (
        Annotated[
            dt.datetime,
            msgspec.Meta(
                description="When the claim let the port go; with the class's "
                "reuseDelaySeconds, when it may be handed out again."
            ),
        ]
        | None
    ) = None
    observed_generation: Annotated[int, msgspec.Meta(ge=0)] = 0
    conditions: Conditions = ()


class HostPort(_wire.Wire, frozen=True, kw_only=True):
    """One host port held, cluster-wide or on one slot; its name is derived from both."""

    api_version: str = _names.API_VERSION
    kind: str = _names.KIND_HOSTPORT
    metadata: _meta.ObjectMeta = _meta.ObjectMeta()
    spec: Annotated[
        HostPortSpec,
        msgspec.Meta(extra_json_schema={"x-kubernetes-validations": _HOSTPORT_SPEC_RULES}),
    ]
    status: HostPortStatus = HostPortStatus()


HOSTPORT_ROOT_RULES: Final = _per_node.HOSTPORT_ROOT_RULES
