"""The sandbox's StatefulSet controller and the ``/scale`` subresource (StatefulSets:
"Pod Identity", "Deployment and Scaling Guarantees"; the Scale subresource of apps/v1)."""

from typing import Any

from hpa import sandbox as sandbox_module
from tests.integration.sandbox.conftest import GROUP_PATH, PODS, Api, install_vap, vap, vap_binding
from tests.sandbox_fixtures import Kubectl, poll_until

JSON = dict[str, Any]
STATEFULSETS = "/apis/apps/v1/namespaces/default/statefulsets"
EVENTS = "/api/v1/namespaces/default/events"


def statefulset(name: str, replicas: int, **labels: str) -> JSON:
    """A StatefulSet whose pods carry ``app: <name>``, ``labels`` and an annotation."""
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "serviceName": name,
            "selector": {"matchLabels": {"app": name}},
            "template": {
                "metadata": {"labels": {"app": name, **labels}, "annotations": {"note": "kept"}},
                "spec": {"containers": [{"name": "app", "image": "nginx"}]},
            },
        },
    }


def _pod(sandbox: sandbox_module.Sandbox, name: str) -> JSON | None:
    return sandbox.get("v1", "Pod", name, namespace="default")


def _pod_names(sandbox: sandbox_module.Sandbox, prefix: str) -> set[str]:
    pods = sandbox.store.items(("", "pods"), namespace="default")
    return {p["metadata"]["name"] for p in pods if p["metadata"]["name"].startswith(prefix)}


async def _events(api: Api, reason: str) -> list[JSON]:
    """The Events of a reason about StatefulSets, oldest first."""
    answer = await api.get(EVENTS, params={"fieldSelector": f"reason={reason}"})
    items = [e for e in answer.body["items"] if e["involvedObject"]["kind"] == "StatefulSet"]
    return sorted(items, key=lambda e: int(e["metadata"]["resourceVersion"]))


