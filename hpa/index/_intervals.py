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
        return next(iter(self._runs), None)

    def add(self, start: int, end: int) -> None:
        """Add ``start..end``, merging with the runs it touches or overlaps."""
        if start > end:
            raise ValueError(f"empty range {start}..{end}")
        # The run starting at or before start-1 may touch or overlap the new range.
        before = self._start_at_or_before(start - 1)
        if before is not None and self._runs[before] >= start - 1:
            start, end = before, max(end, self._runs[before])
            self._drop(before)
        # Runs that start inside start..end+1 are swallowed.
        for s in list(self._runs.irange(start, end + 1)):
            end = max(end, self._runs[s])
            self._drop(s)
        self._put(start, end)

    def discard(self, start: int, end: int) -> None:
        """Remove ``start..end`` from the set, splitting runs where needed."""
        if start > end:
            raise ValueError(f"empty range {start}..{end}")
        before = self._start_at_or_before(start)
        first = before if before is not None else start
        for s in list(self._runs.irange(first, end)):
            e = self._runs[s]
            if e < start:
                continue
            self._drop(s)
            if s < start:
                self._put(s, start - 1)
            if e > end:
                self._put(end + 1, e)

    def overlap(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """The parts of the set inside ``start..end``."""
        before = self._start_at_or_before(start)
        first = before if before is not None else start
        for s in self._runs.irange(first, end):
            e = self._runs[s]
            if e >= start:
                yield max(s, start), min(e, end)

    def run_at(self, value: int) -> tuple[int, int] | None:
        """The run that contains ``value``, or None."""
        s = self._start_at_or_before(value)
        if s is None:
            return None
        e: int = self._runs[s]
        return (s, e) if e >= value else None

    def _start_at_or_before(self, value: int) -> int | None:
        # irange bisects the sorted keys without the positional index that peekitem keeps.
        return next(self._runs.irange(maximum=value, reverse=True), None)

    def _drop(self, start: int) -> None:
        end = self._runs.pop(start)
        self._count -= end - start + 1

    def _put(self, start: int, end: int) -> None:
        self._runs[start] = end
        self._count += end - start + 1
