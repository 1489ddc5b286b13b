"""Events as `kubectl describe` shows them: typed, counted, and folded when repeated."""

import pytest

from hpa import kube
from tests import kubefake

CLAIM = kube.ObjectReference(
    api_version="hostport.rmb938.com/v1alpha1",
    kind="HostPortClaim",
    namespace="default",
    name="echo-web",
    uid="u1",
)


@pytest.fixture
def fake() -> kubefake.FakeApi:
    return kubefake.FakeApi()


@pytest.mark.parametrize("type_", [kube.NORMAL, kube.WARNING])
async def test_event_carries_its_type_and_count(fake: kubefake.FakeApi, type_: str) -> None:
    """A new Event reaches the server with its type and a count of 1 (neither may be left out)."""
    recorder = kube.EventRecorder(kube.Client(fake), instance="hpa-0")
    await recorder.record(CLAIM, type=type_, reason="Bound", message="bound to port-9000")
    (event,) = fake.items("events")
    assert (event["type"], event["count"], event["reason"]) == (type_, 1, "Bound")
    assert event["involvedObject"]["name"] == "echo-web"
    assert event["source"]["component"] == "hpa"


async def test_repeats_are_folded_into_count(fake: kubefake.FakeApi) -> None:
    """The same event again bumps the count of the one Event instead of adding another."""
    recorder = kube.EventRecorder(kube.Client(fake), instance="hpa-0")
    for _ in range(3):
        await recorder.record(CLAIM, type=kube.WARNING, reason="ClassFull", message="full")
    (event,) = fake.items("events")
    assert event["count"] == 3
