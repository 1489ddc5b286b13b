"""Structural-schema handling of custom resources: pruning, defaulting and validation.

Follows "Extend the Kubernetes API with CustomResourceDefinitions" (sections "Field pruning",
"Defaulting", "Validation"): unknown fields are dropped unless
``x-kubernetes-preserve-unknown-fields`` says otherwise and reported to the caller for
``fieldValidation`` (Strict → 400, Warn → ``Warning`` header); ``null`` for a non-nullable
field is dropped; defaults apply where a field is missing; then every value is checked against
type, required, enum, bounds, lengths, pattern and list sizes. Causes carry the field paths and
messages of kube-apiserver (``spec.pools[0].start: Invalid value: 0: spec.pools[0].start in
body should be greater than or equal to 1``).
"""

import copy
import functools
import re
from typing import Any

from hpa.sandbox import _errors

JSON = dict[str, Any]
_ROOT_FIELDS = ("apiVersion", "kind", "metadata")


def child(path: str, key: str) -> str:
    """The path of a property below ``path``."""
    return f"{path}.{key}" if path else key


def render(value: Any) -> str:
    """A value as kube's field errors print it (Go's ``%#v``-like quoting of strings)."""
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def prune(schema: JSON, value: Any, path: str = "", *, root: bool = True) -> list[str]:
    """Drop unknown fields of ``value`` in place; returns the dropped paths."""
    dropped: list[str] = []
    if isinstance(value, dict):
        properties = schema.get("properties")
        additional = schema.get("additionalProperties")
        preserve = schema.get("x-kubernetes-preserve-unknown-fields", False)
        embedded = schema.get("x-kubernetes-embedded-resource", False)
        for key in list(value):
            if (root or embedded) and key in _ROOT_FIELDS:
                continue
            sub = (properties or {}).get(key)
            if value[key] is None and not (sub or {}).get("nullable", False) and sub is not None:
                del value[key]
                continue
            if sub is None and isinstance(additional, dict):
                sub = additional
            if sub is None:
                if not preserve and additional is not True:
                    dropped.append(child(path, key))
                    del value[key]
                continue
            dropped.extend(prune(sub, value[key], child(path, key), root=False))
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for index, item in enumerate(value):
            dropped.extend(prune(schema["items"], item, f"{path}[{index}]", root=False))
    return dropped


def apply_defaults(schema: JSON, value: Any) -> None:
    """Set ``default`` of missing properties, recursively, in place."""
    if isinstance(value, dict):
        for key, sub in (schema.get("properties") or {}).items():
            if key not in value and "default" in sub:
                value[key] = copy.deepcopy(sub["default"])
            if key in value:
                apply_defaults(sub, value[key])
        additional = schema.get("additionalProperties")
        if isinstance(additional, dict):
            for item in value.values():
                apply_defaults(additional, item)
    elif isinstance(value, list) and isinstance(schema.get("items"), dict):
        for item in value:
            apply_defaults(schema["items"], item)


