"""The in-memory port index: which ports each class may hand out and which are held.

Ports are unique cluster-wide: a port held by a HostPort of one class is not free for any
other class whose pools contain it (pools of different classes may overlap). All state is kept
as interval sets, so memory follows fragmentation, not pool size:

- ``_pools[c]``: the ports class ``c`` may hand out;
- ``_held``: every held port, whatever its class;
- ``_held_by[c]``: the ports held by HostPorts of class ``c`` (also those outside its pools).

- ``_coverage``: for each stretch of the port space, the classes whose pools cover it.

A class hands out the ports only it can use before those it shares with overlapping classes,
lowest first within each, so a wide class does not drain the ports a narrow class overlapping
it depends on while it has others. Each class keeps its pools split that way (``own`` and
``shared`` runs, derived from ``_coverage``). The next free port is found per run with one
bisection of ``_held``: the first held run at the run's start, if any, ends just before a free
port. Counts are kept up to date on every change, so reading them is O(1). Holding or
releasing a port touches only the classes whose pools cover it (found by one bisection of
``_coverage``), so it costs O(log n) whatever the number of classes. ``_coverage`` (and with it
``own`` and ``shared``) is rebuilt when pools change, which is rare.

The index is a cache that proposes candidates; the API server is the authority (a HostPort's
name is derived from its port, so a second one for the same port is refused).
"""

import itertools
from collections.abc import Iterable, Iterator, Mapping

import msgspec
from sortedcontainers import SortedDict

from hpa import api
from hpa.index._intervals import IntervalSet


class Counts(msgspec.Struct, frozen=True, kw_only=True):
    """A class's ports: in its pools, held by its HostPorts, free, and held outside its pools."""

    total: int
    allocated: int
    free: int
    outside_pools: int


class _Class:
    """What the index knows of one class; ``free`` and ``in_pools`` are kept as counters.

    ``own`` and ``shared`` split ``pools`` into the runs no other class's pools contain and
    the rest, in the order :meth:`PortIndex.next_free` tries them.
    """

    __slots__ = ("free", "held", "in_pools", "own", "pools", "shared")

    def __init__(self) -> None:
        self.pools = IntervalSet()
        self.held = IntervalSet()
        self.free = 0
        self.in_pools = 0
        self.own: list[tuple[int, int]] = []
        self.shared: list[tuple[int, int]] = []


