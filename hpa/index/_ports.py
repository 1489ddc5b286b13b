"""The in-memory port index: which ports each class may hand out and which are held.

A cluster-wide class hands each port to one HostPort (``port-<n>``). A per-node class hands
each port to as many HostPorts as it has eligible nodes, one per slot (``port-<n>-<slot>``);
docs/per-node.md describes that model. A port held by any HostPort is not free for a
cluster-wide class whose pools contain it (pools of cluster-wide classes may overlap). Pools,
held ports and full ports are interval sets, so their memory follows fragmentation, not pool
size; ``_ledger.py`` lists the state.

A cluster-wide class hands out the ports only it can use before those it shares with
overlapping classes, lowest first within each, so a wide class does not drain the ports a
narrow class overlapping it depends on while it has others. Each class keeps its pools split
that way (``own`` and ``shared`` runs). The next free port is found per run with one bisection
of the held ports: the first held run at the run's start, if any, ends just before a free port.
A per-node class offers only its ``own`` runs (its pools may overlap no other class's; where
they do, it offers nothing) and bisects its own ``full`` set instead: the ports with as many
holders as it has nodes, or a cluster-wide one.

Counts are kept up to date on every change, so reading them is O(1), and holding, releasing or
allocating costs O(log n) whatever the number of classes. Pools change rarely; then every
class's runs are rebuilt and every per-node class recounted (O(held ports in its pools)), as
when its node count changes.

The index is a cache that proposes candidates; the API server is the authority (a HostPort's
name is derived from its port, and slot, so a second one for the same pair is refused).
"""

from collections.abc import Iterable, Iterator, Mapping

from hpa import api
from hpa.index import _slots
from hpa.index._class import ClassState, Counts
from hpa.index._intervals import IntervalSet
from hpa.index._ledger import Ledger


