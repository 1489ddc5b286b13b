"""The mutating pod webhook: gives each claimed container port its claim's host port.

For every ``claim.hostport.rmb938.com/<portName>: <claimName>`` annotation of a pod created in a
managed namespace, the claim must exist in the pod's namespace, be Bound and not be deleting;
the container port named ``<portName>`` then gets ``hostPort: <port>``, the pod gets the
annotation ``port.hostport.rmb938.com/<portName>: "<port>"`` (for the downward API) and the label
:data:`api.POD_LABEL` (so the operator watches only pods that use claims). The answer is a JSON
patch; a pod without claim annotations is allowed unchanged.

A port named by ``template.hostport.rmb938.com/<portName>: <className>`` (and by no claim
annotation) uses the pod's own claim ``<podName>-<portName>``: if it exists and is Bound (a
StatefulSet pod created again), its port; otherwise the :class:`writers.ClaimProvisioner`
creates and binds it now. The pod then also gets ``claim.hostport.rmb938.com/<portName>``, so
the claim is protected while the pod uses it, exactly as for a claim named by hand.

A claim of a per-node class adds the class's ``nodeSelector`` to the pod's required node
affinity, and serves one pod at a time (``_per_node_pods``).
"""

from collections.abc import Iterable

import anyio
import structlog

from hpa import api
from hpa.webhook import _claimed_ports as claimed_ports
from hpa.webhook import _handling as handling
from hpa.webhook import _json_patch as json_patch
from hpa.webhook import _namespaces as namespaces
from hpa.webhook import _per_node_pods as per_node
from hpa.webhook import _pods as pods
from hpa.webhook import _readers as readers
from hpa.webhook import _responses as responses
from hpa.webhook import _review_errors as errors
from hpa.webhook import _reviews as reviews
from hpa.webhook import _writers as writers

log = structlog.get_logger(__name__)

#: How long making and binding a pod's own claim may take (four writes) before the pod is
#: denied with a retry hint; under the API server's default webhook timeout of 10 s.
PROVISION_TIMEOUT = 6.0


