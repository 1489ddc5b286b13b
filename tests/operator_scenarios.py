"""The whole operator against "a cluster": the "done when" list of the operator issue.

The same scenarios run against the in-memory fake (``tests/unit/controllers``) and, over HTTPS
with kr8s, against the API server of ``--api-server`` (``tests/integration/operator``: the
sandbox, or the real control plane with the operator as hpa's ServiceAccount); each suite
provides the ``cluster`` and ``operator`` fixtures. A cluster is driven only through its API.
"""

import collections
import time
from typing import Any

import anyio
import anyio.lowlevel

from hpa import api
from tests.operator_fixtures import Cluster, Start, claim, pod, sample_class
from tests.polling import eventually

Obj = dict[str, Any]
#: How often a poll that reads hundreds of objects looks. On the real control plane each read is
#: a consistent LIST (0.2-0.3 s for 1,000 bound claims) that holds the event loop the operator
#: and its fault proxy run in: polled every 10 ms, it would leave them a tenth of the loop.
LARGE_POLL = 0.5


def _claim(cluster: Cluster, name: str, namespace: str = "default") -> Obj:
    return cluster.get(api.PLURAL_CLAIM, name, namespace) or {}


def _phase(cluster: Cluster, name: str, namespace: str = "default") -> str:
    return str(_claim(cluster, name, namespace).get("status", {}).get("phase", ""))


def _bound(cluster: Cluster) -> list[Obj]:
    return [
        c for c in cluster.items(api.PLURAL_CLAIM) if c.get("status", {}).get("phase") == "Bound"
    ]


def _pending(cluster: Cluster) -> list[Obj]:
    return [
        c for c in cluster.items(api.PLURAL_CLAIM) if c.get("status", {}).get("phase") == "Pending"
    ]


def _bound_count(cluster: Cluster) -> int:
    return cluster.count(api.PLURAL_CLAIM, api.PHASE_BOUND)


def _allocated(cluster: Cluster, class_name: str) -> int:
    status = (cluster.get(api.PLURAL_CLASS, class_name) or {}).get("status", {})
    return int(status.get("allocated", 0))


def _has_event(cluster: Cluster, reason: str, text: str = "") -> bool:
    return any(e["reason"] == reason and text in e["message"] for e in cluster.items("events"))


def _finalizers(cluster: Cluster, plural: str, name: str) -> list[str]:
    return list((cluster.get(plural, name) or {}).get("metadata", {}).get("finalizers", []))


def _assert_unique_and_consistent(cluster: Cluster) -> None:
    """Every port is held by one HostPort, bound to one live claim, and nothing is orphaned."""
    hostports = cluster.items(api.PLURAL_HOSTPORT)
    ports = collections.Counter(hp["spec"]["port"] for hp in hostports)
    assert all(n == 1 for n in ports.values())
    claims = {c["metadata"]["uid"]: c for c in cluster.items(api.PLURAL_CLAIM)}
    for hostport in hostports:
        owner = claims.get(hostport["spec"]["claimRef"]["uid"])
        assert owner is not None, f"orphaned {hostport['metadata']['name']}"
        assert owner["spec"].get("hostPortName") == hostport["metadata"]["name"]
    claim_ports = collections.Counter(c["status"]["port"] for c in _bound(cluster))
    assert all(n == 1 for n in claim_ports.values())


async def test_quickstart_claim_binds(cluster: Cluster, operator: Start) -> None:
    """The README's quickstart claim is bound to a port from the class's pool."""
    await cluster.add(api.PLURAL_CLASS, sample_class())
    await cluster.add(api.PLURAL_CLAIM, claim("echo-web"))
    async with operator():
        await eventually(lambda: _phase(cluster, "echo-web") == api.PHASE_BOUND)
        await eventually(
            lambda: (
                (cluster.get(api.PLURAL_CLASS, "sample") or {}).get("status", {}).get("allocated")
                == 1
            )
        )
    bound = _claim(cluster, "echo-web")
    port = bound["status"]["port"]
    assert 9000 <= port <= 9500
    assert bound["spec"]["hostPortName"] == api.hostport_name(port)
    assert api.FINALIZER in bound["metadata"]["finalizers"]
    hostport = cluster.get(api.PLURAL_HOSTPORT, api.hostport_name(port))
    assert hostport is not None
    assert hostport["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"]
    cls = cluster.get(api.PLURAL_CLASS, "sample") or {}
    assert cls["status"]["ranges"] == "9000-9500"
    assert (cls["status"]["total"], cls["status"]["free"]) == (501, 500)


