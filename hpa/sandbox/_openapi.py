"""OpenAPI v3 documents, enough for ``kubectl explain`` and kubectl's field-validation check.

kubectl 1.32 decides whether the server validates fields by finding, in the OpenAPI v3
document of the group-version, the PATCH operation tagged with the object's
``x-kubernetes-group-version-kind`` and a ``fieldValidation`` query parameter; without it,
``kubectl apply``/``create`` fail. Every resource therefore gets its paths, and custom
resources get their CRD schema as a component so ``kubectl explain hostportclaims.spec``
reads descriptions, types and required fields. Built-in kinds get an open object schema.
"""

import copy
import hashlib
from typing import Any, Final

import msgspec

from hpa.sandbox import _resources

JSON = dict[str, Any]

_OBJECT_META: Final = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"
_QUERY: Final = [
    {"name": name, "in": "query", "schema": {"type": "string", "uniqueItems": True}}
    for name in ("dryRun", "fieldManager", "fieldValidation", "pretty")
]


def _gv_path(group: str, version: str) -> str:
    return f"apis/{group}/{version}" if group else f"api/{version}"


def schema_name(resource: _resources.Resource) -> str:
    """The component name of a kind, reversed-domain as kube-apiserver spells it."""
    if not resource.group:
        return f"io.k8s.api.core.{resource.version}.{resource.kind}"
    domain = ".".join(reversed(resource.group.split(".")))
    return f"{domain}.{resource.version}.{resource.kind}"


def _gvk(resource: _resources.Resource) -> list[JSON]:
    return [{"group": resource.group, "version": resource.version, "kind": resource.kind}]


def _schema(resource: _resources.Resource) -> JSON:
    if resource.schema:
        schema = copy.deepcopy(resource.schema)
        schema.setdefault("properties", {})["metadata"] = {
            "allOf": [{"$ref": f"#/components/schemas/{_OBJECT_META}"}],
            "description": "Standard object's metadata.",
        }
    else:
        schema = {
            "type": "object",
            "description": f"{resource.kind} (the sandbox serves it without a schema).",
            "x-kubernetes-preserve-unknown-fields": True,
        }
    schema["x-kubernetes-group-version-kind"] = _gvk(resource)
    return schema


def _operations(resource: _resources.Resource) -> dict[str, JSON]:
    prefix = "/" + _gv_path(resource.group, resource.version)
    if resource.namespaced:
        prefix += "/namespaces/{namespace}"
    ref = {"$ref": f"#/components/schemas/{schema_name(resource)}"}
    content = {"application/json": {"schema": ref}}
    extensions = {"x-kubernetes-group-version-kind": _gvk(resource)[0]}

    def operation(verb: str) -> JSON:
        return {
            "operationId": f"{verb}{resource.kind}",
            "parameters": _QUERY,
            "responses": {"200": {"description": "OK", "content": content}},
            "x-kubernetes-action": verb,
            **extensions,
        }

    item = {
        "get": operation("get"),
        "put": operation("put"),
        "patch": operation("patch"),
        "delete": operation("delete"),
    }
    paths = {
        f"{prefix}/{resource.plural}": {"get": operation("list"), "post": operation("post")},
        f"{prefix}/{resource.plural}/{{name}}": item,
    }
    if resource.has_status:
        paths[f"{prefix}/{resource.plural}/{{name}}/status"] = {
            "get": operation("get"),
            "put": operation("put"),
            "patch": operation("patch"),
        }
    return paths


def document(registry: _resources.Registry, group: str, version: str) -> JSON | None:
    """The OpenAPI v3 document of one group-version, or ``None`` if not served."""
    resources = [r for r in registry.all() if (r.group, r.version) == (group, version)]
    if not resources:
        return None
    paths: JSON = {}
    schemas: JSON = {
        _OBJECT_META: {
            "type": "object",
            "description": "ObjectMeta is metadata that all persisted resources must have.",
            "properties": {
                "name": {"type": "string", "description": "Name must be unique."},
                "namespace": {"type": "string", "description": "The namespace of the object."},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "annotations": {"type": "object", "additionalProperties": {"type": "string"}},
                "uid": {"type": "string"},
                "resourceVersion": {"type": "string"},
                "generation": {"type": "integer", "format": "int64"},
                "creationTimestamp": {"type": "string", "format": "date-time"},
                "deletionTimestamp": {"type": "string", "format": "date-time"},
                "finalizers": {"type": "array", "items": {"type": "string"}},
            },
        }
    }
    for resource in resources:
        paths.update(_operations(resource))
        schemas[schema_name(resource)] = _schema(resource)
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0-hpa-sandbox"},
        "paths": paths,
        "components": {"schemas": schemas},
    }


def index(registry: _resources.Registry) -> JSON:
    """``/openapi/v3``: the group-version documents and their content hashes."""
    paths: JSON = {}
    for group, versions in registry.group_versions().items():
        for version in versions:
            body = msgspec.json.encode(document(registry, group, version))
            digest = hashlib.sha256(body).hexdigest()[:32].upper()
            path = _gv_path(group, version)
            paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest}"}
    return {"paths": paths}
