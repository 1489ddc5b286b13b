"""The claim reconciler: gives a HostPortClaim a port, and lets it go when it is deleted.

Binding a claim, in order (each step is safe to repeat after a crash at any point):

1. adopt: if a HostPort already names this claim (same uid), bind to it; a crash between
   creating the HostPort and binding the claim must neither leak a port nor take a second one;
2. allocate: the port index proposes the class's next free port; creating HostPort
   ``port-<n>`` makes it ours, or answers ``409 AlreadyExists`` when another writer (a replica,
   an older process) holds it, and then the index marks it held and proposes the next. A
   per-node class is the same with (port, slot) pairs and HostPort ``port-<n>-<slot>``;
3. bind: a merge patch sets ``spec.hostPortName`` and the finalizer, with the claim's
   resourceVersion as precondition; then a status patch sets phase Bound and the port.

That is three writes per claim (plus the HostPort's own status), and no read: everything is
read from the caches. A claim whose class is missing or full stays Pending with a ``Bound``
condition that says why, and an Event naming the class.

A bound claim of a per-node class beyond its port's node count (nodes went away) is told so
(``_over_capacity``). A static claim (``spec.port``) takes exactly that port
(``_static_ports``). A claim Pending because every free port of its class is cooling down after
release says so (``PortsCooling``).
A deleted claim is finalized by ``_claim_deletion``; one made at admission for a pod that never
came is deleted by ``_unused``.

:meth:`ClaimReconciler.bind` is also the admission path's binder for per-pod claims
(``_claim_provisioner``).
"""

import contextlib
from typing import Final

import structlog

from hpa import api, kube
from hpa.controllers import (
    _claim_deletion,
    _claim_writes,
    _context,
    _controller_metrics,
    _over_capacity,
    _reconciling,
    _releasing,
    _static_ports,
    _unused,
)

logger = structlog.get_logger(__name__)

BOUND: Final = "Bound"
REASON_BOUND: Final = "Bound"
REASON_CLASS_NOT_FOUND: Final = "ClassNotFound"
REASON_CLASS_DELETING: Final = "ClassDeleting"
REASON_CLASS_FULL: Final = "ClassFull"
REASON_NO_ELIGIBLE_NODES: Final = "NoEligibleNodes"
REASON_PORTS_COOLING: Final = "PortsCooling"
REASON_HOSTPORT_NOT_OURS: Final = "HostPortNotOurs"
#: How long a claim made at pod admission is left to the webhook that binds it in the same
#: request (milliseconds, normally); should that bind fail, the controller binds it after.
ADMISSION_GRACE: Final = 5.0


def _left_to_admission(claim: api.HostPortClaim) -> float:
    """Seconds the claim controller should still leave ``claim`` to the admission webhook: it
    binds the claim (spec, then status, then the Event) while the controller would see it
    half bound."""
    created = claim.metadata.creation_timestamp
    if (
        api.PROVISIONED_ANNOTATION not in claim.metadata.annotations
        or created is None
        or claim.status.phase == api.PHASE_BOUND
    ):
        return 0.0
    age = (api.now() - created).total_seconds()
    return min(ADMISSION_GRACE, max(0.0, ADMISSION_GRACE - age))