async def test_thousand_claims_three_overlapping_classes(cluster: Cluster, operator: Start) -> None:
    """1,000 claims over 3 classes with overlapping pools get unique ports inside their pools."""
    # Overlapping, and each class has room of its own.
    pools = {"a": [(10000, 10499)], "b": [(10400, 10999)], "c": [(10900, 11499), (20000, 20099)]}
    for name, runs in pools.items():
        await cluster.add(api.PLURAL_CLASS, sample_class(name, *runs))
    for number in range(1000):
        await cluster.add(api.PLURAL_CLAIM, claim(f"c{number}", class_name="abc"[number % 3]))
    started = time.perf_counter()
    async with operator(workers=8):
        await eventually(lambda: _bound_count(cluster) == 1000, timeout=120, interval=LARGE_POLL)
    elapsed = time.perf_counter() - started
    _assert_unique_and_consistent(cluster)
    for bound in _bound(cluster):
        runs = pools[bound["spec"]["hostPortClassName"]]
        assert any(s <= bound["status"]["port"] <= e for s, e in runs)
    print(f"1000 claims bound in {elapsed:.2f}s")


async def test_a_wide_class_leaves_a_narrow_one_its_ports(
    cluster: Cluster, operator: Start
) -> None:
    """A class whose pool contains another class's pool binds its own ports first: after it
    has bound as many claims as it has ports of its own, the narrow class can still bind all
    of its ports."""
    await cluster.add(api.PLURAL_CLASS, sample_class("wide", (9200, 9299)))
    await cluster.add(api.PLURAL_CLASS, sample_class("narrow", (9250, 9259)))
    async with operator():
        for number in range(90):
            await cluster.add(api.PLURAL_CLAIM, claim(f"w{number}", class_name="wide"))
        await eventually(lambda: _bound_count(cluster) == 90, timeout=60)
        for number in range(10):
            await cluster.add(api.PLURAL_CLAIM, claim(f"n{number}", class_name="narrow"))
        await eventually(lambda: _bound_count(cluster) == 100, timeout=60)
    _assert_unique_and_consistent(cluster)
    narrow = [c for c in _bound(cluster) if c["spec"]["hostPortClassName"] == "narrow"]
    assert {c["status"]["port"] for c in narrow} == set(range(9250, 9260))


async def test_full_class_leaves_claims_pending(cluster: Cluster, operator: Start) -> None:
    """A full class leaves new claims Pending with a condition and an Event naming the class;
    deleting one bound claim lets exactly one Pending claim bind."""
    await cluster.add(api.PLURAL_CLASS, sample_class("tiny", (7000, 7001)))
    for name in ("one", "two", "three", "four"):
        await cluster.add(api.PLURAL_CLAIM, claim(name, class_name="tiny"))
    async with operator():
        await eventually(lambda: _bound_count(cluster) == 2)
        await eventually(lambda: len(_pending(cluster)) == 2)
        pending = _pending(cluster)
        for waiting in pending:
            bound_condition = next(
                c for c in waiting["status"]["conditions"] if c["type"] == "Bound"
            )
            assert bound_condition["status"] == "False"
            assert bound_condition["reason"] == "ClassFull"
            assert "tiny" in bound_condition["message"]
        # The Event is written just after the status: wait for it too.
        await eventually(lambda: _has_event(cluster, "ClassFull", "tiny"))
        victim = _bound(cluster)[0]
        await cluster.delete(api.PLURAL_CLAIM, victim["metadata"]["name"], "default")
        await eventually(lambda: _claim(cluster, victim["metadata"]["name"]) == {})
        await eventually(lambda: _bound_count(cluster) == 2)
        assert len(_pending(cluster)) == 1
    _assert_unique_and_consistent(cluster)


async def test_naming_another_claims_hostport_binds_nothing(
    cluster: Cluster, operator: Start
) -> None:
    """A claim created with spec.hostPortName set to another claim's HostPort stays Pending
    (HostPortNotOurs) and never gets that port."""
    await cluster.add(api.PLURAL_CLASS, sample_class())
    await cluster.add(api.PLURAL_CLAIM, claim("owner"))
    async with operator():
        await eventually(lambda: _phase(cluster, "owner") == api.PHASE_BOUND)
        taken = _claim(cluster, "owner")["spec"]["hostPortName"]
        thief = claim("thief")
        thief["spec"]["hostPortName"] = taken
        await cluster.add(api.PLURAL_CLAIM, thief)
        await eventually(
            lambda: any(
                c["reason"] == "HostPortNotOurs"
                for c in _claim(cluster, "thief").get("status", {}).get("conditions", [])
            )
        )
        assert _phase(cluster, "thief") == api.PHASE_PENDING
        assert _claim(cluster, "thief")["status"].get("port", 0) == 0
        hostport = cluster.get(api.PLURAL_HOSTPORT, taken) or {}
        assert hostport["spec"]["claimRef"]["name"] == "owner"
        # The Event is written just after the status: wait for it too.
        await eventually(lambda: _has_event(cluster, "HostPortNotOurs", taken))


