"""The validating pod webhook: host ports in managed namespaces come from claims only.

On CREATE (after every mutating webhook, including ours) a pod in a managed namespace is denied
if any container port (containers, init containers, ephemeral containers) has a ``hostPort`` its
claims did not give it, if a claimed port lacks its host port, annotation or the pod label
(the mutating webhook did not run, or another webhook undid its work), or if it asks for
``hostNetwork`` (which exposes every port of the node) while that is not allowed.

On UPDATE, including ``pods/ephemeralcontainers``, the claim and port annotations and the pod
label must not change (the operator and the downward API rely on them), and a host port that
was not there before must be the one the port annotation records. Claims are not read again on
UPDATE: a pod keeps the port it was admitted with even while its claim is being deleted.
"""

import msgspec

from hpa import api
from hpa.webhook import _claimed_ports as claimed_ports
from hpa.webhook import _handling as handling
from hpa.webhook import _namespaces as namespaces
from hpa.webhook import _pods as pods
from hpa.webhook import _readers as readers
from hpa.webhook import _responses as responses
from hpa.webhook import _review_errors as errors
from hpa.webhook import _reviews as reviews

_SUBRESOURCES = ("", "ephemeralcontainers")


class PodValidator:
    """Handler of ``/validate-pods`` (pods and pods/ephemeralcontainers, CREATE and UPDATE)."""

    def __init__(
        self,
        *,
        claims: readers.ClaimReader,
        namespaces: readers.NamespaceReader,
        namespace_selector: api.LabelSelector = api.DEFAULT_NAMESPACE_SELECTOR,
        allow_host_network: bool = False,
        live_read_timeout: float = claimed_ports.LIVE_READ_TIMEOUT,
    ) -> None:
        self._claims = claims
        self._namespaces = namespaces
        self._selector = namespace_selector
        self._allow_host_network = allow_host_network
        self._timeout = live_read_timeout

    async def __call__(self, request: reviews.AdmissionRequest, /) -> reviews.AdmissionResponse:
        """Allow the pod, or deny naming each field that breaks the host port policy."""
        if request.operation not in (reviews.CREATE, reviews.UPDATE):
            return responses.allowed()
        if request.sub_resource not in _SUBRESOURCES:
            return responses.allowed()
        if not namespaces.is_managed(self._namespaces, self._selector, request.namespace):
            return responses.allowed()
        pod = handling.decode_object(request.object, pods.Pod)
        if pod is None:
            raise errors.BadObject("request.object is missing")
        if request.operation == reviews.CREATE:
            problems = await self._check_create(request.namespace, pod)
        else:
            old = handling.decode_object(request.old_object, pods.Pod, what="oldObject")
            if old is None:
                raise errors.BadObject("request.oldObject is missing on UPDATE")
            problems = _check_update(pod, old)
        return responses.denied_for(problems) if problems else responses.allowed()

    async def _check_create(self, namespace: str, pod: pods.Pod) -> list[responses.Problem]:
        problems: list[responses.Problem] = []
        if pod.spec.host_network and not self._allow_host_network:
            problems.append(
                responses.Problem(
                    field="spec.hostNetwork",
                    message="hostNetwork is not allowed in this namespace, it exposes every "
                    "port of the node; remove it and take host ports from HostPortClaims",
                )
            )
        wanted = pods.claim_annotations(pod.metadata.annotations)
        found, name_problems = claimed_ports.claimed_ports(pod, wanted)
        problems += name_problems
        given: dict[str, int] = {}
        for port_name in sorted(found):
            claim = await claimed_ports.resolve(
                self._claims,
                namespace=namespace,
                name=wanted[port_name],
                live_read_timeout=self._timeout,
            )
            if isinstance(claim, str):
                problems.append(responses.Problem(field=pods.claim_field(port_name), message=claim))
            else:
                given[port_name] = claim.status.port
        problems += _check_claimed(pod, found, given)
        if not pod.spec.host_network:
            # On the host's network every port is a host port (kube-apiserver defaults each
            # hostPort to its containerPort): the pod is allowed or refused as a whole above.
            problems += _check_unclaimed(pod, wanted)
        return problems


