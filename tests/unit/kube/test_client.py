"""The typed client: decoding, pagination, patches, preconditions and error mapping."""

import msgspec
import pytest

from hpa import api, kube
from tests import kubefake


def _claim(name: str) -> api.HostPortClaim:
    return api.HostPortClaim(
        metadata=api.ObjectMeta(name=name, namespace="default"),
        spec=api.HostPortClaimSpec(host_port_class_name="sample"),
    )


@pytest.fixture
def fake() -> kubefake.FakeApi:
    """An empty in-memory API server."""
    return kubefake.FakeApi()


@pytest.fixture
def client(fake: kubefake.FakeApi) -> kube.Client:
    """A client of the fake."""
    return kube.Client(fake)


async def test_create_get_and_list_in_pages(client: kube.Client) -> None:
    """Objects come back as typed Structs, and a list follows continue tokens to the end."""
    for number in range(7):
        await client.create(
            kube.CLAIMS, _claim(f"c{number}"), namespace="default", type=api.HostPortClaim
        )
    got = await client.get(kube.CLAIMS, "c3", namespace="default", type=api.HostPortClaim)
    assert got.spec.host_port_class_name == "sample"
    assert got.metadata.uid
    page = await client.list(kube.CLAIMS, type=api.HostPortClaim, limit=3)
    assert sorted(c.metadata.name for c in page.items) == [f"c{n}" for n in range(7)]
    assert page.resource_version


@pytest.mark.parametrize(
    ("status", "reason", "error"),
    [
        pytest.param(404, "NotFound", kube.NotFound, id="404"),
        pytest.param(409, "AlreadyExists", kube.AlreadyExists, id="409-exists"),
        pytest.param(409, "Conflict", kube.Conflict, id="409-conflict"),
        pytest.param(410, "Expired", kube.Gone, id="410"),
        pytest.param(422, "Invalid", kube.Invalid, id="422"),
        pytest.param(403, "Forbidden", kube.Forbidden, id="403"),
        pytest.param(401, "Unauthorized", kube.Unauthorized, id="401"),
        pytest.param(429, "TooManyRequests", kube.Retryable, id="429"),
        pytest.param(500, "InternalError", kube.Retryable, id="500"),
    ],
)
async def test_status_codes_become_typed_errors(
    fake: kubefake.FakeApi, client: kube.Client, status: int, reason: str, error: type
) -> None:
    """Every failure status maps to its typed error."""
    fake.fail(verb="get", resource=api.PLURAL_CLAIM, status=status, reason=reason)
    with pytest.raises(error):
        await client.get(kube.CLAIMS, "x", namespace="default", type=api.HostPortClaim)


async def test_create_of_a_taken_name_is_already_exists(client: kube.Client) -> None:
    """A second create of one name answers AlreadyExists."""
    await client.create(kube.CLAIMS, _claim("a"), namespace="default", type=api.HostPortClaim)
    with pytest.raises(kube.AlreadyExists):
        await client.create(kube.CLAIMS, _claim("a"), namespace="default", type=api.HostPortClaim)


async def test_merge_patch_with_stale_resource_version_conflicts(client: kube.Client) -> None:
    """A merge patch carrying an old resourceVersion is refused with Conflict."""
    claim = await client.create(
        kube.CLAIMS, _claim("a"), namespace="default", type=api.HostPortClaim
    )
    stale = claim.metadata.resource_version
    await client.patch(
        kube.CLAIMS,
        "a",
        {"metadata": {"labels": {"x": "1"}}},
        namespace="default",
        type=api.HostPortClaim,
    )
    with pytest.raises(kube.Conflict):
        await client.patch(
            kube.CLAIMS,
            "a",
            {"metadata": {"resourceVersion": stale, "labels": {"x": "2"}}},
            namespace="default",
            type=api.HostPortClaim,
        )


async def test_status_patch_and_delete_precondition(client: kube.Client) -> None:
    """The status subresource takes status; a delete with the wrong uid is refused."""
    await client.create(kube.CLAIMS, _claim("a"), namespace="default", type=api.HostPortClaim)
    patched = await client.patch(
        kube.CLAIMS,
        "a",
        {"status": {"phase": "Pending"}},
        namespace="default",
        subresource="status",
        type=api.HostPortClaim,
    )
    assert patched.status.phase == "Pending"
    with pytest.raises(kube.Conflict):
        await client.delete(kube.CLAIMS, "a", namespace="default", uid="someone-else")
    await client.delete(kube.CLAIMS, "a", namespace="default", uid=patched.metadata.uid)
    with pytest.raises(kube.NotFound):
        await client.get(kube.CLAIMS, "a", namespace="default", type=api.HostPortClaim)


def test_error_from_a_non_status_body() -> None:
    """A body that is not a metav1.Status still gives a typed error with its text."""
    error = kube.error_from_response(status=503, body=b"upstream down", retry_after="3")
    assert isinstance(error, kube.Retryable)
    assert error.retry_after == 3.0
    assert "upstream down" in str(error)


def test_pod_projection_keeps_only_claims() -> None:
    """A pod is kept as its identity and claim annotations."""
    raw = msgspec.json.encode(
        {
            "metadata": {
                "name": "p",
                "namespace": "n",
                "uid": "u",
                "annotations": {f"{api.CLAIM_ANNOTATION_PREFIX}http": "web", "other": "x"},
            },
            "spec": {"containers": [{"name": "c", "image": "i"}]},
        }
    )
    pod = kube.pod_projection(raw)
    assert pod == kube.Pod(namespace="n", name="p", uid="u", claims={"http": "web"})


@pytest.mark.parametrize(
    ("value", "count"),
    [
        pytest.param("3", 3, id="plain"),
        pytest.param("2k", 2000, id="si"),
        pytest.param("1Ki", 1024, id="binary"),
        pytest.param("1.5", None, id="fraction"),
        pytest.param("500m", None, id="milli"),
        pytest.param("", None, id="empty"),
    ],
)
def test_quantity_count(value: str, count: int | None) -> None:
    """Object-count quantities parse to whole numbers; anything else is None."""
    assert kube.quantity_count(value) == count
