"""CRUD and metadata semantics (API conventions: "Metadata", "Concurrency Control and
Consistency"; API concepts: "Resource versions", "Generated values")."""

import pytest

from hpa import sandbox as sandbox_module
from tests.integration.sandbox.conftest import CLAIMS, CLASSES, PODS, Api, claim, pod


async def test_create_then_get_returns_the_server_fields(api: Api) -> None:
    """Create fills uid, creationTimestamp, resourceVersion, generation.

    Ref: API conventions: Metadata.
    """
    created = await api.post(CLAIMS, claim("a"))
    assert created.status == 201
    meta = created.body["metadata"]
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["generation"] == 1 and meta["namespace"] == "default"
    got = await api.get(f"{CLAIMS}/a")
    assert got.status == 200 and got.body == created.body


async def test_create_of_a_taken_name_is_409_already_exists(api: Api) -> None:
    """A second create with the same name answers 409 AlreadyExists.

    Ref: API conventions: Idempotency.
    """
    await api.post(CLAIMS, claim("a"))
    again = await api.post(CLAIMS, claim("a"))
    assert again.status == 409
    assert again.body["reason"] == "AlreadyExists"
    assert again.body["details"] == {
        "name": "a",
        "group": "hostport.rmb938.com",
        "kind": "hostportclaims",
    }
    assert again.body["message"] == 'hostportclaims.hostport.rmb938.com "a" already exists'


async def test_missing_object_is_404_not_found(api: Api) -> None:
    """Getting a missing object answers a NotFound Status (API conventions: HTTP status codes)."""
    missing = await api.get(f"{CLAIMS}/nope")
    assert missing.status == 404
    assert missing.body["kind"] == "Status" and missing.body["reason"] == "NotFound"


async def test_namespaced_create_needs_its_namespace(api: Api) -> None:
    """Creating in a namespace that does not exist answers 404 (API concepts: Namespaces)."""
    answer = await api.post("/api/v1/namespaces/nowhere/configmaps", {"metadata": {"name": "c"}})
    assert answer.status == 404
    assert answer.body["message"] == 'namespaces "nowhere" not found'


async def test_generate_name_appends_a_random_suffix(api: Api) -> None:
    """generateName gives a unique name with five random characters.

    Ref: API concepts: Generated values.
    """
    body = claim("")
    body["metadata"] = {"generateName": "web-"}
    first = await api.post(CLAIMS, body)
    second = await api.post(CLAIMS, body)
    names = {first.body["metadata"]["name"], second.body["metadata"]["name"]}
    assert len(names) == 2 and all(n.startswith("web-") and len(n) == 9 for n in names)


async def test_resource_versions_increase_across_resources(api: Api) -> None:
    """Every write takes a higher resourceVersion from one counter.

    Ref: API concepts: Resource versions.
    """
    first = await api.post(CLAIMS, claim("a"))
    second = await api.post("/api/v1/namespaces/default/configmaps", {"metadata": {"name": "c"}})
    third = await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": "y"}}})
    versions = [int(a.body["metadata"]["resourceVersion"]) for a in (first, second, third)]
    assert versions == sorted(versions) and len(set(versions)) == 3


async def test_update_with_stale_resource_version_is_409_conflict(api: Api) -> None:
    """A PUT carrying an old resourceVersion answers 409 Conflict.

    Ref: API conventions: Concurrency Control and Consistency.
    """
    created = (await api.post(CLAIMS, claim("a"))).body
    await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": "1"}}})
    stale = await api.put(f"{CLAIMS}/a", created)
    assert stale.status == 409
    assert stale.body["reason"] == "Conflict"
    assert "the object has been modified" in stale.body["message"]


async def test_patch_with_stale_resource_version_is_409_conflict(api: Api) -> None:
    """A merge patch that sets an old metadata.resourceVersion answers 409.

    Ref: API conventions: Concurrency Control and Consistency.
    """
    created = (await api.post(CLAIMS, claim("a"))).body
    await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": "1"}}})
    rv = created["metadata"]["resourceVersion"]
    stale = await api.patch(
        f"{CLAIMS}/a", {"metadata": {"resourceVersion": rv, "labels": {"x": "2"}}}
    )
    assert stale.status == 409


async def test_custom_resource_update_requires_a_resource_version(api: Api) -> None:
    """A PUT of a custom resource without resourceVersion is 422.

    Ref: CRDs allow no unconditional update.
    """
    await api.post(CLAIMS, claim("a"))
    answer = await api.put(f"{CLAIMS}/a", claim("a"))
    assert answer.status == 422
    assert answer.body["details"]["causes"][0]["field"] == "metadata.resourceVersion"


async def test_generation_counts_spec_changes_only(api: Api) -> None:
    """Label and status writes keep generation; spec writes bump it.

    Ref: API conventions: Spec and Status.
    """
    await api.post(CLAIMS, claim("a"))
    labelled = await api.patch(f"{CLAIMS}/a", {"metadata": {"labels": {"x": "1"}}})
    status = await api.patch(f"{CLAIMS}/a/status", {"status": {"phase": "Pending"}})
    spec = await api.patch(f"{CLAIMS}/a", {"spec": {"hostPortName": "port-9000"}})
    generations = [a.body["metadata"]["generation"] for a in (labelled, status, spec)]
    assert generations == [1, 1, 2]