async def test_claim_kept_while_a_pod_uses_it(cluster: Cluster, operator: Start) -> None:
    """A claim used by a pod is removed only after the pod is gone; a class with HostPorts is
    not removed until they are."""
    await cluster.add(api.PLURAL_CLASS, sample_class())
    await cluster.add(api.PLURAL_CLAIM, claim("echo-web"))
    await cluster.add("pods", pod("echo", claims={"http": "echo-web"}))
    async with operator():
        await eventually(lambda: _phase(cluster, "echo-web") == api.PHASE_BOUND)
        await eventually(
            lambda: (
                api.FINALIZER
                in (cluster.get(api.PLURAL_CLASS, "sample") or {})
                .get("metadata", {})
                .get("finalizers", [])
            )
        )
        await cluster.delete(api.PLURAL_CLAIM, "echo-web", "default")
        await cluster.delete(api.PLURAL_CLASS, "sample")
        await eventually(lambda: _has_event(cluster, "InUse"))
        await eventually(lambda: _has_event(cluster, "HostPortsExist"))
        assert _claim(cluster, "echo-web") != {}
        assert cluster.get(api.PLURAL_CLASS, "sample") is not None
        await cluster.delete("pods", "echo", "default")
        await eventually(lambda: _claim(cluster, "echo-web") == {})
        await eventually(lambda: cluster.items(api.PLURAL_HOSTPORT) == [])
        await eventually(lambda: cluster.get(api.PLURAL_CLASS, "sample") is None)


async def test_restart_mid_burst(cluster: Cluster, operator: Start) -> None:
    """Killing the operator in the middle of 500 claims and starting it again binds them all,
    holds no port twice and leaves no orphaned HostPort."""
    await cluster.add(api.PLURAL_CLASS, sample_class("burst", (30000, 30999)))
    for number in range(500):
        await cluster.add(api.PLURAL_CLAIM, claim(f"b{number}", class_name="burst"))
    async with operator(workers=8):
        await eventually(lambda: cluster.count(api.PLURAL_HOSTPORT) >= 150, timeout=60)
    assert len(_bound(cluster)) < 500
    async with operator(workers=8):
        await eventually(lambda: _bound_count(cluster) == 500, timeout=60, interval=LARGE_POLL)
        await eventually(lambda: cluster.count(api.PLURAL_HOSTPORT) == 500)
    _assert_unique_and_consistent(cluster)


async def test_two_operators_without_leader_election(cluster: Cluster, operator: Start) -> None:
    """Two operators allocating at once, with no leader election, never hold a port twice."""
    await cluster.add(api.PLURAL_CLASS, sample_class("shared", (40000, 40999)))
    for number in range(300):
        await cluster.add(api.PLURAL_CLAIM, claim(f"s{number}", class_name="shared"))
    async with operator(workers=4), operator(workers=4):
        await eventually(lambda: _bound_count(cluster) == 300, timeout=60, interval=LARGE_POLL)
        await eventually(lambda: cluster.count(api.PLURAL_HOSTPORT) == 300, timeout=30)
    _assert_unique_and_consistent(cluster)


async def test_survives_dropped_watches_gone_and_server_errors(
    cluster: Cluster, operator: Start
) -> None:
    """Dropped watches, 410 Gone and injected 500s cost neither missed nor duplicated work."""
    await cluster.add(api.PLURAL_CLASS, sample_class("flaky", (50000, 50999)))
    async with operator(workers=4) as manager:
        cluster.fail(verb="create", resource=api.PLURAL_HOSTPORT, status=500, times=5)
        cluster.fail(verb="patch", resource=api.PLURAL_CLAIM, status=500, times=5)
        cluster.fail(verb="watch", resource=api.PLURAL_CLAIM, status=500, times=2)
        for number in range(100):
            await cluster.add(api.PLURAL_CLAIM, claim(f"f{number}", class_name="flaky"))
            if number % 25 == 10:
                cluster.drop_watches()
            if number % 25 == 20:
                cluster.expire()
                cluster.drop_watches()
            await anyio.lowlevel.checkpoint()
        await eventually(lambda: _bound_count(cluster) == 100, timeout=60)
        await eventually(lambda: cluster.count(api.PLURAL_HOSTPORT) == 100)
        assert manager.caches.claim_informer.store.get("f99", namespace="default") is not None
    _assert_unique_and_consistent(cluster)
