"""Leader election on a ``coordination.k8s.io/v1`` Lease, with client-go's semantics.

- A candidate takes the Lease when nobody holds it, when it already holds it, or when the
  record has not changed for ``leaseDuration`` as measured on the candidate's own clock since it
  last saw the record change (client-go's ``observedTime``; no comparison of wall clocks
  between machines).
- Every write carries the ``metadata.resourceVersion`` it read, so two candidates cannot both
  win: the second gets ``409 Conflict``.
- The leader renews every ``retryPeriod``. If no renewal succeeds for ``renewDeadline``, it
  steps down: it cancels the leader-only work *before* the Lease can expire for the others
  (``renewDeadline`` < ``leaseDuration``), then competes again.
- On a clean shutdown the leader stops its work first, then releases the Lease (empty holder,
  ``leaseDurationSeconds: 1``, as client-go's ``ReleaseOnCancel``) so a successor takes over at
  once instead of after ``leaseDuration``.
- Unlike client-go, a candidate also watches the Lease (one object, by field selector). It then
  knows when the record last changed to within the watch's latency rather than a polling period,
  wakes exactly when the record it observed expires or is released, and so takes over a dead
  leader about ``leaseDuration`` after its last renewal, not up to two jittered retries later.
  Polling every ``retryPeriod`` goes on regardless, so a broken watch only costs that precision.

Defaults are client-go's: 15 s, 10 s, 2 s. Tests pass shorter ones.
"""

import datetime as dt
import random
import time
from collections.abc import Callable, Coroutine
from typing import Any, Final

import anyio
import anyio.abc
import structlog

from hpa import api, observability
from hpa.kube import _builtin_kinds, _client, _endpoints, _exceptions, _informers, _micro_time

logger = structlog.get_logger(__name__)

LEADER: Final = observability.gauge(
    "hpa_leader",
    "1 while this replica holds the leader Lease, else 0.",
)
#: client-go's leader election gauge, by Lease name, as controller-runtime exposes it.
LEADER_STATUS: Final = observability.gauge(
    "leader_election_master_status",
    "1 while this replica holds the Lease called name, 0 while it is a standby.",
    ["name"],
)


