"""Chaos during a burst (see :mod:`tests.reliability.chaos`)."""

import pathlib

from tests.clusters import Cluster
from tests.reliability import chaos, harness


async def test_burst_survives_killed_leaders_dropped_watches_and_a_failing_api(
    cluster: Cluster, tmp_path: pathlib.Path, long_form: bool
) -> None:
    """Killed leaders, dropped watches, 500/429/503s, timeouts and 410s during a burst leave
    every claim Bound once, no port held twice, no orphan, and the repair loop reports fixes."""
    figures = await chaos.chaos(
        cluster, tmp_path, claims=3000 if long_form else 300, within=900 if long_form else 90
    )
    print(harness.render("chaos", figures))
    assert figures["leaders killed"] == 2
