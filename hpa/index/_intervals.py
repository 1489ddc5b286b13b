"""A set of integers kept as disjoint, non-adjacent closed intervals.

Memory grows with the number of runs (fragmentation), not with how many integers are in the
set: a pool of 60,000 free ports is one entry. Every operation touches O(1) runs beside a
bisection of the sorted starts, so it costs O(log n) in the number of runs (amortised: adding a
range may swallow several runs, each swallowed once).
"""

from collections.abc import Iterable, Iterator

from sortedcontainers import SortedDict


class IntervalSet:
    """Integers as sorted runs ``start..end`` (inclusive); adjacent runs are merged."""

    __slots__ = ("_count", "_runs")

    def __init__(self, runs: Iterable[tuple[int, int]] = ()) -> None:
        self._runs: SortedDict = SortedDict()  # start -> end
        self._count = 0
        for start, end in runs:
            self.add(start, end)

    def __len__(self) -> int:
        """How many integers the set holds."""
        return self._count

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int) and self.run_at(value) is not None

    def __iter__(self) -> Iterator[tuple[int, int]]:
        """The runs, lowest first."""
        return iter(self._runs.items())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IntervalSet) and list(self) == list(other)

    def __repr__(self) -> str:
        return f"IntervalSet({list(self)!r})"

    @property
    def run_count(self) -> int:
        """How many runs the set is stored as (its fragmentation)."""
        return len(self._runs)

    def first(self) -> int | None:
        """The lowest integer in the set, or None if it is empty."""
        return self._runs.peekitem(0)[0] if self._runs else None

    def add(self, start: int, end: int) -> None:
        """Add ``start..end``, merging with the runs it touches or overlaps."""
        if start > end:
            raise ValueError(f"empty range {start}..{end}")
        runs = self._runs
        # The run that starts at or before start-1 may touch or overlap the new range.
        i = runs.bisect_right(start - 1) - 1
        if i >= 0:
            s, e = runs.peekitem(i)
            if e >= start - 1:
                start, end = s, max(end, e)
                self._drop(s)
        # Runs that start inside start..end+1 are swallowed.
        while True:
            j = runs.bisect_left(start)
            if j == len(runs):
                break
            s, e = runs.peekitem(j)
            if s > end + 1:
                break
            end = max(end, e)
            self._drop(s)
        runs[start] = end
        self._count += end - start + 1

    def discard(self, start: int, end: int) -> None:
        """Remove ``start..end`` from the set, splitting runs where needed."""
        if start > end:
            raise ValueError(f"empty range {start}..{end}")
        runs = self._runs
        i = runs.bisect_right(start) - 1
        if i < 0:
            i = 0
        while i < len(runs):
            s, e = runs.peekitem(i)
            if s > end:
                break
            if e < start:
                i += 1
                continue
            self._drop(s)
            if s < start:
                self._put(s, start - 1)
                i += 1
            if e > end:
                self._put(end + 1, e)
                break

    def overlap(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """The parts of the set inside ``start..end``."""
        runs = self._runs
        i = max(runs.bisect_right(start) - 1, 0)
        for s in runs.islice(i):
            e = runs[s]
            if s > end:
                return
            if e >= start:
                yield max(s, start), min(e, end)

    def run_at(self, value: int) -> tuple[int, int] | None:
        """The run that contains ``value``, or None."""
        i = self._runs.bisect_right(value) - 1
        if i < 0:
            return None
        s, e = self._runs.peekitem(i)
        return (s, e) if e >= value else None

    def _drop(self, start: int) -> None:
        end = self._runs.pop(start)
        self._count -= end - start + 1

    def _put(self, start: int, end: int) -> None:
        self._runs[start] = end
        self._count += end - start + 1
