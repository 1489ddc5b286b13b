"""What the sandbox serves: one :class:`Resource` per group/version/plural.

Built-in kinds are declared here with just enough knowledge to behave (scope, status
subresource, short names); custom resources are derived from CRD objects by
:func:`from_crd`. Every version of a resource shares one storage (``storage_key``), as
kube-apiserver stores one version and converts the others (here conversion is a rename of
``apiVersion``: the ``None`` strategy of CRDs).
"""

from typing import Any, Final

import msgspec

JSON = dict[str, Any]

VERBS: Final = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


class Resource(msgspec.Struct, frozen=True, kw_only=True):
    """One served resource: its names, scope and the schema knowledge the server uses."""

    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    has_status: bool = False
    #: Whether it serves the ``/scale`` subresource (see :mod:`._scale`).
    scalable: bool = False
    custom: bool = False
    #: The version's ``openAPIV3Schema`` (custom resources only).
    schema: JSON | None = None
    #: ``additionalPrinterColumns`` (custom resources only).
    columns: tuple[JSON, ...] = ()
    #: Storage shared by every version of a resource.
    storage_key: tuple[str, str] = ("", "")

    @property
    def api_version(self) -> str:
        """``group/version`` or ``v1`` for the core group."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        """The kind of a list of these objects."""
        return f"{self.kind}List"

    @property
    def gvr(self) -> tuple[str, str, str]:
        """Group, version, plural."""
        return (self.group, self.version, self.plural)


def _builtin(
    group: str,
    version: str,
    plural: str,
    kind: str,
    *,
    namespaced: bool = True,
    short_names: tuple[str, ...] = (),
    has_status: bool = False,
    scalable: bool = False,
    categories: tuple[str, ...] = (),
    storage: tuple[str, str] | None = None,
) -> Resource:
    return Resource(
        group=group,
        version=version,
        plural=plural,
        singular=kind.lower(),
        kind=kind,
        namespaced=namespaced,
        short_names=short_names,
        categories=categories,
        has_status=has_status,
        scalable=scalable,
        storage_key=storage or (group, plural),
    )


BUILTINS: Final = (
    _builtin("", "v1", "namespaces", "Namespace", namespaced=False, short_names=("ns",),
             has_status=True),
    _builtin("", "v1", "pods", "Pod", short_names=("po",), has_status=True, categories=("all",)),
    _builtin("", "v1", "services", "Service", short_names=("svc",), has_status=True,
             categories=("all",)),
    _builtin("", "v1", "endpoints", "Endpoints", short_names=("ep",)),
    _builtin("", "v1", "secrets", "Secret"),
    _builtin("", "v1", "configmaps", "ConfigMap", short_names=("cm",)),
    _builtin("", "v1", "events", "Event", short_names=("ev",)),
    _builtin("", "v1", "serviceaccounts", "ServiceAccount", short_names=("sa",)),
    _builtin("", "v1", "resourcequotas", "ResourceQuota", short_names=("quota",),
             has_status=True),
    _builtin("", "v1", "nodes", "Node", namespaced=False, short_names=("no",), has_status=True),
    _builtin("events.k8s.io", "v1", "events", "Event", short_names=("ev",),
             storage=("", "events")),
    _builtin("coordination.k8s.io", "v1", "leases", "Lease"),
    _builtin("apps", "v1", "statefulsets", "StatefulSet", short_names=("sts",),
             has_status=True, scalable=True, categories=("all",)),
    _builtin("apps", "v1", "deployments", "Deployment", short_names=("deploy",),
             has_status=True, categories=("all",)),
    _builtin("apiextensions.k8s.io", "v1", "customresourcedefinitions",
             "CustomResourceDefinition", namespaced=False, short_names=("crd", "crds"),
             has_status=True),
    _builtin("admissionregistration.k8s.io", "v1", "mutatingwebhookconfigurations",
             "MutatingWebhookConfiguration", namespaced=False),
    _builtin("admissionregistration.k8s.io", "v1", "validatingwebhookconfigurations",
             "ValidatingWebhookConfiguration", namespaced=False),
    _builtin("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies",
             "ValidatingAdmissionPolicy", namespaced=False, has_status=True),
    _builtin("admissionregistration.k8s.io", "v1", "validatingadmissionpolicybindings",
             "ValidatingAdmissionPolicyBinding", namespaced=False),
)  # fmt: skip


def from_crd(crd: JSON) -> list[Resource]:
    """The served versions of a CRD, as resources (storage version first)."""
    spec = crd["spec"]
    names = spec["names"]
    versions = sorted(spec.get("versions", []), key=lambda v: not v.get("storage", False))
    return [
        Resource(
            group=spec["group"],
            version=version["name"],
            plural=names["plural"],
            singular=names.get("singular") or names["kind"].lower(),
            kind=names["kind"],
            namespaced=spec.get("scope", "Namespaced") == "Namespaced",
            short_names=tuple(names.get("shortNames", ())),
            categories=tuple(names.get("categories", ())),
            has_status="status" in (version.get("subresources") or {}),
            custom=True,
            schema=(version.get("schema") or {}).get("openAPIV3Schema"),
            columns=tuple(version.get("additionalPrinterColumns", ())),
            storage_key=(spec["group"], names["plural"]),
        )
        for version in versions
        if version.get("served", True)
    ]


class Registry:
    """Resources by group/version/plural, plus the kind and short-name lookups."""

    def __init__(self) -> None:
        self._by_gvr: dict[tuple[str, str, str], Resource] = {}
        self._by_crd: dict[str, list[Resource]] = {}
        for resource in BUILTINS:
            self._by_gvr[resource.gvr] = resource

    def get(self, group: str, version: str, plural: str) -> Resource | None:
        """The resource served at this path, if any."""
        return self._by_gvr.get((group, version, plural))

    def by_kind(self, api_version: str, kind: str) -> Resource | None:
        """The resource of an object's ``apiVersion`` and ``kind``."""
        group, _, version = api_version.rpartition("/")
        for resource in self._by_gvr.values():
            if (resource.group, resource.version, resource.kind) == (group, version, kind):
                return resource
        return None

    def by_storage(self, storage: tuple[str, str]) -> Resource | None:
        """A resource (the first served version) stored under ``storage``."""
        for resource in self._by_gvr.values():
            if resource.storage_key == storage:
                return resource
        return None

    def all(self) -> list[Resource]:
        """Every served resource."""
        return list(self._by_gvr.values())

    def group_versions(self) -> dict[str, list[str]]:
        """Group → served versions (preferred first); the core group is ``""``."""
        groups: dict[str, list[str]] = {}
        for resource in self._by_gvr.values():
            versions = groups.setdefault(resource.group, [])
            if resource.version not in versions:
                versions.append(resource.version)
        return groups

    def set_crd(self, crd: JSON) -> list[Resource]:
        """Serve (or re-serve) the resources of a CRD; returns them."""
        name = crd["metadata"]["name"]
        self.remove_crd(name)
        resources = from_crd(crd)
        for resource in resources:
            self._by_gvr[resource.gvr] = resource
        self._by_crd[name] = resources
        return resources

    def remove_crd(self, name: str) -> list[Resource]:
        """Stop serving a CRD's resources; returns what was served."""
        resources = self._by_crd.pop(name, [])
        for resource in resources:
            self._by_gvr.pop(resource.gvr, None)
        return resources
