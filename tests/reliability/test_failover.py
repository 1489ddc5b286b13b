"""Leader failover (see :mod:`tests.reliability.failover`)."""

import pathlib

from tests.clusters import Cluster
from tests.reliability import failover, harness


async def test_partitioned_leader_fails_over_while_both_webhooks_answer(
    cluster: Cluster, tmp_path: pathlib.Path
) -> None:
    """A leader cut off from its Lease steps down, the other replica takes over within the
    lease duration plus one retry period, and both admission servers answer every review
    meanwhile."""
    figures = await failover.partition(cluster, tmp_path)
    print(harness.render("failover: partitioned leader", figures))
    assert figures["reviews failed"] == 0


async def test_sigkilled_leader_process_fails_over_mid_burst(
    cluster: Cluster, tmp_path: pathlib.Path, long_form: bool
) -> None:
    """A SIGKILLed leader process (no Lease release) is replaced once its Lease expires, and
    every claim of the burst is Bound once, with no port held twice."""
    figures = await failover.sigkill(cluster, tmp_path, claims=2000 if long_form else 200)
    print(harness.render("failover: SIGKILLed leader", figures))
    assert figures["claims"] > 0
