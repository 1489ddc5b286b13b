"""The mutating pod webhook, called directly with an in-memory cluster."""

from typing import Any

import pytest

from hpa import api, webhook
from tests.unit.webhook import support


def mutator(cluster: support.FakeCluster) -> webhook.PodMutator:
    return webhook.PodMutator(claims=cluster, namespaces=cluster)


async def test_quickstart_pod_gets_host_port_annotation_and_label(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """The quickstart pod gets its claim's port as hostPort, the port annotation and the label."""
    cluster.add_claim("echo-web", port=9123)
    response = await mutator(cluster)(support.make_request(pod))
    assert response.allowed
    patched = support.apply_patch(pod, response)
    assert patched["spec"]["containers"][0]["ports"][0] == {
        "name": "web",
        "containerPort": 8080,
        "hostPort": 9123,
    }
    assert patched["metadata"]["annotations"]["port.hostport.rmb938.com/web"] == "9123"
    assert patched["metadata"]["labels"] == {api.POD_LABEL: "true"}
    assert cluster.fetches == []


async def test_patch_escapes_slashes_in_keys(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """Annotation and label keys are written as RFC 6901 pointers (``/`` as ``~1``)."""
    cluster.add_claim("echo-web")
    pod["metadata"]["labels"] = {"app": "echo"}
    response = await mutator(cluster)(support.make_request(pod))
    paths = {op["path"] for op in support.json_patch(response)}
    assert "/metadata/annotations/port.hostport.rmb938.com~1web" in paths
    assert "/metadata/labels/hostport.rmb938.com~1uses-claims" in paths
    wire = support.wire(response)
    assert wire["patchType"] == "JSONPatch"
    assert isinstance(wire["patch"], str)  # base64 on the wire


async def test_tcp_and_udp_ports_share_one_claim(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """Two ports of different protocols may name one claim: both get its port."""
    cluster.add_claim("echo-web", port=9124)
    pod["metadata"]["annotations"]["claim.hostport.rmb938.com/voice"] = "echo-web"
    pod["spec"]["containers"][0]["ports"].append(
        {"name": "voice", "containerPort": 8080, "protocol": "UDP"}
    )
    response = await mutator(cluster)(support.make_request(pod))
    assert response.allowed, response.status
    patched = support.apply_patch(pod, response)
    assert [p.get("hostPort") for p in patched["spec"]["containers"][0]["ports"]] == [9124, 9124]
    annotations = patched["metadata"]["annotations"]
    assert annotations["port.hostport.rmb938.com/web"] == "9124"
    assert annotations["port.hostport.rmb938.com/voice"] == "9124"


async def test_init_container_port_can_be_claimed(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A sidecar's (init container's) named port can take a claim's port."""
    cluster.add_claim("echo-web", port=9001)
    pod["spec"]["containers"][0]["ports"] = []
    pod["spec"]["initContainers"] = [
        {"name": "side", "restartPolicy": "Always", "ports": [{"name": "web", "containerPort": 1}]}
    ]
    response = await mutator(cluster)(support.make_request(pod))
    patched = support.apply_patch(pod, response)
    assert patched["spec"]["initContainers"][0]["ports"][0]["hostPort"] == 9001


async def test_claim_bound_but_not_yet_cached_is_read_live(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A claim Bound in the API but missing from the cache gets one live read, then admits."""
    cluster.add_claim("echo-web", port=9002, cached=False)
    response = await mutator(cluster)(support.make_request(pod))
    assert response.allowed
    assert cluster.fetches == [("default", "echo-web")]


async def test_preset_host_port_is_replaced_with_warning(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A hostPort the user set on a claimed port is replaced, with a warning saying so."""
    cluster.add_claim("echo-web", port=9003)
    pod["spec"]["containers"][0]["ports"][0]["hostPort"] = 80
    response = await mutator(cluster)(support.make_request(pod))
    assert (
        support.apply_patch(pod, response)["spec"]["containers"][0]["ports"][0]["hostPort"] == 9003
    )
    assert any("80 replaced by 9003" in w for w in response.warnings)


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        pytest.param({}, "HostPortClaim default/echo-web does not exist", id="unknown-claim"),
        pytest.param({"phase": api.PHASE_PENDING}, "is Pending, not Bound", id="pending-claim"),
        pytest.param({"phase": ""}, "is Pending, not Bound", id="claim-without-status"),
        pytest.param({"deleting": True}, "is being deleted", id="deleting-claim"),
        pytest.param(
            {"phase": api.PHASE_DELETING}, "is being deleted", id="claim-in-deleting-phase"
        ),
    ],
)
async def test_unusable_claim_is_denied(
    cluster: support.FakeCluster, pod: dict[str, Any], setup: dict[str, Any], expected: str
) -> None:
    """A claim that is unknown, not Bound or being deleted denies the pod, naming the field."""
    if setup:
        cluster.add_claim("echo-web", **setup)
    response = await mutator(cluster)(support.make_request(pod))
    assert not response.allowed
    assert response.status is not None
    assert expected in response.status.message
    assert response.status.message.startswith(
        "metadata.annotations[claim.hostport.rmb938.com/web]: "
    )


async def test_failed_live_read_is_denied_with_retry_hint(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """When the live read fails, the pod is denied and told to retry."""
    cluster.fetch_error = ConnectionError("down")
    response = await mutator(cluster)(support.make_request(pod))
    assert response.status is not None
    assert "could not be read from the API server (ConnectionError); retry" in (
        response.status.message
    )


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda p: p["spec"]["containers"][0]["ports"][0].update(name="http"),
            "no container port is named 'web'; add name: web",
            id="no-such-port",
        ),
        pytest.param(
            lambda p: p["spec"]["containers"].append(
                {"name": "b", "ports": [{"name": "web", "containerPort": 81}]}
            ),
            "spec.containers[1].ports[0].name: port name 'web' is also used by "
            "spec.containers[0].ports[0]",
            id="duplicate-port-name",
        ),
        pytest.param(
            lambda p: p["metadata"]["annotations"].update(
                {"claim.hostport.rmb938.com/Not_Valid": "x"}
            ),
            "'Not_Valid' is not a valid port name",
            id="invalid-port-name",
        ),
        pytest.param(
            lambda p: p["metadata"]["annotations"].update({"claim.hostport.rmb938.com/web": ""}),
            "names no claim",
            id="empty-claim-name",
        ),
        pytest.param(
            lambda p: (
                p["metadata"]["annotations"].update({"claim.hostport.rmb938.com/alt": "echo-web"}),
                p["spec"]["containers"][0]["ports"].append({"name": "alt", "containerPort": 8081}),
            ),
            "HostPortClaim 'echo-web' is already used for TCP port 'alt'",
            id="claim-used-twice-for-tcp",
        ),
    ],
)
async def test_bad_claim_annotations_are_denied(
    cluster: support.FakeCluster, pod: dict[str, Any], change: Any, expected: str
) -> None:
    """Annotations that name no port, a shared port name or a reused claim are denied."""
    cluster.add_claim("echo-web")
    change(pod)
    response = await mutator(cluster)(support.make_request(pod))
    assert not response.allowed
    assert response.status is not None
    assert expected in response.status.message


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"namespace": "other"}, id="unmanaged-namespace"),
        pytest.param({"operation": "UPDATE"}, id="update"),
        pytest.param({"sub_resource": "status"}, id="subresource"),
    ],
)
async def test_pod_left_alone(
    cluster: support.FakeCluster, pod: dict[str, Any], kwargs: dict[str, Any]
) -> None:
    """Pods in unmanaged namespaces, and anything but a pod CREATE, are allowed unchanged."""
    response = await mutator(cluster)(support.make_request(pod, old=pod, **kwargs))
    assert response.allowed
    assert response.patch is None


