"""The CustomResourceDefinitions of hpa, generated from the wire types.

``hpa manifests --write manifests`` writes them to ``manifests/base/crds/``; a test keeps the files
equal to what this module generates, so the types are the one source of the schema.
"""

from typing import Any, Final

from hpa.api import _install_names, _names, _schema, _types

CATEGORY: Final = "hostport-allocator"

_AGE: Final = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
_PHASE: Final = {"name": "Phase", "type": "string", "jsonPath": ".status.phase"}


def _object_schema(object_type: type, root_rules: list[dict[str, str]]) -> dict[str, Any]:
    """The root schema of a kind; ``metadata`` stays opaque, as apiextensions requires."""
    schema = _schema.openapi_schema(object_type)
    schema["properties"]["metadata"] = {"type": "object"}
    if root_rules:
        schema["x-kubernetes-validations"] = root_rules
    return schema


def _crd(
    *,
    kind: str,
    plural: str,
    short_name: str,
    scope: str,
    object_type: type,
    columns: list[dict[str, Any]],
    root_rules: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": f"{plural}.{_names.GROUP}",
            "labels": {
                "app.kubernetes.io/name": _install_names.APP_NAME,
                "app.kubernetes.io/part-of": _install_names.APP_NAME,
            },
        },
        "spec": {
            "group": _names.GROUP,
            "scope": scope,
            "names": {
                "kind": kind,
                "listKind": f"{kind}List",
                "plural": plural,
                "singular": kind.lower(),
                "shortNames": [short_name],
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": _names.VERSION,
                    "served": True,
                    "storage": True,
                    "schema": {"openAPIV3Schema": _object_schema(object_type, root_rules or [])},
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": columns,
                }
            ],
        },
    }


def custom_resource_definitions() -> list[dict[str, Any]]:
    """The three CRDs, in the order they are best applied."""
    return [
        _crd(
            kind=_names.KIND_CLASS,
            plural=_names.PLURAL_CLASS,
            short_name="hpcl",
            scope="Cluster",
            object_type=_types.HostPortClass,
            columns=[
                {"name": "Pools", "type": "string", "jsonPath": ".status.ranges"},
                {"name": "Allocation", "type": "string", "jsonPath": ".spec.allocation"},
                {"name": "Nodes", "type": "integer", "jsonPath": ".status.nodes"},
                {"name": "Allocated", "type": "integer", "jsonPath": ".status.allocated"},
                {"name": "Free", "type": "integer", "jsonPath": ".status.free"},
                {
                    "name": "Reclaim Policy",
                    "type": "string",
                    "jsonPath": ".spec.reclaimPolicy",
                    "priority": 1,
                },
                {
                    "name": "Reuse Delay",
                    "type": "integer",
                    "jsonPath": ".spec.reuseDelaySeconds",
                    "priority": 1,
                },
                _AGE,
            ],
        ),
        _crd(
            kind=_names.KIND_CLAIM,
            plural=_names.PLURAL_CLAIM,
            short_name="hpc",
            scope="Namespaced",
            object_type=_types.HostPortClaim,
            columns=[
                {"name": "Class", "type": "string", "jsonPath": ".spec.hostPortClassName"},
                {"name": "HostPort", "type": "string", "jsonPath": ".spec.hostPortName"},
                {"name": "Port", "type": "integer", "jsonPath": ".status.port"},
                _PHASE,
                _AGE,
            ],
        ),
        _crd(
            kind=_names.KIND_HOSTPORT,
            plural=_names.PLURAL_HOSTPORT,
            short_name="hp",
            scope="Cluster",
            object_type=_types.HostPort,
            columns=[
                {"name": "Class", "type": "string", "jsonPath": ".spec.hostPortClassName"},
                {"name": "Claim", "type": "string", "jsonPath": ".spec.claimRef.name"},
                {
                    "name": "Claim Namespace",
                    "type": "string",
                    "jsonPath": ".spec.claimRef.namespace",
                    "priority": 1,
                },
                {"name": "Port", "type": "integer", "jsonPath": ".spec.port"},
                {"name": "Slot", "type": "integer", "jsonPath": ".spec.slot"},
                {"name": "Reclaim Policy", "type": "string", "jsonPath": ".spec.reclaimPolicy"},
                _PHASE,
                _AGE,
            ],
            root_rules=_types.HOSTPORT_ROOT_RULES,
        ),
    ]
