"""JSON patches (RFC 6902) with paths written as JSON pointers (RFC 6901).

Annotation and label keys hold ``/`` (``claim.hostport.rmb938.com/web``), which a JSON pointer
must write as ``~1`` (and ``~`` as ``~0``, escaped first so that ``~1`` is not read back as an
escaped ``/``). :func:`pointer` is the only place paths are built, so no caller can forget.
"""

from typing import Any

import msgspec


class Operation(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One JSON patch operation."""

    op: str
    path: str
    value: Any = None


def escape(token: str) -> str:
    """One reference token of a JSON pointer, escaped as RFC 6901 asks."""
    return token.replace("~", "~0").replace("/", "~1")


def pointer(*tokens: str | int) -> str:
    """The JSON pointer to the given path, e.g. ``pointer("metadata", "labels", "a/b")``."""
    return "".join(f"/{escape(str(token))}" for token in tokens)


def add(value: Any, *tokens: str | int) -> Operation:
    """An ``add`` operation: sets a member of an object (replacing it if present)."""
    return Operation(op="add", path=pointer(*tokens), value=value)


def encode(operations: list[Operation]) -> bytes:
    """The patch as JSON."""
    return msgspec.json.encode(operations)
