"""Pods of per-node claims: the class's nodes as required node affinity, one pod per claim."""

from typing import Any

import pytest

from hpa import api, kube, webhook
from hpa.webhook import _per_node_pods as per_node
from tests.unit.webhook import support

REQUIRED = "requiredDuringSchedulingIgnoredDuringExecution"


def _per_node(cluster: support.FakeCluster, selector: dict[str, str]) -> None:
    cluster.hostport_classes = [
        api.HostPortClass(
            metadata=api.ObjectMeta(name="sample"),
            spec=api.HostPortClassSpec(
                pools=(api.PortPool(start=9000, end=9000),),
                allocation=api.ALLOCATION_PER_NODE,
                node_selector=selector,
            ),
        )
    ]


def _mutator(cluster: support.FakeCluster) -> webhook.PodMutator:
    return webhook.PodMutator(
        claims=cluster, namespaces=cluster, classes=cluster, pods_using=cluster
    )


def _in(key: str, value: str) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": [value]}


async def test_the_class_node_selector_becomes_required_node_affinity(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A pod of a per-node claim may run only on the class's eligible nodes."""
    _per_node(cluster, {"pool": "game", "zone": "a"})
    cluster.add_claim("echo-web")
    response = await _mutator(cluster)(support.make_request(pod))
    assert response.allowed, response.status
    patched = support.apply_patch(pod, response)
    required = patched["spec"]["affinity"]["nodeAffinity"][REQUIRED]
    assert required == {
        "nodeSelectorTerms": [{"matchExpressions": [_in("pool", "game"), _in("zone", "a")]}]
    }
    assert patched["spec"]["containers"][0]["ports"][0]["hostPort"] == 9000


def test_the_selector_is_anded_with_every_term_of_the_pod() -> None:
    """Required terms are ORed, a term's requirements ANDed: each term gets the class's
    requirements, so the pod runs where it asked and where the class has its nodes; the rest
    of the affinity is kept."""
    preferred = [{"weight": 1, "preference": {"matchExpressions": [_in("disk", "ssd")]}}]
    affinity = {
        "nodeAffinity": {
            REQUIRED: {
                "nodeSelectorTerms": [
                    {"matchExpressions": [_in("zone", "a")]},
                    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["n"]}]},
                ]
            },
            "preferredDuringSchedulingIgnoredDuringExecution": preferred,
        },
        "podAntiAffinity": {"x": 1},
    }
    merged = per_node.with_required_labels(affinity, [("pool", "game")])
    assert merged is not None
    terms = merged["nodeAffinity"][REQUIRED]["nodeSelectorTerms"]
    assert terms[0]["matchExpressions"] == [_in("zone", "a"), _in("pool", "game")]
    assert terms[1]["matchExpressions"] == [_in("pool", "game")]
    assert (
        terms[1]["matchFields"]
        == affinity["nodeAffinity"][REQUIRED]["nodeSelectorTerms"][1]["matchFields"]
    )  # type: ignore[index]
    assert merged["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"] == preferred
    assert merged["podAntiAffinity"] == {"x": 1}
    assert per_node.with_required_labels(merged, [("pool", "game")]) is None


async def test_a_cluster_wide_or_selectorless_class_adds_no_affinity(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """Without a nodeSelector every node is eligible: the pod's affinity stays its own."""
    cluster.add_class("sample", (9000, 9000))
    cluster.add_claim("echo-web")
    response = await _mutator(cluster)(support.make_request(pod))
    assert "affinity" not in support.apply_patch(pod, response)["spec"]
    _per_node(cluster, {})
    response = await _mutator(cluster)(support.make_request(pod))
    assert "affinity" not in support.apply_patch(pod, response)["spec"]


def _using(name: str, *, deleting: bool = False) -> kube.Pod:
    return kube.Pod(
        namespace="default",
        name=name,
        claims={"web": "echo-web"},
        deletion_timestamp=api.now() if deleting else None,
    )


async def test_a_per_node_claim_serves_one_pod_at_a_time(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A second pod naming a per-node claim in use is refused, naming the claim and the pod."""
    _per_node(cluster, {})
    cluster.add_claim("echo-web")
    cluster.claimed_pods.append(_using("first"))
    response = await _mutator(cluster)(support.make_request(pod))
    assert not response.allowed
    assert response.status is not None
    assert (
        "HostPortClaim default/echo-web is of per-node HostPortClass 'sample' and is already "
        "used by pod first; a per-node claim serves one pod at a time"
    ) in response.status.message


@pytest.mark.parametrize(
    "other",
    [
        pytest.param(_using("first", deleting=True), id="other-pod-terminating"),
        pytest.param(_using("echo"), id="this-pod-created-again"),
    ],
)
async def test_a_per_node_claim_goes_to_the_next_pod_once_free(
    cluster: support.FakeCluster, pod: dict[str, Any], other: kube.Pod
) -> None:
    """A pod being deleted, or an older pod of the same name, does not keep the claim."""
    _per_node(cluster, {})
    cluster.add_claim("echo-web")
    cluster.claimed_pods.append(other)
    assert (await _mutator(cluster)(support.make_request(pod))).allowed


async def test_a_cluster_wide_claim_may_serve_many_pods(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """The one-pod rule is the per-node classes' only: a cluster-wide claim keeps working."""
    cluster.add_class("sample", (9000, 9000))
    cluster.add_claim("echo-web")
    cluster.claimed_pods.append(_using("first"))
    assert (await _mutator(cluster)(support.make_request(pod))).allowed
