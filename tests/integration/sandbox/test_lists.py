"""LIST semantics (API concepts: "Retrieving large results sets in chunks", "Label
selectors", "Field selectors", "Resource versions")."""

import pytest

from hpa import sandbox as sandbox_module
from tests.integration.sandbox.conftest import CLAIMS, PODS, Api, claim, pod


async def _names(api: Api, path: str, **params: str) -> list[str]:
    answer = await api.get(path, params=params)
    assert answer.status == 200, answer.body
    return [item["metadata"]["name"] for item in answer.body["items"]]


async def test_list_pages_with_limit_and_continue(api: Api) -> None:
    """limit/continue return every object once, in name order, across pages.

    Ref: API concepts, "Retrieving large results sets in chunks".
    """
    for index in range(7):
        await api.post(CLAIMS, claim(f"c{index}"))
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        params = {"limit": "3", **({"continue": token} if token else {})}
        answer = await api.get(CLAIMS, params=params)
        seen += [item["metadata"]["name"] for item in answer.body["items"]]
        pages += 1
        token = answer.body["metadata"].get("continue", "")
        if not token:
            break
        assert answer.body["metadata"]["remainingItemCount"] == 7 - len(seen)
    assert seen == [f"c{i}" for i in range(7)] and pages == 3


async def test_list_carries_the_resource_version(api: Api) -> None:
    """A list's metadata.resourceVersion is at least that of its newest item.

    Ref: API concepts, "Resource versions".
    """
    created = await api.post(CLAIMS, claim("a"))
    listed = await api.get(CLAIMS)
    assert int(listed.body["metadata"]["resourceVersion"]) >= int(
        created.body["metadata"]["resourceVersion"]
    )
    assert listed.body["kind"] == "HostPortClaimList"


async def test_expired_continue_token_is_410(sandbox: sandbox_module.Sandbox, api: Api) -> None:
    """A continue token older than the retained window answers 410 Expired.

    Ref: API concepts, "Retrieving large results sets in chunks" (410 Gone).
    """
    for index in range(3):
        await api.post(CLAIMS, claim(f"c{index}"))
    first = await api.get(CLAIMS, params={"limit": "1"})
    sandbox.faults.expire_watch_window()
    answer = await api.get(
        CLAIMS, params={"limit": "1", "continue": first.body["metadata"]["continue"]}
    )
    assert answer.status == 410 and answer.body["reason"] == "Expired"


async def test_exact_list_at_a_compacted_version_is_410(
    sandbox: sandbox_module.Sandbox, api: Api
) -> None:
    """resourceVersionMatch=Exact with a compacted version answers 410.

    Ref: API concepts, "Resource versions" (resourceVersionMatch).
    """
    created = await api.post(CLAIMS, claim("a"))
    sandbox.faults.expire_watch_window()
    await api.post(CLAIMS, claim("b"))
    rv = created.body["metadata"]["resourceVersion"]
    answer = await api.get(CLAIMS, params={"resourceVersion": rv, "resourceVersionMatch": "Exact"})
    assert answer.status == 410


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param("app=web", ["p1", "p2"], id="equal"),
        pytest.param("app==web", ["p1", "p2"], id="double-equal"),
        pytest.param("app!=web", ["p3", "p4"], id="not-equal-includes-missing"),
        pytest.param("tier in (front,back)", ["p1", "p3"], id="in"),
        pytest.param("tier notin (front)", ["p2", "p3", "p4"], id="notin"),
        pytest.param("tier", ["p1", "p3"], id="exists"),
        pytest.param("!tier", ["p2", "p4"], id="does-not-exist"),
        pytest.param("app=web,tier=front", ["p1"], id="and"),
    ],
)
async def test_label_selectors(api: Api, selector: str, expected: list[str]) -> None:
    """Equality- and set-based label selectors filter lists.

    Ref: Labels and Selectors, "Label selectors".
    """
    labels = [{"app": "web", "tier": "front"}, {"app": "web"}, {"app": "db", "tier": "back"}, {}]
    for index, label in enumerate(labels, start=1):
        await api.post(PODS, pod(f"p{index}", labels=label))
    assert await _names(api, PODS, labelSelector=selector) == expected


async def test_field_selectors(api: Api) -> None:
    """metadata.name, metadata.namespace and status.phase field selectors filter lists.

    Ref: Field selectors, "Supported fields".
    """
    await api.post(PODS, pod("p1"))
    await api.post(PODS, pod("p2"))
    await api.patch(f"{PODS}/p2/status", {"status": {"phase": "Running"}})
    assert await _names(api, PODS, fieldSelector="metadata.name=p1") == ["p1"]
    assert await _names(api, PODS, fieldSelector="status.phase!=Running") == ["p1"]
    assert await _names(api, "/api/v1/pods", fieldSelector="metadata.namespace=default") == [
        "p1",
        "p2",
    ]
    assert await _names(api, "/api/v1/pods", fieldSelector="metadata.namespace=other") == []


async def test_bad_selector_is_400(api: Api) -> None:
    """A label selector that does not parse answers 400.

    Ref: Labels and Selectors, "Label selectors".
    """
    answer = await api.get(PODS, params={"labelSelector": "a in b"})
    assert answer.status == 400
