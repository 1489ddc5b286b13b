"""What the index keeps per class, and the counts it reports for one."""

import msgspec

from hpa.index._coverage import Runs
from hpa.index._intervals import IntervalSet


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    """A class's ports: in its pools, held by its HostPorts, free, and held outside its pools.

    For a per-node class every figure counts (port, slot) pairs: ``total`` is pool ports times
    eligible nodes, ``free`` the pairs it can still hand out, and ``over_capacity`` how many
    of its pairs in its pools sit beyond their port's node count (after nodes went away).
    ``over_capacity`` is always 0 for a cluster-wide class.
    """

    total: int
    allocated: int
    free: int
    outside_pools: int
    over_capacity: int = 0


class ClassState:
    """One class: its pools, its HostPorts, and counters kept current on every change.

    ``nodes`` is None for a cluster-wide class, else its eligible node count. ``held`` holds
    the ports of its cluster-wide HostPorts, ``slots`` those of its per-node ones (port -> the
    slots, as a bitmask); a class may have both after its mode changed. ``free`` is the ports
    it could hand out (cluster-wide) or the (port, slot) pairs (per node). ``own`` and
    ``shared`` split ``pools`` into the runs no other class's pools contain and the rest, in
    the order allocation tries them (a per-node class tries only ``own``). ``full``, ``over``
    and ``over_ports`` are kept for a per-node class only: the ports of its pools that take no
    more holders, how many of its pairs are over capacity, and the ports they are on.
    """

    __slots__ = (
        "free",
        "full",
        "held",
        "in_pools",
        "nodes",
        "over",
        "over_ports",
        "own",
        "pairs",
        "pairs_in_pools",
        "pools",
        "shared",
        "slots",
    )

    def __init__(self) -> None:
        self.pools = IntervalSet()
        self.nodes: int | None = None
        self.held = IntervalSet()
        self.slots: dict[int, int] = {}
        self.pairs = 0
        self.free = 0
        self.in_pools = 0
        self.pairs_in_pools = 0
        self.own: Runs = []
        self.shared: Runs = []
        self.full = IntervalSet()
        self.over = 0
        self.over_ports: set[int] = set()

    def counts(self) -> Counts:
        allocated = len(self.held) + self.pairs
        total = len(self.pools) if self.nodes is None else len(self.pools) * self.nodes
        return Counts(
            total=total,
            allocated=allocated,
            free=self.free,
            outside_pools=allocated - self.in_pools - self.pairs_in_pools,
            over_capacity=self.over,
        )

    def is_empty(self) -> bool:
        """Whether no HostPort of the class is left."""
        return len(self.held) == 0 and not self.slots
