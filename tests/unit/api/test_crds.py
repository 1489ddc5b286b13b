"""The generated CRDs: valid, structural, with the promised columns, names and CEL rules."""

from collections.abc import Iterator
from typing import Any

import kubernetes_validate
import pytest

from hpa import api

CRDS = {crd["spec"]["names"]["kind"]: crd for crd in api.custom_resource_definitions()}

# Keywords a structural schema may not use to share or combine types (apiextensions
# "Specifying a structural schema").
_FORBIDDEN = {"$ref", "definitions", "anyOf", "oneOf", "allOf", "not"}


def _schemas(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node below ``node`` with its path."""
    yield path, node
    for name, child in node.get("properties", {}).items():
        yield from _schemas(child, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _schemas(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _schemas(node["additionalProperties"], f"{path}{{}}")


def _root(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = CRDS[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_crd_passes_kubernetes_schema(kind: str) -> None:
    """Each CRD validates against the Kubernetes API schema of CustomResourceDefinition."""
    kubernetes_validate.validate(CRDS[kind], kubernetes_validate.latest_version(), strict=True)


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_crd_schema_is_structural(kind: str) -> None:
    """Every node has a type, nothing is shared by reference, metadata stays opaque."""
    for path, node in _schemas(_root(kind), kind):
        assert "type" in node, f"{path} has no type"
        assert not _FORBIDDEN & node.keys(), f"{path} uses {_FORBIDDEN & node.keys()}"
        for key in node.get("required", []):
            assert key in node["properties"], f"{path} requires unknown {key}"
        for key in node.get("x-kubernetes-list-map-keys", []):
            assert key in node["items"].get("required", []), f"{path} map key {key} optional"
    assert _root(kind)["properties"]["metadata"] == {"type": "object"}


@pytest.mark.parametrize(
    ("kind", "columns"),
    [
        pytest.param("HostPortClaim", ["Class", "HostPort", "Port", "Phase", "Age"], id="claim"),
        pytest.param(
            "HostPort",
            ["Class", "Claim", "Claim Namespace", "Port", "Slot", "Reclaim Policy", "Phase", "Age"],
            id="hostport",
        ),
        pytest.param(
            "HostPortClass",
            [
                "Pools",
                "Allocation",
                "Nodes",
                "Allocated",
                "Free",
                "Reclaim Policy",
                "Reuse Delay",
                "Age",
            ],
            id="class",
        ),
    ],
)
def test_printer_columns(kind: str, columns: list[str]) -> None:
    """`kubectl get` shows the columns the issue promises."""
    version = CRDS[kind]["spec"]["versions"][0]
    assert [c["name"] for c in version["additionalPrinterColumns"]] == columns
    assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize(
    ("kind", "short", "scope"),
    [
        pytest.param("HostPortClass", "hpcl", "Cluster", id="class"),
        pytest.param("HostPortClaim", "hpc", "Namespaced", id="claim"),
        pytest.param("HostPort", "hp", "Cluster", id="hostport"),
    ],
)
def test_names_and_scope(kind: str, short: str, scope: str) -> None:
    """Short names, scope and the shared category."""
    spec = CRDS[kind]["spec"]
    assert spec["names"]["shortNames"] == [short]
    assert spec["names"]["categories"] == [api.CATEGORY]
    assert spec["scope"] == scope
    assert spec["group"] == api.GROUP


def _rules(node: dict[str, Any]) -> list[str]:
    return [r["rule"] for r in node.get("x-kubernetes-validations", [])]


def test_cel_rules_guard_the_invariants() -> None:
    """CEL rules tie the HostPort name to its port and keep identities immutable."""
    hostport = _root("HostPort")
    assert _rules(hostport)[0] == (
        "has(self.spec.slot) || (self.metadata.name.startsWith('port-') && "
        "self.metadata.name.substring(5) == string(self.spec.port))"
    )
    assert "+ string" not in _rules(hostport)[1]  # no concatenation: see HOSTPORT_ROOT_RULES
    spec = hostport["properties"]["spec"]
    assert _rules(spec["properties"]["port"]) == ["self == oldSelf"]
    assert "oldSelf.slot" in _rules(spec)[1]
    assert spec["properties"]["slot"]["maximum"] == api.SLOT_MAX
    assert _rules(spec["properties"]["hostPortClassName"]) == ["self == oldSelf"]
    assert "claimRef" in _rules(spec)[0]
    claim_spec = _root("HostPortClaim")["properties"]["spec"]
    assert _rules(claim_spec["properties"]["hostPortClassName"]) == ["self == oldSelf"]
    assert "hostPortName" in _rules(claim_spec)[0]
    assert "oldSelf.port" in _rules(claim_spec)[1]
    pools = _root("HostPortClass")["properties"]["spec"]["properties"]["pools"]
    assert _rules(pools["items"]) == ["self.start <= self.end"]
    assert "exists_one" in _rules(pools)[0]
    assert pools["maxItems"] == api.MAX_POOLS
    class_spec = _root("HostPortClass")["properties"]["spec"]
    allocation = class_spec["properties"]["allocation"]
    assert _rules(allocation) == ["self == oldSelf"]
    assert allocation["default"] == api.ALLOCATION_CLUSTER_WIDE
    assert allocation["enum"] == [api.ALLOCATION_CLUSTER_WIDE, api.ALLOCATION_PER_NODE]
    assert "nodeSelector" in _rules(class_spec)[0]


def test_port_bounds() -> None:
    """Ports are bounded to 1..65535 as in the original."""
    pool = _root("HostPortClass")["properties"]["spec"]["properties"]["pools"]["items"]
    for end in ("start", "end"):
        assert (pool["properties"][end]["minimum"], pool["properties"][end]["maximum"]) == (
            1,
            65535,
        )
    port = _root("HostPort")["properties"]["spec"]["properties"]["port"]
    assert (port["minimum"], port["maximum"]) == (1, 65535)
