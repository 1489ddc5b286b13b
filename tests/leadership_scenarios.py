"""Operators with leader election: only the leader reconciles; a successor takes over.

Run against the fake here and against the sandbox in ``tests/integration/operator``.
"""

from typing import Any

import anyio

from hpa import api
from tests.operator_fixtures import Cluster, Start, claim, sample_class
from tests.polling import eventually

FAST = {
    "leader_elect": True,
    "lease_duration": 1.5,
    "renew_deadline": 1.0,
    "retry_period": 0.1,
}


def _phase(cluster: Cluster, name: str) -> str:
    return str(
        (cluster.get(api.PLURAL_CLAIM, name, "default") or {}).get("status", {}).get("phase")
    )


async def test_only_the_leader_reconciles_and_a_successor_takes_over(
    cluster: Cluster, operator: Start
) -> None:
    """Of two replicas one leads and binds claims; when it stops (releasing the Lease), the
    other takes over at once and binds new ones."""
    await cluster.add(api.PLURAL_CLASS, sample_class())
    await cluster.add(api.PLURAL_CLAIM, claim("first"))
    stop_one = anyio.Event()

    async def run_one(*, task_status: Any) -> None:
        async with operator(identity="one", **FAST) as manager:
            task_status.started(manager)
            await stop_one.wait()

    async with anyio.create_task_group() as group:
        one = await group.start(run_one)
        await eventually(lambda: one.elector.is_leader)
        async with operator(identity="two", **FAST) as two:
            await eventually(lambda: _phase(cluster, "first") == api.PHASE_BOUND)
            assert two.claims.reconciles == 0
            assert two.readiness.ready()  # followers serve reads (the webhook) too
            stop_one.set()
            await eventually(lambda: two.elector.is_leader, timeout=1.0)
            await cluster.add(api.PLURAL_CLAIM, claim("second"))
            await eventually(lambda: _phase(cluster, "second") == api.PHASE_BOUND)
    lease = cluster.get("leases", "hpa-leader", "default") or {}
    assert lease["spec"]["leaseTransitions"] >= 1
