"""Chaos during a burst (see :mod:`tests.reliability.chaos`), on a cluster-wide class and on a
per-node one."""

import pathlib

import pytest

from hpa import api
from tests.clusters import Cluster
from tests.reliability import chaos, harness, per_node


@pytest.mark.parametrize("allocation", per_node.ALLOCATIONS)
async def test_burst_survives_killed_leaders_dropped_watches_and_a_failing_api(
    cluster: Cluster, tmp_path: pathlib.Path, long_form: bool, allocation: str
) -> None:
    """Killed leaders, dropped watches, 500/429/503s, timeouts and 410s during a burst leave
    every claim Bound once, no port (or per-node slot) held twice, no port with more holders
    than nodes, no orphan, and the repair loop reports fixes."""
    claims = 3000 if long_form else 300
    if allocation == api.ALLOCATION_PER_NODE:
        claims //= 2  # the per-node variant adds at most ~30 s to the short form
    figures = await chaos.chaos(
        cluster, tmp_path, claims=claims, within=900 if long_form else 90, allocation=allocation
    )
    print(harness.render(f"chaos ({allocation})", figures))
    assert figures["leaders killed"] == 2
