"""The validating webhook of HostPortClass, HostPortClaim and HostPort, called directly."""

from typing import Any

import pytest

from hpa import api, webhook
from tests.unit.webhook import support


def hpcl(*pools: tuple[int, int], name: str = "sample") -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLASS,
        "metadata": {"name": name},
        "spec": {"pools": [{"start": s, "end": e} for s, e in pools]},
    }


def hpc(class_name: str = "sample", host_port_name: str = "") -> dict[str, Any]:
    spec = {"hostPortClassName": class_name}
    if host_port_name:
        spec["hostPortName"] = host_port_name
    return {"metadata": {"name": "echo-web", "namespace": "default"}, "spec": spec}


def hp(
    port: int,
    *,
    name: str = "",
    claim: str = "",
    class_name: str = "sample",
    slot: int | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"hostPortClassName": class_name, "port": port}
    if slot is not None:
        spec["slot"] = slot
        name = name or f"port-{port}-{slot}"
    if claim:
        spec["claimRef"] = {"namespace": "default", "name": claim}
    return {"metadata": {"name": name or f"port-{port}"}, "spec": spec}


async def review(
    cluster: support.FakeCluster, plural: str, obj: Any, **kwargs: Any
) -> webhook.AdmissionResponse:
    handler = webhook.ResourceValidator(classes=cluster)
    request = support.make_request(obj, group=api.GROUP, resource=plural, namespace="", **kwargs)
    return await handler(request)


def message(response: webhook.AdmissionResponse) -> str:
    assert not response.allowed
    assert response.status is not None
    assert response.status.code == 422
    return response.status.message


async def test_valid_class_is_allowed(cluster: support.FakeCluster) -> None:
    """A class with disjoint pools in range is allowed without warnings."""
    response = await review(cluster, api.PLURAL_CLASS, hpcl((9000, 9500), (10000, 10100)))
    assert response.allowed
    assert response.warnings == ()


@pytest.mark.parametrize(
    ("pools", "expected"),
    [
        pytest.param(
            [(9000, 9500), (9400, 9600)],
            "spec.pools[1]: 9400-9600 overlaps spec.pools[0] 9000-9500; pools of one class "
            "must not overlap, merge or split them",
            id="overlap",
        ),
        pytest.param(
            [(9400, 9600), (9000, 9500)],
            "spec.pools[1]: 9000-9500 overlaps spec.pools[0] 9400-9600",
            id="overlap-listed-backwards",
        ),
        pytest.param(
            [(1000, 5000), (2000, 2100), (3000, 3100)],
            "spec.pools[2]: 3000-3100 overlaps spec.pools[0] 1000-5000",
            id="overlap-inside-a-wide-pool",
        ),
        pytest.param(
            [(9600, 9400)],
            "spec.pools[0]: start 9600 is greater than end 9400; swap them",
            id="start-after-end",
        ),
        pytest.param([(0, 10)], "spec.pools[0].start: 0 is outside 1-65535", id="port-zero"),
        pytest.param(
            [(60000, 70000)], "spec.pools[0].end: 70000 is outside 1-65535", id="port-too-big"
        ),
        pytest.param([], "spec.pools: a class needs at least one pool", id="no-pools"),
    ],
)
async def test_invalid_class_is_denied(
    cluster: support.FakeCluster, pools: list[tuple[int, int]], expected: str
) -> None:
    """Pools out of range, reversed or overlapping are denied naming the pool and the fix."""
    assert expected in message(await review(cluster, api.PLURAL_CLASS, hpcl(*pools)))


def _per_node(obj: dict[str, Any]) -> dict[str, Any]:
    obj["spec"]["allocation"] = api.ALLOCATION_PER_NODE
    return obj


def _add_per_node_class(cluster: support.FakeCluster, name: str, start: int, end: int) -> None:
    cluster.hostport_classes.append(
        api.HostPortClass(
            metadata=api.ObjectMeta(name=name),
            spec=api.HostPortClassSpec(
                pools=(api.PortPool(start=start, end=end),), allocation=api.ALLOCATION_PER_NODE
            ),
        )
    )


async def test_a_per_node_class_may_share_no_port(cluster: support.FakeCluster) -> None:
    """Pools overlapping across a per-node class (either side) are refused, naming the other
    class: its ports' holders are counted per node."""
    cluster.add_class("games", (9400, 9600))
    refused = await review(cluster, api.PLURAL_CLASS, _per_node(hpcl((9000, 9500))))
    assert not refused.allowed
    assert (
        "spec.pools[0]: 9000-9500 overlaps pool 9400-9600 of HostPortClass 'games'; a per-node "
        "class shares no port with another class"
    ) in message(refused)
    _add_per_node_class(cluster, "nodes", 10000, 10100)
    refused = await review(cluster, api.PLURAL_CLASS, hpcl((10100, 10200)))
    assert "overlaps pool 10000-10100 of HostPortClass 'nodes'" in message(refused)


async def test_an_overlap_already_there_does_not_block_other_edits(
    cluster: support.FakeCluster,
) -> None:
    """A per-node overlap made while the webhook was down is a warning on an update that keeps
    the pools: the class stays editable."""
    cluster.add_class("games", (9400, 9600))
    obj = _per_node(hpcl((9000, 9500)))
    edited = _per_node(hpcl((9000, 9500)))
    edited["spec"]["reuseDelaySeconds"] = 30
    response = await review(cluster, api.PLURAL_CLASS, edited, old=obj, operation="UPDATE")
    assert response.allowed
    assert response.warnings is not None
    assert "the per-node class offers none of them" in response.warnings[0]