def _check_claimed(
    pod: pods.Pod, found: dict[str, pods.PortRef], given: dict[str, int]
) -> list[responses.Problem]:
    """Each claimed port carries its claim's port, as hostPort and as annotation."""
    problems: list[responses.Problem] = []
    recorded = pods.port_annotations(pod.metadata.annotations)
    for port_name, port in sorted(given.items()):
        ref = found[port_name]
        if ref.port.host_port != port:
            problems.append(
                responses.Problem(
                    field=f"{ref.field}.hostPort",
                    message=f"is {ref.port.host_port or 'unset'} but HostPortClaim "
                    f"{pod.metadata.annotations[api.CLAIM_ANNOTATION_PREFIX + port_name]} gives "
                    f"port {port}; leave hostPort unset, hpa's mutating webhook sets it",
                )
            )
        if recorded.get(port_name) != str(port):
            problems.append(
                responses.Problem(
                    field=pods.port_field(port_name),
                    message=f"must be {str(port)!r}, the claim's port; leave it unset, hpa's "
                    "mutating webhook sets it",
                )
            )
    if given and pod.metadata.labels.get(api.POD_LABEL) != "true":
        problems.append(
            responses.Problem(
                field=f"metadata.labels[{api.POD_LABEL}]",
                message="must be 'true' on a pod that uses HostPortClaims; hpa's mutating "
                "webhook sets it, check that it is registered",
            )
        )
    return problems


def _check_unclaimed(pod: pods.Pod, wanted: dict[str, str]) -> list[responses.Problem]:
    """No host port and no port annotation without a claim annotation."""
    problems = [
        _unclaimed_host_port(ref)
        for ref in pods.ports(pod)
        if ref.port.host_port and ref.port.name not in wanted
    ]
    for port_name in sorted(pods.port_annotations(pod.metadata.annotations)):
        if port_name not in wanted:
            problems.append(
                responses.Problem(
                    field=pods.port_field(port_name),
                    message="is set by hpa for a claimed port only; remove it, or add the "
                    f"annotation {api.CLAIM_ANNOTATION_PREFIX}{port_name}: <claimName>",
                )
            )
    return problems


def _unclaimed_host_port(ref: pods.PortRef) -> responses.Problem:
    name = ref.port.name or "<portName>"
    return responses.Problem(
        field=f"{ref.field}.hostPort",
        message=f"{ref.port.host_port} is not given by a HostPortClaim; remove hostPort, "
        f"name the port and annotate the pod {api.CLAIM_ANNOTATION_PREFIX}{name}: <claimName>",
    )


def _check_update(pod: pods.Pod, old: pods.Pod) -> list[responses.Problem]:
    """Claim/port annotations and the pod label are frozen; new host ports match the record."""
    problems: list[responses.Problem] = []
    for prefix in (api.CLAIM_ANNOTATION_PREFIX, api.PORT_ANNOTATION_PREFIX):
        new_values = _prefixed(pod.metadata.annotations, prefix)
        old_values = _prefixed(old.metadata.annotations, prefix)
        for key in sorted(new_values.keys() | old_values.keys()):
            if new_values.get(key) != old_values.get(key):
                problems.append(
                    responses.Problem(
                        field=f"metadata.annotations[{key}]",
                        message="cannot change after the pod is created (was "
                        f"{old_values.get(key)!r}, now {new_values.get(key)!r}); delete and "
                        "re-create the pod to use other claims",
                    )
                )
    if pod.metadata.labels.get(api.POD_LABEL) != old.metadata.labels.get(api.POD_LABEL):
        problems.append(
            responses.Problem(
                field=f"metadata.labels[{api.POD_LABEL}]",
                message="is managed by hpa and cannot change; hpa watches pods by this label",
            )
        )
    before = {_port_key(ref) for ref in pods.ports(old) if ref.port.host_port}
    recorded = pods.port_annotations(old.metadata.annotations)
    for ref in pods.ports(pod):
        if not ref.port.host_port or _port_key(ref) in before:
            continue
        if recorded.get(ref.port.name) != str(ref.port.host_port):
            problems.append(_unclaimed_host_port(ref))
    return problems


def _prefixed(annotations: dict[str, str], prefix: str) -> dict[str, str]:
    return {k: v for k, v in annotations.items() if k.startswith(prefix)}


def _port_key(ref: pods.PortRef) -> tuple[str, int, bytes]:
    """What identifies a host port across an UPDATE: its container and the port itself."""
    return (ref.section, ref.container_index, msgspec.json.encode(ref.port))
