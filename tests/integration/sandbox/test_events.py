"""Events written through events.k8s.io/v1 are core/v1 Events too (Event API: "events.k8s.io/v1"
is a view of the same objects; kubectl describe reads core/v1 events)."""

from tests.integration.sandbox.conftest import CLAIMS, Api, claim

NEW_EVENTS = "/apis/events.k8s.io/v1/namespaces/default/events"
CORE_EVENTS = "/api/v1/namespaces/default/events"


async def test_events_api_and_core_api_share_objects(api: Api) -> None:
    """An events.k8s.io Event is listed by the core API with regarding→involvedObject, note→message.

    Ref: Kubernetes API, "Event v1 events.k8s.io" (deprecated* fields map to core fields).
    """
    owner = (await api.post(CLAIMS, claim("a"))).body["metadata"]
    event = {
        "metadata": {"name": "a.1"},
        "regarding": {
            "kind": "HostPortClaim",
            "name": "a",
            "namespace": "default",
            "uid": owner["uid"],
        },
        "reason": "Bound",
        "note": "bound to port 9000",
        "type": "Normal",
        "action": "Bind",
        "reportingController": "hostport.rmb938.com/hpa",
        "reportingInstance": "hpa-0",
        "eventTime": "2025-01-01T00:00:00.000000Z",
    }
    created = await api.post(NEW_EVENTS, event)
    assert created.status == 201 and created.body["note"] == "bound to port 9000"
    selector = f"involvedObject.name=a,involvedObject.uid={owner['uid']}"
    core = await api.get(CORE_EVENTS, params={"fieldSelector": selector})
    [item] = core.body["items"]
    assert item["apiVersion"] == "v1"
    assert item["message"] == "bound to port 9000"
    assert item["reportingComponent"] == "hostport.rmb938.com/hpa"
    patched = await api.patch(
        f"{NEW_EVENTS}/a.1",
        {"series": {"count": 2, "lastObservedTime": "2025-01-01T00:01:00.000000Z"}},
    )
    assert patched.body["regarding"]["name"] == "a" and patched.body["series"]["count"] == 2


async def test_event_about_a_cluster_scoped_object_belongs_in_default(api: Api) -> None:
    """A core/v1 Event about a cluster-scoped object is refused outside ``default`` (422).

    Ref: kube-apiserver's ``legacyValidateEvent``: the Event's namespace must match the
    involvedObject's, and an object without one means ``default``.
    """
    event = {
        "metadata": {"name": "sample.1"},
        "involvedObject": {"kind": "HostPortClass", "name": "sample"},
        "reason": "HostPortsExist",
        "message": "1 HostPort holds ports of this class",
        "type": "Normal",
    }
    await api.post("/api/v1/namespaces", {"metadata": {"name": "hpa-system"}})
    refused = await api.post("/api/v1/namespaces/hpa-system/events", event)
    assert refused.status == 422
    [cause] = refused.body["details"]["causes"]
    assert cause["field"] == "involvedObject.namespace"
    accepted = await api.post(CORE_EVENTS, event)
    assert accepted.status == 201
