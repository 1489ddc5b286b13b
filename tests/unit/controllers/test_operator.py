"""The whole operator against the in-memory API server: the issue's "done when" list."""

import collections
import time
from typing import Any

import anyio
import anyio.lowlevel

from hpa import api
from tests import kubefake
from tests.polling import eventually
from tests.unit.controllers.conftest import Start, claim, sample_class

Obj = dict[str, Any]


def _claim(fake: kubefake.FakeApi, name: str, namespace: str = "default") -> Obj:
    return fake.get(api.PLURAL_CLAIM, name, namespace) or {}


def _phase(fake: kubefake.FakeApi, name: str, namespace: str = "default") -> str:
    return str(_claim(fake, name, namespace).get("status", {}).get("phase", ""))


def _bound(fake: kubefake.FakeApi) -> list[Obj]:
    return [c for c in fake.items(api.PLURAL_CLAIM) if c.get("status", {}).get("phase") == "Bound"]


def _pending(fake: kubefake.FakeApi) -> list[Obj]:
    return [
        c for c in fake.items(api.PLURAL_CLAIM) if c.get("status", {}).get("phase") == "Pending"
    ]


def _finalizers(fake: kubefake.FakeApi, plural: str, name: str) -> list[str]:
    return list((fake.get(plural, name) or {}).get("metadata", {}).get("finalizers", []))


def _assert_unique_and_consistent(fake: kubefake.FakeApi) -> None:
    """Every port is held by one HostPort, bound to one live claim, and nothing is orphaned."""
    hostports = fake.items(api.PLURAL_HOSTPORT)
    ports = collections.Counter(hp["spec"]["port"] for hp in hostports)
    assert all(n == 1 for n in ports.values())
    claims = {c["metadata"]["uid"]: c for c in fake.items(api.PLURAL_CLAIM)}
    for hostport in hostports:
        owner = claims.get(hostport["spec"]["claimRef"]["uid"])
        assert owner is not None, f"orphaned {hostport['metadata']['name']}"
        assert owner["spec"].get("hostPortName") == hostport["metadata"]["name"]
    claim_ports = collections.Counter(c["status"]["port"] for c in _bound(fake))
    assert all(n == 1 for n in claim_ports.values())


async def test_quickstart_claim_binds(fake: kubefake.FakeApi, operator: Start) -> None:
    """The README's quickstart claim is bound to a port from the class's pool."""
    fake.put(api.PLURAL_CLASS, sample_class())
    fake.put(api.PLURAL_CLAIM, claim("echo-web"))
    async with operator():
        await eventually(lambda: _phase(fake, "echo-web") == api.PHASE_BOUND)
        await eventually(
            lambda: (
                (fake.get(api.PLURAL_CLASS, "sample") or {}).get("status", {}).get("allocated") == 1
            )
        )
    bound = _claim(fake, "echo-web")
    port = bound["status"]["port"]
    assert 9000 <= port <= 9500
    assert bound["spec"]["hostPortName"] == api.hostport_name(port)
    assert api.FINALIZER in bound["metadata"]["finalizers"]
    hostport = fake.get(api.PLURAL_HOSTPORT, api.hostport_name(port))
    assert hostport is not None
    assert hostport["spec"]["claimRef"]["uid"] == bound["metadata"]["uid"]
    cls = fake.get(api.PLURAL_CLASS, "sample") or {}
    assert cls["status"]["ranges"] == "9000-9500"
    assert (cls["status"]["total"], cls["status"]["free"]) == (501, 500)


async def test_thousand_claims_three_overlapping_classes(
    fake: kubefake.FakeApi, operator: Start
) -> None:
    """1,000 claims over 3 classes with overlapping pools get unique ports inside their pools."""
    # Overlapping, and each class has room of its own: lowest-first allocation is greedy.
    pools = {"a": [(10000, 10499)], "b": [(10400, 10999)], "c": [(10900, 11499), (20000, 20099)]}
    for name, runs in pools.items():
        fake.put(api.PLURAL_CLASS, sample_class(name, *runs))
    for number in range(1000):
        fake.put(api.PLURAL_CLAIM, claim(f"c{number}", class_name="abc"[number % 3]))
    started = time.perf_counter()
    async with operator(workers=8):
        await eventually(lambda: fake.count(api.PLURAL_CLAIM, api.PHASE_BOUND) == 1000, timeout=120)
    elapsed = time.perf_counter() - started
    _assert_unique_and_consistent(fake)
    for bound in _bound(fake):
        runs = pools[bound["spec"]["hostPortClassName"]]
        assert any(s <= bound["status"]["port"] <= e for s, e in runs)
    print(f"1000 claims bound in {elapsed:.2f}s")


async def test_full_class_leaves_claims_pending(fake: kubefake.FakeApi, operator: Start) -> None:
    """A full class leaves new claims Pending with a condition and an Event naming the class;
    deleting one bound claim lets exactly one Pending claim bind."""
    fake.put(api.PLURAL_CLASS, sample_class("tiny", (7000, 7001)))
    for name in ("one", "two", "three", "four"):
        fake.put(api.PLURAL_CLAIM, claim(name, class_name="tiny"))
    async with operator():
        await eventually(lambda: fake.count(api.PLURAL_CLAIM, api.PHASE_BOUND) == 2)
        await eventually(lambda: len(_pending(fake)) == 2)
        pending = _pending(fake)
        for waiting in pending:
            bound_condition = next(
                c for c in waiting["status"]["conditions"] if c["type"] == "Bound"
            )
            assert bound_condition["status"] == "False"
            assert bound_condition["reason"] == "ClassFull"
            assert "tiny" in bound_condition["message"]
        events = fake.items("events")
        assert any(e["reason"] == "ClassFull" and "tiny" in e["message"] for e in events)
        victim = _bound(fake)[0]
        await fake.request(_delete_request(api.PLURAL_CLAIM, victim["metadata"]["name"], "default"))
        await eventually(lambda: _claim(fake, victim["metadata"]["name"]) == {})
        await eventually(lambda: fake.count(api.PLURAL_CLAIM, api.PHASE_BOUND) == 2)
        assert (
            len([c for c in fake.items(api.PLURAL_CLAIM) if c["status"]["phase"] == "Pending"]) == 1
        )
    _assert_unique_and_consistent(fake)


