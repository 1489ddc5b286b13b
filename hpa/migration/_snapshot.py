"""What the migration reads of the cluster before it plans: the CRDs, the objects of the three
kinds, the pods that use claims, and what would refuse the migration's writes.

Objects are kept as plain decoded JSON (the original's HostPorts fit none of hpa's types).
"""

import dataclasses
from typing import Any, Final

from hpa import api, kube
from hpa.migration import _original

Obj = dict[str, Any]

CRDS: Final = kube.Resource(
    group="apiextensions.k8s.io", version="v1", plural="customresourcedefinitions",
    kind="CustomResourceDefinition", namespaced=False,
)  # fmt: skip
_MUTATING: Final = kube.Resource(
    group="admissionregistration.k8s.io", version="v1", plural="mutatingwebhookconfigurations",
    kind="MutatingWebhookConfiguration", namespaced=False,
)  # fmt: skip
_VALIDATING: Final = kube.Resource(
    group="admissionregistration.k8s.io", version="v1", plural="validatingwebhookconfigurations",
    kind="ValidatingWebhookConfiguration", namespaced=False,
)  # fmt: skip
_POLICY_BINDINGS: Final = kube.Resource(
    group="admissionregistration.k8s.io", version="v1",
    plural="validatingadmissionpolicybindings", kind="ValidatingAdmissionPolicyBinding",
    namespaced=False,
)  # fmt: skip
_HPA_CONFIGURATIONS: Final = {api.MUTATING_CONFIGURATION, api.VALIDATING_CONFIGURATION}
#: hpa's admission policies are named after the group: ``hostport.rmb938.com-pods``, ...
_HPA_POLICY_PREFIX: Final = f"{api.GROUP}-"


def wanted_crds() -> dict[str, Obj]:
    """hpa's CRDs by name, as ``hpa manifests`` prints them."""
    return {crd["metadata"]["name"]: crd for crd in api.custom_resource_definitions()}


HOSTPORTS_CRD: Final = f"{api.PLURAL_HOSTPORT}.{api.GROUP}"


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The cluster as the planner sees it."""

    #: The installed CRDs of the group, by name (missing ones left out).
    crds: dict[str, Obj] = dataclasses.field(default_factory=dict)
    classes: list[Obj] = dataclasses.field(default_factory=list)
    claims: list[Obj] = dataclasses.field(default_factory=list)
    hostports: list[Obj] = dataclasses.field(default_factory=list)
    #: Pods with at least one claim annotation.
    pods: list[Obj] = dataclasses.field(default_factory=list)
    #: Webhook configurations that would refuse or rewrite the migration's writes.
    blockers: tuple[str, ...] = ()
    #: hpa's ValidatingAdmissionPolicyBindings that are installed (they refuse adding hpa's
    #: label to a running pod).
    hpa_policies: tuple[str, ...] = ()

    @property
    def ports_visible(self) -> bool:
        """Whether the original's ``status.port`` is served (its HostPort CRD is installed)."""
        return _original.ports_visible(self.crds.get(HOSTPORTS_CRD))

    @property
    def crds_to_replace(self) -> list[str]:
        """The names of the CRDs that do not serve hpa's schema yet, in hpa's order."""
        return [
            name
            for name, wanted in wanted_crds().items()
            if name not in self.crds or not _original.is_hpa_crd(self.crds[name], wanted)
        ]


async def _all(client: kube.Client, resource: kube.Resource) -> list[Obj]:
    page = await client.list(resource, type=dict[str, Any])
    return list(page.items)


async def read(client: kube.Client) -> Snapshot:
    """Read everything the planner needs (nothing of the three kinds if no CRD of the group is
    installed: then there is nothing to migrate).

    Raises:
        KubeError: a read failed (e.g. Forbidden: the migration needs cluster-admin's reads).
    """
    crds: dict[str, Obj] = {}
    for name in wanted_crds():
        try:
            crds[name] = await client.get(CRDS, name, type=dict[str, Any])
        except kube.NotFound:
            continue
    if not crds:
        return Snapshot()
    pods = [p for p in await _all(client, kube.PODS) if _original.pod_claims(p)]
    return Snapshot(
        crds=crds,
        classes=await _all(client, kube.CLASSES)
        if f"{api.PLURAL_CLASS}.{api.GROUP}" in crds
        else [],
        claims=await _all(client, kube.CLAIMS) if f"{api.PLURAL_CLAIM}.{api.GROUP}" in crds else [],
        hostports=await _all(client, kube.HOSTPORTS) if HOSTPORTS_CRD in crds else [],
        pods=[_pod_view(p) for p in pods],
        blockers=tuple(await _blockers(client)),
        hpa_policies=tuple(
            _original.name(b)
            for b in await _all(client, _POLICY_BINDINGS)
            if str(_original.spec(b).get("policyName", "")).startswith(_HPA_POLICY_PREFIX)
        ),
    )


def _pod_view(pod: Obj) -> Obj:
    """The part of a pod the planner reads: its metadata (a pod's spec is never written)."""
    meta = _original.meta(pod)
    kept = ("name", "namespace", "uid", "labels", "annotations", "deletionTimestamp")
    return {"metadata": {key: meta[key] for key in kept if key in meta}}


async def _blockers(client: kube.Client) -> list[str]:
    """Webhook configurations that intercept the group's objects or the pods of namespaces
    labelled as the original's (and hpa's) managed ones."""
    found = []
    for resource in (_MUTATING, _VALIDATING):
        for configuration in await _all(client, resource):
            name = _original.name(configuration)
            hooks = [h for h in configuration.get("webhooks") or [] if _intercepts(h)]
            if not hooks:
                continue
            kind = resource.kind
            if name in _HPA_CONFIGURATIONS:
                found.append(
                    f"hpa's {kind} {name} is installed: run hpa migrate before installing hpa "
                    f"(or delete it for the migration: kubectl delete {kind.lower()} {name})"
                )
                continue
            hook_names = ", ".join(str(h.get("name", "")) for h in hooks)
            found.append(
                f"{kind} {name} (webhook {hook_names}) intercepts {api.GROUP} objects or the "
                "pods of managed namespaces; if it is the original's, its server stopped with "
                "its controller and it refuses or rewrites the migration's writes: delete it "
                f"(kubectl delete {kind.lower()} {name}) and run hpa migrate again"
            )
    return found


def _intercepts(hook: Obj) -> bool:
    groups = {g for rule in hook.get("rules") or [] for g in rule.get("apiGroups") or []}
    selector = (hook.get("namespaceSelector") or {}).get("matchLabels") or {}
    return api.GROUP in groups or api.NAMESPACE_LABEL in selector