class PortIndex:
    """Free and held ports per class, with ports unique across all classes."""

    def __init__(self) -> None:
        self._classes: dict[str, _Class] = {}
        self._held = IntervalSet()
        self._coverage: SortedDict = SortedDict()  # first port of a stretch -> class names

    # --- pools ---------------------------------------------------------------------------

    def set_pools(self, class_name: str, pools: Iterable[tuple[int, int]]) -> None:
        """Give a class its pools, replacing the old ones.

        Shrinking a pool never frees or moves a held port: such ports stay held and are
        counted in ``outside_pools``. Costs O(runs) for the class, once per pool edit.
        """
        cls = self._class(class_name)
        cls.pools = IntervalSet()
        for start, end in pools:
            _check_port(start)
            _check_port(end)
            cls.pools.add(start, end)
        self._recount(cls)
        self._recover()

    def remove_class(self, class_name: str) -> None:
        """Forget a class's pools; ports its HostPorts hold stay held."""
        cls = self._classes.get(class_name)
        if cls is None:
            return
        if len(cls.held) == 0:
            del self._classes[class_name]
        else:
            cls.pools = IntervalSet()
            self._recount(cls)
        self._recover()

    def classes(self) -> list[str]:
        """Names of the classes the index knows (with pools, or holding ports)."""
        return sorted(self._classes)

    # --- allocation ----------------------------------------------------------------------

    def next_free(self, class_name: str) -> int | None:
        """The port the class hands out next, or None if it is full: the lowest free port no
        other class's pools contain, else the lowest free port it shares."""
        cls = self._classes.get(class_name)
        if cls is None:
            return None
        for runs in (cls.own, cls.shared):
            for start, end in runs:
                candidate = self._first_unheld(start)
                if candidate <= end:
                    return candidate
        return None

    def in_pools(self, class_name: str, port: int) -> bool:
        """Whether ``port`` lies in the class's pools (held or not)."""
        cls = self._classes.get(class_name)
        return cls is not None and port in cls.pools

    def allocate(self, class_name: str) -> int | None:
        """Hold and return the class's :meth:`next_free` port, or None if it is full."""
        port = self.next_free(class_name)
        if port is not None:
            self._hold(port, class_name)  # next_free() found nobody holding it
        return port

    def hold(self, port: int, class_name: str) -> bool:
        """Mark ``port`` held by a HostPort of ``class_name``.

        Used on rebuild, for every HostPort the watch shows, and when the API answers
        AlreadyExists for a candidate. If another class held the port, it now belongs to this
        one: the API server's object is the truth.

        Returns:
            True if the port was free before.
        """
        _check_port(port)
        owner = self.holder(port)
        if owner == class_name:
            return False
        if owner is not None:
            self._unhold(port, owner)
        self._hold(port, class_name)
        return owner is None

    def release(self, port: int) -> str | None:
        """Free a port; returns the class that held it, or None if it was not held."""
        _check_port(port)
        owner = self.holder(port)
        if owner is not None:
            self._unhold(port, owner)
        return owner

    def holder(self, port: int) -> str | None:
        """The class whose HostPort holds ``port``, or None."""
        if port not in self._held:
            return None
        # The holder's pools nearly always cover the port; others only after a pool shrank.
        for name in self._covering(port):
            if port in self._classes[name].held:
                return name
        return next(name for name, cls in self._classes.items() if port in cls.held)

    def is_held(self, port: int) -> bool:
        """Whether any HostPort holds ``port``."""
        return port in self._held

    # --- reading -------------------------------------------------------------------------

    def counts(self, class_name: str) -> Counts:
        """Ports of a class: total, allocated, free and held outside its pools."""
        cls = self._classes.get(class_name)
        if cls is None:
            return Counts(total=0, allocated=0, free=0, outside_pools=0)
        return Counts(
            total=len(cls.pools),
            allocated=len(cls.held),
            free=cls.free,
            outside_pools=len(cls.held) - cls.in_pools,
        )

    def held(self) -> Iterator[tuple[int, str]]:
        """Every held port with its class, lowest port first per class."""
        for name, cls in self._classes.items():
            for start, end in cls.held:
                for port in range(start, end + 1):
                    yield port, name

    def held_count(self) -> int:
        """How many ports are held, over all classes."""
        return len(self._held)

    # --- rebuild -------------------------------------------------------------------------

    def rebuild(
        self, *, pools: Mapping[str, Iterable[tuple[int, int]]], held: Iterable[tuple[int, str]]
    ) -> None:
        """Replace the whole state: every class's pools and every held port.

        Held ports are grouped into runs first, so 60,000 ports cost a sort and one interval
        insert per run rather than per port.
        """
        self._classes = {}
        self._held = IntervalSet()
        self._coverage = SortedDict()
        by_class: dict[str, list[int]] = {}
        for port, class_name in held:
            _check_port(port)
            by_class.setdefault(class_name, []).append(port)
        for class_name, ports in by_class.items():
            cls = self._class(class_name)
            for start, end in _runs(sorted(ports)):
                if any(True for _ in self._held.overlap(start, end)):
                    raise ValueError(f"a port in {start}..{end} is held by two classes")
                cls.held.add(start, end)
                self._held.add(start, end)
        for class_name, runs in pools.items():
            self.set_pools(class_name, runs)

    # --- internals -----------------------------------------------------------------------

    def _class(self, name: str) -> _Class:
        cls = self._classes.get(name)
        if cls is None:
            cls = self._classes[name] = _Class()
        return cls

    def _first_unheld(self, port: int) -> int:
        """``port`` if nothing holds it, else the first port after the held run it is in."""
        run = self._held.run_at(port)
        return port if run is None else run[1] + 1

    def _hold(self, port: int, class_name: str) -> None:
        cls = self._class(class_name)
        cls.held.add(port, port)
        self._held.add(port, port)
        for name in self._covering(port):
            self._classes[name].free -= 1
            if name == class_name:
                cls.in_pools += 1

    def _unhold(self, port: int, class_name: str) -> None:
        cls = self._classes[class_name]
        cls.held.discard(port, port)
        self._held.discard(port, port)
        for name in self._covering(port):
            self._classes[name].free += 1
            if name == class_name:
                cls.in_pools -= 1

    def _covering(self, port: int) -> tuple[str, ...]:
        """The classes whose pools contain ``port``."""
        start = next(self._coverage.irange(maximum=port, reverse=True), None)
        return () if start is None else self._coverage[start]

    def _recover(self) -> None:
        """Rebuild ``_coverage`` from every class's pools (a sweep over pool boundaries), then
        each class's ``own`` and ``shared`` runs from it."""
        edges: dict[int, list[tuple[str, int]]] = {}
        for name, cls in self._classes.items():
            for start, end in cls.pools:
                edges.setdefault(start, []).append((name, +1))
                edges.setdefault(end + 1, []).append((name, -1))
        coverage: SortedDict = SortedDict()
        active: dict[str, int] = {}
        for port in sorted(edges):
            for name, step in edges[port]:
                active[name] = active.get(name, 0) + step
                if active[name] == 0:
                    del active[name]
            coverage[port] = tuple(sorted(active))
        self._coverage = coverage
        for cls in self._classes.values():
            cls.own, cls.shared = [], []
        for (start, names), (after, _) in itertools.pairwise(coverage.items()):
            for name in names:
                runs = self._classes[name].own if len(names) == 1 else self._classes[name].shared
                if runs and runs[-1][1] == start - 1:
                    runs[-1] = (runs[-1][0], after - 1)
                else:
                    runs.append((start, after - 1))

    def _recount(self, cls: _Class) -> None:
        held_in_pools = sum(
            e - s + 1 for start, end in cls.pools for s, e in self._held.overlap(start, end)
        )
        cls.free = len(cls.pools) - held_in_pools
        cls.in_pools = sum(
            e - s + 1 for start, end in cls.pools for s, e in cls.held.overlap(start, end)
        )


def _runs(ports: list[int]) -> Iterator[tuple[int, int]]:
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


def _check_port(port: int) -> None:
    if not api.PORT_MIN <= port <= api.PORT_MAX:
        raise ValueError(f"port {port} is outside {api.PORT_MIN}..{api.PORT_MAX}")