def _delete_request(plural: str, name: str, namespace: str = "") -> Any:
    from hpa import kube

    resource = next(
        r for r in (kube.CLAIMS, kube.CLASSES, kube.HOSTPORTS, kube.PODS) if r.plural == plural
    )
    return kube.Request(method="DELETE", path=resource.path(namespace=namespace, name=name))


async def test_claim_kept_while_a_pod_uses_it(fake: kubefake.FakeApi, operator: Start) -> None:
    """A claim used by a pod is removed only after the pod is gone; a class with HostPorts is
    not removed until they are."""
    fake.put(api.PLURAL_CLASS, sample_class())
    fake.put(api.PLURAL_CLAIM, claim("echo-web"))
    fake.put(
        "pods",
        {
            "metadata": {
                "name": "echo",
                "namespace": "default",
                "labels": {api.POD_LABEL: "true"},
                "annotations": {f"{api.CLAIM_ANNOTATION_PREFIX}http": "echo-web"},
            }
        },
    )
    async with operator():
        await eventually(lambda: _phase(fake, "echo-web") == api.PHASE_BOUND)
        await eventually(
            lambda: (
                api.FINALIZER
                in (fake.get(api.PLURAL_CLASS, "sample") or {})
                .get("metadata", {})
                .get("finalizers", [])
            )
        )
        await fake.request(_delete_request(api.PLURAL_CLAIM, "echo-web", "default"))
        await fake.request(_delete_request(api.PLURAL_CLASS, "sample"))
        await eventually(lambda: any(e["reason"] == "InUse" for e in fake.items("events")))
        await eventually(lambda: any(e["reason"] == "HostPortsExist" for e in fake.items("events")))
        assert _claim(fake, "echo-web") != {}
        assert fake.get(api.PLURAL_CLASS, "sample") is not None
        await fake.request(_delete_request("pods", "echo", "default"))
        await eventually(lambda: _claim(fake, "echo-web") == {})
        await eventually(lambda: fake.items(api.PLURAL_HOSTPORT) == [])
        await eventually(lambda: fake.get(api.PLURAL_CLASS, "sample") is None)


async def test_restart_mid_burst(fake: kubefake.FakeApi, operator: Start) -> None:
    """Killing the operator in the middle of 500 claims and starting it again binds them all,
    holds no port twice and leaves no orphaned HostPort."""
    fake.put(api.PLURAL_CLASS, sample_class("burst", (30000, 30999)))
    for number in range(500):
        fake.put(api.PLURAL_CLAIM, claim(f"b{number}", class_name="burst"))
    async with operator(workers=8):
        await eventually(lambda: fake.count(api.PLURAL_HOSTPORT) >= 150, timeout=60)
    assert len(_bound(fake)) < 500
    async with operator(workers=8):
        await eventually(lambda: fake.count(api.PLURAL_CLAIM, api.PHASE_BOUND) == 500, timeout=60)
        await eventually(lambda: fake.count(api.PLURAL_HOSTPORT) == 500)
    _assert_unique_and_consistent(fake)


async def test_two_operators_without_leader_election(
    fake: kubefake.FakeApi, operator: Start
) -> None:
    """Two operators allocating at once, with no leader election, never hold a port twice."""
    fake.put(api.PLURAL_CLASS, sample_class("shared", (40000, 40999)))
    for number in range(300):
        fake.put(api.PLURAL_CLAIM, claim(f"s{number}", class_name="shared"))
    async with operator(workers=4), operator(workers=4):
        await eventually(lambda: fake.count(api.PLURAL_CLAIM, api.PHASE_BOUND) == 300, timeout=60)
        await eventually(lambda: fake.count(api.PLURAL_HOSTPORT) == 300, timeout=30)
    _assert_unique_and_consistent(fake)


async def test_survives_dropped_watches_gone_and_server_errors(
    fake: kubefake.FakeApi, operator: Start
) -> None:
    """Dropped watches, 410 Gone and injected 500s cost neither missed nor duplicated work."""
    fake.put(api.PLURAL_CLASS, sample_class("flaky", (50000, 50999)))
    async with operator(workers=4) as manager:
        fake.fail(verb="create", resource=api.PLURAL_HOSTPORT, status=500, times=5)
        fake.fail(verb="patch", resource=api.PLURAL_CLAIM, status=500, times=5)
        fake.fail(verb="watch", resource=api.PLURAL_CLAIM, status=500, times=2)
        for number in range(100):
            fake.put(api.PLURAL_CLAIM, claim(f"f{number}", class_name="flaky"))
            if number % 25 == 10:
                fake.drop_watches()
            if number % 25 == 20:
                fake.expire()
                fake.drop_watches()
            await anyio.lowlevel.checkpoint()
        await eventually(lambda: fake.count(api.PLURAL_CLAIM, api.PHASE_BOUND) == 100, timeout=60)
        await eventually(lambda: fake.count(api.PLURAL_HOSTPORT) == 100)
        assert manager.caches.claim_informer.store.get("f99", namespace="default") is not None
    _assert_unique_and_consistent(fake)
