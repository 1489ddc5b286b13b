"""The writes of a claim's own object, and the HostPort body that gives a claim its port.

Each write is a patch with the claim's resourceVersion where it must not race, and is
remembered in the context (``Context.wrote_claim``), so that the next reconcile reads it even
while the cache still shows the version it replaced.
"""

from typing import Any

import msgspec

from hpa import api, kube
from hpa.controllers import _context


def with_finalizer(finalizers: tuple[str, ...]) -> list[str]:
    """``finalizers`` with hpa's own one."""
    return list(finalizers) if api.FINALIZER in finalizers else [*finalizers, api.FINALIZER]


def claim_ref(claim: api.HostPortClaim) -> api.ClaimRef:
    """The claimRef that names this very claim (its uid included)."""
    return api.ClaimRef(
        namespace=claim.metadata.namespace, name=claim.metadata.name, uid=claim.metadata.uid
    )


def hostport_for(
    claim: api.HostPortClaim, port: int, reclaim_policy: str, *, slot: int | None = None
) -> api.HostPort:
    """The HostPort that gives ``port`` (or that slot of it) to ``claim``, named after both."""
    return api.HostPort(
        metadata=api.ObjectMeta(name=api.hostport_name(port, slot), finalizers=(api.FINALIZER,)),
        spec=api.HostPortSpec(
            host_port_class_name=claim.spec.host_port_class_name,
            port=port,
            slot=slot,
            claim_ref=claim_ref(claim),
            reclaim_policy=reclaim_policy,
        ),
    )


async def patch_finalizers(
    context: _context.Context, claim: api.HostPortClaim, finalizers: tuple[str, ...]
) -> api.HostPortClaim:
    """Set the claim's finalizers (resourceVersion precondition)."""
    patch = {
        "metadata": {
            "resourceVersion": claim.metadata.resource_version,
            "finalizers": list(finalizers),
        }
    }
    return await _patch(context, claim, patch)


async def patch_bound_name(
    context: _context.Context, claim: api.HostPortClaim, port: int, slot: int | None = None
) -> api.HostPortClaim:
    """Bind: set ``spec.hostPortName`` and the finalizer (resourceVersion precondition)."""
    patch: dict[str, Any] = {
        "metadata": {
            "resourceVersion": claim.metadata.resource_version,
            "finalizers": with_finalizer(claim.metadata.finalizers),
        },
        "spec": {"hostPortName": api.hostport_name(port, slot)},
    }
    return await _patch(context, claim, patch)


async def patch_status(
    context: _context.Context,
    claim: api.HostPortClaim,
    *,
    phase: str,
    port: int,
    condition: api.Condition | None,
) -> api.HostPortClaim:
    """Set the claim's phase and port, and ``condition`` among its conditions."""
    conditions = claim.status.conditions
    if condition is not None:
        conditions = api.set_condition(conditions, condition)
    status = msgspec.structs.replace(
        claim.status,
        phase=phase,
        port=port,
        observed_generation=claim.metadata.generation,
        conditions=conditions,
    )
    body = {"status": msgspec.to_builtins(status) | {"port": port or None}}
    return await _patch(context, claim, body, subresource="status")


async def patch_condition(
    context: _context.Context, claim: api.HostPortClaim, condition: api.Condition
) -> api.HostPortClaim:
    """Set ``condition`` among the claim's conditions, leaving its phase and port alone."""
    conditions = api.set_condition(claim.status.conditions, condition)
    body = {"status": {"conditions": msgspec.to_builtins(conditions)}}
    return await _patch(context, claim, body, subresource="status")


async def _patch(
    context: _context.Context, claim: api.HostPortClaim, body: dict[str, Any], subresource: str = ""
) -> api.HostPortClaim:
    updated = await context.client.patch(
        kube.CLAIMS,
        claim.metadata.name,
        body,
        namespace=claim.metadata.namespace,
        subresource=subresource,
        type=api.HostPortClaim,
    )
    context.wrote_claim(claim, updated)
    return updated
