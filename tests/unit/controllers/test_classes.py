"""Class status: counts from the index, and pool edits that never revoke a port."""

import json

from hpa import api, kube
from tests import kubefake
from tests.operator_fixtures import Start, claim, sample_class
from tests.polling import eventually


def _status(cluster: kubefake.FakeApi, name: str) -> dict[str, object]:
    return dict((cluster.get(api.PLURAL_CLASS, name) or {}).get("status", {}))


async def test_shrinking_pools_keeps_ports_and_reports_them(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """Ports outside edited pools stay allocated, counted in outsidePools with a condition."""
    cluster.put(api.PLURAL_CLASS, sample_class("edit", (9000, 9009)))
    for number in range(4):
        cluster.put(api.PLURAL_CLAIM, claim(f"e{number}", class_name="edit"))
    async with operator():
        await eventually(lambda: _status(cluster, "edit").get("allocated") == 4)
        assert _status(cluster, "edit")["ranges"] == "9000-9009"
        await cluster.request(
            kube.Request(
                method="PATCH",
                path=kube.CLASSES.path(name="edit"),
                body=json.dumps({"spec": {"pools": [{"start": 9002, "end": 9020}]}}).encode(),
                content_type="application/merge-patch+json",
            )
        )
        await eventually(lambda: _status(cluster, "edit").get("outsidePools") == 2)
        status = _status(cluster, "edit")
        assert (status["ranges"], status["total"], status["allocated"]) == ("9002-9020", 19, 4)
        assert status["free"] == 17
        conditions = {c["type"]: c for c in status["conditions"]}  # type: ignore[attr-defined]
        assert conditions["PortsOutsidePools"]["status"] == "True"
        assert conditions["Ready"]["status"] == "True"
    assert cluster.count(api.PLURAL_HOSTPORT) == 4


async def test_caches_answer_the_webhooks_reads(cluster: kubefake.FakeApi, operator: Start) -> None:
    """The caches give claims, namespace labels and classes; a live read finds a fresh claim."""
    cluster.put(
        "namespaces", {"metadata": {"name": "team", "labels": {api.NAMESPACE_LABEL: "true"}}}
    )
    cluster.put(api.PLURAL_CLASS, sample_class())
    cluster.put(api.PLURAL_CLAIM, claim("web", namespace="team"))
    async with operator() as manager:
        caches = manager.caches
        await eventually(lambda: caches.claim("team", "web") is not None)
        assert caches.namespace_labels("team") == {api.NAMESPACE_LABEL: "true"}
        assert caches.namespace_labels("missing") is None
        assert [c.metadata.name for c in caches.classes()] == ["sample"]
        assert (await caches.fetch_claim("team", "web")) is not None
        assert (await caches.fetch_claim("team", "nope")) is None


def _pending_reason(cluster: kubefake.FakeApi, name: str) -> str:
    claim_obj = cluster.get(api.PLURAL_CLAIM, name, "default") or {}
    conditions = claim_obj.get("status", {}).get("conditions", [])
    return next((c["reason"] for c in conditions if c["type"] == "Bound"), "")


async def test_a_class_being_deleted_keeps_true_counts_and_says_so(
    cluster: kubefake.FakeApi, operator: Start
) -> None:
    """While its HostPorts keep a deleted class, its status still counts them, it says it is
    being deleted, and a new claim is told that, not that the class does not exist."""
    cluster.put(api.PLURAL_CLASS, sample_class("going", (9000, 9009)))
    for name in ("a", "b"):
        cluster.put(api.PLURAL_CLAIM, claim(name, class_name="going"))
    async with operator():
        await eventually(lambda: _status(cluster, "going").get("allocated") == 2)
        await cluster.delete(api.PLURAL_CLASS, "going")
        cluster.put(api.PLURAL_CLAIM, claim("late", class_name="going"))
        await eventually(lambda: _pending_reason(cluster, "late") == "ClassDeleting")
        await cluster.delete(api.PLURAL_CLAIM, "a", "default")
        await eventually(lambda: _status(cluster, "going").get("allocated") == 1)
        ready = {c["type"]: c for c in _status(cluster, "going")["conditions"]}["Ready"]  # type: ignore[attr-defined]
        assert (ready["status"], ready["reason"]) == ("False", "HostPortsExist")
        assert "being deleted: 1 HostPort" in ready["message"]
        await cluster.delete(api.PLURAL_CLAIM, "b", "default")
        await cluster.delete(api.PLURAL_CLAIM, "late", "default")
        await eventually(lambda: cluster.get(api.PLURAL_CLASS, "going") is None)
