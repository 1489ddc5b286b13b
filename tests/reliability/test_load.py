"""Load and soak, with the operator in a child process (see :mod:`tests.reliability.load`)."""

import pathlib

from tests.clusters import Cluster
from tests.reliability import harness, load


async def test_claims_and_pods_under_load(
    cluster: Cluster, tmp_path: pathlib.Path, long_form: bool
) -> None:
    """Claims created as fast as the API takes them, with pods admitted meanwhile, all bind to
    distinct ports, every pod gets its claim's port, and the index equals the API."""
    claims, rate = (10_000, 50.0) if long_form else (300, 20.0)
    figures = await load.load(
        cluster, tmp_path, claims=claims, pods_per_second=rate, within=1200 if long_form else 90
    )
    print(harness.render("load", figures))
    assert figures["pods admitted"] > 0


async def test_create_delete_cycles_leave_nothing_behind(
    cluster: Cluster, tmp_path: pathlib.Path, long_form: bool
) -> None:
    """After create/bind/delete cycles no claim, HostPort or held port is left and the
    operator's task count is back where it started."""
    cycles = 100_000 if long_form else 1_000
    figures = await load.soak(cluster, tmp_path, cycles=cycles, within=7200 if long_form else 120)
    print(harness.render("soak", figures))
    assert figures["cycles"] == cycles