async def test_pods_are_made_from_the_template_with_identity_and_owner(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """Replicas 3 makes web-0, web-1, web-2 from the template, owned by the StatefulSet,
    with the pod-name and pod-index labels; status counts them."""
    created = await api.post(STATEFULSETS, statefulset("web", 3))
    assert created.status == 201, created.body
    assert created.body["spec"]["podManagementPolicy"] == "OrderedReady"
    await poll_until(lambda: _pod_names(sandbox, "web-") == {"web-0", "web-1", "web-2"})
    pod = _pod(sandbox, "web-1")
    assert pod is not None
    assert pod["metadata"]["labels"]["app"] == "web"
    assert pod["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "web-1"
    assert pod["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"
    assert pod["metadata"]["annotations"] == {"note": "kept"}
    assert (pod["spec"]["hostname"], pod["spec"]["subdomain"]) == ("web-1", "web")
    [owner] = pod["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "name": "web",
        "uid": created.body["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
    }  # fmt: skip

    async def counted() -> bool:
        status = (await api.get(f"{STATEFULSETS}/web")).body.get("status") or {}
        return status.get("replicas") == 3 and status.get("observedGeneration") == 1

    await poll_until(counted)
    created_events = await _events(api, "SuccessfulCreate")
    assert [e["message"] for e in created_events] == [
        f"create Pod web-{i} in StatefulSet web successful" for i in range(3)
    ]


async def test_kubectl_scale_deletes_the_highest_ordinals_first_and_adds_the_lowest(
    api: Api, sandbox: sandbox_module.Sandbox, kubectl: Kubectl
) -> None:
    """``kubectl scale`` goes through /scale; scale-down deletes web-2 then web-1 and keeps
    web-0; scale-up brings back web-1."""
    await api.post(STATEFULSETS, statefulset("web", 3))
    await poll_until(lambda: len(_pod_names(sandbox, "web-")) == 3)
    kept = _pod(sandbox, "web-0")
    assert kept is not None
    await kubectl("scale", "statefulset", "web", "--replicas=1")
    await poll_until(lambda: _pod_names(sandbox, "web-") == {"web-0"})
    assert (_pod(sandbox, "web-0") or {})["metadata"]["uid"] == kept["metadata"]["uid"]
    deleted = await _events(api, "SuccessfulDelete")
    assert [e["message"] for e in deleted] == [
        "delete Pod web-2 in StatefulSet web successful",
        "delete Pod web-1 in StatefulSet web successful",
    ]
    scale = await api.get(f"{STATEFULSETS}/web/scale")
    assert scale.status == 200
    assert scale.body["kind"] == "Scale" and scale.body["apiVersion"] == "autoscaling/v1"
    assert scale.body["spec"] == {"replicas": 1}
    assert scale.body["status"]["selector"] == "app=web"
    await kubectl("scale", "statefulset", "web", "--replicas=2")
    await poll_until(lambda: _pod_names(sandbox, "web-") == {"web-0", "web-1"})


async def test_a_deleted_pod_is_made_again(api: Api, sandbox: sandbox_module.Sandbox) -> None:
    """The controller re-creates a pod of its StatefulSet that was deleted (a new uid)."""
    await api.post(STATEFULSETS, statefulset("web", 2))
    await poll_until(lambda: len(_pod_names(sandbox, "web-")) == 2)
    old = _pod(sandbox, "web-1")
    assert old is not None
    assert (await api.delete(f"{PODS}/web-1")).status == 200
    await poll_until(
        lambda: (_pod(sandbox, "web-1") or old)["metadata"]["uid"] != old["metadata"]["uid"]
    )


async def test_deleting_the_statefulset_deletes_its_pods(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """The garbage collector removes the pods with their StatefulSet, which makes no more."""
    await api.post(STATEFULSETS, statefulset("web", 2))
    await poll_until(lambda: len(_pod_names(sandbox, "web-")) == 2)
    assert (await api.delete(f"{STATEFULSETS}/web")).status == 200
    await poll_until(lambda: not _pod_names(sandbox, "web-"))


async def test_a_refused_pod_is_recorded_and_tried_again(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """The controller's pods pass admission: a policy refusing them is a FailedCreate Event,
    and once the policy's binding is gone the pod is made."""
    rule = {
        "expression": "!has(object.metadata.labels) || !('refused' in object.metadata.labels)",
        "message": "refused pods are refused",
    }
    await install_vap(api, vap("refuse", [rule]), vap_binding("refuse", ["Deny"]))
    await api.post(STATEFULSETS, statefulset("web", 1, refused="yes"))
    failed = await poll_until(lambda: _events(api, "FailedCreate"))
    assert failed[0]["type"] == "Warning"
    assert failed[0]["message"].startswith("create Pod web-0 in StatefulSet web failed error: ")
    assert "refused pods are refused" in failed[0]["message"]
    assert _pod(sandbox, "web-0") is None
    binding = f"{GROUP_PATH}/validatingadmissionpolicybindings/refuse"
    assert (await api.delete(binding)).status == 200
    await poll_until(lambda: _pod(sandbox, "web-0") is not None, within=15)


async def test_scale_writes_only_replicas_with_the_object_s_preconditions(api: Api) -> None:
    """PUT /scale needs a current resourceVersion if it names one (409 otherwise) and
    non-negative replicas (422 for Scale); a JSON patch works; only replicas change."""
    created = (await api.post(STATEFULSETS, statefulset("web", 1))).body
    scale_path = f"{STATEFULSETS}/web/scale"
    stale = {"kind": "Scale", "apiVersion": "autoscaling/v1", "spec": {"replicas": 2},
             "metadata": {"name": "web", "resourceVersion": "1"}}  # fmt: skip
    assert (await api.put(scale_path, stale)).status == 409
    negative = await api.patch(scale_path, {"spec": {"replicas": -1}})
    assert negative.status == 422
    assert negative.body["message"].startswith('Scale.autoscaling "web" is invalid')
    patched = await api.patch(scale_path, [{"op": "replace", "path": "/spec/replicas",
                                            "value": 0}], kind="json")  # fmt: skip
    assert patched.status == 200, patched.body
    assert patched.body["spec"] == {}  # replicas 0 is omitted, as kube-apiserver writes it
    current = (await api.get(f"{STATEFULSETS}/web")).body
    assert current["spec"] == {**created["spec"], "replicas": 0}
    assert (await api.get(f"{PODS}/any/scale")).status == 404


async def test_a_selector_must_match_the_template(api: Api) -> None:
    """kube-apiserver refuses a StatefulSet whose pods its selector would not select."""
    body = statefulset("web", 1)
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    answer = await api.post(STATEFULSETS, body)
    assert answer.status == 422
    assert "`selector` does not match template `labels`" in answer.body["message"]
