"""Per-node classes in the PortIndex: one port held once per slot, up to the node count."""

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from hpa.index import SLOT_MAX, Counts, PortIndex


def _index(pools: list[tuple[int, int]], nodes: int) -> PortIndex:
    index = PortIndex()
    index.set_pools("game", pools, nodes=nodes)
    return index


def test_capacity_is_pool_ports_times_nodes() -> None:
    """Ten ports on three nodes are thirty (port, slot) pairs, all free."""
    index = _index([(9000, 9004), (9010, 9014)], nodes=3)
    assert index.counts("game") == Counts(total=30, allocated=0, free=30, outside_pools=0)
    assert index.nodes("game") == 3


def test_each_node_count_of_claims_shares_a_port_then_moves_on() -> None:
    """N claims get the same port on distinct slots; the N+1th gets the next port."""
    index = _index([(9000, 9009)], nodes=3)
    taken = []
    for step in range(4):
        taken.append(index.allocate_slot("game"))
        assert index.counts("game") == Counts(
            total=30, allocated=step + 1, free=30 - step - 1, outside_pools=0
        )
    assert taken == [(9000, 0), (9000, 1), (9000, 2), (9001, 0)]
    assert [index.holder(9000, slot=s) for s in range(4)] == ["game"] * 3 + [None]
    assert index.holder(9000) is None  # no cluster-wide HostPort holds it
    assert index.is_held(9000)


def test_a_full_pool_answers_none() -> None:
    """When every port has a holder per node, nothing more is offered."""
    index = _index([(9000, 9001)], nodes=2)
    assert [index.allocate_slot("game") for _ in range(4)] == [
        (9000, 0),
        (9000, 1),
        (9001, 0),
        (9001, 1),
    ]
    assert index.allocate_slot("game") is None
    assert index.next_slot("game") is None
    assert index.counts("game") == Counts(total=4, allocated=4, free=0, outside_pools=0)


def test_release_frees_the_slot_for_reuse() -> None:
    """A released slot is the next one handed out, on the lowest port that has one."""
    index = _index([(9000, 9001)], nodes=3)
    for _ in range(4):
        index.allocate_slot("game")
    assert index.release(9000, slot=1) == "game"
    assert index.release(9000, slot=1) is None
    assert index.counts("game") == Counts(total=6, allocated=3, free=3, outside_pools=0)
    assert index.allocate_slot("game") == (9000, 1)
    assert index.counts("game") == Counts(total=6, allocated=4, free=2, outside_pools=0)


def test_a_cluster_wide_hold_blocks_every_slot() -> None:
    """A cluster-wide HostPort on a per-node port (hand-made, or from before the class changed
    mode) leaves no slot of it to hand out until it goes."""
    index = _index([(9000, 9001)], nodes=3)
    assert index.allocate_slot("game") == (9000, 0)
    assert index.hold(9000, "other") is True
    assert index.counts("game") == Counts(total=6, allocated=1, free=3, outside_pools=0)
    assert index.allocate_slot("game") == (9001, 0)
    assert index.hold(9001, "game") is True  # the class's own, from its cluster-wide days
    assert index.allocate_slot("game") is None
    assert index.counts("game") == Counts(total=6, allocated=3, free=0, outside_pools=0)
    assert index.release(9000) == "other"
    assert index.counts("game") == Counts(total=6, allocated=3, free=2, outside_pools=0)
    assert index.allocate_slot("game") == (9000, 1)


@pytest.mark.parametrize("other_nodes", [None, 2], ids=["cluster-wide", "per-node"])
def test_a_per_node_class_offers_no_port_another_class_shares(other_nodes: int | None) -> None:
    """Where a per-node class's pools overlap another class's, it offers nothing, whichever
    mode the other class has; a cluster-wide class still offers the overlap."""
    index = _index([(9000, 9003)], nodes=2)
    index.set_pools("other", [(9000, 9001)], nodes=other_nodes)
    assert index.counts("game") == Counts(total=8, allocated=0, free=4, outside_pools=0)
    assert [index.allocate_slot("game") for _ in range(5)] == [
        (9002, 0),
        (9002, 1),
        (9003, 0),
        (9003, 1),
        None,
    ]
    if other_nodes is None:
        assert index.allocate("other") == 9000
    else:
        assert index.allocate_slot("other") is None
    # Once the overlap is gone, its ports are the class's own, but for what "other" still holds.
    index.remove_class("other")
    assert index.counts("game").free == (2 if other_nodes is None else 4)
    assert index.allocate_slot("game") == ((9001, 0) if other_nodes is None else (9000, 0))


