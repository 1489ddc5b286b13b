"""The repair loop: finds what the event-driven reconcilers missed, and fixes it.

In the spirit of Kubernetes' NodePort repair controller, it periodically compares the port
index, the HostPorts and the claims (leader only):

- a port (or per-node pair) the index holds that no HostPort backs → released (``index_leak``);
- a HostPort the index does not hold → held (``index_missing``);
- a HostPort whose claim is gone (neither Reserved, without claimRef, nor Released on
  purpose by its reclaim policy or reuse delay) → queued for the HostPort reconciler, which
  confirms with a live read and releases it (``orphaned_hostport``);
- a bound claim whose HostPort is missing → the HostPort is re-created with the same port and
  slot (its name says both), the claim gets a ``Repaired`` condition (``missing_hostport``).

Anything that could be a cache lag is acted on only when it is still true after ``grace``
seconds. Each action is an Event, a counter ``hpa_repair_actions_total{kind}`` and a log line.
Every object is also queued again, which makes the reconcilers level-triggered resyncs.
"""

import time
from collections.abc import Callable
from typing import Final

import anyio
import anyio.abc
import structlog

from hpa import api, kube
from hpa.controllers import _claim_writes, _context, _controller_metrics, _releasing

logger = structlog.get_logger(__name__)

REPAIRED: Final = "Repaired"


