"""Leader election on a Lease: one leader, step-down on failed renewals, release on exit."""

import datetime as dt

import anyio
import pytest

from hpa import api, kube
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


async def test_takes_over_a_dead_leader_when_its_lease_expires(fake: kubefake.FakeApi) -> None:
    """A candidate watching the Lease takes over about leaseDuration after the holder's last
    renewal, well inside one retry period (polling alone can lag up to two retries)."""
    lease_duration, retry_period = 2.0, 1.0
    client = kube.Client(fake)
    stamp = kube.micro_time(dt.datetime.now(dt.UTC))
    spec = kube.LeaseSpec(holder_identity="ghost", lease_duration_seconds=2, renew_time=stamp)
    await client.create(
        kube.LEASES,
        kube.Lease(metadata=api.ObjectMeta(name="hpa-leader", namespace="hpa-system"), spec=spec),
        namespace="hpa-system",
        type=kube.Lease,
    )
    candidate = kube.LeaderElector(
        client,
        namespace="hpa-system",
        name="hpa-leader",
        identity="candidate",
        lease_duration=lease_duration,
        renew_deadline=1.5,
        retry_period=retry_period,
    )
    took_over = anyio.Event()
    took_over_at = 0.0

    async def lead() -> None:
        nonlocal took_over_at
        took_over_at = anyio.current_time()
        took_over.set()
        await anyio.sleep_forever()

    async with anyio.create_task_group() as group:
        group.start_soon(candidate.run, lead)
        # The ghost renews for a while, out of phase with the candidate's polling, then dies.
        for _ in range(int(2.5 * retry_period / 0.1)):
            await anyio.sleep(0.1)
            stamp = kube.micro_time(dt.datetime.now(dt.UTC))
            await client.patch(
                kube.LEASES,
                "hpa-leader",
                {"spec": {"renewTime": stamp}},
                namespace="hpa-system",
                type=kube.Lease,
            )
        died_at = anyio.current_time()
        assert not candidate.is_leader
        with anyio.fail_after(lease_duration + 3 * retry_period):
            await took_over.wait()
        group.cancel_scope.cancel()
    assert lease_duration <= took_over_at - died_at <= lease_duration + retry_period / 2


async def test_polls_when_the_lease_watch_is_forbidden(fake: kubefake.FakeApi) -> None:
    """Without the watch (an install whose Role lacks list/watch on the Lease) a candidate
    still takes over an expired Lease by polling, as client-go does."""
    fake.fail(verb="watch", resource="leases", status=403, times=1000)
    fake.put(
        "leases",
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "hpa-leader", "namespace": "hpa-system"},
            "spec": {"holderIdentity": "ghost", "leaseDurationSeconds": 1},
        },
    )
    candidate = _elector(fake, "candidate")
    async with anyio.create_task_group() as group:
        group.start_soon(candidate.run, anyio.sleep_forever)
        with anyio.fail_after(FAST["lease_duration"] + 1.0):
            await eventually(lambda: candidate.is_leader)
        lease = fake.get("leases", "hpa-leader", "hpa-system")
        assert lease is not None and lease["spec"]["holderIdentity"] == "candidate"
        group.cancel_scope.cancel()


@pytest.mark.parametrize("holder", ["ghost", ""])
async def test_failed_takeovers_are_paced_by_the_retry_period(
    fake: kubefake.FakeApi, holder: str
) -> None:
    """When taking an expired or released Lease keeps failing (the API answers 500), the
    candidate tries once per retry period, not in a tight loop."""
    fake.put(
        "leases",
        {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "hpa-leader", "namespace": "hpa-system"},
            "spec": {"holderIdentity": holder, "leaseDurationSeconds": 1},
        },
    )
    fake.fail(verb="patch", resource="leases", status=500, times=10_000)
    candidate = _elector(fake, "candidate")
    async with anyio.create_task_group() as group:
        group.start_soon(candidate.run, anyio.sleep_forever)
        await anyio.sleep(2.0)  # the window in which attempts are counted
        group.cancel_scope.cancel()
    attempts = 10_000 - fake.faults[0].times
    assert 1 <= attempts <= 2.0 / FAST["retry_period"] + 3
    assert not candidate.is_leader
