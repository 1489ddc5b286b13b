"""The in-memory port index: pools per class and held ports, as interval sets.

The fast path that proposes a free port; the API server stays the authority (see
docs/architecture.md, "The invariants"). Pure data structures, no I/O.
"""

from hpa.index._intervals import IntervalSet
from hpa.index._ports import Counts, PortIndex

__all__ = ["Counts", "IntervalSet", "PortIndex"]