def test_shrinking_nodes_keeps_holders_and_reports_the_highest_slots() -> None:
    """When nodes go away no holder is dropped: the ones beyond the node count (highest slots
    first) are reported over capacity, and their ports take no new holder."""
    index = _index([(9000, 9002)], nodes=3)
    for _ in range(7):
        index.allocate_slot("game")  # 9000 and 9001 full, 9002 slot 0
    index.set_nodes("game", 2)
    assert index.over_capacity("game") == [(9000, 2), (9001, 2)]
    assert index.counts("game") == Counts(
        total=6, allocated=7, free=1, outside_pools=0, over_capacity=2
    )
    assert [index.holder(9000, slot=s) for s in range(3)] == ["game"] * 3
    assert index.allocate_slot("game") == (9002, 1)
    assert index.allocate_slot("game") is None
    # A holder that goes leaves its port still at the node count: nothing reopens there.
    index.release(9000, slot=0)
    assert index.over_capacity("game") == [(9001, 2)]
    assert index.counts("game") == Counts(
        total=6, allocated=7, free=0, outside_pools=0, over_capacity=1
    )
    assert index.allocate_slot("game") is None


def test_growing_nodes_opens_slots() -> None:
    """New nodes give every port of the pools new slots, the lowest port first."""
    index = _index([(9000, 9001)], nodes=1)
    assert [index.allocate_slot("game") for _ in range(3)] == [(9000, 0), (9001, 0), None]
    index.set_nodes("game", 3)
    assert index.counts("game") == Counts(total=6, allocated=2, free=4, outside_pools=0)
    assert [index.allocate_slot("game") for _ in range(5)] == [
        (9000, 1),
        (9000, 2),
        (9001, 1),
        (9001, 2),
        None,
    ]


def test_no_eligible_node_means_nothing_to_offer() -> None:
    """With 0 nodes the capacity is 0, and every holder left is over capacity."""
    index = _index([(9000, 9001)], nodes=2)
    index.allocate_slot("game")
    index.set_nodes("game", 0)
    assert index.allocate_slot("game") is None
    assert index.counts("game") == Counts(
        total=0, allocated=1, free=0, outside_pools=0, over_capacity=1
    )
    assert index.over_capacity("game") == [(9000, 0)]


def test_per_node_holders_keep_a_port_from_cluster_wide_classes() -> None:
    """After a class turns cluster-wide, the ports its per-node HostPorts still hold are not
    handed out again cluster-wide (``port-<n>`` and ``port-<n>-<slot>`` are different names)."""
    index = _index([(9000, 9001)], nodes=2)
    index.allocate_slot("game")
    index.set_pools("game", [(9000, 9001)])
    assert index.nodes("game") is None
    assert index.counts("game") == Counts(total=2, allocated=1, free=1, outside_pools=0)
    assert index.allocate("game") == 9001
    assert index.allocate("game") is None
    assert list(index.held_slots()) == [(9000, 0, "game")]
    assert index.held_count() == 2


def test_a_held_slot_moves_to_the_class_the_api_server_names() -> None:
    """hold() of a slot another class held gives it to the new class, as for whole ports."""
    index = _index([(9000, 9000)], nodes=2)
    assert index.hold(9000, "stray", slot=1) is True
    assert index.hold(9000, "game", slot=1) is False
    assert index.hold(9000, "game", slot=1) is False
    assert index.holder(9000, slot=1) == "game"
    assert index.counts("stray") == Counts(total=0, allocated=0, free=0, outside_pools=0)
    assert index.allocate_slot("game") == (9000, 0)


def test_asking_a_class_of_the_other_mode_is_refused() -> None:
    """Cluster-wide and per-node allocation are separate calls; mixing them up is a bug."""
    index = _index([(9000, 9001)], nodes=2)
    index.set_pools("web", [(9100, 9101)])
    with pytest.raises(ValueError, match="per node"):
        index.allocate("game")
    with pytest.raises(ValueError, match="cluster-wide"):
        index.allocate_slot("web")
    with pytest.raises(ValueError, match="not per node"):
        index.set_nodes("web", 3)
    assert index.next_slot("unknown") is None


