"""IntervalSet against a plain Python set over random sequences of operations."""

import itertools

from hypothesis import given
from hypothesis import strategies as st

from hpa.index import IntervalSet

_RANGE = st.tuples(st.integers(0, 200), st.integers(0, 30)).map(lambda t: (t[0], t[0] + t[1]))
_OPS = st.lists(st.tuples(st.booleans(), _RANGE), max_size=60)


def _as_set(intervals: IntervalSet) -> set[int]:
    return {n for start, end in intervals for n in range(start, end + 1)}


@given(_OPS)
def test_matches_a_plain_set(ops: list[tuple[bool, tuple[int, int]]]) -> None:
    """Adds and discards give the same members, count and lowest member as a set."""
    intervals, model = IntervalSet(), set[int]()
    for add, (start, end) in ops:
        if add:
            intervals.add(start, end)
            model |= set(range(start, end + 1))
        else:
            intervals.discard(start, end)
            model -= set(range(start, end + 1))
        assert _as_set(intervals) == model
        assert len(intervals) == len(model)
        assert intervals.first() == min(model, default=None)


@given(_OPS)
def test_runs_are_disjoint_and_not_adjacent(ops: list[tuple[bool, tuple[int, int]]]) -> None:
    """The set is always stored as the fewest runs: sorted, disjoint, with gaps between."""
    intervals = IntervalSet()
    for add, (start, end) in ops:
        (intervals.add if add else intervals.discard)(start, end)
        runs = list(intervals)
        assert all(s <= e for s, e in runs)
        assert all(e1 + 1 < s2 for (_, e1), (s2, _) in itertools.pairwise(runs))


@given(_OPS, _RANGE)
def test_overlap_and_run_at(
    ops: list[tuple[bool, tuple[int, int]]], query: tuple[int, int]
) -> None:
    """overlap() yields the members inside a range; run_at() the run holding a member."""
    intervals = IntervalSet()
    for add, (start, end) in ops:
        (intervals.add if add else intervals.discard)(start, end)
    model = _as_set(intervals)
    lo, hi = query
    inside = {n for s, e in intervals.overlap(lo, hi) for n in range(s, e + 1)}
    assert inside == {n for n in model if lo <= n <= hi}
    for n in range(lo, hi + 1):
        run = intervals.run_at(n)
        assert (run is not None) == (n in model)
        if run is not None:
            assert run[0] <= n <= run[1]
            assert run[0] - 1 not in model and run[1] + 1 not in model


def test_a_large_range_is_one_run() -> None:
    """A pool of 60,000 ports costs one run, not 60,000 entries."""
    intervals = IntervalSet([(1000, 60999)])
    assert (len(intervals), intervals.run_count) == (60000, 1)
    intervals.discard(30000, 30000)
    assert (len(intervals), intervals.run_count) == (59999, 2)
