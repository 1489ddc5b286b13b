"""Finding the ports a pod's claims give it: the checks both pod webhooks share.

:func:`claimed_ports` ties each claim annotation to the container port it names, and
:func:`resolve` finds the claim's port. Resolution reads the cache first; only when the cache
cannot confirm a usable claim (missing, not yet Bound, no port) is there one live read, bounded
by a timeout, before the pod is denied: a claim bound a moment ago is then admitted at once,
and the common path never waits on the API server.
"""

from collections.abc import Mapping
from typing import Final

import anyio
import structlog

from hpa import api
from hpa.webhook import _pods as pods
from hpa.webhook import _readers as readers
from hpa.webhook import _responses as responses

log = structlog.get_logger(__name__)

#: How long one live read of a claim may take before the pod is denied with a retry hint; well
#: under the API server's default webhook timeout of 10 s.
LIVE_READ_TIMEOUT: Final = 2.0


def claimed_ports(
    pod: pods.Pod, claims: Mapping[str, str]
) -> tuple[dict[str, pods.PortRef], list[responses.Problem]]:
    """The container port each claim annotation names, and every problem found on the way.

    Port names must be unique in a pod that uses claims, so that an annotation names exactly one
    container port. A claim gives one port number, which a pod may use once per protocol: two
    annotations may name the same claim only for ports of different protocols (TCP and UDP, as
    game servers and VoIP need).
    """
    problems: list[responses.Problem] = []
    if not claims:
        return {}, problems
    by_name: dict[str, pods.PortRef] = {}
    for ref in pods.ports(pod):
        name = ref.port.name
        if not name:
            continue
        if name in by_name:
            problems.append(
                responses.Problem(
                    field=f"{ref.field}.name",
                    message=f"port name {name!r} is also used by {by_name[name].field}; "
                    "port names must be unique in a pod that uses HostPortClaims, rename one",
                )
            )
            continue
        by_name[name] = ref
    found: dict[str, pods.PortRef] = {}
    #: claim name → protocol → the port name that uses the claim for it
    claimed_by: dict[str, dict[str, str]] = {}
    for port_name, claim_name in sorted(claims.items()):
        field = pods.claim_field(port_name)
        if not pods.valid_port_name(port_name):
            problems.append(
                responses.Problem(
                    field=field,
                    message=f"{port_name!r} is not a valid port name (at most 15 lowercase "
                    "letters, digits and inner hyphens, at least one letter); use the name of "
                    "a container port",
                )
            )
        elif not claim_name:
            problems.append(
                responses.Problem(
                    field=field, message="names no claim; set it to a HostPortClaim's name"
                )
            )
        elif port_name not in by_name:
            problems.append(
                responses.Problem(
                    field=field,
                    message=f"no container port is named {port_name!r}; add name: {port_name} "
                    "to the container port that should get the host port",
                )
            )
        elif (
            other := claimed_by.get(claim_name, {}).get(
                protocol := by_name[port_name].port.protocol
            )
        ) is not None:
            problems.append(
                responses.Problem(
                    field=field,
                    message=f"HostPortClaim {claim_name!r} is already used for {protocol} port "
                    f"{other!r}; a claim gives one port per protocol, create another claim",
                )
            )
        else:
            found[port_name] = by_name[port_name]
            claimed_by.setdefault(claim_name, {})[protocol] = port_name
    return found, problems


def _problem_with(claim: api.HostPortClaim | None, *, namespace: str, name: str) -> str:
    """Why ``claim`` cannot give a port, or "" if it can."""
    if claim is None:
        return (
            f"HostPortClaim {namespace}/{name} does not exist; a pod's claims are looked up in "
            f"its own namespace, so create it in {namespace}, or name one there (kubectl get "
            f"hostportclaims -n {namespace})"
        )
    if claim.metadata.deletion_timestamp is not None or claim.status.phase == api.PHASE_DELETING:
        return f"HostPortClaim {namespace}/{name} is being deleted; use another claim"
    if claim.status.phase != api.PHASE_BOUND or not claim.status.port:
        phase = claim.status.phase or api.PHASE_PENDING
        return (
            f"HostPortClaim {namespace}/{name} is {phase}, not Bound; wait until "
            f"kubectl get hpc -n {namespace} {name} shows it Bound, then create the pod again"
        )
    return ""


async def resolve(
    reader: readers.ClaimReader,
    *,
    namespace: str,
    name: str,
    live_read_timeout: float = LIVE_READ_TIMEOUT,
) -> api.HostPortClaim | str:
    """The usable (Bound, not deleting) claim ``namespace/name``, or why there is none."""
    cached = reader.claim(namespace, name)
    if not _problem_with(cached, namespace=namespace, name=name):
        assert cached is not None
        return cached
    try:
        with anyio.fail_after(live_read_timeout):
            live = await reader.fetch_claim(namespace, name)
    except Exception as exc:
        log.warning("live read of claim failed", claim=name, error=repr(exc))
        return (
            f"HostPortClaim {namespace}/{name} could not be read from the API server "
            f"({type(exc).__name__}); retry"
        )
    problem = _problem_with(live, namespace=namespace, name=name)
    if problem:
        return problem
    assert live is not None
    return live
