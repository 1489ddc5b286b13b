"""The mutating pod webhook: gives each claimed container port its claim's host port.

For every ``claim.hostport.rmb938.com/<portName>: <claimName>`` annotation of a pod created in a
managed namespace, the claim must exist in the pod's namespace, be Bound and not be deleting;
the container port named ``<portName>`` then gets ``hostPort: <port>``, the pod gets the
annotation ``port.hostport.rmb938.com/<portName>: "<port>"`` (for the downward API) and the label
:data:`api.POD_LABEL` (so the operator watches only pods that use claims). The answer is a JSON
patch; a pod without claim annotations is allowed unchanged.
"""

from hpa import api
from hpa.webhook import _claims
from hpa.webhook import _errors as errors
from hpa.webhook import _handling as handling
from hpa.webhook import _patching as patching
from hpa.webhook import _pods as pods
from hpa.webhook import _readers as readers
from hpa.webhook import _responses as responses
from hpa.webhook import _reviews as reviews
from hpa.webhook import _selectors as selectors


class PodMutator:
    """Handler of ``/mutate-pods`` (pods, CREATE)."""

    def __init__(
        self,
        *,
        claims: readers.ClaimReader,
        namespaces: readers.NamespaceReader,
        namespace_selector: selectors.LabelSelector = selectors.DEFAULT_NAMESPACE_SELECTOR,
        live_read_timeout: float = _claims.LIVE_READ_TIMEOUT,
    ) -> None:
        self._claims = claims
        self._namespaces = namespaces
        self._selector = namespace_selector
        self._timeout = live_read_timeout

    async def __call__(self, request: reviews.AdmissionRequest, /) -> reviews.AdmissionResponse:
        """Patch the pod's claimed ports, or deny naming what is wrong with its claims."""
        if request.operation != reviews.CREATE or request.sub_resource:
            return responses.allowed()
        pod = handling.decode_object(request.object, pods.Pod)
        if pod is None:
            raise errors.BadObject("request.object is missing")
        wanted = pods.claim_annotations(pod.metadata.annotations)
        if not wanted:
            return responses.allowed()
        if not selectors.is_managed(self._namespaces, self._selector, request.namespace):
            return responses.allowed()
        found, problems = _claims.claimed_ports(pod, wanted)
        given: dict[str, int] = {}
        for port_name in sorted(found):
            claim = await _claims.resolve(
                self._claims,
                namespace=request.namespace,
                name=wanted[port_name],
                live_read_timeout=self._timeout,
            )
            if isinstance(claim, str):
                problems.append(responses.Problem(field=pods.claim_field(port_name), message=claim))
            else:
                given[port_name] = claim.status.port
        if problems:
            return responses.denied_for(problems)
        return _patch(pod, found, given)


def _patch(
    pod: pods.Pod, found: dict[str, pods.PortRef], given: dict[str, int]
) -> reviews.AdmissionResponse:
    """The JSON patch that sets each claimed port's hostPort, its annotation and the label."""
    operations: list[patching.Operation] = []
    warnings: list[str] = []
    for port_name, ref in sorted(found.items()):
        port = given[port_name]
        if ref.port.host_port != port:
            if ref.port.host_port:
                warnings.append(
                    f"{ref.field}.hostPort: {ref.port.host_port} replaced by {port}, the port of "
                    f"the claim in annotation {api.CLAIM_ANNOTATION_PREFIX}{port_name}"
                )
            operations.append(patching.add(port, *ref.tokens, "hostPort"))
        key = f"{api.PORT_ANNOTATION_PREFIX}{port_name}"
        if pod.metadata.annotations.get(key) != str(port):
            operations.append(patching.add(str(port), "metadata", "annotations", key))
    labels = pod.metadata.labels
    if not labels:
        operations.append(patching.add({api.POD_LABEL: "true"}, "metadata", "labels"))
    elif labels.get(api.POD_LABEL) != "true":
        operations.append(patching.add("true", "metadata", "labels", api.POD_LABEL))
    return responses.patched(operations, warnings=warnings)
