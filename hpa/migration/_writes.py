"""What the steps' writes share: the errors, the reads that check an object is still the one
planned, and patches with the object's resourceVersion."""

import dataclasses
from typing import Any, Final

from hpa import api, kube
from hpa.migration import _checks
from hpa.migration import _original as orig
from hpa.migration import _steps as st

Obj = dict[str, Any]

RESOURCES: Final = {
    api.KIND_CLASS: kube.CLASSES,
    api.KIND_CLAIM: kube.CLAIMS,
    api.KIND_HOSTPORT: kube.HOSTPORTS,
}


class StepError(Exception):
    """A step found the cluster other than the plan expected."""


class Stale(Exception):
    """The API server answered with the old schema: try the step again shortly."""


@dataclasses.dataclass(frozen=True)
class Writer:
    """The client, and how long to wait for the API server to serve the new CRDs."""

    client: kube.Client
    settle_timeout: float = 30.0

    async def get(self, resource: kube.Resource, name: str, namespace: str = "") -> Obj | None:
        """The object, or None if it does not exist."""
        try:
            found: Obj = await self.client.get(
                resource, name, namespace=namespace, type=dict[str, Any]
            )
        except kube.NotFound:
            return None
        return found

    async def patch(
        self, resource: kube.Resource, obj: Obj, patch: Obj, *, status: bool = False
    ) -> Obj:
        """A merge patch of ``obj`` (of its status subresource if ``status``)."""
        result: Obj = await self.client.patch(
            resource, orig.name(obj), patch, namespace=orig.namespace(obj),
            subresource="status" if status else "", type=dict[str, Any],
        )  # fmt: skip
        return result

    async def claim(self, claim: st.ClaimId) -> Obj:
        """The claim, if it is still the very one planned."""
        found = await self.get(kube.CLAIMS, claim.name, claim.namespace)
        if found is None:
            raise StepError(f"HostPortClaim {claim} is gone")
        if orig.uid(found) != claim.uid:
            raise StepError(f"HostPortClaim {claim} was re-created (uid {orig.uid(found)})")
        return found

    async def hostport(self, port: int, claim: st.ClaimId | None) -> Obj:
        """``port-<n>``, if it names ``claim`` (or no claim)."""
        name = api.hostport_name(port)
        found = await self.get(kube.HOSTPORTS, name)
        if found is None:
            raise StepError(f"HostPort {name} does not exist")
        if not _checks.owned_by(found, claim):
            owner = _checks.owner(orig.claim_ref(found))
            raise StepError(f"HostPort {name} names {owner}, not {st.owner(claim)}")
        return found


def versioned(obj: Obj, **metadata: Any) -> Obj:
    """A merge patch of ``metadata`` fields, only if the object is still at its resourceVersion."""
    return {"metadata": {"resourceVersion": orig.meta(obj).get("resourceVersion"), **metadata}}
