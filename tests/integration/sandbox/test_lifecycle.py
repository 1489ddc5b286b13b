"""Deletion semantics (Finalizers; Owners and Dependents; Garbage collection; Namespaces)."""

from typing import Any

from hpa import sandbox as sandbox_module
from tests.integration.sandbox.conftest import CLAIMS, PODS, Api, claim, pod
from tests.sandbox_fixtures import poll_until

CONFIGMAPS = "/api/v1/namespaces/default/configmaps"


def _owned(name: str, owner: dict[str, Any]) -> dict[str, Any]:
    meta = owner["metadata"]
    reference = {"apiVersion": "v1", "kind": "ConfigMap", "name": meta["name"], "uid": meta["uid"]}
    return {"metadata": {"name": name, "ownerReferences": [reference]}}


async def test_finalizers_defer_deletion_until_removed(api: Api) -> None:
    """A delete with finalizers only sets deletionTimestamp; removing them deletes.

    Ref: Finalizers, "How finalizers work".
    """
    body = claim("a")
    body["metadata"]["finalizers"] = ["hostport.rmb938.com/protection"]
    await api.post(CLAIMS, body)
    deleting = await api.delete(f"{CLAIMS}/a")
    assert deleting.status == 200
    assert deleting.body["metadata"]["deletionTimestamp"]
    still = await api.get(f"{CLAIMS}/a")
    assert still.status == 200 and still.body["metadata"]["deletionTimestamp"]
    added = await api.patch(
        f"{CLAIMS}/a", {"metadata": {"finalizers": ["a/b", "hostport.rmb938.com/protection"]}}
    )
    assert added.status == 422
    await api.patch(f"{CLAIMS}/a", {"metadata": {"finalizers": None}})
    assert (await api.get(f"{CLAIMS}/a")).status == 404


async def test_delete_without_finalizers_answers_a_success_status(api: Api) -> None:
    """Deleting a custom resource answers a Success Status with its details.

    Ref: API concepts, "Deletion".
    """
    created = await api.post(CLAIMS, claim("a"))
    answer = await api.delete(f"{CLAIMS}/a")
    assert answer.body["status"] == "Success"
    assert answer.body["details"]["uid"] == created.body["metadata"]["uid"]


async def test_delete_precondition_on_resource_version(api: Api) -> None:
    """A delete with a stale resourceVersion precondition answers 409.

    Ref: API conventions, "Concurrency Control and Consistency" (DeleteOptions.preconditions).
    """
    await api.post(CLAIMS, claim("a"))
    answer = await api.delete(f"{CLAIMS}/a", {"preconditions": {"resourceVersion": "1"}})
    assert answer.status == 409


async def test_background_deletion_collects_dependents(api: Api) -> None:
    """Dependents are deleted by the garbage collector once their owner is gone.

    Ref: Garbage Collection, "Background cascading deletion".
    """
    owner = (await api.post(CONFIGMAPS, {"metadata": {"name": "owner"}})).body
    await api.post(CONFIGMAPS, _owned("dependent", owner))
    await api.delete(f"{CONFIGMAPS}/owner", {"propagationPolicy": "Background"})

    async def gone() -> bool:
        return (await api.get(f"{CONFIGMAPS}/dependent")).status == 404

    await poll_until(gone)


async def test_orphan_deletion_keeps_dependents(api: Api) -> None:
    """propagationPolicy=Orphan removes the owner reference and keeps the dependent.

    Ref: Garbage Collection, "Orphaned dependents".
    """
    owner = (await api.post(CONFIGMAPS, {"metadata": {"name": "owner"}})).body
    await api.post(CONFIGMAPS, _owned("dependent", owner))
    await api.delete(f"{CONFIGMAPS}/owner", {"propagationPolicy": "Orphan"})
    dependent = await api.get(f"{CONFIGMAPS}/dependent")
    assert dependent.status == 200 and "ownerReferences" not in dependent.body["metadata"]


async def test_foreground_deletion_waits_for_dependents(api: Api) -> None:
    """Foreground deletion keeps the owner (foregroundDeletion) until dependents are gone.

    Ref: Garbage Collection, "Foreground cascading deletion".
    """
    owner = (await api.post(CONFIGMAPS, {"metadata": {"name": "owner"}})).body
    dependent = _owned("dependent", owner)
    dependent["metadata"]["finalizers"] = ["example.com/hold"]
    await api.post(CONFIGMAPS, dependent)
    answer = await api.delete(f"{CONFIGMAPS}/owner", {"propagationPolicy": "Foreground"})
    assert "foregroundDeletion" in answer.body["metadata"]["finalizers"]

    async def dependent_deleting() -> bool:
        got = await api.get(f"{CONFIGMAPS}/dependent")
        return bool(got.body["metadata"].get("deletionTimestamp"))

    await poll_until(dependent_deleting)
    assert (await api.get(f"{CONFIGMAPS}/owner")).status == 200
    await api.patch(f"{CONFIGMAPS}/dependent", {"metadata": {"finalizers": None}})

    async def owner_gone() -> bool:
        return (await api.get(f"{CONFIGMAPS}/owner")).status == 404

    await poll_until(owner_gone)


async def test_namespace_deletion_terminates_then_removes(
    api: Api, sandbox: sandbox_module.Sandbox
) -> None:
    """Deleting a namespace marks it Terminating, deletes its content, then removes it.

    Ref: Namespaces, "Deleting a namespace"; Namespace lifecycle (Terminating).
    """
    await api.post("/api/v1/namespaces", {"metadata": {"name": "team"}})
    await api.post("/api/v1/namespaces/team/pods", pod("p"))
    held = {"metadata": {"name": "held", "finalizers": ["example.com/hold"]}}
    await api.post("/api/v1/namespaces/team/configmaps", held)
    answer = await api.delete("/api/v1/namespaces/team")
    assert answer.body["status"]["phase"] == "Terminating"
    refused = await api.post("/api/v1/namespaces/team/configmaps", {"metadata": {"name": "new"}})
    assert refused.status == 403

    async def pod_gone() -> bool:
        return (await api.get("/api/v1/namespaces/team/pods/p")).status == 404

    await poll_until(pod_gone)
    assert (await api.get("/api/v1/namespaces/team")).status == 200
    await api.patch("/api/v1/namespaces/team/configmaps/held", {"metadata": {"finalizers": None}})

    async def namespace_gone() -> bool:
        return (await api.get("/api/v1/namespaces/team")).status == 404

    await poll_until(namespace_gone)


async def test_pods_are_deleted_at_once_and_returned(api: Api) -> None:
    """Deleting a pod (never scheduled) removes it at once and answers the pod.

    Ref: Pod lifecycle, "Termination of Pods" (unscheduled pods are removed immediately).
    """
    await api.post(PODS, pod("p"))
    answer = await api.delete(f"{PODS}/p")
    assert answer.body["kind"] == "Pod"
    assert (await api.get(f"{PODS}/p")).status == 404
