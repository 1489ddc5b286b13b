"""Slots of a per-node port, kept as the bits of one int: bit ``s`` set means slot ``s`` is held.

A slot numbers one holder of a port; it is a count, not a node (the scheduler picks the node).
Python ints are arbitrary-precision, so a port held on 100 nodes is a 100-bit int, and finding
the lowest free slot is a few machine-word operations, not a scan.
"""

from collections.abc import Iterator
from typing import Final

from hpa import api

# The highest slot a HostPort may name. It bounds the bitmask of a hand-made HostPort (8 KiB at
# most) and lies far above any cluster's node count.
SLOT_MAX: Final = api.SLOT_MAX


def lowest_free(mask: int) -> int:
    """The lowest slot whose bit is clear: the lowest set bit of ``~mask``."""
    return (~mask & (mask + 1)).bit_length() - 1


def over(mask: int, nodes: int) -> int:
    """The slots beyond the first ``nodes`` holders of a port: the highest ones, as a mask.

    Costs one step per slot over capacity, so nothing while a port has no more holders than
    nodes (every allocation keeps it so; only a shrinking node count does not).
    """
    extra = mask.bit_count() - nodes
    result = 0
    for _ in range(extra):
        top = 1 << (mask.bit_length() - 1)
        result |= top
        mask ^= top
    return result


def slots(mask: int) -> Iterator[int]:
    """The slots held in ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def check_slot(slot: int) -> None:
    if not 0 <= slot <= SLOT_MAX:
        raise ValueError(f"slot {slot} is outside 0..{SLOT_MAX}")


def check_nodes(nodes: int) -> None:
    if not 0 <= nodes <= SLOT_MAX + 1:
        raise ValueError(f"node count {nodes} is outside 0..{SLOT_MAX + 1}")
