"""Discovery documents: ``/version``, ``/api``, ``/apis``, group and resource lists.

The legacy (unaggregated) documents only: kubectl asks for aggregated discovery
(``apidiscovery.k8s.io/v2``) first and falls back to these when the answer's content type is
plain ``application/json``, as it does against API servers before 1.26.
"""

from typing import Any

from hpa.sandbox import _resources

JSON = dict[str, Any]


def version() -> JSON:
    """``/version``."""
    return {
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.0-hpa-sandbox",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.23",
        "compiler": "gc",
        "platform": "linux/amd64",
    }


def api_versions(address: str) -> JSON:
    """``/api``."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def _group(name: str, versions: list[str]) -> JSON:
    entries = [{"groupVersion": f"{name}/{v}", "version": v} for v in versions]
    return {"name": name, "versions": entries, "preferredVersion": entries[0]}


def group_list(registry: _resources.Registry) -> JSON:
    """``/apis``."""
    groups = [
        _group(name, versions) for name, versions in registry.group_versions().items() if name
    ]
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def group(registry: _resources.Registry, name: str) -> JSON | None:
    """``/apis/<group>``, or ``None`` if the group is not served."""
    versions = registry.group_versions().get(name)
    if not name or not versions:
        return None
    return {"kind": "APIGroup", "apiVersion": "v1", **_group(name, versions)}


def _entries(resource: _resources.Resource) -> list[JSON]:
    entry: JSON = {
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": list(_resources.VERBS),
    }
    if resource.short_names:
        entry["shortNames"] = list(resource.short_names)
    if resource.categories:
        entry["categories"] = list(resource.categories)
    entries = [entry]
    if resource.has_status:
        entries.append(
            {
                "name": f"{resource.plural}/status",
                "singularName": "",
                "namespaced": resource.namespaced,
                "kind": resource.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    if resource.scalable:
        entries.append(
            {
                "name": f"{resource.plural}/scale",
                "singularName": "",
                "namespaced": resource.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": ["get", "patch", "update"],
            }
        )
    return entries


def resource_list(registry: _resources.Registry, group: str, version: str) -> JSON | None:
    """``/api/v1`` or ``/apis/<group>/<version>``, or ``None`` if not served."""
    resources = [r for r in registry.all() if (r.group, r.version) == (group, version)]
    if not resources:
        return None
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [entry for r in resources for entry in _entries(r)],
    }
