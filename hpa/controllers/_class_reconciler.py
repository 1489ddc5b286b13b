"""The class reconciler: a HostPortClass's status counts, its Ready condition, its finalizer.

Counts come from the port index (total, allocated, free, outside the pools, over capacity), the
pools are shown as text (``9000-9500,10000-10100``) for ``kubectl get``. A per-node class counts
(port, slot) pairs, its total is pool ports times eligible nodes, and ``nodes`` shows that
count. Editing pools never revokes a port: HostPorts outside the new pools stay, are counted
in ``outsidePools`` and reported by a ``PortsOutsidePools`` condition. The finalizer keeps a
class while any HostPort of it exists.

HostPort changes queue the class with a short delay, so a burst of allocations costs one
status write per class per delay, not one per port.
"""

import contextlib
from typing import Any, Final

import msgspec

from hpa import api, index, kube
from hpa.controllers import _context, _controller_metrics, _reconciling

READY: Final = "Ready"
OUTSIDE_POOLS: Final = "PortsOutsidePools"
REASON_HOSTPORTS_EXIST: Final = "HostPortsExist"
REASON_NO_ELIGIBLE_NODES: Final = "NoEligibleNodes"
#: The states of the ``hpa_ports`` gauge, as the index's Counts fields.
PORT_STATES: Final = ("total", "allocated", "free", "over_capacity")


def ranges_text(pools: tuple[api.PortPool, ...]) -> str:
    """Pools as ``9000-9500,10000-10100`` (a one-port pool as ``9000``), lowest first."""
    return ",".join(
        str(p.start) if p.start == p.end else f"{p.start}-{p.end}"
        for p in sorted(pools, key=lambda p: p.start)
    )


class ClassReconciler:
    """Keeps HostPortClass status and finalizer current."""

    def __init__(self, context: _context.Context) -> None:
        self._ctx = context

    async def reconcile(self, key: str) -> _reconciling.Result:
        cls = self._ctx.caches.class_informer.store.get(key)
        if cls is None:
            for state in PORT_STATES:
                with contextlib.suppress(KeyError):
                    _controller_metrics.PORTS.remove(key, state)
            return _reconciling.Result()
        hostports = self._ctx.caches.hostport_informer.store.lookup(kube.BY_CLASS, key)
        deleting = cls.metadata.deletion_timestamp is not None
        if deleting and not hostports:
            if api.FINALIZER in cls.metadata.finalizers:
                finalizers = [f for f in cls.metadata.finalizers if f != api.FINALIZER]
                await self._patch_finalizers(cls, finalizers)
            return _reconciling.Result()
        if not deleting and api.FINALIZER not in cls.metadata.finalizers:
            cls = await self._patch_finalizers(cls, [*cls.metadata.finalizers, api.FINALIZER])
        # A class being deleted keeps its counts true until it is gone: its ports are held.
        await self._update_status(cls, held_while_deleting=len(hostports) if deleting else 0)
        return _reconciling.Result()

    def _ready(
        self, cls: api.HostPortClass, counts: index.Counts, held_while_deleting: int
    ) -> api.Condition:
        generation = cls.metadata.generation
        if held_while_deleting:
            return _context.condition(
                READY,
                False,
                REASON_HOSTPORTS_EXIST,
                f"being deleted: {held_while_deleting} HostPort(s) of this class still exist; "
                "the class is removed when their claims are deleted, and takes no new claim",
                generation=generation,
            )
        nodes = self._ctx.ports.nodes(cls.metadata.name)
        if nodes == 0:
            return _context.condition(
                READY,
                False,
                REASON_NO_ELIGIBLE_NODES,
                "no node is eligible (none matches spec.nodeSelector and is schedulable): "
                "the class's capacity is 0",
                generation=generation,
            )
        what = "ports" if nodes is None else f"port slots ({nodes} eligible nodes)"
        return _context.condition(
            READY,
            True,
            "PoolsReady" if counts.free else "PoolsFull",
            f"{counts.free} of {counts.total} {what} free",
            generation=generation,
        )

    async def _update_status(self, cls: api.HostPortClass, *, held_while_deleting: int) -> None:
        name = cls.metadata.name
        counts = self._ctx.ports.counts(name)
        generation = cls.metadata.generation
        ready = self._ready(cls, counts, held_while_deleting)
        outside = _context.condition(
            OUTSIDE_POOLS,
            counts.outside_pools > 0,
            "PoolsShrunk" if counts.outside_pools else "AllInsidePools",
            f"{counts.outside_pools} allocated port(s) lie outside the pools; they stay "
            "allocated until their claims are deleted"
            if counts.outside_pools
            else "every allocated port lies inside the pools",
            generation=generation,
        )
        status = api.HostPortClassStatus(
            ranges=ranges_text(cls.spec.pools),
            total=counts.total,
            nodes=self._ctx.ports.nodes(name) or 0,
            allocated=counts.allocated,
            free=counts.free,
            outside_pools=counts.outside_pools,
            over_capacity=counts.over_capacity,
            observed_generation=generation,
            conditions=cls.status.conditions,
        )
        for state in PORT_STATES:
            _controller_metrics.PORTS.labels(name, state).set(getattr(counts, state))
        old = cls.status
        unchanged = msgspec.structs.replace(old, conditions=()) == msgspec.structs.replace(
            status, conditions=()
        ) and all(
            _context.same_condition(api.find_condition(old.conditions, c.type), c)
            for c in (ready, outside)
        )
        if unchanged:
            return
        await self._patch_status(cls, status, [ready, outside])
        was_ready = api.find_condition(old.conditions, READY)
        if ready.reason == REASON_HOSTPORTS_EXIST and not _context.same_condition(was_ready, ready):
            await self._ctx.recorder.record(
                _context.class_reference(cls),
                type=kube.WARNING,
                reason=REASON_HOSTPORTS_EXIST,
                message=ready.message,
            )

    async def _patch_status(
        self,
        cls: api.HostPortClass,
        status: api.HostPortClassStatus,
        conditions: list[api.Condition],
    ) -> None:
        merged = status.conditions
        for condition in conditions:
            merged = api.set_condition(merged, condition)
        body: dict[str, Any] = msgspec.to_builtins(
            msgspec.structs.replace(status, conditions=merged)
        )
        for field in ("total", "allocated", "free", "outsidePools", "overCapacity"):
            body.setdefault(field, 0)  # omit_defaults would leave a stale count in place
        # a per-node class writes its count (0 included); a cluster-wide one removes the field
        body["nodes"] = self._ctx.ports.nodes(cls.metadata.name)
        await self._ctx.client.patch(
            kube.CLASSES,
            cls.metadata.name,
            {"status": body},
            subresource="status",
            type=api.HostPortClass,
        )

    async def _patch_finalizers(
        self, cls: api.HostPortClass, finalizers: list[str]
    ) -> api.HostPortClass:
        return await self._ctx.client.patch(
            kube.CLASSES,
            cls.metadata.name,
            {
                "metadata": {
                    "resourceVersion": cls.metadata.resource_version,
                    "finalizers": finalizers,
                }
            },
            type=api.HostPortClass,
        )
