"""Discovery, OpenAPI and server-side printing (API concepts: "Discovery API";
Kubernetes API: "OpenAPI interface definition"; API concepts: "Receiving resources as Tables")."""

import pytest

from tests.integration.sandbox.conftest import CLAIMS, HOSTPORTS, PODS, Api, claim, pod

TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


@pytest.mark.parametrize(
    "path", [pytest.param("/apis", id="bare"), pytest.param("/apis/", id="slash")]
)
async def test_group_list_names_the_crd_group(api: Api, path: str) -> None:
    """/apis lists served groups with their preferred version (trailing slash accepted).

    Ref: API concepts, "Discovery API" (unaggregated discovery).
    """
    answer = await api.get(path)
    groups = {g["name"]: g["preferredVersion"]["version"] for g in answer.body["groups"]}
    assert groups["hostport.rmb938.com"] == "v1alpha1"
    assert groups["coordination.k8s.io"] == "v1"


async def test_resource_list_describes_custom_resources(api: Api) -> None:
    """The group-version resource list has kind, scope, verbs, shortNames, categories, status.

    Ref: API concepts, "Discovery API".
    """
    answer = await api.get("/apis/hostport.rmb938.com/v1alpha1/")
    resources = {r["name"]: r for r in answer.body["resources"]}
    claims = resources["hostportclaims"]
    assert claims["kind"] == "HostPortClaim" and claims["namespaced"] is True
    assert claims["shortNames"] == ["hpc"] and claims["categories"] == ["hostport-allocator"]
    assert "watch" in claims["verbs"] and claims["singularName"] == "hostportclaim"
    assert resources["hostportclaims/status"]["verbs"] == ["get", "patch", "update"]
    assert resources["hostports"]["namespaced"] is False


async def test_version_and_core_discovery(api: Api) -> None:
    """/version and /api answer like a 1.32 server.

    Ref: API concepts, "Discovery API".
    """
    assert (await api.get("/version")).body["major"] == "1"
    assert (await api.get("/api")).body["versions"] == ["v1"]
    core = await api.get("/api/v1")
    assert {"pods", "namespaces", "pods/status"} <= {r["name"] for r in core.body["resources"]}


async def test_openapi_v3_has_schemas_and_field_validation(api: Api) -> None:
    """OpenAPI v3 documents carry CRD schemas and PATCH operations with fieldValidation.

    Ref: Kubernetes API, "OpenAPI V3"; API concepts, "Field validation".
    """
    index = await api.get("/openapi/v3")
    url = index.body["paths"]["apis/hostport.rmb938.com/v1alpha1"]["serverRelativeURL"]
    document = (await api.get(url.split("?")[0])).body
    schema = document["components"]["schemas"]["com.rmb938.hostport.v1alpha1.HostPortClaim"]
    assert schema["properties"]["spec"]["required"] == ["hostPortClassName"]
    patch = document["paths"][
        "/apis/hostport.rmb938.com/v1alpha1/namespaces/{namespace}/hostportclaims/{name}"
    ]["patch"]
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    assert patch["x-kubernetes-group-version-kind"]["kind"] == "HostPortClaim"


async def test_custom_resource_table_uses_printer_columns(api: Api) -> None:
    """A Table of custom resources has Name plus additionalPrinterColumns, ages rendered.

    Ref: API concepts, "Receiving resources as Tables"; CRDs, "Additional printer columns".
    """
    await api.post(CLAIMS, claim("a"))
    await api.patch(f"{CLAIMS}/a/status", {"status": {"phase": "Bound", "port": 9000}})
    table = (await api.get(CLAIMS, headers={"Accept": TABLE})).body
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Class",
        "HostPort",
        "Port",
        "Phase",
        "Age",
    ]
    cells = table["rows"][0]["cells"]
    assert cells[:5] == ["a", "default", None, 9000, "Bound"]
    assert cells[5].endswith("s")
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


async def test_priority_columns_are_marked(api: Api) -> None:
    """Printer columns with priority 1 keep it, so only ``-o wide`` shows them.

    Ref: CRDs, "Priority".
    """
    table = (await api.get(HOSTPORTS, headers={"Accept": TABLE})).body
    priorities = {c["name"]: c["priority"] for c in table["columnDefinitions"]}
    assert 1 in priorities.values() and priorities["Name"] == 0


async def test_pod_table_shows_ready_and_status(api: Api) -> None:
    """A Table of pods has Ready, Status, Restarts and Age.

    Ref: API concepts, "Receiving resources as Tables".
    """
    await api.post(PODS, pod("p"))
    table = (await api.get(f"{PODS}/p", headers={"Accept": TABLE})).body
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name",
        "Ready",
        "Status",
        "Restarts",
        "Age",
    ]
    assert table["rows"][0]["cells"][:4] == ["p", "0/1", "Pending", 0]
