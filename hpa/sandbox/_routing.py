"""URL → what is addressed (API concepts, "Resource URIs").

``/api/v1/...`` is the core group, ``/apis/<group>/<version>/...`` the others; then
``[namespaces/<ns>/]<plural>[/<name>[/<subresource>]]``, with the legacy ``watch/`` prefix
accepted after the version. ``/api/v1/namespaces/<name>[/status|/finalize]`` is a namespace.
"""

from typing import Final

import msgspec

from hpa.sandbox import _resources

_NAMESPACE_SUBRESOURCES: Final = frozenset({"status", "finalize"})


class Target(msgspec.Struct, kw_only=True):
    """A resource URL, decoded."""

    resource: _resources.Resource
    namespace: str | None = None
    name: str | None = None
    subresource: str | None = None
    watch_path: bool = False


class GroupVersion(msgspec.Struct, kw_only=True):
    """A discovery URL (``/api/v1``, ``/apis/<group>/<version>``, ``/apis/<group>``)."""

    group: str
    version: str | None


def _split(path: str) -> tuple[str, str, list[str]] | GroupVersion | None:
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 2 and parts[0] == "api":
        if len(parts) == 2:
            return GroupVersion(group="", version=parts[1])
        return "", parts[1], parts[2:]
    if len(parts) >= 2 and parts[0] == "apis":
        if len(parts) <= 3:
            return GroupVersion(group=parts[1], version=parts[2] if len(parts) == 3 else None)
        return parts[1], parts[2], parts[3:]
    return None


def resolve(registry: _resources.Registry, path: str) -> Target | GroupVersion | None:
    """The target of a URL; ``None`` if nothing is served there."""
    split = _split(path)
    if split is None or isinstance(split, GroupVersion):
        return split
    group, version, rest = split
    watch_path = rest[0] == "watch"
    if watch_path:
        rest = rest[1:]
    namespace = None
    if (
        len(rest) >= 3
        and rest[0] == "namespaces"
        and not (not group and len(rest) == 3 and rest[2] in _NAMESPACE_SUBRESOURCES)
    ):
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        return None
    resource = registry.get(group, version, rest[0])
    if resource is None or (namespace is not None and not resource.namespaced):
        return None
    return Target(
        resource=resource,
        namespace=namespace,
        name=rest[1] if len(rest) > 1 else None,
        subresource=rest[2] if len(rest) > 2 else None,
        watch_path=watch_path,
    )
