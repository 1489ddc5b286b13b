"""Just enough Kubernetes protobuf to accept what kubectl's typed commands send.

kubectl's generated clients send built-in kinds as ``application/vnd.kubernetes.protobuf``
(``kubectl create namespace|configmap|secret|serviceaccount``) and do not fall back to JSON.
A body is the ``k8s\\x00`` magic, then a ``runtime.Unknown`` whose ``raw`` field holds the
object. The schemas below cover ObjectMeta and those four kinds (field numbers from
``k8s.io/api/core/v1/generated.proto``); anything else answers ``415``.
"""

import base64
from typing import Any, Final

from hpa.sandbox import _errors

JSON = dict[str, Any]
Schema = dict[int, tuple[str, Any]]
MAGIC: Final = b"k8s\x00"

_OWNER: Final[Schema] = {
    1: ("kind", "string"),
    3: ("name", "string"),
    4: ("uid", "string"),
    5: ("apiVersion", "string"),
    6: ("controller", "bool"),
    7: ("blockOwnerDeletion", "bool"),
}
_META: Final[Schema] = {
    1: ("name", "string"),
    2: ("generateName", "string"),
    3: ("namespace", "string"),
    11: ("labels", "map"),
    12: ("annotations", "map"),
    13: ("ownerReferences", ("repeated", _OWNER)),
    14: ("finalizers", "strings"),
}
_REFERENCE: Final[Schema] = {1: ("name", "string")}
KINDS: Final[dict[str, Schema]] = {
    "Namespace": {1: ("metadata", _META), 2: ("spec", {1: ("finalizers", "strings")})},
    "ConfigMap": {
        1: ("metadata", _META),
        2: ("data", "map"),
        3: ("binaryData", "map_bytes"),
        4: ("immutable", "bool"),
    },
    "Secret": {
        1: ("metadata", _META),
        2: ("data", "map_bytes"),
        3: ("type", "string"),
        4: ("stringData", "map"),
        5: ("immutable", "bool"),
    },
    "ServiceAccount": {
        1: ("metadata", _META),
        3: ("imagePullSecrets", ("repeated", _REFERENCE)),
        4: ("automountServiceAccountToken", "bool"),
    },
}
_UNKNOWN: Final[Schema] = {
    1: ("typeMeta", {1: ("apiVersion", "string"), 2: ("kind", "string")}),
    2: ("raw", "bytes"),
}


def _varint(data: bytes, position: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[position]
        position += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, position
        shift += 7


def _fields(data: bytes) -> list[tuple[int, int | bytes]]:
    fields: list[tuple[int, int | bytes]] = []
    position = 0
    while position < len(data):
        key, position = _varint(data, position)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, position = _varint(data, position)
            fields.append((number, value))
        elif wire == 2:
            length, position = _varint(data, position)
            fields.append((number, data[position : position + length]))
            position += length
        elif wire in (1, 5):
            position += 8 if wire == 1 else 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
    return fields


def _entry(raw: bytes, *, as_bytes: bool) -> tuple[str, str]:
    pairs = dict(_fields(raw))
    key, value = pairs.get(1, b""), pairs.get(2, b"")
    assert isinstance(key, bytes) and isinstance(value, bytes)
    text = base64.b64encode(value).decode() if as_bytes else value.decode()
    return key.decode(), text


def decode_message(data: bytes, schema: Schema) -> JSON:
    """A message as JSON, per ``schema`` (unknown field numbers are skipped)."""
    obj: JSON = {}
    for number, value in _fields(data):
        if number not in schema:
            continue
        name, kind = schema[number]
        if isinstance(kind, dict):
            assert isinstance(value, bytes)
            obj[name] = decode_message(value, kind)
        elif isinstance(kind, tuple):
            assert isinstance(value, bytes)
            obj.setdefault(name, []).append(decode_message(value, kind[1]))
        elif kind == "bool":
            obj[name] = bool(value)
        elif kind == "bytes":
            obj[name] = value
        elif kind == "strings":
            assert isinstance(value, bytes)
            obj.setdefault(name, []).append(value.decode())
        elif kind in ("map", "map_bytes"):
            assert isinstance(value, bytes)
            key, text = _entry(value, as_bytes=kind == "map_bytes")
            obj.setdefault(name, {})[key] = text
        else:
            assert isinstance(value, bytes)
            obj[name] = value.decode()
    return obj


def decode(body: bytes) -> JSON:
    """A kubectl protobuf body as a JSON object; 415 for what the sandbox cannot read."""
    if not body.startswith(MAGIC):
        raise _errors.unsupported_media_type("application/vnd.kubernetes.protobuf")
    try:
        unknown = decode_message(body[len(MAGIC) :], _UNKNOWN)
        type_meta = unknown.get("typeMeta") or {}
        schema = KINDS.get(type_meta.get("kind", ""))
        if schema is None:
            raise _errors.unsupported_media_type(
                f"application/vnd.kubernetes.protobuf ({type_meta.get('kind')})"
            )
        obj = decode_message(unknown.get("raw", b""), schema)
    except (ValueError, IndexError, UnicodeDecodeError, AssertionError) as error:
        raise _errors.bad_request(f"error decoding protobuf body: {error}") from error
    return {"apiVersion": type_meta.get("apiVersion", "v1"), "kind": type_meta["kind"], **obj}
