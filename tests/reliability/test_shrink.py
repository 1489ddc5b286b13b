"""A node of a per-node class cordoned mid-burst (see :mod:`tests.reliability.shrink`)."""

import pathlib

from tests.clusters import Cluster
from tests.reliability import harness, shrink


async def test_node_cordoned_mid_burst_releases_nothing_and_adds_no_holder_beyond_it(
    cluster: Cluster, tmp_path: pathlib.Path, long_form: bool
) -> None:
    """With one of 3 nodes cordoned mid-burst, every bound claim keeps its HostPort, the
    holders beyond 2 are marked OverCapacity, no port takes a holder beyond 2 after the class
    shows the drop, and the claims left over wait as ClassFull."""
    ports = 200 if long_form else 20
    figures = await shrink.shrink(cluster, tmp_path, ports=ports, claims=ports * 4)
    print(harness.render("node cordoned mid-burst (PerNode)", figures))
    assert figures["over capacity"] > 0