class PortIndex:
    """Free and held ports per class: each port held once, or once per slot in a per-node class."""

    def __init__(self) -> None:
        self._ledger = Ledger()

    # --- pools and nodes -----------------------------------------------------------------

    def set_pools(
        self, class_name: str, pools: Iterable[tuple[int, int]], *, nodes: int | None = None
    ) -> None:
        """Give a class its pools and its mode, replacing the old ones.

        ``nodes`` None makes the class cluster-wide; a count makes it per node, with that many
        eligible nodes (:meth:`set_nodes` changes only the count). Shrinking a pool never frees
        or moves a held port: such ports stay held and are counted in ``outside_pools``. Costs
        O(runs) for every class, plus O(held ports in the pools) for every per-node class, once
        per pool edit.
        """
        if nodes is not None:
            _slots.check_nodes(nodes)
        runs = IntervalSet()
        for start, end in pools:
            _check_port(start)
            _check_port(end)
            runs.add(start, end)
        cls = self._ledger.class_(class_name)
        cls.pools, cls.nodes = runs, nodes
        self._ledger.recover([class_name])

    def set_nodes(self, class_name: str, nodes: int) -> None:
        """Change how many eligible nodes a per-node class has.

        A bound port is never taken back: when nodes go away, the holders beyond the new count
        stay and are reported (:meth:`over_capacity`). Costs O(held ports in its pools).
        """
        _slots.check_nodes(nodes)
        cls = self._ledger.classes.get(class_name)
        if cls is None or cls.nodes is None:
            raise ValueError(f"class {class_name!r} is not per node: give it nodes in set_pools")
        cls.nodes = nodes
        self._ledger.recount(class_name, cls)

    def nodes(self, class_name: str) -> int | None:
        """A per-node class's eligible node count; None for a cluster-wide or unknown class."""
        cls = self._ledger.classes.get(class_name)
        return None if cls is None else cls.nodes

    def remove_class(self, class_name: str) -> None:
        """Forget a class's pools and mode; ports its HostPorts hold stay held."""
        cls = self._ledger.classes.get(class_name)
        if cls is None:
            return
        if cls.is_empty():
            del self._ledger.classes[class_name]
            self._ledger.recover([])
        else:
            cls.pools, cls.nodes = IntervalSet(), None
            self._ledger.recover([class_name])

    def classes(self) -> list[str]:
        """Names of the classes the index knows (with pools, or holding ports)."""
        return sorted(self._ledger.classes)

    # --- allocation ----------------------------------------------------------------------

    def next_free(self, class_name: str) -> int | None:
        """The port a cluster-wide class hands out next, or None if it is full: the lowest
        free port no other class's pools contain, else the lowest free port it shares."""
        cls = self._mode(class_name, per_node=False)
        if cls is None:
            return None
        for runs in (cls.own, cls.shared):
            for start, end in runs:
                candidate = _after_run(self._ledger.held, start)
                if candidate <= end:
                    return candidate
        return None

    def next_slot(self, class_name: str) -> tuple[int, int] | None:
        """The (port, slot) a per-node class hands out next, or None if it has none: the
        lowest port of its own pools with fewer holders than nodes and no cluster-wide one,
        and its lowest free slot (below the node count, as there are fewer holders)."""
        cls = self._mode(class_name, per_node=True)
        if cls is None or cls.nodes == 0:
            return None
        for start, end in cls.own:
            port = _after_run(cls.full, start)
            if port <= end:
                return port, _slots.lowest_free(self._ledger.slots.get(port, 0))
        return None

    def in_pools(self, class_name: str, port: int) -> bool:
        """Whether ``port`` lies in the class's pools (held or not)."""
        cls = self._ledger.classes.get(class_name)
        return cls is not None and port in cls.pools

    def allocate(self, class_name: str) -> int | None:
        """Hold and return the class's :meth:`next_free` port, or None if it is full."""
        port = self.next_free(class_name)
        if port is not None:
            self._ledger.hold(port, class_name)  # next_free() found nobody holding it
        return port

    def allocate_slot(self, class_name: str) -> tuple[int, int] | None:
        """Hold and return the class's :meth:`next_slot` pair, or None if it has none."""
        pair = self.next_slot(class_name)
        if pair is not None:
            self._ledger.hold_slot(*pair, class_name)  # next_slot() found the slot free
        return pair

    def hold(self, port: int, class_name: str, *, slot: int | None = None) -> bool:
        """Mark ``port`` (or one slot of it) held by a HostPort of ``class_name``.

        Used on rebuild, for every HostPort the watch shows, and when the API answers
        AlreadyExists for a candidate. If another class held it, it now belongs to this one:
        the API server's object is the truth. A cluster-wide HostPort and per-node ones may
        hold the same port (their names differ); the index then offers it to no class.

        Returns:
            True if nobody held it before: no cluster-wide HostPort the port, or no
            per-node HostPort the slot, if given.
        """
        _check_port(port)
        if slot is not None:
            _slots.check_slot(slot)
        owner = self.holder(port, slot=slot)
        if owner == class_name:
            return False
        if slot is None:
            if owner is not None:
                self._ledger.unhold(port, owner)
            self._ledger.hold(port, class_name)
        else:
            if owner is not None:
                self._ledger.unhold_slot(port, slot, owner)
            self._ledger.hold_slot(port, slot, class_name)
        return owner is None

    def release(self, port: int, *, slot: int | None = None) -> str | None:
        """Free a port (one slot of it, if given); returns the class that held it, or None."""
        _check_port(port)
        owner = self.holder(port, slot=slot)
        if owner is not None:
            if slot is None:
                self._ledger.unhold(port, owner)
            else:
                self._ledger.unhold_slot(port, slot, owner)
        return owner

    def holder(self, port: int, *, slot: int | None = None) -> str | None:
        """The class whose cluster-wide HostPort holds ``port`` (or whose per-node HostPort
        holds that slot of it), or None."""
        ledger = self._ledger
        if slot is None:
            return ledger.whole.get(port)
        bit = 1 << slot
        if not ledger.slots.get(port, 0) & bit:
            return None

        def holds(cls: ClassState) -> bool:
            return bool(cls.slots.get(port, 0) & bit)

        # The holder's pools nearly always cover the port; others only after a pool shrank.
        for name in ledger.covering(port):
            if holds(ledger.classes[name]):
                return name
        return next(name for name, cls in ledger.classes.items() if holds(cls))

    def is_held(self, port: int) -> bool:
        """Whether any HostPort holds ``port`` (or a slot of it)."""
        return port in self._ledger.held

    def slot_holders(self, port: int) -> int:
        """How many per-node HostPorts hold a slot of ``port`` (of any class). A read only:
        a static claim of a per-node class may take a slot only below its node count."""
        return self._ledger.slots.get(port, 0).bit_count()

    def over_capacity(self, class_name: str) -> list[tuple[int, int]]:
        """The (port, slot) pairs of a per-node class's HostPorts that are beyond their port's
        node count: on each port of its pools with more holders than nodes, the highest slots.
        Costs O(pairs returned)."""
        cls = self._ledger.classes.get(class_name)
        if cls is None or cls.nodes is None:
            return []
        return [
            (port, slot)
            for port in sorted(cls.over_ports)
            for slot in _slots.slots(
                _slots.over(self._ledger.slots[port], cls.nodes) & cls.slots.get(port, 0)
            )
        ]

    # --- reading -------------------------------------------------------------------------

    def counts(self, class_name: str) -> Counts:
        """A class's total, allocated, free, outside-pools and over-capacity figures."""
        cls = self._ledger.classes.get(class_name)
        if cls is None:
            return Counts(total=0, allocated=0, free=0, outside_pools=0)
        return cls.counts()

    def held(self) -> Iterator[tuple[int, str]]:
        """Every port a cluster-wide HostPort holds, with its class, lowest first per class."""
        for name, cls in self._ledger.classes.items():
            for start, end in cls.held:
                for port in range(start, end + 1):
                    yield port, name

    def held_slots(self) -> Iterator[tuple[int, int, str]]:
        """Every (port, slot) a per-node HostPort holds, with its class, lowest first per class."""
        for name, cls in self._ledger.classes.items():
            for port in sorted(cls.slots):
                for slot in _slots.slots(cls.slots[port]):
                    yield port, slot, name

    def held_count(self) -> int:
        """How many HostPorts the index knows: each port or (port, slot) held, over all classes."""
        return len(self._ledger.whole) + sum(c.pairs for c in self._ledger.classes.values())

    # --- rebuild -------------------------------------------------------------------------

    def rebuild(
        self,
        *,
        pools: Mapping[str, Iterable[tuple[int, int]]],
        held: Iterable[tuple[int, str]],
        slots: Iterable[tuple[int, int, str]] = (),
        nodes: Mapping[str, int] | None = None,
    ) -> None:
        """Replace the whole state: every class's pools and mode, and every held port.

        ``held`` lists the cluster-wide HostPorts as (port, class), ``slots`` the per-node ones
        as (port, slot, class); ``nodes`` gives each per-node class its eligible node count
        (a class not in it is cluster-wide).
        """
        held, slots, nodes = list(held), list(slots), dict(nodes or {})
        for port, _ in held:
            _check_port(port)
        for port, slot, _ in slots:
            _check_port(port)
            _slots.check_slot(slot)
        for count in nodes.values():
            _slots.check_nodes(count)
        ledger = Ledger()
        ledger.load(held, slots)
        for class_name in {*pools, *nodes}:
            cls = ledger.class_(class_name)
            for start, end in pools.get(class_name, ()):
                _check_port(start)
                _check_port(end)
                cls.pools.add(start, end)
            cls.nodes = nodes.get(class_name)
        ledger.recover(list(ledger.classes))
        self._ledger = ledger

    # --- internals -----------------------------------------------------------------------

    def _mode(self, name: str, *, per_node: bool) -> ClassState | None:
        """The class, if known; asking a class of the other mode is a programming error."""
        cls = self._ledger.classes.get(name)
        if cls is not None and (cls.nodes is not None) != per_node:
            mode, ask = ("cluster-wide", "next_free") if per_node else ("per node", "next_slot")
            raise ValueError(f"class {name!r} is {mode}: ask {ask}")
        return cls


def _after_run(intervals: IntervalSet, port: int) -> int:
    """``port`` if ``intervals`` lacks it, else the first port after the run it is in."""
    run = intervals.run_at(port)
    return port if run is None else run[1] + 1


def _check_port(port: int) -> None:
    if not api.PORT_MIN <= port <= api.PORT_MAX:
        raise ValueError(f"port {port} is outside {api.PORT_MIN}..{api.PORT_MAX}")
