"""Leader failover (see :mod:`tests.reliability.failover`), on a cluster-wide class and on a
per-node one."""

import pathlib

import pytest

from hpa import api
from tests.clusters import Cluster
from tests.reliability import failover, harness, per_node


@pytest.mark.parametrize("allocation", per_node.ALLOCATIONS)
async def test_partitioned_leader_fails_over_while_both_webhooks_answer(
    cluster: Cluster, tmp_path: pathlib.Path, allocation: str
) -> None:
    """A leader cut off from its Lease steps down, the other replica takes over within the
    lease duration plus one retry period, and both admission servers answer every review
    meanwhile."""
    figures = await failover.partition(cluster, tmp_path, allocation=allocation)
    print(harness.render(f"failover: partitioned leader ({allocation})", figures))
    assert figures["reviews failed"] == 0


@pytest.mark.parametrize("allocation", per_node.ALLOCATIONS)
async def test_sigkilled_leader_process_fails_over_mid_burst(
    cluster: Cluster, tmp_path: pathlib.Path, long_form: bool, allocation: str
) -> None:
    """A SIGKILLed leader process (no Lease release) is replaced once its Lease expires, and
    every claim of the burst is Bound once, with no port held twice; on a per-node class the
    burst exceeds the class's capacity, and the surplus stays Pending as ClassFull, with no
    port given to more claims than there are nodes."""
    claims = 2000 if long_form else 200
    if allocation == api.ALLOCATION_PER_NODE:
        claims //= 2
    figures = await failover.sigkill(cluster, tmp_path, claims=claims, allocation=allocation)
    print(harness.render(f"failover: SIGKILLed leader ({allocation})", figures))
    assert figures["claims"] > 0
