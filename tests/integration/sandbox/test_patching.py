"""PATCH (API concepts: "Patch", Update API objects using kubectl patch)."""

import pytest

from tests.integration.sandbox.conftest import CLAIMS, Api, claim, pod

DEPLOYMENTS = "/apis/apps/v1/namespaces/default/deployments"


def _deployment(name: str) -> dict[str, object]:
    return {"metadata": {"name": name}, "spec": {"template": {"spec": pod(name)["spec"]}}}


async def test_merge_patch_sets_and_removes_fields(api: Api) -> None:
    """A JSON merge patch sets fields and deletes those set to null.

    Ref: API concepts, "Patch" (JSON merge patch, RFC 7386).
    """
    await api.post(CLAIMS, claim("a"))
    set_ = await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": "1", "y": "2"}}})
    removed = await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": None}}})
    assert set_.body["metadata"]["labels"] == {"x": "1", "y": "2"}
    assert removed.body["metadata"]["labels"] == {"y": "2"}


async def test_json_patch_applies_operations(api: Api) -> None:
    """A JSON patch applies add/replace/remove in order.

    Ref: API concepts, "Patch" (JSON patch, RFC 6902).
    """
    await api.post(CLAIMS, claim("a"))
    operations = [
        {"op": "add", "path": "/metadata/labels", "value": {"a": "1"}},
        {"op": "replace", "path": "/metadata/labels/a", "value": "2"},
        {"op": "add", "path": "/spec/hostPortName", "value": "port-1"},
    ]
    answer = await api.patch(f"{CLAIMS}/a", operations, kind="json")
    assert answer.status == 200
    assert answer.body["metadata"]["labels"] == {"a": "2"}
    assert answer.body["spec"]["hostPortName"] == "port-1"


async def test_json_patch_failed_test_is_422(api: Api) -> None:
    """A failing ``test`` operation answers 422 and changes nothing.

    Ref: API concepts, "Patch"; handlers/patch.go answers 422 for a patch that cannot apply.
    """
    created = await api.post(CLAIMS, claim("a"))
    rv = created.body["metadata"]["resourceVersion"]
    operations = [
        {"op": "test", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "add", "path": "/metadata/labels", "value": {"a": "1"}},
    ]
    answer = await api.patch(f"{CLAIMS}/a", operations, kind="json")
    assert answer.status == 422 and answer.body["reason"] == "Invalid"
    cause = answer.body["details"]["causes"][0]["message"]
    assert cause == "testing value /metadata/resourceVersion failed: test failed"
    assert (await api.get(f"{CLAIMS}/a")).body["metadata"]["resourceVersion"] == rv


async def test_strategic_merge_patch_merges_containers_by_name(api: Api) -> None:
    """Strategic merge patch merges containers by name and ports by containerPort.

    Ref: Update API objects using kubectl patch, "Use a strategic merge patch".
    """
    await api.post(DEPLOYMENTS, _deployment("d"))
    containers_patch = [
        {"name": "app", "ports": [{"containerPort": 80, "hostPort": 9000}]},
        {"name": "sidecar", "image": "busybox"},
    ]
    patch = {"spec": {"template": {"spec": {"containers": containers_patch}}}}
    answer = await api.patch(f"{DEPLOYMENTS}/d", patch, kind="strategic-merge")
    assert answer.status == 200
    assert answer.body["metadata"]["generation"] == 2
    containers = answer.body["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["app", "sidecar"]
    assert containers[0]["image"] == "nginx"
    assert containers[0]["ports"] == [{"containerPort": 80, "name": "http", "hostPort": 9000}]


async def test_strategic_merge_patch_delete_directive(api: Api) -> None:
    """``$patch: delete`` removes a list element by its merge key.

    Ref: Strategic merge patch (community docs), "$patch: delete".
    """
    await api.post(DEPLOYMENTS, _deployment("d"))

    def containers(*items: dict[str, str]) -> dict[str, object]:
        return {"spec": {"template": {"spec": {"containers": list(items)}}}}

    await api.patch(
        f"{DEPLOYMENTS}/d", containers({"name": "b", "image": "x"}), kind="strategic-merge"
    )
    answer = await api.patch(
        f"{DEPLOYMENTS}/d", containers({"name": "b", "$patch": "delete"}), kind="strategic-merge"
    )
    assert [c["name"] for c in answer.body["spec"]["template"]["spec"]["containers"]] == ["app"]


async def test_strategic_merge_patch_on_custom_resources_is_415(api: Api) -> None:
    """Custom resources do not support strategic merge patch: 415.

    Ref: CRDs, "Advanced topics" (strategic merge patch is not supported).
    """
    await api.post(CLAIMS, claim("a"))
    answer = await api.patch(
        f"{CLAIMS}/a", {"metadata": {"labels": {"a": "1"}}}, kind="strategic-merge"
    )
    assert answer.status == 415 and answer.body["reason"] == "UnsupportedMediaType"


@pytest.mark.parametrize(
    "content_type",
    [
        pytest.param("application/apply-patch+yaml", id="apply"),
        pytest.param("text/plain", id="unknown"),
    ],
)
async def test_unsupported_patch_types_are_415(api: Api, content_type: str) -> None:
    """Server-side apply and unknown patch types answer 415.

    Ref: API concepts, "Patch".
    """
    await api.post(CLAIMS, claim("a"))
    answer = await api.request("PATCH", f"{CLAIMS}/a", {}, content_type=content_type)
    assert answer.status == 415


async def test_patch_of_a_missing_object_is_404(api: Api) -> None:
    """Patching a missing object answers 404.

    Ref: API conventions, "HTTP Status codes".
    """
    answer = await api.patch(f"{CLAIMS}/missing", {"metadata": {"labels": {"a": "1"}}})
    assert answer.status == 404
