"""The in-memory port index: pools per class and held ports, as interval sets.

The fast path that proposes a free port, or a free (port, slot) in a per-node class; the API
server stays the authority (see docs/architecture.md, "The invariants", and docs/per-node.md).
Pure data structures, no I/O.
"""

from hpa.index._class import Counts
from hpa.index._intervals import IntervalSet
from hpa.index._ports import PortIndex
from hpa.index._slots import SLOT_MAX

__all__ = ["SLOT_MAX", "Counts", "IntervalSet", "PortIndex"]