async def test_no_op_update_keeps_the_resource_version(api: Api) -> None:
    """A patch that changes nothing does not write (API concepts: Resource versions)."""
    created = (await api.post(CLAIMS, claim("a"))).body
    same = await api.patch(f"{CLAIMS}/a", {"spec": {"hostPortClassName": "default"}})
    assert same.body["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_main_resource_writes_ignore_status(api: Api) -> None:
    """With the status subresource, create and update ignore .status (CRDs: Status subresource)."""
    body = claim("a")
    body["status"] = {"phase": "Bound"}
    created = await api.post(CLAIMS, body)
    assert "status" not in created.body
    await api.patch(f"{CLAIMS}/a/status", {"status": {"phase": "Pending"}})
    patched = await api.patch(f"{CLAIMS}/a", {"status": {"phase": "Bound"}})
    assert patched.body["status"] == {"phase": "Pending"}


async def test_status_writes_ignore_everything_but_status(api: Api) -> None:
    """Writes to /status change only .status, not spec or labels (CRDs: Status subresource)."""
    await api.post(CLAIMS, claim("a"))
    answer = await api.patch(
        f"{CLAIMS}/a/status",
        {
            "metadata": {"labels": {"x": "1"}},
            "spec": {"hostPortName": "p"},
            "status": {"phase": "Bound"},
        },
    )
    assert answer.status == 200
    assert answer.body["status"] == {"phase": "Bound"}
    assert "labels" not in answer.body["metadata"] and "hostPortName" not in answer.body["spec"]


async def test_pods_start_pending_and_ignore_status_on_create(api: Api) -> None:
    """A new pod's status is set by the server (Pod lifecycle: Pending)."""
    body = pod("p")
    body["status"] = {"phase": "Running"}
    created = await api.post(PODS, body)
    assert created.status == 201 and created.body["status"]["phase"] == "Pending"


async def test_pod_without_containers_is_invalid(api: Api) -> None:
    """A pod without containers answers 422 with the field (API conventions: Validation)."""
    answer = await api.post(PODS, {"metadata": {"name": "p"}, "spec": {}})
    assert answer.status == 422
    assert answer.body["details"]["causes"][0]["field"] == "spec.containers"


async def test_cluster_scoped_objects_have_no_namespace(api: Api) -> None:
    """Cluster-scoped kinds are served without namespace (API concepts: Resource URIs)."""
    created = await api.post(
        CLASSES, {"metadata": {"name": "c"}, "spec": {"pools": [{"start": 1, "end": 2}]}}
    )
    assert created.status == 201 and "namespace" not in created.body["metadata"]


@pytest.mark.parametrize(
    "header",
    [pytest.param(None, id="missing"), pytest.param("Bearer wrong", id="wrong")],
)
async def test_requests_without_the_token_are_401(
    sandbox: sandbox_module.Sandbox, api: Api, header: str | None
) -> None:
    """Requests without the bearer token answer 401 (Authenticating: Static token)."""
    headers = {"Authorization": header} if header else {"Authorization": ""}
    answer = await api.get("/api/v1/namespaces", headers=headers)
    assert answer.status == 401 and answer.body["reason"] == "Unauthorized"


async def test_dry_run_validates_but_does_not_store(api: Api) -> None:
    """dryRun=All answers as a create would and stores nothing (API concepts: Dry-run)."""
    answer = await api.post(CLAIMS, claim("a"), params={"dryRun": "All"})
    assert answer.status == 201
    assert (await api.get(f"{CLAIMS}/a")).status == 404
    invalid = await api.post(CLAIMS, claim("b", class_name="UPPER"), params={"dryRun": "All"})
    assert invalid.status == 422


async def test_pod_spec_is_immutable_but_for_images(api: Api) -> None:
    """Updating a pod may change container images, not ports.

    Ref: Pods, "Pod update and replacement".
    """
    await api.post(PODS, pod("p"))
    image = await api.patch(
        f"{PODS}/p",
        {"spec": {"containers": [{"name": "app", "image": "nginx:2"}]}},
        kind="strategic-merge",
    )
    assert image.status == 200
    port = [{"op": "add", "path": "/spec/containers/0/ports/0/hostPort", "value": 9000}]
    refused = await api.patch(f"{PODS}/p", port, kind="json")
    assert refused.status == 422 and refused.body["details"]["causes"][0]["field"] == "spec"


async def test_delete_collection_with_a_label_selector(api: Api) -> None:
    """DELETE on a collection deletes the objects its selector matches.

    Ref: API concepts, "Deleting a collection" (deletecollection).
    """
    await api.post(CLAIMS, {**claim("a"), "metadata": {"name": "a", "labels": {"x": "1"}}})
    await api.post(CLAIMS, claim("b"))
    answer = await api.delete(CLAIMS, params={"labelSelector": "x=1"})
    assert answer.status == 200
    listed = await api.get(CLAIMS)
    assert [item["metadata"]["name"] for item in listed.body["items"]] == ["b"]


async def test_pod_on_the_host_network_gets_its_ports_as_host_ports(api: Api) -> None:
    """Defaulting, as kube-apiserver's: with hostNetwork, each port's hostPort is its
    containerPort (found when the real API server refused such a pod twice)."""
    body = pod("on-host")
    body["spec"]["hostNetwork"] = True
    created = await api.post(PODS, body)
    assert created.status == 201
    assert created.body["spec"]["containers"][0]["ports"][0]["hostPort"] == 80
