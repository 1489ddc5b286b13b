"""The validating pod webhook, called directly with an in-memory cluster."""

import copy
from typing import Any

import msgspec
import pytest

from hpa import api, webhook
from tests.unit.webhook import support


def validator(
    cluster: support.FakeCluster, *, allow_host_network: bool = False
) -> webhook.PodValidator:
    return webhook.PodValidator(
        claims=cluster, namespaces=cluster, allow_host_network=allow_host_network
    )


async def mutated(cluster: support.FakeCluster, pod: dict[str, Any]) -> dict[str, Any]:
    """The pod as the mutating webhook leaves it."""
    mutator = webhook.PodMutator(claims=cluster, namespaces=cluster)
    response = await mutator(support.make_request(pod))
    assert response.allowed, response.status
    result: dict[str, Any] = support.apply_patch(pod, response)
    return result


def message(response: webhook.AdmissionResponse) -> str:
    assert not response.allowed
    assert response.status is not None
    return response.status.message


async def test_mutated_quickstart_pod_is_allowed(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """What the mutating webhook produced passes validation."""
    cluster.add_claim("echo-web")
    response = await validator(cluster)(support.make_request(await mutated(cluster, pod)))
    assert response.allowed


@pytest.mark.parametrize(
    "section",
    [
        pytest.param("containers", id="container"),
        pytest.param("initContainers", id="init-container"),
    ],
)
async def test_raw_host_port_is_denied(
    cluster: support.FakeCluster, pod: dict[str, Any], section: str
) -> None:
    """A hostPort without a claim is denied, naming the field and the annotation to use."""
    pod["metadata"]["annotations"] = {}
    pod["spec"][section] = [
        {"name": "c", "ports": [{"name": "web", "containerPort": 80, "hostPort": 80}]}
    ]
    text = message(await validator(cluster)(support.make_request(pod)))
    assert text == (
        f"spec.{section}[0].ports[0].hostPort: 80 is not given by a HostPortClaim; remove "
        "hostPort, name the port and annotate the pod claim.hostport.rmb938.com/web: <claimName>"
    )


async def test_raw_host_port_in_unmanaged_namespace_is_allowed(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """Namespaces outside the selector are not policed."""
    pod["spec"]["containers"][0]["ports"][0]["hostPort"] = 80
    response = await validator(cluster)(support.make_request(pod, namespace="other"))
    assert response.allowed


@pytest.mark.parametrize(
    ("allow", "allowed"),
    [pytest.param(False, False, id="denied-by-default"), pytest.param(True, True, id="allowed")],
)
async def test_host_network(
    cluster: support.FakeCluster, pod: dict[str, Any], allow: bool, allowed: bool
) -> None:
    """hostNetwork is denied unless the option allows it, and then the host ports that
    kube-apiserver defaults for it (hostPort = containerPort) are no unclaimed host ports."""
    pod["metadata"]["annotations"] = {}
    pod["spec"]["hostNetwork"] = True
    for port in pod["spec"]["containers"][0]["ports"]:
        port["hostPort"] = port["containerPort"]
    response = await validator(cluster, allow_host_network=allow)(support.make_request(pod))
    assert response.allowed is allowed
    if not allowed:
        assert message(response).startswith("spec.hostNetwork: hostNetwork is not allowed")
        assert "is not given by a HostPortClaim" not in message(response)  # one problem


async def test_claimed_port_without_mutation_is_denied(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A claimed port whose hostPort, annotation and label were not set is denied."""
    cluster.add_claim("echo-web", port=9000)
    text = message(await validator(cluster)(support.make_request(pod)))
    assert (
        "spec.containers[0].ports[0].hostPort: is unset but HostPortClaim echo-web gives port 9000"
        in text
    )
    assert "metadata.annotations[port.hostport.rmb938.com/web]: must be '9000'" in text
    assert f"metadata.labels[{api.POD_LABEL}]: must be 'true'" in text


async def test_forged_port_annotation_is_denied(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A port annotation without its claim annotation is denied."""
    pod["metadata"]["annotations"] = {"port.hostport.rmb938.com/web": "9000"}
    text = message(await validator(cluster)(support.make_request(pod)))
    assert "metadata.annotations[port.hostport.rmb938.com/web]: is set by hpa" in text


async def test_claim_unbound_at_validation_is_denied(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """Validation reads the claims again: a claim gone since mutation denies the pod."""
    cluster.add_claim("echo-web")
    patched = await mutated(cluster, pod)
    cluster.cached.clear()
    cluster.live.clear()
    text = message(await validator(cluster)(support.make_request(patched)))
    assert "HostPortClaim default/echo-web does not exist" in text


async def test_update_changing_annotations_is_denied(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """Claim and port annotations and the pod label cannot change on UPDATE."""
    cluster.add_claim("echo-web")
    old = await mutated(cluster, pod)
    new = copy.deepcopy(old)
    new["metadata"]["annotations"]["claim.hostport.rmb938.com/web"] = "other-claim"
    new["metadata"]["annotations"]["port.hostport.rmb938.com/web"] = "9999"
    del new["metadata"]["labels"][api.POD_LABEL]
    text = message(await validator(cluster)(support.make_request(new, old=old, operation="UPDATE")))
    assert "metadata.annotations[claim.hostport.rmb938.com/web]: cannot change" in text
    assert "metadata.annotations[port.hostport.rmb938.com/web]: cannot change" in text
    assert f"metadata.labels[{api.POD_LABEL}]: is managed by hpa" in text


async def test_update_of_other_fields_is_allowed_without_claim_reads(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """An UPDATE that keeps hpa's fields is allowed even if the claim is being deleted."""
    cluster.add_claim("echo-web")
    old = await mutated(cluster, pod)
    cluster.add_claim("echo-web", deleting=True)
    new = copy.deepcopy(old)
    new["metadata"]["labels"]["app"] = "echo"
    response = await validator(cluster)(support.make_request(new, old=old, operation="UPDATE"))
    assert response.allowed


async def test_ephemeral_container_with_host_port_is_denied(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """An ephemeral container added with a hostPort (pods/ephemeralcontainers) is denied."""
    cluster.add_claim("echo-web")
    old = await mutated(cluster, pod)
    new = copy.deepcopy(old)
    new["spec"]["ephemeralContainers"] = [
        {"name": "debug", "ports": [{"name": "dbg", "containerPort": 22, "hostPort": 2222}]}
    ]
    request = support.make_request(
        new, old=old, operation="UPDATE", sub_resource="ephemeralcontainers"
    )
    text = message(await validator(cluster)(request))
    assert text.startswith(
        "spec.ephemeralContainers[0].ports[0].hostPort: 2222 is not given by a HostPortClaim"
    )


async def test_old_raw_host_port_survives_namespace_labelling(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A pod that had a raw hostPort before its namespace was managed can still be updated."""
    pod["metadata"]["annotations"] = {}
    pod["spec"]["containers"][0]["ports"][0]["hostPort"] = 80
    new = copy.deepcopy(pod)
    new["metadata"]["labels"] = {"app": "x"}
    response = await validator(cluster)(support.make_request(new, old=pod, operation="UPDATE"))
    assert response.allowed


async def test_update_without_old_object_is_bad_request(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """An UPDATE request without oldObject cannot be judged: BadObject.

    (decode_review refuses such a review; a handler holds its contract on its own.)"""
    request = support.make_request(pod, operation="UPDATE", old=pod)
    request = msgspec.structs.replace(request, old_object=msgspec.Raw(b"null"))
    with pytest.raises(webhook.BadObject, match="oldObject is missing"):
        await validator(cluster)(request)


async def test_denial_of_a_pod_with_10000_ports_stays_readable(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """10,000 raw host ports are denied in one short message that counts what it leaves out."""
    del pod["metadata"]["annotations"]
    container = pod["spec"]["containers"][0]
    container["ports"] = [{"containerPort": p, "hostPort": p} for p in range(1, 10_001)]
    response = await validator(cluster)(support.make_request(pod))
    text = message(response)
    assert len(text) <= webhook.MAX_MESSAGE_LENGTH
    assert text.startswith(
        "spec.containers[0].ports[0].hostPort: 1 is not given by a HostPortClaim"
    )
    shown = text.count("is not given by a HostPortClaim")
    assert text.endswith(f"; and {10_000 - shown:,} more problems"), text[-80:]
    assert response.status is not None and response.status.details is not None
    assert len(response.status.details.causes) == shown
    assert len(webhook.encode_review("u", response)) < 8 * 1024