@pytest.mark.parametrize("slot", [-1, SLOT_MAX + 1])
def test_slots_out_of_range_are_refused(slot: int) -> None:
    """A slot outside 0..SLOT_MAX is a programming error, said clearly."""
    with pytest.raises(ValueError, match="outside"):
        PortIndex().hold(9000, "game", slot=slot)


def test_rebuild_refuses_a_slot_held_twice() -> None:
    """Two HostPorts for one (port, slot) cannot be rebuilt into a consistent index."""
    with pytest.raises(ValueError, match="held by two HostPorts"):
        PortIndex().rebuild(pools={}, held=[], slots=[(9000, 1, "a"), (9000, 1, "b")])


# --- against a naive model ---------------------------------------------------------------

CLASSES = ("a", "b", "c")
PORT = st.integers(1, 24)
SLOT = st.integers(0, 5)
NODES = st.none() | st.integers(0, 4)
POOLS = st.lists(
    st.tuples(st.integers(1, 24), st.integers(0, 8)).map(lambda t: (t[0], min(t[0] + t[1], 24))),
    max_size=3,
)


class PerNodeMachine(RuleBasedStateMachine):
    """The index and a model of dicts and sets get the same operations and must agree.

    Every class may be cluster-wide or per node, and change mode, so leftovers of one mode
    under the other are covered too.
    """

    def __init__(self) -> None:
        super().__init__()
        self.index = PortIndex()
        self.pools: dict[str, set[int]] = {}
        self.nodes: dict[str, int | None] = {}
        self.whole: dict[int, str] = {}  # port -> class of its cluster-wide HostPort
        self.pairs: dict[tuple[int, int], str] = {}  # (port, slot) -> class

    def _holders(self, port: int) -> list[int]:
        return sorted(s for p, s in self.pairs if p == port)

    def _others(self, cls: str) -> set[int]:
        return set().union(*(ports for name, ports in self.pools.items() if name != cls))

    def _model_next_free(self, cls: str) -> int | None:
        pool = self.pools.get(cls, set())
        free = {p for p in pool if p not in self.whole and not self._holders(p)}
        return min(free - self._others(cls), default=None) or min(free, default=None)

    def _model_next_slot(self, cls: str) -> tuple[int, int] | None:
        nodes = self.nodes.get(cls) or 0
        for port in sorted(self.pools.get(cls, set()) - self._others(cls)):
            holders = self._holders(port)
            if port not in self.whole and len(holders) < nodes:
                return port, min(set(range(nodes)) - set(holders))
        return None

    def _model_over(self, cls: str) -> list[tuple[int, int]]:
        nodes = self.nodes.get(cls)
        if nodes is None:
            return []
        return sorted(
            (p, s)
            for p in self.pools.get(cls, set())
            for s in self._holders(p)[nodes:]
            if self.pairs[p, s] == cls
        )

    def _model_counts(self, cls: str) -> Counts:
        pool, nodes = self.pools.get(cls, set()), self.nodes.get(cls)
        mine = [p for p, c in self.whole.items() if c == cls]
        mine += [p for (p, _), c in self.pairs.items() if c == cls]
        outside = sum(p not in pool for p in mine)
        if nodes is None:
            free = sum(p not in self.whole and not self._holders(p) for p in pool)
            return Counts(total=len(pool), allocated=len(mine), free=free, outside_pools=outside)
        free = sum(
            max(0, nodes - len(self._holders(p)))
            for p in pool - self._others(cls)
            if p not in self.whole
        )
        return Counts(
            total=len(pool) * nodes,
            allocated=len(mine),
            free=free,
            outside_pools=outside,
            over_capacity=len(self._model_over(cls)),
        )

    @rule(cls=st.sampled_from(CLASSES), pools=POOLS, nodes=NODES)
    def set_pools(self, cls: str, pools: list[tuple[int, int]], nodes: int | None) -> None:
        self.index.set_pools(cls, pools, nodes=nodes)
        self.pools[cls] = {p for s, e in pools for p in range(s, e + 1)}
        self.nodes[cls] = nodes

    @precondition(lambda self: any(n is not None for n in self.nodes.values()))
    @rule(data=st.data(), nodes=st.integers(0, 4))
    def set_nodes(self, data: st.DataObject, nodes: int) -> None:
        cls = data.draw(st.sampled_from(sorted(c for c, n in self.nodes.items() if n is not None)))
        self.index.set_nodes(cls, nodes)
        self.nodes[cls] = nodes

    @rule(cls=st.sampled_from(CLASSES))
    def remove_class(self, cls: str) -> None:
        self.index.remove_class(cls)
        self.pools.pop(cls, None)
        self.nodes.pop(cls, None)

    @rule(cls=st.sampled_from(CLASSES))
    def allocate(self, cls: str) -> None:
        nodes = self.nodes.get(cls)
        if nodes is None:
            port = self._model_next_free(cls)
            assert self.index.allocate(cls) == port
            if port is not None:
                self.whole[port] = cls
            return
        pair = self._model_next_slot(cls)
        assert self.index.allocate_slot(cls) == pair
        if pair is not None:
            assert pair not in self.pairs
            self.pairs[pair] = cls
            assert len(self._holders(pair[0])) <= nodes

    @rule(port=PORT, cls=st.sampled_from(CLASSES), slot=st.none() | SLOT)
    def hold(self, port: int, cls: str, slot: int | None) -> None:
        model = self.whole if slot is None else self.pairs
        key = port if slot is None else (port, slot)
        assert self.index.hold(port, cls, slot=slot) == (key not in model)
        model[key] = cls  # type: ignore[index]

    @rule(port=PORT, slot=st.none() | SLOT)
    def release(self, port: int, slot: int | None) -> None:
        if slot is None:
            assert self.index.release(port) == self.whole.pop(port, None)
        else:
            assert self.index.release(port, slot=slot) == self.pairs.pop((port, slot), None)

    @rule()
    def rebuild(self) -> None:
        """A rebuild from the model's state gives the same answers."""
        fresh = PortIndex()
        fresh.rebuild(
            pools={c: [(p, p) for p in sorted(ports)] for c, ports in self.pools.items()},
            held=list(self.whole.items()),
            slots=[(p, s, c) for (p, s), c in self.pairs.items()],
            nodes={c: n for c, n in self.nodes.items() if n is not None},
        )
        self.index = fresh

    @invariant()
    def counts_match(self) -> None:
        for cls in CLASSES:
            assert self.index.counts(cls) == self._model_counts(cls)
            assert self.index.over_capacity(cls) == self._model_over(cls)

    @invariant()
    def holders_match(self) -> None:
        assert sorted(self.index.held()) == sorted(self.whole.items())
        pairs = list(self.index.held_slots())
        assert len(pairs) == len({(p, s) for p, s, _ in pairs})  # no (port, slot) twice
        assert sorted(pairs) == sorted((p, s, c) for (p, s), c in self.pairs.items())
        assert self.index.held_count() == len(self.whole) + len(self.pairs)
        for port in range(1, 25):
            assert self.index.is_held(port) == (port in self.whole or bool(self._holders(port)))
            assert self.index.holder(port) == self.whole.get(port)

    @invariant()
    def offers_match(self) -> None:
        for cls in CLASSES:
            if self.nodes.get(cls) is None:
                assert self.index.next_free(cls) == self._model_next_free(cls)
            else:
                assert self.index.next_slot(cls) == self._model_next_slot(cls)


TestPerNodeMachine = PerNodeMachine.TestCase
TestPerNodeMachine.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


def test_slot_holders_counts_the_per_node_holders_of_a_port() -> None:
    """Every slot held on a port counts, whatever its number; cluster-wide holders do not."""
    ports = PortIndex()
    ports.set_pools("a", [(9000, 9001)], nodes=3)
    ports.hold(9000, "a", slot=0)
    ports.hold(9000, "a", slot=7)
    ports.hold(9001, "b")
    assert (ports.slot_holders(9000), ports.slot_holders(9001)) == (2, 0)
    ports.release(9000, slot=7)
    assert ports.slot_holders(9000) == 1
