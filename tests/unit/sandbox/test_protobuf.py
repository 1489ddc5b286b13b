"""Decoding kubectl's protobuf bodies (API concepts: "Protobuf encoding")."""

import pytest

from hpa.sandbox import ApiError, _protobuf


def _field(number: int, payload: bytes) -> bytes:
    return bytes([number << 3 | 2, len(payload)]) + payload


def test_configmap_with_metadata_and_data() -> None:
    """A runtime.Unknown envelope holding a ConfigMap decodes to its JSON shape."""
    entry = _field(1, b"a") + _field(2, b"b")
    meta = _field(1, b"c") + _field(3, b"ns") + _field(11, _field(1, b"k") + _field(2, b"v"))
    raw = _field(1, meta) + _field(2, entry)
    body = _protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"ConfigMap")) + _field(2, raw)
    assert _protobuf.decode(body) == {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c", "namespace": "ns", "labels": {"k": "v"}},
        "data": {"a": "b"},
    }


def test_unknown_kinds_are_415() -> None:
    """Kinds without a schema here answer 415 Unsupported Media Type."""
    body = _protobuf.MAGIC + _field(1, _field(1, b"v1") + _field(2, b"Pod")) + _field(2, b"")
    with pytest.raises(ApiError) as raised:
        _protobuf.decode(body)
    assert raised.value.code == 415
