"""Structural OpenAPI v3 schemas from msgspec Structs, for CustomResourceDefinitions.

msgspec's own JSON Schema output uses ``$ref`` and ``anyOf``, which a CRD may not. This walks
``msgspec.inspect`` type info instead and writes what apiextensions calls a structural schema:
every node has a ``type``, objects list their ``properties``, and nothing is shared by reference.
Constraints (``ge``/``le``, lengths, patterns) and ``extra_json_schema`` (descriptions, enums,
CEL rules) given with ``msgspec.Meta`` are carried over.
"""

from typing import Any

import msgspec.inspect as mi

Schema = dict[str, Any]

_INT_BOUNDS = {"ge": "minimum", "le": "maximum"}
_STR_BOUNDS = {"min_length": "minLength", "max_length": "maxLength", "pattern": "pattern"}
_ARRAY_BOUNDS = {"min_length": "minItems", "max_length": "maxItems"}


def openapi_schema(type_: Any) -> Schema:
    """The structural schema of a Struct (or any type built from those msgspec can inspect)."""
    return _schema(mi.type_info(type_))


def _schema(info: mi.Type) -> Schema:
    if isinstance(info, mi.Metadata):
        return {**_schema(info.type), **(info.extra_json_schema or {})}
    if isinstance(info, mi.StructType):
        return _struct(info)
    if isinstance(info, mi.UnionType):
        return _optional(info)
    if isinstance(info, mi.IntType):
        return {"type": "integer", **_bounds(info, _INT_BOUNDS)}
    if isinstance(info, mi.StrType):
        return {"type": "string", **_bounds(info, _STR_BOUNDS)}
    if isinstance(info, mi.BoolType):
        return {"type": "boolean"}
    if isinstance(info, mi.DateTimeType):
        return {"type": "string", "format": "date-time"}
    if isinstance(info, mi.VarTupleType | mi.ListType):
        return {"type": "array", "items": _schema(info.item_type), **_bounds(info, _ARRAY_BOUNDS)}
    if isinstance(info, mi.DictType):
        return {"type": "object", "additionalProperties": _schema(info.value_type)}
    raise TypeError(f"no OpenAPI mapping for {info!r}")


def _struct(info: mi.StructType) -> Schema:
    schema: Schema = {"type": "object"}
    if info.cls.__doc__:
        schema["description"] = info.cls.__doc__.strip().splitlines()[0]
    schema["properties"] = {f.encode_name: _schema(f.type) for f in info.fields}
    required = [f.encode_name for f in info.fields if f.required]
    if required:
        schema["required"] = required
    return schema


def _optional(info: mi.UnionType) -> Schema:
    """``X | None`` is an optional field; the API has no other unions."""
    types = [t for t in info.types if not isinstance(t, mi.NoneType)]
    if len(types) != 1:
        raise TypeError(f"only X | None unions map to OpenAPI, not {info!r}")
    return _schema(types[0])


def _bounds(info: Any, names: dict[str, str]) -> Schema:
    return {
        key: getattr(info, attr) for attr, key in names.items() if getattr(info, attr) is not None
    }
