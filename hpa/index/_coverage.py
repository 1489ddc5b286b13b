"""Which classes' pools cover each stretch of the port space, and each class's pools split into
the runs only it covers (``own``) and those it shares with another class (``shared``)."""

import itertools
from collections.abc import Mapping

from sortedcontainers import SortedDict

from hpa.index._intervals import IntervalSet

Runs = list[tuple[int, int]]


def coverage(pools: Mapping[str, IntervalSet]) -> SortedDict:
    """First port of each stretch -> the names of the classes whose pools contain it (a sweep
    over pool boundaries; the last stretch, after every pool, maps to no class)."""
    edges: dict[int, list[tuple[str, int]]] = {}
    for name, runs in pools.items():
        for start, end in runs:
            edges.setdefault(start, []).append((name, +1))
            edges.setdefault(end + 1, []).append((name, -1))
    result: SortedDict = SortedDict()
    active: dict[str, int] = {}
    for port in sorted(edges):
        for name, step in edges[port]:
            active[name] = active.get(name, 0) + step
            if active[name] == 0:
                del active[name]
        result[port] = tuple(sorted(active))
    return result


def own_and_shared(covered: SortedDict) -> dict[str, tuple[Runs, Runs]]:
    """Per class named in ``covered``: its own runs and its shared runs, lowest first."""
    split: dict[str, tuple[Runs, Runs]] = {}
    for (start, names), (after, _) in itertools.pairwise(covered.items()):
        for name in names:
            own, shared = split.setdefault(name, ([], []))
            runs = own if len(names) == 1 else shared
            if runs and runs[-1][1] == start - 1:
                runs[-1] = (runs[-1][0], after - 1)
            else:
                runs.append((start, after - 1))
    return split
