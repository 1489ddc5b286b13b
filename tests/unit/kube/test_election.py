"""Leader election on a Lease: one leader, step-down on failed renewals, release on exit."""

import anyio
import pytest

from hpa import kube
from tests import kubefake
from tests.polling import eventually

FAST = {"lease_duration": 1.5, "renew_deadline": 1.0, "retry_period": 0.1}


def _elector(fake: kubefake.FakeApi, identity: str) -> kube.LeaderElector:
    return kube.LeaderElector(
        kube.Client(fake), namespace="hpa-system", name="hpa-leader", identity=identity, **FAST
    )


@pytest.fixture
def fake() -> kubefake.FakeApi:
    """An empty in-memory API server."""
    return kubefake.FakeApi()


async def test_one_leader_and_handover_on_release(fake: kubefake.FakeApi) -> None:
    """Of two candidates one leads; when it stops, it releases and the other takes over at
    once (well before the lease duration)."""
    leading: list[str] = []
    first, second = _elector(fake, "one"), _elector(fake, "two")

    def work(name: str):  # type: ignore[no-untyped-def]
        async def lead() -> None:
            leading.append(name)
            await anyio.sleep_forever()

        return lead

    async with anyio.create_task_group() as group:
        async with anyio.create_task_group() as first_group:
            first_group.start_soon(first.run, work("one"))
            await eventually(lambda: first.is_leader)
            group.start_soon(second.run, work("two"))
            await anyio.sleep(0.3)  # several retry periods: the second must not lead
            assert not second.is_leader
            first_group.cancel_scope.cancel()
        lease = fake.get("leases", "hpa-leader", "hpa-system")
        assert lease is not None
        assert lease["spec"]["holderIdentity"] in ("", "two")
        with anyio.fail_after(1.0):  # < lease_duration: released, not expired
            await eventually(lambda: second.is_leader)
        group.cancel_scope.cancel()
    assert leading == ["one", "two"]


async def test_steps_down_when_renewals_fail(fake: kubefake.FakeApi) -> None:
    """A leader that cannot renew for renew_deadline cancels its work before the lease
    expires for others."""
    elector = _elector(fake, "one")
    stopped = anyio.Event()

    async def lead() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            stopped.set()

    async with anyio.create_task_group() as group:
        group.start_soon(elector.run, lead)
        await eventually(lambda: elector.is_leader)
        fake.fail(verb="patch", resource="leases", status=500, times=1000)
        started = anyio.current_time()
        with anyio.fail_after(3):
            await stopped.wait()
        elapsed = anyio.current_time() - started
        assert elapsed < FAST["lease_duration"] + FAST["retry_period"]
        assert not elector.is_leader
        group.cancel_scope.cancel()
