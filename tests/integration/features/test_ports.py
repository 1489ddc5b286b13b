"""Static ports, reserved ports, reclaim policy and reuse delay, against the API server of
``--api-server``."""

import datetime as dt
from typing import Any

import pytest

from hpa import api
from tests.clusters import Cluster
from tests.operator_fixtures import Start, claim, sample_class
from tests.polling import eventually

Obj = dict[str, Any]


def _class(*, pools: tuple[int, int] = (9000, 9001), **spec: Any) -> Obj:
    obj = sample_class("sample", pools)
    obj["spec"].update(spec)
    return obj


def _claim(name: str, **spec: Any) -> Obj:
    obj = claim(name)
    obj["spec"].update(spec)
    return obj


def _reserved(port: int) -> Obj:
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_HOSTPORT,
        "metadata": {"name": api.hostport_name(port)},
        "spec": {"hostPortClassName": "sample", "port": port},
    }


def _status(cluster: Cluster, name: str) -> Obj:
    return dict((cluster.get(api.PLURAL_CLAIM, name, "default") or {}).get("status", {}))


def _port(cluster: Cluster, name: str) -> int:
    status = _status(cluster, name)
    return int(status.get("port", 0)) if status.get("phase") == api.PHASE_BOUND else 0


def _reason(cluster: Cluster, name: str) -> str:
    for condition in _status(cluster, name).get("conditions", []):
        if condition["type"] == "Bound":
            return str(condition["reason"])
    return ""


def _hostport(cluster: Cluster, port: int) -> Obj:
    return cluster.get(api.PLURAL_HOSTPORT, api.hostport_name(port)) or {}


def _hp_phase(cluster: Cluster, port: int) -> str:
    return str(_hostport(cluster, port).get("status", {}).get("phase", ""))


def _event(cluster: Cluster, reason: str, text: str = "") -> bool:
    return any(e["reason"] == reason and text in e["message"] for e in cluster.items("events"))


async def test_static_claim_gets_exactly_its_port(cluster: Cluster, operator: Start) -> None:
    """A claim with spec.port is bound to exactly that port, not the lowest free one."""
    await cluster.add(api.PLURAL_CLASS, _class(pools=(9000, 9010)))
    await cluster.add(api.PLURAL_CLAIM, _claim("static", port=9007))
    async with operator():
        assert await eventually(lambda: _port(cluster, "static")) == 9007
        hostport = _hostport(cluster, 9007)
        assert hostport["spec"]["claimRef"]["name"] == "static"
        assert _hp_phase(cluster, 9000) == ""  # nothing else was taken


async def test_static_claim_outside_pools_stays_pending(cluster: Cluster, operator: Start) -> None:
    """A static port outside the class's pools leaves the claim Pending, saying so."""
    await cluster.add(api.PLURAL_CLASS, _class())
    await cluster.add(api.PLURAL_CLAIM, _claim("outside", port=12000))
    async with operator():
        await eventually(lambda: _reason(cluster, "outside") == "PortOutsidePools")
        assert _status(cluster, "outside")["phase"] == api.PHASE_PENDING
        assert _hostport(cluster, 12000) == {}


async def test_static_claim_never_steals(cluster: Cluster, operator: Start) -> None:
    """A static claim for a held port waits (PortTaken, with an Event) and binds once freed."""
    await cluster.add(api.PLURAL_CLASS, _class())
    await cluster.add(api.PLURAL_CLAIM, _claim("first", port=9000))
    async with operator():
        await eventually(lambda: _port(cluster, "first") == 9000)
        await cluster.add(api.PLURAL_CLAIM, _claim("second", port=9000))
        await eventually(lambda: _reason(cluster, "second") == "PortTaken")
        await eventually(lambda: _event(cluster, "PortTaken", "claim default/first"))
        assert _hostport(cluster, 9000)["spec"]["claimRef"]["name"] == "first"
        await cluster.delete(api.PLURAL_CLAIM, "first", "default")
        assert await eventually(lambda: _port(cluster, "second")) == 9000


async def test_reserved_port_is_held_and_only_bound_statically(
    cluster: Cluster, operator: Start
) -> None:
    """A HostPort an admin creates without claimRef is Reserved: dynamic claims never get it,
    a claim asking for that port does, and when that claim goes the port stays Released (a
    reservation is Retain by default, like a hand-made PersistentVolume)."""
    await cluster.add(api.PLURAL_CLASS, _class())
    await cluster.add(api.PLURAL_HOSTPORT, _reserved(9000))
    async with operator():
        await eventually(lambda: _hp_phase(cluster, 9000) == api.PHASE_RESERVED)
        await cluster.add(api.PLURAL_CLAIM, _claim("a"))
        await cluster.add(api.PLURAL_CLAIM, _claim("b"))
        await eventually(lambda: _port(cluster, "a") or _port(cluster, "b"))
        await eventually(lambda: {_reason(cluster, "a"), _reason(cluster, "b")} >= {"ClassFull"})
        assert {_port(cluster, "a"), _port(cluster, "b")} == {9001, 0}
        assert "claimRef" not in _hostport(cluster, 9000)["spec"]
        await cluster.add(api.PLURAL_CLAIM, _claim("wants-9000", port=9000))
        assert await eventually(lambda: _port(cluster, "wants-9000")) == 9000
        assert _hostport(cluster, 9000)["spec"]["claimRef"]["name"] == "wants-9000"
        await eventually(lambda: _hp_phase(cluster, 9000) == api.PHASE_ALLOCATED)
        assert _hostport(cluster, 9000)["spec"]["reclaimPolicy"] == api.RECLAIM_RETAIN
        await cluster.delete(api.PLURAL_CLAIM, "wants-9000", "default")
        # the operator marks the HostPort Released, then lets the claim go
        await eventually(lambda: cluster.get(api.PLURAL_CLAIM, "wants-9000", "default") is None)
        assert _hp_phase(cluster, 9000) == api.PHASE_RELEASED


