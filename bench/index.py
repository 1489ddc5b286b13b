"""Port index benchmark: allocate+release cost at 100 and 60,000 held ports, against the
original's algorithm, and rebuild time for 60,000 held ports; then the same for a per-node
class on 100 nodes, with 100 and 60,000 held (port, slot) pairs.

The original (rmb938/hostport-allocator) lists every HostPort on each allocation, collects the
used ports into a set and scans the class's pool for the first free one: O(held + pool) per
allocation. The index bisects interval sets instead.

The per-node class has one pool of 1,000 ports, so 100,000 pairs on 100 nodes. It holds 90% of
its pairs on ports taken on every node, chosen at random, and the rest on random slots of the
other ports: both the full ports and the slot masks are fragmented. Each round allocates a
pair and releases a random held one, so the count stays put while the state keeps changing.

Run: python bench/index.py [--rounds N]
"""

import argparse
import random
import statistics
import time
from collections.abc import Callable

from hpa import index

CLASSES = 64
POOL_SIZE = 1000
FIRST_PORT = 1001
PER_NODE = "per-node"
NODES = 100


def _pools() -> dict[str, list[tuple[int, int]]]:
    """64 classes of 1,000 ports each, side by side: 1001..65000."""
    return {
        f"class-{i}": [(FIRST_PORT + i * POOL_SIZE, FIRST_PORT + (i + 1) * POOL_SIZE - 1)]
        for i in range(CLASSES)
    }


def _held(
    pools: dict[str, list[tuple[int, int]]], count: int, rng: random.Random
) -> list[tuple[int, str]]:
    """``count`` ports held at random over all classes: heavily fragmented free space."""
    every = [(p, c) for c, runs in pools.items() for s, e in runs for p in range(s, e + 1)]
    return rng.sample(every, count)


def _median_ns(op: Callable[[], object], rounds: int) -> float:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter_ns()
        op()
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples)


def _index_op(idx: index.PortIndex, rng: random.Random) -> Callable[[], None]:
    names = idx.classes()

    def op() -> None:
        cls = rng.choice(names)
        port = idx.allocate(cls)
        if port is not None:
            idx.release(port)

    return op


def _per_node_held(count: int, rng: random.Random) -> list[tuple[int, int]]:
    """``count`` (port, slot) pairs: 90% fill random ports on every node, the rest random."""
    ports = list(range(FIRST_PORT, FIRST_PORT + POOL_SIZE))
    rng.shuffle(ports)
    full_ports = count * 9 // 10 // NODES
    pairs = [(port, slot) for port in ports[:full_ports] for slot in range(NODES)]
    others = ports[full_ports:]
    scattered: set[tuple[int, int]] = set()
    while len(pairs) + len(scattered) < count:
        scattered.add((rng.choice(others), rng.randrange(NODES)))
    return pairs + sorted(scattered)


def _per_node_index(held: list[tuple[int, int]]) -> index.PortIndex:
    idx = index.PortIndex()
    idx.rebuild(
        pools={PER_NODE: [(FIRST_PORT, FIRST_PORT + POOL_SIZE - 1)]},
        held=[],
        slots=[(port, slot, PER_NODE) for port, slot in held],
        nodes={PER_NODE: NODES},
    )
    return idx


def _per_node_op(
    idx: index.PortIndex, held: list[tuple[int, int]], rng: random.Random
) -> Callable[[], None]:
    held = list(held)

    def op() -> None:
        pair = idx.allocate_slot(PER_NODE)
        if pair is not None:
            held.append(pair)
        i = rng.randrange(len(held))
        held[i], held[-1] = held[-1], held[i]
        port, slot = held.pop()
        idx.release(port, slot=slot)

    return op


def _per_node(rounds: int, rng: random.Random) -> None:
    figures: dict[str, float] = {}
    for count in (100, 60_000):
        held = _per_node_held(count, rng)
        figures[f"per-node@{count}"] = _median_ns(
            _per_node_op(_per_node_index(held), held, rng), rounds
        )
    held = _per_node_held(60_000, rng)
    rebuild_ms = _median_ns(lambda: _per_node_index(held), 5) / 1e6
    idx = _per_node_index(held)
    counts = iter([NODES - 1, NODES] * 3)
    set_nodes_ms = _median_ns(lambda: idx.set_nodes(PER_NODE, next(counts)), 5) / 1e6

    print(f"per-node: 1 class x {POOL_SIZE} ports on {NODES} nodes; 90% of held pairs on random")
    print("ports full on every node, the rest on random slots (fragmented)")
    for name, ns in figures.items():
        print(f"allocate+release median  {name:<16} {ns / 1000:10.2f} us")
    growth = figures["per-node@60000"] / figures["per-node@100"]
    verdict = "meets" if growth <= 2 else "MISSES"
    print(f"per-node cost at 60,000 / at 100:   {growth:8.2f}x   (target <= 2x: {verdict} it)")
    print(f"rebuild of 60,000 held pairs:       {rebuild_ms:8.1f} ms (median of 5)")
    print(f"set_nodes with 60,000 held pairs:   {set_nodes_ms:8.1f} ms (median of 5)")


def _baseline_op(
    pools: dict[str, list[tuple[int, int]]], held: list[tuple[int, str]], rng: random.Random
) -> Callable[[], None]:
    """The original's allocation: list all HostPorts, build the used set, scan the pool."""
    hostports = [{"spec": {"port": p, "hostPortClassName": c}} for p, c in held]
    names = sorted(pools)

    def op() -> None:
        cls = rng.choice(names)
        used = {hp["spec"]["port"] for hp in hostports}
        for start, end in pools[cls]:
            for port in range(start, end + 1):
                if port not in used:
                    hostports.append({"spec": {"port": port, "hostPortClassName": cls}})
                    hostports.pop()  # release
                    return

    return op


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    rng = random.Random(1)
    pools = _pools()
    figures: dict[str, float] = {}
    for count in (100, 60_000):
        held = _held(pools, count, rng)
        idx = index.PortIndex()
        idx.rebuild(pools=pools, held=held)
        figures[f"index@{count}"] = _median_ns(_index_op(idx, rng), args.rounds)
        baseline_rounds = max(args.rounds // 20, 50)
        figures[f"baseline@{count}"] = _median_ns(_baseline_op(pools, held, rng), baseline_rounds)

    held = _held(pools, 60_000, rng)
    rebuild_s = []
    for _ in range(5):
        start = time.perf_counter()
        index.PortIndex().rebuild(pools=pools, held=held)
        rebuild_s.append(time.perf_counter() - start)

    print(f"classes: {CLASSES} x {POOL_SIZE} ports; held ports chosen at random (fragmented)")
    for name, ns in figures.items():
        print(f"allocate+release median  {name:<16} {ns / 1000:10.2f} us")
    growth = figures["index@60000"] / figures["index@100"]
    speedup = figures["baseline@60000"] / figures["index@60000"]
    print(f"index cost at 60,000 / at 100:      {growth:8.2f}x   (target <= 2x)")
    print(f"baseline / index at 60,000:         {speedup:8.0f}x   (target >= 100x)")
    rebuild_ms = statistics.median(rebuild_s) * 1000
    print(
        f"rebuild of 60,000 held ports:       {rebuild_ms:8.1f} ms (median of 5; target < 1000 ms)"
    )
    print()
    _per_node(args.rounds, rng)


if __name__ == "__main__":
    main()