async def test_pod_without_claims_is_unchanged(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A pod without claim annotations gets no patch and costs no claim read."""
    pod["metadata"]["annotations"] = {}
    response = await mutator(cluster)(support.make_request(pod))
    assert response.allowed
    assert response.patch is None
    assert cluster.fetches == []


async def test_uncached_namespace_counts_as_managed(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A namespace not yet in the cache is trusted to match the API server's selector."""
    cluster.add_claim("echo-web", namespace="fresh", port=9004)
    response = await mutator(cluster)(support.make_request(pod, namespace="fresh"))
    assert (
        support.apply_patch(pod, response)["spec"]["containers"][0]["ports"][0]["hostPort"] == 9004
    )


async def test_custom_namespace_selector(cluster: support.FakeCluster, pod: dict[str, Any]) -> None:
    """A configured selector replaces the default label."""
    cluster.namespaces["team"] = {"tier": "games"}
    cluster.add_claim("echo-web", namespace="team")
    selector = api.LabelSelector(
        match_expressions=(api.Requirement(key="tier", operator="In", values=("games",)),)
    )
    handler = webhook.PodMutator(claims=cluster, namespaces=cluster, namespace_selector=selector)
    assert (await handler(support.make_request(pod, namespace="team"))).patch is not None
    assert (await handler(support.make_request(pod, namespace="default"))).patch is None


async def test_claim_of_another_namespace_is_not_found_and_says_where_it_looked(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A pod naming a claim that exists only in another namespace is told that claims are
    looked up in the pod's own namespace."""
    cluster.add_claim("echo-web", namespace="other")
    response = await mutator(cluster)(support.make_request(pod))
    assert not response.allowed and response.status is not None
    assert "looked up in its own namespace, so create it in default" in response.status.message