@pytest.mark.parametrize(
    ("class_policy", "claim_policy"),
    [
        pytest.param(api.RECLAIM_RETAIN, None, id="class-retain"),
        pytest.param(api.RECLAIM_DELETE, api.RECLAIM_RETAIN, id="claim-overrides"),
    ],
)
async def test_retain_keeps_the_hostport_released(
    cluster: Cluster, operator: Start, class_policy: str, claim_policy: str | None
) -> None:
    """Under Retain a deleted claim's HostPort stays Released, holding its port, until an
    administrator deletes it."""
    await cluster.add(api.PLURAL_CLASS, _class(reclaimPolicy=class_policy))
    spec = {} if claim_policy is None else {"reclaimPolicy": claim_policy}
    await cluster.add(api.PLURAL_CLAIM, _claim("kept", **spec))
    async with operator():
        await eventually(lambda: _port(cluster, "kept") == 9000)
        await cluster.delete(api.PLURAL_CLAIM, "kept", "default")
        await eventually(lambda: cluster.get(api.PLURAL_CLAIM, "kept", "default") is None)
        await eventually(lambda: _hp_phase(cluster, 9000) == api.PHASE_RELEASED)
        assert _hostport(cluster, 9000)["spec"]["claimRef"]["name"] == "kept"
        await cluster.add(api.PLURAL_CLAIM, _claim("next"))
        assert await eventually(lambda: _port(cluster, "next")) == 9001
        await cluster.add(api.PLURAL_CLAIM, _claim("waits"))
        await eventually(lambda: _reason(cluster, "waits") == "ClassFull")
        assert _hp_phase(cluster, 9000) == api.PHASE_RELEASED
        await cluster.delete(api.PLURAL_HOSTPORT, api.hostport_name(9000))
        assert await eventually(lambda: _port(cluster, "waits")) == 9000


async def test_released_port_is_not_reused_within_the_delay(
    cluster: Cluster, operator: Start
) -> None:
    """With reuseDelaySeconds a released port cools down (Released), claims get other ports or
    wait with reason PortsCooling, and the port returns once the delay is over."""
    await cluster.add(api.PLURAL_CLASS, _class(reuseDelaySeconds=2))
    await cluster.add(api.PLURAL_CLAIM, _claim("a"))
    async with operator():
        await eventually(lambda: _port(cluster, "a") == 9000)
        await cluster.delete(api.PLURAL_CLAIM, "a", "default")
        await eventually(lambda: _hp_phase(cluster, 9000) == api.PHASE_RELEASED)
        released_at = dt.datetime.fromisoformat(_hostport(cluster, 9000)["status"]["releasedAt"])
        await cluster.add(api.PLURAL_CLAIM, _claim("b"))
        assert await eventually(lambda: _port(cluster, "b")) == 9001
        await cluster.add(api.PLURAL_CLAIM, _claim("c"))
        await eventually(lambda: _reason(cluster, "c") == "PortsCooling")
        assert dt.datetime.now(dt.UTC) < released_at + dt.timedelta(seconds=2)
        assert await eventually(lambda: _port(cluster, "c"), timeout=10) == 9000
        assert dt.datetime.now(dt.UTC) >= released_at + dt.timedelta(seconds=2)


async def test_reuse_delay_survives_a_restart(cluster: Cluster, operator: Start) -> None:
    """The delay is kept on the HostPort: an operator restarted while a port cools keeps it
    held until the delay is over, then frees it."""
    await cluster.add(api.PLURAL_CLASS, _class(pools=(9000, 9000), reuseDelaySeconds=2))
    await cluster.add(api.PLURAL_CLAIM, _claim("a"))
    async with operator():
        await eventually(lambda: _port(cluster, "a") == 9000)
        await cluster.delete(api.PLURAL_CLAIM, "a", "default")
        await eventually(lambda: _hp_phase(cluster, 9000) == api.PHASE_RELEASED)
    released_at = dt.datetime.fromisoformat(_hostport(cluster, 9000)["status"]["releasedAt"])
    await cluster.add(api.PLURAL_CLAIM, _claim("b"))
    async with operator():
        assert await eventually(lambda: _port(cluster, "b"), timeout=10) == 9000
        assert dt.datetime.now(dt.UTC) >= released_at + dt.timedelta(seconds=2)