class ClaimReconciler:
    """Binds claims to HostPorts and releases them on deletion."""

    def __init__(self, context: _context.Context) -> None:
        self._ctx = context
        self._unused = _unused.UnusedClaims(context)

    async def reconcile(self, key: str) -> _reconciling.Result:
        namespace, name = kube.split_key(key)
        claim = self._ctx.fresh_claim(namespace, name)
        if claim is None:
            return _reconciling.Result()
        if claim.metadata.deletion_timestamp is not None:
            return await _claim_deletion.finalize(self._ctx, claim)
        if (wait := _left_to_admission(claim)) > 0:
            return _reconciling.Result(requeue_after=wait)
        if (settled := await self._unused.settle(claim)) is not None:
            return settled
        if claim.spec.host_port_name:
            result = await self._confirm_named(claim)
        else:
            await self.bind(claim)
            result = _reconciling.Result()
        return self._unused.sooner(result, claim)

    async def _confirm_named(self, claim: api.HostPortClaim) -> _reconciling.Result:
        """Bind a claim that names its HostPort, once the HostPort is seen to name it back.

        hpa sets ``spec.hostPortName`` when it binds; a claim created with one already set
        could otherwise take another claim's port just by naming it.
        """
        name = claim.spec.host_port_name
        # A HostPort this process created for it but lost the bind with (another writer bound
        # the claim first) is released by the HostPort reconciler; forget it here.
        created = self._ctx.created.pop(claim.metadata.uid, None)
        hostport = created if created is not None and created.metadata.name == name else None
        hostport = hostport or self._ctx.caches.hostport_informer.store.get(name)
        if hostport is None or not _names_claim(hostport, claim):
            # The cache may lag behind our own create or bind: ask the API before refusing.
            with contextlib.suppress(kube.NotFound):
                hostport = await self._ctx.client.get(kube.HOSTPORTS, name, type=api.HostPort)
        if hostport is not None and _names_claim(hostport, claim):
            await self._ensure_bound(claim, hostport.spec.port, hostport.spec.slot)
        elif hostport is None and claim.status.phase == api.PHASE_BOUND:
            pass  # bound earlier, its HostPort lost since: the repair loop re-creates it
        else:
            problem = "does not exist" if hostport is None else "is bound to another claim"
            await self._pending(
                claim,
                REASON_HOSTPORT_NOT_OURS,
                f"spec.hostPortName names HostPort {name}, which {problem}; hpa sets "
                "spec.hostPortName itself: delete this claim and create it without it",
            )
        return _reconciling.Result()

    async def bind(self, claim: api.HostPortClaim) -> api.HostPortClaim | str:
        """Bind a claim now: the bound claim, or why it stays Pending.

        The reconcile path, and the admission path of per-pod claims (``_claim_provisioner``): both
        may run for one claim at once; the claim's resourceVersion precondition lets one bind
        win, and the loser's HostPort is released by the HostPort reconciler.

        Raises:
            Conflict: another writer changed the claim first.
            KubeError: a write failed.
        """
        pair = api.parse_hostport_name(claim.spec.host_port_name)
        if pair is not None:
            self._ctx.created.pop(claim.metadata.uid, None)
            return await self._ensure_bound(claim, *pair)
        adopted = self._adoptable(claim)
        if adopted is not None:
            return await self._bind(claim, adopted.spec.port, adopted.spec.slot)
        return await self._allocate_and_bind(claim)

    # --- binding -------------------------------------------------------------------------

    def _adoptable(self, claim: api.HostPortClaim) -> api.HostPort | None:
        created = self._ctx.created.get(claim.metadata.uid)
        if created is not None:
            return created
        for hostport in self._ctx.caches.hostports_of_claim(claim):
            if hostport.metadata.deletion_timestamp is None:
                return hostport
        return None

    async def _allocate_and_bind(self, claim: api.HostPortClaim) -> api.HostPortClaim | str:
        class_name = claim.spec.host_port_class_name
        cls = self._ctx.caches.class_informer.store.get(class_name)
        if cls is None:
            return await self._pending(
                claim,
                REASON_CLASS_NOT_FOUND,
                f"HostPortClass {class_name!r} does not exist; create it or fix "
                "spec.hostPortClassName",
            )
        if cls.metadata.deletion_timestamp is not None:
            return await self._pending(
                claim,
                REASON_CLASS_DELETING,
                f"HostPortClass {class_name!r} is being deleted and takes no new claim; "
                "name another class, or wait until it is gone and create it again",
            )
        if claim.spec.port is not None:
            taken = await _static_ports.take(self._ctx, claim, claim.spec.port)
            if isinstance(taken, tuple):
                return await self._pending(claim, *taken)
            return await self._bind(claim, taken.spec.port, taken.spec.slot)
        hostport = await self._create_hostport(claim)
        if hostport is None:
            return await self._pending_full(claim)
        return await self._bind(claim, hostport.spec.port, hostport.spec.slot)

    async def _pending_full(self, claim: api.HostPortClaim) -> str:
        class_name = claim.spec.host_port_class_name
        cooling = _releasing.cooling(self._ctx, class_name)
        if cooling:
            delay = _releasing.reuse_delay(self._ctx, class_name)
            return await self._pending(
                claim,
                REASON_PORTS_COOLING,
                f"HostPortClass {class_name!r} has no free port; {len(cooling)} released "
                f"port(s) are cooling down (reuseDelaySeconds={delay}); the claim binds when "
                "one is free again",
            )
        nodes = self._ctx.ports.nodes(class_name)
        if nodes == 0:
            return await self._pending(
                claim,
                REASON_NO_ELIGIBLE_NODES,
                f"HostPortClass {class_name!r} is per node and no node is eligible (none "
                "matches its nodeSelector and is schedulable): its capacity is 0; the claim "
                "binds when a node is",
            )
        if nodes is not None:
            return await self._pending(
                claim,
                REASON_CLASS_FULL,
                f"every port of HostPortClass {class_name!r} is taken on all {nodes} eligible "
                "nodes; the claim binds when one is freed, a node becomes eligible or the "
                "pools grow",
            )
        return await self._pending(
            claim,
            REASON_CLASS_FULL,
            f"HostPortClass {class_name!r} has no free port; the claim binds when one is "
            "freed or the pools grow",
        )

    # --- allocation ------------------------------------------------------------------

    def _allocate(self, class_name: str) -> tuple[int, int | None] | None:
        """Hold the class's next free port (cluster-wide) or (port, slot) pair (per node)."""
        ports = self._ctx.ports
        if ports.nodes(class_name) is not None:
            return ports.allocate_slot(class_name)
        port = ports.allocate(class_name)
        return None if port is None else (port, None)

    async def _create_hostport(self, claim: api.HostPortClaim) -> api.HostPort | None:
        """Create a HostPort for the class's next free port (or pair); None if it has none.

        Raises:
            Retryable: every candidate tried was taken.
            KubeError: the create failed.
        """
        class_name = claim.spec.host_port_class_name
        ports = self._ctx.ports
        for _ in range(self._ctx.max_tries):
            pair = self._allocate(class_name)
            if pair is None:
                return None
            port, slot = pair
            policy = _releasing.policy_for_claim(self._ctx, claim)
            body = _claim_writes.hostport_for(claim, port, policy, slot=slot)
            try:
                hostport = await self._ctx.client.create(kube.HOSTPORTS, body, type=api.HostPort)
            except kube.AlreadyExists:
                # Another writer took the pair: the API server's object is the truth.
                existing = self._ctx.caches.hostport_informer.store.get(body.metadata.name)
                owner = existing.spec.host_port_class_name if existing else class_name
                ports.hold(port, owner, slot=slot)
                _controller_metrics.ALLOCATION_CONFLICTS.inc()
                logger.debug("port taken, trying the next", port=port, slot=slot)
                continue
            except BaseException:
                ports.release(port, slot=slot)
                raise
            self._ctx.created[claim.metadata.uid] = hostport
            return hostport
        raise kube.Retryable(f"{self._ctx.max_tries} candidate ports were all taken")

    async def _bind(
        self, claim: api.HostPortClaim, port: int, slot: int | None
    ) -> api.HostPortClaim:
        bound = await _claim_writes.patch_bound_name(self._ctx, claim, port, slot)
        self._ctx.created.pop(claim.metadata.uid, None)
        _controller_metrics.ALLOCATIONS.inc()
        return await self._ensure_bound(bound, port, slot)

    async def _ensure_bound(
        self, claim: api.HostPortClaim, port: int, slot: int | None
    ) -> api.HostPortClaim:
        if api.FINALIZER not in claim.metadata.finalizers:
            finalizers = tuple(_claim_writes.with_finalizer(claim.metadata.finalizers))
            claim = await _claim_writes.patch_finalizers(self._ctx, claim, finalizers)
        name = api.hostport_name(port, slot)
        wanted = _context.condition(
            BOUND,
            True,
            REASON_BOUND,
            f"bound to HostPort {name} (port {port})",
            generation=claim.metadata.generation,
        )
        status = claim.status
        if (
            status.phase == api.PHASE_BOUND
            and status.port == port
            and _context.same_condition(api.find_condition(status.conditions, BOUND), wanted)
        ):
            return await _over_capacity.reconcile(self._ctx, claim, port, slot)
        claim = await _claim_writes.patch_status(
            self._ctx, claim, phase=api.PHASE_BOUND, port=port, condition=wanted
        )
        await self._ctx.recorder.record(
            _context.claim_reference(claim),
            type=kube.NORMAL,
            reason=REASON_BOUND,
            message=wanted.message,
        )
        return await _over_capacity.reconcile(self._ctx, claim, port, slot)

    async def _pending(self, claim: api.HostPortClaim, reason: str, message: str) -> str:
        # labelled by the condition's reason, always
        _controller_metrics.ALLOCATION_FAILURES.labels(reason).inc()
        wanted = _context.condition(
            BOUND, False, reason, message, generation=claim.metadata.generation
        )
        old = api.find_condition(claim.status.conditions, BOUND)
        if claim.status.phase == api.PHASE_PENDING and _context.same_condition(old, wanted):
            return message
        await _claim_writes.patch_status(
            self._ctx, claim, phase=api.PHASE_PENDING, port=0, condition=wanted
        )
        await self._ctx.recorder.record(
            _context.claim_reference(claim), type=kube.WARNING, reason=reason, message=message
        )
        return message


def _names_claim(hostport: api.HostPort, claim: api.HostPortClaim) -> bool:
    """Whether the HostPort's claimRef is this claim (this very object, when it has a uid)."""
    ref = hostport.spec.claim_ref
    return (
        ref is not None
        and (ref.namespace, ref.name) == (claim.metadata.namespace, claim.metadata.name)
        and ref.uid in ("", claim.metadata.uid)
    )
