"""PortIndex against a plain model (dicts and sets) over random sequences of operations."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from hpa.index import Counts, PortIndex

CLASSES = st.sampled_from(["a", "b", "c"])
PORTS = st.integers(1, 60)
POOLS = st.lists(
    st.tuples(st.integers(1, 60), st.integers(0, 12)).map(lambda t: (t[0], min(t[0] + t[1], 60))),
    max_size=3,
)


class IndexMachine(RuleBasedStateMachine):
    """The index and a model receive the same operations; they must always agree."""

    def __init__(self) -> None:
        super().__init__()
        self.index = PortIndex()
        self.pools: dict[str, set[int]] = {}
        self.held: dict[int, str] = {}

    def _model_next_free(self, cls: str) -> int | None:
        """The lowest free port only ``cls`` can use, else the lowest free one it shares."""
        free = {p for p in self.pools.get(cls, set()) if p not in self.held}
        others = set().union(*(ports for name, ports in self.pools.items() if name != cls))
        return min(free - others, default=None) or min(free, default=None)

    @rule(cls=CLASSES, pools=POOLS)
    def set_pools(self, cls: str, pools: list[tuple[int, int]]) -> None:
        self.index.set_pools(cls, pools)
        self.pools[cls] = {p for s, e in pools for p in range(s, e + 1)}

    @rule(cls=CLASSES)
    def remove_class(self, cls: str) -> None:
        self.index.remove_class(cls)
        self.pools.pop(cls, None)

    @rule(cls=CLASSES)
    def allocate(self, cls: str) -> None:
        expected = self._model_next_free(cls)
        assert self.index.allocate(cls) == expected
        if expected is not None:
            self.held[expected] = cls

    @rule(port=PORTS, cls=CLASSES)
    def hold(self, port: int, cls: str) -> None:
        was_free = port not in self.held
        assert self.index.hold(port, cls) == was_free
        self.held[port] = cls

    @rule(port=PORTS)
    def release(self, port: int) -> None:
        assert self.index.release(port) == self.held.pop(port, None)

    @rule()
    def rebuild(self) -> None:
        """A rebuild from the model's state gives the same index."""
        fresh = PortIndex()
        fresh.rebuild(
            pools={c: _runs(ports) for c, ports in self.pools.items()},
            held=list(self.held.items()),
        )
        for cls in ("a", "b", "c"):
            assert fresh.counts(cls) == self.index.counts(cls)
            assert fresh.next_free(cls) == self.index.next_free(cls)
        self.index = fresh

    @invariant()
    def counts_match(self) -> None:
        for cls in ("a", "b", "c"):
            pool = self.pools.get(cls, set())
            mine = {p for p, c in self.held.items() if c == cls}
            assert self.index.counts(cls) == Counts(
                total=len(pool),
                allocated=len(mine),
                free=len(pool - self.held.keys()),
                outside_pools=len(mine - pool),
            )

    @invariant()
    def holders_match(self) -> None:
        assert dict(self.index.held()) == self.held
        assert self.index.held_count() == len(self.held)

    @invariant()
    def never_offers_a_used_or_foreign_port(self) -> None:
        for cls in ("a", "b", "c"):
            offer = self.index.next_free(cls)
            assert offer == self._model_next_free(cls)
            if offer is not None:
                assert offer not in self.held and offer in self.pools[cls]


def _runs(ports: set[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for p in sorted(ports):
        if runs and runs[-1][1] == p - 1:
            runs[-1] = (runs[-1][0], p)
        else:
            runs.append((p, p))
    return runs


TestIndexMachine = IndexMachine.TestCase
TestIndexMachine.settings = settings(max_examples=200, stateful_step_count=40, deadline=None)


def test_shrinking_a_pool_keeps_held_ports() -> None:
    """A port outside the new pools stays held and is reported, never freed or moved."""
    index = PortIndex()
    index.set_pools("sample", [(9000, 9500)])
    assert index.allocate("sample") == 9000
    index.set_pools("sample", [(9100, 9200)])
    assert index.holder(9000) == "sample"
    assert index.counts("sample") == Counts(total=101, allocated=1, free=101, outside_pools=1)
    assert index.allocate("sample") == 9100


def test_overlapping_classes_share_uniqueness() -> None:
    """A port taken through one class is not offered by another class that overlaps it."""
    index = PortIndex()
    index.set_pools("web", [(9000, 9001)])
    index.set_pools("game", [(9000, 9000)])
    assert index.allocate("game") == 9000
    assert index.allocate("web") == 9001
    assert index.allocate("web") is None
    assert index.counts("web").free == 0


def test_a_class_hands_out_its_own_ports_before_shared_ones() -> None:
    """A wide class leaves the ports a narrow class inside it depends on for last, and then
    lowest first; the narrow class has only shared ports and takes those lowest first."""
    index = PortIndex()
    index.set_pools("wide", [(9000, 9009)])
    index.set_pools("narrow", [(9002, 9004)])
    taken = [index.allocate("wide") for _ in range(7)]
    assert taken == [9000, 9001, 9005, 9006, 9007, 9008, 9009]
    assert index.counts("narrow").free == 3
    assert index.allocate("narrow") == 9002
    assert index.allocate("wide") == 9003
    index.remove_class("narrow")
    index.release(9001)
    assert index.allocate("wide") == 9001


def test_unknown_class_has_nothing_to_offer() -> None:
    """Allocating from a class the index does not know returns None."""
    assert PortIndex().allocate("nope") is None


@pytest.mark.parametrize("port", [0, 65536])
def test_ports_out_of_range_are_refused(port: int) -> None:
    """Holding a port outside 1..65535 is a programming error, said clearly."""
    with pytest.raises(ValueError, match="outside"):
        PortIndex().hold(port, "a")


def test_rebuild_refuses_a_port_held_twice() -> None:
    """Two HostPorts for one port cannot be rebuilt into a consistent index."""
    with pytest.raises(ValueError, match="held by two classes"):
        PortIndex().rebuild(pools={}, held=[(9000, "a"), (9000, "b")])
