"""Resource descriptors: where each kind hpa calls is served.

A :class:`Resource` names an API endpoint (group, version, plural) and says whether it is
namespaced; it builds the request paths, so no other code spells a URL.
"""

from typing import Final

import msgspec

from hpa import api


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    """One API resource: where it is served and whether it is namespaced."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``group/version``, or ``version`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def prefix(self) -> str:
        """``/api/v1`` or ``/apis/<group>/<version>``."""
        return f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"

    def path(self, *, namespace: str = "", name: str = "", subresource: str = "") -> str:
        """The path of the collection, or of one object (and a subresource of it).

        Args:
            namespace: for a namespaced resource, the namespace; empty lists across all of them.
            name: the object's name; empty for the collection.
            subresource: e.g. ``status``; needs ``name``.
        """
        parts = [self.prefix]
        if self.namespaced and namespace:
            parts += ["namespaces", namespace]
        parts.append(self.plural)
        if name:
            parts.append(name)
            if subresource:
                parts.append(subresource)
        return "/".join(parts)


CLASSES: Final = Resource(
    group=api.GROUP,
    version=api.VERSION,
    plural=api.PLURAL_CLASS,
    kind=api.KIND_CLASS,
    namespaced=False,
)
CLAIMS: Final = Resource(
    group=api.GROUP,
    version=api.VERSION,
    plural=api.PLURAL_CLAIM,
    kind=api.KIND_CLAIM,
    namespaced=True,
)
HOSTPORTS: Final = Resource(
    group=api.GROUP,
    version=api.VERSION,
    plural=api.PLURAL_HOSTPORT,
    kind=api.KIND_HOSTPORT,
    namespaced=False,
)
PODS: Final = Resource(group="", version="v1", plural="pods", kind="Pod", namespaced=True)
NAMESPACES: Final = Resource(
    group="", version="v1", plural="namespaces", kind="Namespace", namespaced=False
)
NODES: Final = Resource(group="", version="v1", plural="nodes", kind="Node", namespaced=False)
STATEFULSETS: Final = Resource(
    group="apps", version="v1", plural="statefulsets", kind="StatefulSet", namespaced=True
)
RESOURCE_QUOTAS: Final = Resource(
    group="", version="v1", plural="resourcequotas", kind="ResourceQuota", namespaced=True
)
EVENTS: Final = Resource(group="", version="v1", plural="events", kind="Event", namespaced=True)
LEASES: Final = Resource(
    group="coordination.k8s.io", version="v1", plural="leases", kind="Lease", namespaced=True
)