class LeaderElector:
    """Competes for a Lease and runs the leader-only work while it holds it.

    Args:
        client: the API client.
        namespace: the Lease's namespace.
        name: the Lease's name.
        identity: this candidate's holderIdentity (unique per replica, e.g. the pod name).
        lease_duration: seconds a non-renewed Lease stays valid for the others.
        renew_deadline: seconds the leader keeps trying to renew before it steps down.
        retry_period: seconds between attempts.
    """

    def __init__(
        self,
        client: _client.Client,
        *,
        namespace: str,
        name: str,
        identity: str,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
    ) -> None:
        if not retry_period < renew_deadline < lease_duration:
            raise ValueError("need retry_period < renew_deadline < lease_duration")
        self._client = client
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self._lease_duration = lease_duration
        self._renew_deadline = renew_deadline
        self._retry_period = retry_period
        self._observed: _builtin_kinds.LeaseSpec | None = None
        self._observed_version = ""
        self._observed_at = 0.0
        self._released: anyio.Event | None = None  # made in the loop, by _acquire()
        self.is_leader = False
        self.transitions = 0
        # A standby reports 0 from the start (a new series; an existing one keeps its value).
        self._status = LEADER_STATUS.labels(name)

    async def run(
        self,
        lead: Callable[[], Coroutine[Any, Any, None]],
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Compete for the Lease forever; run ``lead()`` while leading, cancel it on losing.

        Started at once. On cancellation, stops ``lead()`` and then releases the Lease.
        """
        task_status.started()
        async with anyio.create_task_group() as watching:
            watching.start_soon(self._lease_informer().run, name="lease-watch")
            try:
                await self._compete(lead)
            finally:
                watching.cancel_scope.cancel()

    async def _compete(self, lead: Callable[[], Coroutine[Any, Any, None]]) -> None:
        log = logger.bind(lease=f"{self.namespace}/{self.name}", identity=self.identity)
        while True:
            await self._acquire()
            log.info("leading")
            self._set_leader(True)
            try:
                async with anyio.create_task_group() as group:
                    group.start_soon(lead, name="leader-work")
                    await self._keep_renewing()
                    log.warning("lost the lease, stepping down")
                    self._set_leader(False)
                    group.cancel_scope.cancel()
            except anyio.get_cancelled_exc_class():
                self._set_leader(False)
                with anyio.CancelScope(shield=True), anyio.move_on_after(self._retry_period):
                    await self._release()
                raise
            finally:
                self._set_leader(False)

    def _set_leader(self, leading: bool) -> None:
        self.is_leader = leading
        LEADER.set(1 if leading else 0)
        self._status.set(1 if leading else 0)

    async def _acquire(self) -> None:
        while True:
            # Made before the attempt: a release the watch sees meanwhile ends the wait below.
            self._released = anyio.Event()
            if await self._try_acquire_or_renew():
                return
            with anyio.move_on_after(self._retry_delay()):
                await self._released.wait()

    def _retry_delay(self) -> float:
        """A jittered retry period, cut short to when the Lease as observed expires.

        Once that moment has passed, an attempt has failed (a conflict, an API error): wait
        the whole period again rather than retry at once.
        """
        delay = self._retry_period * random.uniform(1.0, 1.2)
        observed = self._observed
        if observed is None or observed.holder_identity in ("", self.identity):
            return delay
        remaining = self._observed_at + observed.lease_duration_seconds - time.monotonic()
        return min(delay, remaining) if remaining > 0 else delay

    def _lease_informer(self) -> _informers.Informer[_builtin_kinds.Lease]:
        """An informer of this one Lease (by field selector), calling :meth:`_lease_changed`."""
        informer: _informers.Informer[_builtin_kinds.Lease] = _informers.Informer(
            self._client,
            _endpoints.LEASES,
            decode=_informers.struct_decoder(_builtin_kinds.Lease),
            key=lambda lease: lease.metadata.name,
            namespace=self.namespace,
            field_selector=f"metadata.name={self.name}",
        )
        informer.add_handler(self._lease_changed)
        return informer

    def _lease_changed(
        self, old: _builtin_kinds.Lease | None, new: _builtin_kinds.Lease | None
    ) -> None:
        """While not leading, observe every change of the Lease and wake on a release.

        The leader ignores them: its own GET-then-PATCH keeps what it observed, and a late
        event must not put an older resourceVersion back into its release patch.
        """
        if new is None or self.is_leader:
            return
        self._observe(new)
        if not new.spec.holder_identity and self._released is not None:
            self._released.set()

    async def _keep_renewing(self) -> None:
        """Returns when no renewal succeeded for ``renew_deadline``."""
        while True:
            await anyio.sleep(self._retry_period)
            with anyio.move_on_after(self._renew_deadline) as deadline:
                await self._renew()
            if deadline.cancelled_caught:
                return

    async def _renew(self) -> None:
        while True:
            if await self._try_acquire_or_renew():
                return
            await anyio.sleep(self._retry_period)

    async def _try_acquire_or_renew(self) -> bool:
        request_timeout = self._retry_period
        stamp = _micro_time.micro_time(dt.datetime.now(dt.UTC))
        try:
            lease = await self._client.get(
                _endpoints.LEASES,
                self.name,
                namespace=self.namespace,
                type=_builtin_kinds.Lease,
                request_timeout=request_timeout,
            )
        except _exceptions.NotFound:
            return await self._create(stamp, request_timeout=request_timeout)
        except _exceptions.KubeError as error:
            logger.info("lease read failed", error=str(error))
            return False
        self._observe(lease)
        spec = lease.spec
        held_by_other = spec.holder_identity not in ("", self.identity)
        if held_by_other and time.monotonic() < self._observed_at + spec.lease_duration_seconds:
            return False
        taking_over = spec.holder_identity != self.identity
        patch = {
            "metadata": {"resourceVersion": lease.metadata.resource_version},
            "spec": {
                "holderIdentity": self.identity,
                "leaseDurationSeconds": max(1, round(self._lease_duration)),
                "renewTime": stamp,
                "acquireTime": stamp if taking_over else spec.acquire_time or stamp,
                "leaseTransitions": spec.lease_transitions + (1 if taking_over else 0),
            },
        }
        try:
            updated = await self._client.patch(
                _endpoints.LEASES,
                self.name,
                patch,
                namespace=self.namespace,
                type=_builtin_kinds.Lease,
                request_timeout=request_timeout,
            )
        except _exceptions.KubeError as error:
            logger.info("lease update failed", error=str(error), status=error.status)
            return False
        if taking_over:
            self.transitions += 1
        self._observe(updated)
        return True

    async def _create(self, stamp: str, *, request_timeout: float) -> bool:
        lease = _builtin_kinds.Lease(
            metadata=api.ObjectMeta(name=self.name, namespace=self.namespace),
            spec=_builtin_kinds.LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=max(1, round(self._lease_duration)),
                acquire_time=stamp,
                renew_time=stamp,
            ),
        )
        try:
            created = await self._client.create(
                _endpoints.LEASES,
                lease,
                namespace=self.namespace,
                type=_builtin_kinds.Lease,
                request_timeout=request_timeout,
            )
        except _exceptions.KubeError as error:
            logger.info("lease create failed", error=str(error), status=error.status)
            return False
        self.transitions += 1
        self._observe(created)
        return True

    def _observe(self, lease: _builtin_kinds.Lease) -> None:
        if lease.spec != self._observed:
            self._observed = lease.spec
            self._observed_at = time.monotonic()
        self._observed_version = lease.metadata.resource_version

    async def _release(self) -> None:
        if self._observed is None or self._observed.holder_identity != self.identity:
            return
        stamp = _micro_time.micro_time(api.now())
        patch = {
            "metadata": {"resourceVersion": self._observed_version},
            "spec": {
                "holderIdentity": "",
                "leaseDurationSeconds": 1,
                "renewTime": stamp,
                "acquireTime": stamp,
            },
        }
        try:
            await self._client.patch(
                _endpoints.LEASES,
                self.name,
                patch,
                namespace=self.namespace,
                type=_builtin_kinds.Lease,
                request_timeout=self._retry_period,
            )
        except _exceptions.KubeError as error:
            logger.info("lease release failed", error=str(error))
        else:
            logger.info("released the lease", lease=f"{self.namespace}/{self.name}")