def type_name(value: Any) -> str:
    """The OpenAPI type name of a JSON value."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"


def _type_ok(expected: str, value: Any, schema: JSON) -> bool:
    if schema.get("x-kubernetes-int-or-string"):
        return type_name(value) in ("integer", "string")
    actual = type_name(value)
    if expected == "number":
        return actual in ("integer", "number")
    if value is None:
        return bool(schema.get("nullable"))
    return actual == expected


@functools.lru_cache(maxsize=512)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _invalid(path: str, value: Any, detail: str) -> JSON:
    return _errors.field_cause(path, f"Invalid value: {render(value)}: {detail}")


def _check_scalar(schema: JSON, value: Any, path: str) -> list[JSON]:
    causes: list[JSON] = []
    if "enum" in schema and value not in schema["enum"]:
        supported = ", ".join(render(v) for v in schema["enum"])
        causes.append(
            _errors.field_cause(
                path,
                f"Unsupported value: {render(value)}: supported values: {supported}",
                reason="FieldValueNotSupported",
            )
        )
    if isinstance(value, str):
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            causes.append(
                _errors.field_cause(
                    path,
                    f"Too long: may not be longer than {schema['maxLength']}",
                    reason="FieldValueTooLong",
                )
            )
        if "minLength" in schema and len(value) < schema["minLength"]:
            detail = f"{path} in body should be at least {schema['minLength']} chars long"
            causes.append(_invalid(path, value, detail))
        if "pattern" in schema and not _regex(schema["pattern"]).search(value):
            detail = f"{path} in body should match '{schema['pattern']}'"
            causes.append(_invalid(path, value, detail))
    elif isinstance(value, int | float) and not isinstance(value, bool):
        causes.extend(_check_bounds(schema, value, path))
    return causes


def _check_bounds(schema: JSON, value: float, path: str) -> list[JSON]:
    causes: list[JSON] = []
    if "minimum" in schema:
        exclusive = schema.get("exclusiveMinimum", False)
        if value < schema["minimum"] or (exclusive and value == schema["minimum"]):
            than = "greater than" if exclusive else "greater than or equal to"
            detail = f"{path} in body should be {than} {render(schema['minimum'])}"
            causes.append(_invalid(path, value, detail))
    if "maximum" in schema:
        exclusive = schema.get("exclusiveMaximum", False)
        if value > schema["maximum"] or (exclusive and value == schema["maximum"]):
            than = "less than" if exclusive else "less than or equal to"
            detail = f"{path} in body should be {than} {render(schema['maximum'])}"
            causes.append(_invalid(path, value, detail))
    return causes


def _check_object(schema: JSON, value: JSON, path: str) -> list[JSON]:
    causes: list[JSON] = []
    for key in schema.get("required") or ():
        if key not in value:
            causes.append(
                _errors.field_cause(child(path, key), "Required value", reason="FieldValueRequired")
            )
    properties = schema.get("properties") or {}
    additional = schema.get("additionalProperties")
    for key, item in value.items():
        sub = properties.get(key)
        if sub is None and isinstance(additional, dict):
            sub = additional
        if sub is not None:
            causes.extend(validate(sub, item, child(path, key)))
    return causes


def _check_array(schema: JSON, value: list[Any], path: str) -> list[JSON]:
    causes: list[JSON] = []
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        message = f"Too many: {len(value)}: must have at most {schema['maxItems']} items"
        causes.append(_errors.field_cause(path, message, reason="FieldValueTooMany"))
    if "minItems" in schema and len(value) < schema["minItems"]:
        detail = f"{path} in body should have at least {schema['minItems']} items"
        causes.append(_invalid(path, len(value), detail))
    keys = schema.get("x-kubernetes-list-map-keys")
    list_type = schema.get("x-kubernetes-list-type")
    seen: set[str] = set()
    for index, item in enumerate(value):
        item_path = f"{path}[{index}]"
        if list_type in ("map", "set"):
            identity = repr(
                [item.get(k) for k in keys] if keys and isinstance(item, dict) else item
            )
            if identity in seen:
                message = f"Duplicate value: {render(item if list_type == 'set' else identity)}"
                causes.append(_errors.field_cause(item_path, message, reason="FieldValueDuplicate"))
            seen.add(identity)
        if isinstance(schema.get("items"), dict):
            causes.extend(validate(schema["items"], item, item_path))
    return causes


def validate(schema: JSON, value: Any, path: str = "") -> list[JSON]:
    """The field errors of ``value`` against an OpenAPI v3 (structural) schema."""
    expected = schema.get("type")
    if expected and not _type_ok(expected, value, schema):
        given = type_name(value)
        detail = f"{path} in body must be of type {expected}: {render(given)}"
        return [
            _errors.field_cause(
                path, f"Invalid value: {render(given)}: {detail}", reason="FieldValueTypeInvalid"
            )
        ]
    if isinstance(value, dict):
        return _check_object(schema, value, path)
    if isinstance(value, list):
        return _check_array(schema, value, path)
    return _check_scalar(schema, value, path)
