"""What happens to a HostPort once its claim lets it go: reclaim policy and reuse delay.

As a PersistentVolume copies its StorageClass's ``reclaimPolicy`` when it is provisioned, a
HostPort copies the policy of its claim (``spec.reclaimPolicy``) or class when it is created;
HostPorts created before that field existed fall back to the class's policy at release time.

- ``Retain``: the HostPort stays, phase ``Released``, claimRef kept, port held, until an
  administrator deletes it;
- ``Delete`` with the class's ``reuseDelaySeconds`` > 0: phase ``Released`` and
  ``status.releasedAt``; the HostPort is deleted once the delay has passed. The delay is kept
  on the object, so a restart neither forgets nor shortens it, and the port stays held by the
  object meanwhile, so the index needs no state of its own for it;
- ``Delete`` without a delay: the HostPort is deleted at once.
"""

import datetime as dt
from typing import Final

from hpa import api, kube
from hpa.controllers import _context

REASON_RELEASED: Final = "Released"


def class_of(context: _context.Context, name: str) -> api.HostPortClass | None:
    """The cached class, or None."""
    return context.caches.class_informer.store.get(name)


def policy_for_claim(context: _context.Context, claim: api.HostPortClaim) -> str:
    """The reclaim policy a new HostPort of ``claim`` is given."""
    if claim.spec.reclaim_policy:
        return claim.spec.reclaim_policy
    cls = class_of(context, claim.spec.host_port_class_name)
    return cls.spec.reclaim_policy if cls is not None else api.RECLAIM_DELETE


def policy(context: _context.Context, hostport: api.HostPort) -> str:
    """The reclaim policy of a HostPort: its own, else its class's, else Delete."""
    if hostport.spec.reclaim_policy:
        return hostport.spec.reclaim_policy
    cls = class_of(context, hostport.spec.host_port_class_name)
    return cls.spec.reclaim_policy if cls is not None else api.RECLAIM_DELETE


def reuse_delay(context: _context.Context, class_name: str) -> int:
    """The class's ``reuseDelaySeconds`` (0 when the class is gone)."""
    cls = class_of(context, class_name)
    return cls.spec.reuse_delay_seconds if cls is not None else 0


def kept_after_release(context: _context.Context, hostport: api.HostPort) -> bool:
    """Whether the HostPort outlives its claim (Retain, or Delete after a reuse delay)."""
    return (
        policy(context, hostport) == api.RECLAIM_RETAIN
        or reuse_delay(context, hostport.spec.host_port_class_name) > 0
    )


def remaining_delay(context: _context.Context, hostport: api.HostPort) -> float:
    """Seconds until a Released HostPort under Delete may be deleted (0: now)."""
    released_at = hostport.status.released_at
    if released_at is None:
        return 0.0
    delay = reuse_delay(context, hostport.spec.host_port_class_name)
    ready = released_at + dt.timedelta(seconds=delay)
    return max(0.0, (ready - dt.datetime.now(dt.UTC)).total_seconds())


def released_now() -> dt.datetime:
    """The ``releasedAt`` to write: now, rounded *up* to whole seconds (API time has no
    fraction), so the delay counted from it is never shorter than asked."""
    now = dt.datetime.now(dt.UTC)
    whole = now.replace(microsecond=0)
    return whole if whole == now else whole + dt.timedelta(seconds=1)


async def mark_released(
    context: _context.Context, hostport: api.HostPort, *, why: str
) -> api.HostPort:
    """Set phase Released and ``releasedAt`` (kept if already set), with an Event."""
    if hostport.status.phase == api.PHASE_RELEASED and hostport.status.released_at is not None:
        return hostport
    released_at = hostport.status.released_at or released_now()
    kept = policy(context, hostport)
    delay = reuse_delay(context, hostport.spec.host_port_class_name)
    until = (
        "until an administrator deletes it"
        if kept == api.RECLAIM_RETAIN
        else (f"for its reuse delay of {delay}s")
    )
    updated = await context.client.patch(
        kube.HOSTPORTS,
        hostport.metadata.name,
        {
            "status": {
                "phase": api.PHASE_RELEASED,
                "releasedAt": released_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "observedGeneration": hostport.metadata.generation,
            }
        },
        subresource="status",
        type=api.HostPort,
    )
    await context.recorder.record(
        _context.hostport_reference(hostport),
        type=kube.NORMAL,
        reason=REASON_RELEASED,
        message=f"port {hostport.spec.port} released ({why}); kept {until} (reclaim policy {kept})",
    )
    return updated


def cooling(context: _context.Context, class_name: str) -> list[api.HostPort]:
    """HostPorts of the class that are Released and wait out the reuse delay."""
    return [
        hostport
        for hostport in context.caches.hostport_informer.store.lookup(kube.BY_CLASS, class_name)
        if hostport.status.phase == api.PHASE_RELEASED
        and policy(context, hostport) == api.RECLAIM_DELETE
        and hostport.metadata.deletion_timestamp is None
    ]