class PodMutator:
    """Handler of ``/mutate-pods`` (pods, CREATE)."""

    def __init__(
        self,
        *,
        claims: readers.ClaimReader,
        namespaces: readers.NamespaceReader,
        namespace_selector: api.LabelSelector = api.DEFAULT_NAMESPACE_SELECTOR,
        live_read_timeout: float = claimed_ports.LIVE_READ_TIMEOUT,
        provisioner: writers.ClaimProvisioner | None = None,
        provision_timeout: float = PROVISION_TIMEOUT,
        classes: readers.ClassReader | None = None,
        pods_using: readers.PodReader | None = None,
    ) -> None:
        self._claims = claims
        self._classes = classes
        self._pods = pods_using
        self._namespaces = namespaces
        self._selector = namespace_selector
        self._timeout = live_read_timeout
        self._provisioner = provisioner
        self._provision_timeout = provision_timeout

    async def __call__(self, request: reviews.AdmissionRequest, /) -> reviews.AdmissionResponse:
        """Patch the pod's claimed ports, or deny naming what is wrong with its claims."""
        if request.operation != reviews.CREATE or request.sub_resource:
            return responses.allowed()
        pod = handling.decode_object(request.object, pods.Pod)
        if pod is None:
            raise errors.BadObject("request.object is missing")
        wanted = pods.claim_annotations(pod.metadata.annotations)
        templates = {
            port: cls
            for port, cls in pods.template_annotations(pod.metadata.annotations).items()
            if port not in wanted
        }
        if not wanted and not templates:
            return responses.allowed()
        if not namespaces.is_managed(self._namespaces, self._selector, request.namespace):
            return responses.allowed()
        pod_name = pod.metadata.name or request.name
        own = {port: f"{pod_name}-{port}" for port in templates} if pod_name else {}
        previews: list[str] = []
        if request.dry_run:  # sideEffects NoneOnDryRun: make and bind no claim
            own, previews = self._without_unmade(request.namespace, own)
            if not wanted and not own:
                return responses.allowed(warnings=previews)
        found, problems = claimed_ports.claimed_ports(pod, wanted | own)
        if templates and not pod_name:
            problems.append(
                responses.Problem(
                    field="metadata.name",
                    message="is needed for template.hostport.rmb938.com ports (the pod's claim "
                    "is named after it); use a StatefulSet, or name the pod",
                )
            )
        given: dict[str, int] = {}
        node_labels: list[tuple[str, str]] = []
        for port_name in sorted(found):
            if port_name in own:
                claim = await self._own_claim(
                    pod, namespace=request.namespace, name=own[port_name], cls=templates[port_name]
                )
            else:
                claim = await claimed_ports.resolve(
                    self._claims,
                    namespace=request.namespace,
                    name=wanted[port_name],
                    live_read_timeout=self._timeout,
                )
            cls = None if isinstance(claim, str) else per_node.per_node_class(self._classes, claim)
            if cls is not None and not isinstance(claim, str):
                node_labels += cls.spec.node_selector.items()
                # another live pod using it turns the claim into the reason for the denial
                claim = per_node.in_use_by(self._pods, claim, pod_name=pod_name) or claim
            if isinstance(claim, str):
                problems.append(responses.Problem(field=pods.claim_field(port_name), message=claim))
            else:
                given[port_name] = claim.status.port
        if problems:
            return responses.denied_for(problems)
        return _patch(pod, found, given, own=own, warnings=previews, node_labels=node_labels)

    def _without_unmade(
        self, namespace: str, own: dict[str, str]
    ) -> tuple[dict[str, str], list[str]]:
        """For a dry run: the pod's own claims that are already Bound, and a warning for each
        port whose claim the real request would make and bind."""
        kept: dict[str, str] = {}
        previews: list[str] = []
        for port, name in own.items():
            claim = self._claims.claim(namespace, name)
            if claim is not None and claim.status.phase == api.PHASE_BOUND and claim.status.port:
                kept[port] = name
            else:
                previews.append(
                    f"dry run: HostPortClaim {namespace}/{name} is made and bound when the pod "
                    f"is created for real; this answer leaves port {port} without its host port"
                )
        return kept, previews

    async def _own_claim(
        self, pod: pods.Pod, *, namespace: str, name: str, cls: str
    ) -> api.HostPortClaim | str:
        """The pod's own claim, Bound: found in the cache, or made and bound now."""
        cached = self._claims.claim(namespace, name)
        if (
            cached is not None
            and cached.metadata.deletion_timestamp is None
            and cached.status.phase == api.PHASE_BOUND
            and cached.status.port
        ):
            return cached
        if self._provisioner is None:
            return await claimed_ports.resolve(
                self._claims, namespace=namespace, name=name, live_read_timeout=self._timeout
            )
        try:
            with anyio.fail_after(self._provision_timeout):
                return await self._provisioner.provision(
                    namespace=namespace,
                    name=name,
                    class_name=cls,
                    pod_name=pod.metadata.name,
                    owners=pod.metadata.owner_references,
                )
        except Exception as exc:
            log.warning("provisioning the pod's claim failed", claim=name, error=repr(exc))
            return (
                f"HostPortClaim {namespace}/{name} could not be made and bound "
                f"({type(exc).__name__}); retry"
            )


def _patch(
    pod: pods.Pod,
    found: dict[str, pods.PortRef],
    given: dict[str, int],
    *,
    own: dict[str, str],
    warnings: list[str],
    node_labels: Iterable[tuple[str, str]] = (),
) -> reviews.AdmissionResponse:
    """The JSON patch that sets each claimed port's hostPort, its annotation and the label, and
    the node affinity that per-node classes require."""
    operations: list[json_patch.Operation] = []
    affinity = per_node.with_required_labels(pod.spec.affinity, node_labels)
    if affinity is not None:
        operations.append(json_patch.add(affinity, "spec", "affinity"))
    warnings = list(warnings)
    for port_name, ref in sorted(found.items()):
        port = given[port_name]
        if ref.port.host_port != port:
            if ref.port.host_port:
                warnings.append(
                    f"{ref.field}.hostPort: {ref.port.host_port} replaced by {port}, the port of "
                    f"the claim in annotation {api.CLAIM_ANNOTATION_PREFIX}{port_name}"
                )
            operations.append(json_patch.add(port, *ref.tokens, "hostPort"))
        key = f"{api.PORT_ANNOTATION_PREFIX}{port_name}"
        if pod.metadata.annotations.get(key) != str(port):
            operations.append(json_patch.add(str(port), "metadata", "annotations", key))
        if port_name in own:
            claim_key = f"{api.CLAIM_ANNOTATION_PREFIX}{port_name}"
            operations.append(json_patch.add(own[port_name], "metadata", "annotations", claim_key))
    labels = pod.metadata.labels
    if not labels:
        operations.append(json_patch.add({api.POD_LABEL: "true"}, "metadata", "labels"))
    elif labels.get(api.POD_LABEL) != "true":
        operations.append(json_patch.add("true", "metadata", "labels", api.POD_LABEL))
    return responses.patched(operations, warnings=warnings)
