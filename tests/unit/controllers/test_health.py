"""A replica whose informers keep failing stops being ready, then stops being live."""

from hpa import api
from tests import kubefake
from tests.operator_fixtures import Start, sample_class
from tests.polling import eventually


def _live(checks: dict[str, bool]) -> bool:
    return all(checks.values())


async def test_failing_watches_take_readiness_then_liveness_and_give_them_back(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """While claims cannot be watched, readiness drops after the first threshold, liveness
    after the second; both come back once the watch works again."""
    cluster.put(api.PLURAL_CLASS, sample_class())
    async with operator(watch_unready_after=0.3, watch_dead_after=1.0) as manager:
        assert manager.readiness.ready() and _live(manager.liveness.checks())
        cluster.fail(verb="watch", resource=api.PLURAL_CLAIM, status=500, times=10_000)
        cluster.drop_watches()
        await eventually(lambda: not manager.readiness.ready())
        await eventually(lambda: not _live(manager.liveness.checks()))
        cluster.faults.clear()
        await eventually(
            lambda: manager.readiness.ready() and _live(manager.liveness.checks()), timeout=40
        )