async def test_overlap_with_other_class_is_a_warning(cluster: support.FakeCluster) -> None:
    """Overlap with another class is allowed, with a warning naming that class."""
    cluster.add_class("games", (9400, 9600))
    cluster.add_class("sample", (1, 65535))  # the object's own previous version is ignored
    response = await review(cluster, api.PLURAL_CLASS, hpcl((9000, 9500)))
    assert response.allowed
    assert response.warnings == (
        "spec.pools[0]: 9000-9500 overlaps pool 9400-9600 of HostPortClass 'games'; the classes "
        "share those ports",
    )


async def test_claim_for_unknown_class_is_allowed_with_warning(
    cluster: support.FakeCluster,
) -> None:
    """A claim of a class that does not exist yet is allowed with a warning."""
    response = await review(cluster, api.PLURAL_CLAIM, hpc("nope"))
    assert response.allowed
    assert "HostPortClass 'nope' does not exist" in response.warnings[0]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            hpc("sample"),
            hpc("other"),
            "spec.hostPortClassName: is immutable (was 'sample', now 'other'); delete and "
            "re-create the HostPortClaim",
            id="class-changed",
        ),
        pytest.param(
            hpc("sample", "port-9000"),
            hpc("sample", "port-9001"),
            "spec.hostPortName: is set once",
            id="binding-changed",
        ),
        pytest.param(
            hpc("sample", "port-9000"),
            hpc("sample"),
            "spec.hostPortName: is set once",
            id="binding-removed",
        ),
        pytest.param(hpc(""), hpc(""), "spec.hostPortClassName: is required", id="no-class"),
    ],
)
async def test_claim_update_checks(
    cluster: support.FakeCluster, old: Any, new: Any, expected: str
) -> None:
    """A claim's class never changes and its binding is set once."""
    cluster.add_class("sample", (9000, 9001))
    response = await review(cluster, api.PLURAL_CLAIM, new, old=old, operation="UPDATE")
    assert expected in message(response)


async def test_claim_created_with_a_binding_is_denied(cluster: support.FakeCluster) -> None:
    """A new claim may not name its HostPort: only hpa binds (it could name someone else's)."""
    cluster.add_class("sample", (9000, 9001))
    response = await review(cluster, api.PLURAL_CLAIM, hpc("sample", "port-9000"))
    assert not response.allowed
    assert "spec.hostPortName: is set by hpa when it binds the claim" in message(response)


async def test_claim_binding_set_once_is_allowed(cluster: support.FakeCluster) -> None:
    """Setting hostPortName on a claim that had none is allowed."""
    cluster.add_class("sample", (9000, 9001))
    response = await review(
        cluster,
        api.PLURAL_CLAIM,
        hpc("sample", "port-9000"),
        old=hpc("sample"),
        operation="UPDATE",
    )
    assert response.allowed


@pytest.mark.parametrize(
    ("obj", "old", "expected"),
    [
        pytest.param(
            hp(9000, name="nine-thousand"),
            None,
            "metadata.name: must be port-9000 for spec.port 9000",
            id="name-not-derived",
        ),
        pytest.param(hp(0, name="port-0"), None, "spec.port: 0 is outside", id="port-zero"),
        pytest.param(
            hp(9000, class_name=""), None, "spec.hostPortClassName: is required", id="no-class"
        ),
        pytest.param(
            hp(9000, claim="b"),
            hp(9000, claim="a"),
            "spec.claimRef: is set once",
            id="claim-ref-changed",
        ),
        pytest.param(
            hp(9000, class_name="x"),
            hp(9000),
            "spec.hostPortClassName: is immutable",
            id="class-changed",
        ),
        pytest.param(
            hp(9001, name="port-9000"),
            hp(9000),
            "spec.port: is immutable (was 9000, now 9001)",
            id="port-changed",
        ),
        pytest.param(
            hp(9000, slot=2, name="port-9000"),
            None,
            "metadata.name: must be port-9000-2 for spec.port 9000 (a HostPort is named after "
            "its port and slot 2)",
            id="slot-not-named",
        ),
        pytest.param(
            hp(9000, slot=1, name="port-9000-0"),
            hp(9000, slot=0),
            "spec.slot: is immutable (was 0, now 1)",
            id="slot-changed",
        ),
    ],
)
async def test_invalid_hostport_is_denied(
    cluster: support.FakeCluster, obj: Any, old: Any, expected: str
) -> None:
    """A HostPort is named after its port, and its class, port and claimRef do not change."""
    kwargs: dict[str, Any] = {"old": old, "operation": "UPDATE"} if old else {}
    assert expected in message(await review(cluster, api.PLURAL_HOSTPORT, obj, **kwargs))


async def test_per_node_hostport_named_from_port_and_slot_is_allowed(
    cluster: support.FakeCluster,
) -> None:
    """HostPort port-9000-3 holds slot 3 of port 9000."""
    assert (await review(cluster, api.PLURAL_HOSTPORT, hp(9000, slot=3))).allowed


async def test_hostport_claim_ref_set_once_is_allowed(cluster: support.FakeCluster) -> None:
    """Binding a HostPort to a claim (claimRef unset before) is allowed."""
    response = await review(
        cluster, api.PLURAL_HOSTPORT, hp(9000, claim="a"), old=hp(9000), operation="UPDATE"
    )
    assert response.allowed


async def test_wrongly_typed_field_is_bad_object(cluster: support.FakeCluster) -> None:
    """A field of the wrong JSON type is reported as a BadObject naming its path."""
    obj = hpcl((9000, 9500))
    obj["spec"]["pools"][0]["start"] = "nine"
    with pytest.raises(webhook.BadObject, match=r"spec.pools\[0\].start"):
        await review(cluster, api.PLURAL_CLASS, obj)
