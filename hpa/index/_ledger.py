"""The port index's state, and the counters every change keeps current.

:class:`PortIndex` answers queries; the ledger holds what they read and applies each change:

- ``held``: every port some HostPort holds (cluster-wide, or one slot of it or more);
- ``whole``: port -> the class of the cluster-wide HostPort that holds it (a dict: it answers
  in O(1) on every change, and its size follows the HostPorts, as the informer's cache does);
  on a per-node class's port, such a HostPort blocks every slot;
- ``slots``: port -> the slots per-node HostPorts hold, as a bitmask (see ``_slots.py``);
- ``coverage``: for each stretch of the port space, the classes whose pools cover it.

A change at one port touches only the classes whose pools cover it (one bisection of
``coverage``): each cluster-wide one counts the port free or not, each per-node one recomputes
its share of the port (free pairs, pairs over capacity, full or not) before and after.
"""

from collections.abc import Collection, Iterable, Iterator

from sortedcontainers import SortedDict

from hpa.index import _coverage, _slots
from hpa.index._class import ClassState
from hpa.index._intervals import IntervalSet

# A per-node class's share of one port: free pairs, pairs over capacity, and whether it is full.
_Share = tuple[int, int, bool]
_Before = list[tuple[ClassState, _Share]]


class Ledger:
    """Classes, held ports and slots; every method keeps the classes' counters exact."""

    def __init__(self) -> None:
        self.classes: dict[str, ClassState] = {}
        self.held = IntervalSet()
        self.whole: dict[int, str] = {}
        self.slots: dict[int, int] = {}
        self.coverage: SortedDict = SortedDict()  # first port of a stretch -> class names

    def class_(self, name: str) -> ClassState:
        """The class's state, made empty if the ledger did not know it."""
        cls = self.classes.get(name)
        if cls is None:
            cls = self.classes[name] = ClassState()
        return cls

    def covering(self, port: int) -> tuple[str, ...]:
        """The classes whose pools contain ``port``."""
        start = next(self.coverage.irange(maximum=port, reverse=True), None)
        return () if start is None else self.coverage[start]

    # --- one port at a time --------------------------------------------------------------

    def hold(self, port: int, class_name: str) -> None:
        """Record a cluster-wide HostPort; nobody may hold the port cluster-wide yet."""
        covering, before = self._before(port)
        was_held = port in self.slots
        cls = self.class_(class_name)
        cls.held.add(port, port)
        self.whole[port] = class_name
        cls.in_pools += class_name in covering
        self._after(port, covering, before, was_held, True)

    def unhold(self, port: int, class_name: str) -> None:
        covering, before = self._before(port)
        cls = self.classes[class_name]
        cls.held.discard(port, port)
        del self.whole[port]
        cls.in_pools -= class_name in covering
        self._after(port, covering, before, True, port in self.slots)

    def hold_slot(self, port: int, slot: int, class_name: str) -> None:
        """Record a per-node HostPort; nobody may hold the slot yet."""
        covering, before = self._before(port)
        was_held = port in self.slots or port in self.whole
        cls = self.class_(class_name)
        bit = 1 << slot
        cls.slots[port] = cls.slots.get(port, 0) | bit
        self.slots[port] = self.slots.get(port, 0) | bit
        cls.pairs += 1
        cls.pairs_in_pools += class_name in covering
        self._after(port, covering, before, was_held, True)

    def unhold_slot(self, port: int, slot: int, class_name: str) -> None:
        covering, before = self._before(port)
        cls = self.classes[class_name]
        _clear(cls.slots, port, 1 << slot)
        _clear(self.slots, port, 1 << slot)
        cls.pairs -= 1
        cls.pairs_in_pools -= class_name in covering
        self._after(port, covering, before, True, port in self.slots or port in self.whole)

    def _before(self, port: int) -> tuple[tuple[str, ...], _Before]:
        """Before a change at ``port``: its covering classes and the per-node ones' shares."""
        covering = self.covering(port)
        sole = len(covering) == 1
        before = [
            (cls, self._share(cls, port, sole))
            for name in covering
            if (cls := self.classes[name]).nodes is not None
        ]
        return covering, before

    def _after(
        self,
        port: int,
        covering: tuple[str, ...],
        before: _Before,
        was_held: bool,
        now_held: bool,
    ) -> None:
        """After a change at ``port``: update ``held`` and the covering classes' counters.

        The caller says whether some HostPort held the port before and after the change: it
        knows, from which kind of holder it added or removed, at the cost of a dict lookup.
        """
        if now_held != was_held:
            (self.held.add if now_held else self.held.discard)(port, port)
            step = -1 if now_held else 1
            for name in covering:
                if (cls := self.classes[name]).nodes is None:
                    cls.free += step
        sole = len(covering) == 1
        for cls, (free, over, full) in before:
            free_now, over_now, full_now = self._share(cls, port, sole)
            cls.free += free_now - free
            cls.over += over_now - over
            if over_now:
                cls.over_ports.add(port)
            else:
                cls.over_ports.discard(port)
            if full_now != full:
                (cls.full.add if full_now else cls.full.discard)(port, port)

    def _share(self, cls: ClassState, port: int, sole: bool) -> _Share:
        """A per-node class's share of a port of its pools (``sole``: no other class's pools
        contain it): the pairs it could hand out, its pairs over capacity, whether it is full."""
        nodes = cls.nodes or 0
        mask = self.slots.get(port, 0)
        holders = mask.bit_count()
        full = holders >= nodes or port in self.whole
        free = 0 if full or not sole else nodes - holders
        over = 0
        if holders > nodes:
            over = (_slots.over(mask, nodes) & cls.slots.get(port, 0)).bit_count()
        return free, over, full

    # --- in bulk -------------------------------------------------------------------------

    def load(self, held: Iterable[tuple[int, str]], slots: Iterable[tuple[int, int, str]]) -> None:
        """Record every HostPort of an empty ledger at once; counters wait for :meth:`recover`.

        Ports are grouped into runs first, so 60,000 cost a sort and one interval insert per
        run rather than per port.
        """
        by_class: dict[str, list[int]] = {}
        for port, class_name in held:
            by_class.setdefault(class_name, []).append(port)
        for class_name, ports in by_class.items():
            cls = self.class_(class_name)
            for port in ports:
                if port in self.whole:
                    raise ValueError(f"port {port} is held by two classes")
                self.whole[port] = class_name
            for start, end in runs(sorted(ports)):
                cls.held.add(start, end)
        for port, slot, class_name in slots:
            bit = 1 << slot
            if self.slots.get(port, 0) & bit:
                raise ValueError(f"slot {slot} of port {port} is held by two HostPorts")
            self.slots[port] = self.slots.get(port, 0) | bit
            cls = self.class_(class_name)
            cls.slots[port] = cls.slots.get(port, 0) | bit
            cls.pairs += 1
        for start, end in runs(sorted({*self.whole, *self.slots})):
            self.held.add(start, end)

    def recover(self, changed: Collection[str]) -> None:
        """Rebuild ``coverage`` and every class's ``own`` and ``shared`` runs from the pools,
        then recount the ``changed`` classes and every per-node one (their free pairs depend on
        which ports they share)."""
        self.coverage = _coverage.coverage({n: c.pools for n, c in self.classes.items()})
        split = _coverage.own_and_shared(self.coverage)
        for name, cls in self.classes.items():
            cls.own, cls.shared = split.get(name, ([], []))
            if name in changed or cls.nodes is not None:
                self.recount(name, cls)

    def recount(self, name: str, cls: ClassState) -> None:
        """Recompute a class's counters from the held ports in its pools: O(held ports in its
        pools) for a per-node class, O(runs) for a cluster-wide one."""
        cls.in_pools = sum(e - s + 1 for s, e in _within(cls.pools, cls.held))
        cls.pairs_in_pools = sum(m.bit_count() for p, m in cls.slots.items() if p in cls.pools)
        cls.full, cls.over, cls.over_ports = IntervalSet(), 0, set()
        if cls.nodes is None:
            cls.free = len(cls.pools) - sum(e - s + 1 for s, e in _within(cls.pools, self.held))
            return
        nodes = cls.nodes
        cls.free = nodes * sum(e - s + 1 for s, e in cls.own)
        full: list[int] = []
        for s, e in _within(cls.pools, self.held):
            for port in range(s, e + 1):
                sole = self.covering(port) == (name,)
                free, over, is_full = self._share(cls, port, sole)
                cls.free += free - nodes if sole else 0
                cls.over += over
                if over:
                    cls.over_ports.add(port)
                if is_full:
                    full.append(port)
        for start, end in runs(full):
            cls.full.add(start, end)


def runs(ports: list[int]) -> Iterator[tuple[int, int]]:
    """Runs of consecutive integers in a sorted list without duplicates."""
    start = prev = None
    for port in ports:
        if prev is not None and port == prev + 1:
            prev = port
            continue
        if start is not None and prev is not None:
            yield start, prev
        start = prev = port
    if start is not None and prev is not None:
        yield start, prev


def _within(pools: IntervalSet, ports: IntervalSet) -> Iterator[tuple[int, int]]:
    """The runs of ``ports`` inside ``pools``, lowest first."""
    for start, end in pools:
        yield from ports.overlap(start, end)


def _clear(masks: dict[int, int], port: int, bit: int) -> None:
    mask = masks[port] & ~bit
    if mask:
        masks[port] = mask
    else:
        del masks[port]
