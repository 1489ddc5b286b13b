"""Per-pod claims, made and bound at pod CREATE: the writer the mutating webhook calls.

A pod (template) annotated ``template.hostport.rmb938.com/<portName>: <className>`` gets its
own claim ``<podName>-<portName>``. A StatefulSet pod keeps its name across restarts, so it
finds its claim again and keeps its port. The first time, the webhook cannot wait for the
operator: :class:`ClaimProvisioner` (the webhook's ``ClaimProvisioner``) creates the claim and
binds it in the admission path, with the claim reconciler's own steps (index candidate,
``port-<n>`` HostPort that the API server refuses twice, bind with the claim's
resourceVersion), so racing the claim controller or another replica is safe.

A StatefulSet pod's claim carries the labels ``hostport.rmb938.com/statefulset`` and
``hostport.rmb938.com/ordinal``, and, when the StatefulSet's
``hostport.rmb938.com/when-deleted`` is Delete, an ownerReference to it, so the garbage
collector deletes it with the StatefulSet. Scale-down is the :mod:`_statefulset_reconciler`'s.
"""

from collections.abc import Sequence

from hpa import api, kube
from hpa.controllers import _claim_reconciler, _context


def ordinal_of(pod_name: str, statefulset: str) -> int | None:
    """The ordinal of a StatefulSet pod (``<statefulset>-<ordinal>``), or None."""
    digits = pod_name.removeprefix(f"{statefulset}-")
    if digits == pod_name or not digits.isascii() or not digits.isdigit():
        return None
    return int(digits)


def _statefulset_owner(owners: Sequence[api.OwnerReference]) -> api.OwnerReference | None:
    for owner in owners:
        if owner.kind == "StatefulSet" and owner.api_version.startswith("apps/"):
            return owner
    return None


class ClaimProvisioner:
    """Creates and binds a pod's own claim (for the mutating webhook, on every replica)."""

    def __init__(
        self, context: _context.Context, claims: _claim_reconciler.ClaimReconciler
    ) -> None:
        self._ctx = context
        self._claims = claims

    async def provision(
        self,
        *,
        namespace: str,
        name: str,
        class_name: str,
        pod_name: str,
        owners: Sequence[api.OwnerReference],
    ) -> api.HostPortClaim | str:
        """Create claim ``namespace/name`` of the class for pod ``pod_name`` (or find it) and
        bind it now.

        Returns:
            The Bound claim, or why it is not Bound (it then stays Pending; the claim
            controller binds it when it can, and the pod may be created again).

        Raises:
            KubeError: a read or write failed.
        """
        owner = _statefulset_owner(owners)
        body = await self._claim_for(
            namespace=namespace, name=name, class_name=class_name, pod_name=pod_name, owner=owner
        )
        try:
            claim = await self._ctx.client.create(
                kube.CLAIMS, body, namespace=namespace, type=api.HostPortClaim
            )
        except kube.AlreadyExists:
            found = await self._ctx.caches.fetch_claim(namespace, name)
            if found is None:
                return f"HostPortClaim {namespace}/{name} was deleted meanwhile; retry"
            claim = found
        if claim.metadata.deletion_timestamp is not None:
            return f"HostPortClaim {namespace}/{name} is being deleted; retry once it is gone"
        if claim.status.phase == api.PHASE_BOUND and claim.status.port:
            return claim
        try:
            return await self._claims.bind(claim)
        except kube.Conflict:
            # the claim controller (or another replica) bound it first: take its result
            live = await self._ctx.caches.fetch_claim(namespace, name)
            if live is not None and live.status.phase == api.PHASE_BOUND and live.status.port:
                return live
            return f"HostPortClaim {namespace}/{name} is being bound; retry"

    async def _claim_for(
        self,
        *,
        namespace: str,
        name: str,
        class_name: str,
        pod_name: str,
        owner: api.OwnerReference | None,
    ) -> api.HostPortClaim:
        labels: dict[str, str] = {}
        annotations = {api.PROVISIONED_ANNOTATION: "true"}
        owner_references: tuple[api.OwnerReference, ...] = ()
        if owner is None:
            # nothing creates the pod again should admission refuse it: see _unused
            annotations[api.AWAITING_POD_ANNOTATION] = pod_name
        else:
            labels[api.STATEFULSET_LABEL] = owner.name
            ordinal = ordinal_of(pod_name, owner.name)
            if ordinal is not None:
                labels[api.ORDINAL_LABEL] = str(ordinal)
            statefulset = await self._statefulset(namespace, owner.name)
            if (
                statefulset is not None
                and statefulset.metadata.uid == owner.uid
                and statefulset.metadata.annotations.get(api.WHEN_DELETED_ANNOTATION)
                == api.RETENTION_DELETE
            ):
                owner_references = (
                    api.OwnerReference(
                        api_version=owner.api_version,
                        kind=owner.kind,
                        name=owner.name,
                        uid=owner.uid,
                    ),
                )
        return api.HostPortClaim(
            metadata=api.ObjectMeta(
                name=name,
                namespace=namespace,
                labels=labels,
                annotations=annotations,
                owner_references=owner_references,
            ),
            spec=api.HostPortClaimSpec(host_port_class_name=class_name),
        )

    async def _statefulset(self, namespace: str, name: str) -> kube.StatefulSet | None:
        cached = self._ctx.caches.statefulset(namespace, name)
        if cached is not None:
            return cached
        try:
            return await self._ctx.client.get(
                kube.STATEFULSETS, name, namespace=namespace, type=kube.StatefulSet
            )
        except kube.NotFound:
            return None
