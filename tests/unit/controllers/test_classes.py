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
