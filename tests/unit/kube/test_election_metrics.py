"""leader_election_master_status: 0 on a standby, 1 on the leader, by Lease name."""

import anyio

from hpa import kube, observability
from tests import kubefake
from tests.polling import eventually

FAST = {"lease_duration": 1.5, "renew_deadline": 1.0, "retry_period": 0.1}


def status(lease: str) -> float | None:
    return observability.REGISTRY.get_sample_value("leader_election_master_status", {"name": lease})


async def test_status_follows_the_lease() -> None:
    """A candidate reports 0 at once, 1 while it leads, and 0 again once it stops."""
    fake = kubefake.FakeApi()
    lease = "metrics-leader"
    elector = kube.LeaderElector(
        kube.Client(fake), namespace="hpa-system", name=lease, identity="one", **FAST
    )
    assert status(lease) == 0
    async with anyio.create_task_group() as group:
        group.start_soon(elector.run, anyio.sleep_forever)
        await eventually(lambda: elector.is_leader)
        assert status(lease) == 1
        group.cancel_scope.cancel()
    assert status(lease) == 0