class Repairer:
    """Periodic consistency checks between the index, HostPorts and claims.

    Args:
        context: the shared reconciler context.
        interval: seconds between passes.
        grace: seconds an inconsistency must last before it is acted on.
        requeue: callables that queue a key for the claim, HostPort and class controllers.
    """

    def __init__(
        self,
        context: _context.Context,
        *,
        interval: float = 60.0,
        grace: float = 30.0,
        requeue_claim: Callable[[str], None] = lambda key: None,
        requeue_hostport: Callable[[str], None] = lambda key: None,
        requeue_class: Callable[[str], None] = lambda key: None,
    ) -> None:
        self._ctx = context
        self.interval = interval
        self.grace = grace
        self._requeue_claim = requeue_claim
        self._requeue_hostport = requeue_hostport
        self._requeue_class = requeue_class
        self._suspects: dict[tuple[str, str], float] = {}
        self.passes = 0

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """A pass every ``interval`` seconds until cancelled."""
        task_status.started()
        while True:
            await anyio.sleep(self.interval)
            try:
                await self.run_once()
            except kube.KubeError as error:
                logger.warning("repair pass failed", error=str(error))

    async def run_once(self) -> None:
        """One pass over everything."""
        self.passes += 1
        seen: set[tuple[str, str]] = set()
        self._check_index(seen)
        self._check_hostports(seen)
        await self._check_claims(seen)
        self._suspects = {k: v for k, v in self._suspects.items() if k in seen}
        for key in self._ctx.caches.claim_informer.store.all_keys():
            self._requeue_claim(key)
        for key in self._ctx.caches.hostport_informer.store.all_keys():
            self._requeue_hostport(key)
        for key in self._ctx.caches.class_informer.store.all_keys():
            self._requeue_class(key)

    def _overdue(self, suspect: tuple[str, str], seen: set[tuple[str, str]]) -> bool:
        seen.add(suspect)
        first = self._suspects.setdefault(suspect, time.monotonic())
        return time.monotonic() - first >= self.grace

    def _check_index(self, seen: set[tuple[str, str]]) -> None:
        ports = self._ctx.ports
        store = self._ctx.caches.hostport_informer.store
        backed = {(hp.spec.port, hp.spec.slot) for hp in store}
        backed |= {(hp.spec.port, hp.spec.slot) for hp in self._ctx.created.values()}
        held = [(port, None, name) for port, name in ports.held()]
        for port, slot, class_name in [*held, *ports.held_slots()]:
            suspect = ("index_leak", api.hostport_name(port, slot))
            if (port, slot) in backed or not self._overdue(suspect, seen):
                continue
            ports.release(port, slot=slot)
            self._count("index_leak", port=port, slot=slot, class_name=class_name)
        for hostport in store:
            spec = hostport.spec
            if ports.holder(spec.port, slot=spec.slot) != spec.host_port_class_name:
                ports.hold(spec.port, spec.host_port_class_name, slot=spec.slot)
                self._count(
                    "index_missing",
                    port=spec.port,
                    slot=spec.slot,
                    class_name=spec.host_port_class_name,
                )

    def _check_hostports(self, seen: set[tuple[str, str]]) -> None:
        for hostport in self._ctx.caches.hostport_informer.store:
            ref = hostport.spec.claim_ref
            if ref is None or hostport.status.phase == api.PHASE_RELEASED:
                continue  # reserved by an administrator, or released on purpose: not orphans
            claim = None if ref is None else self._ctx.caches.claim(ref.namespace, ref.name)
            if claim is not None and ref is not None and claim.metadata.uid == ref.uid:
                continue
            if hostport.metadata.deletion_timestamp is not None:
                continue
            if self._overdue(("orphaned_hostport", hostport.metadata.name), seen):
                self._count("orphaned_hostport", port=hostport.spec.port)
                self._requeue_hostport(hostport.metadata.name)

    async def _check_claims(self, seen: set[tuple[str, str]]) -> None:
        hostports = self._ctx.caches.hostport_informer.store
        for claim in self._ctx.caches.claim_informer.store:
            pair = api.parse_hostport_name(claim.spec.host_port_name)
            if pair is None or claim.metadata.deletion_timestamp is not None:
                continue
            if hostports.get(claim.spec.host_port_name) is not None:
                continue
            key = kube.object_key(claim.metadata.namespace, claim.metadata.name)
            if self._overdue(("missing_hostport", key), seen):
                await self._recreate(claim, *pair)

    async def _recreate(self, claim: api.HostPortClaim, port: int, slot: int | None) -> None:
        body = _claim_writes.hostport_for(
            claim, port, _releasing.policy_for_claim(self._ctx, claim), slot=slot
        )
        reference = _context.claim_reference(claim)
        try:
            await self._ctx.client.create(kube.HOSTPORTS, body, type=api.HostPort)
        except kube.AlreadyExists:
            if await self._held_by(claim, body.metadata.name):
                # Only the cache was behind (a re-list after 410, a slow watch): nothing to fix.
                self._ctx.ports.hold(port, claim.spec.host_port_class_name, slot=slot)
                return
            message = f"HostPort {body.metadata.name} exists but names another claim"
            self._count("port_conflict", port=port)
            await self._ctx.recorder.record(
                reference, type=kube.WARNING, reason="PortConflict", message=message
            )
            return
        self._ctx.ports.hold(port, claim.spec.host_port_class_name, slot=slot)
        self._count("missing_hostport", port=port, slot=slot)
        message = f"HostPort {body.metadata.name} was missing and has been re-created"
        condition = _context.condition(
            REPAIRED, True, "HostPortRecreated", message, generation=claim.metadata.generation
        )
        await _claim_writes.patch_condition(self._ctx, claim, condition)
        await self._ctx.recorder.record(
            reference, type=kube.WARNING, reason="HostPortRecreated", message=message
        )

    async def _held_by(self, claim: api.HostPortClaim, name: str) -> bool:
        """Whether the HostPort ``name`` (read live) is bound to ``claim``."""
        try:
            hostport = await self._ctx.client.get(kube.HOSTPORTS, name, type=api.HostPort)
        except kube.NotFound:
            return False
        ref = hostport.spec.claim_ref
        return ref is not None and ref.uid == claim.metadata.uid

    def _count(self, kind: str, **fields: object) -> None:
        _controller_metrics.REPAIR_ACTIONS.labels(kind).inc()
        logger.warning("repaired", kind=kind, **fields)
