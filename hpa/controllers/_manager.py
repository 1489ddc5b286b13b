"""The operator in one object: caches, port index, controllers, repair and leader election.

Start-up order (docs/architecture.md, "The invariants"):

1. informers list and watch; the manager waits until every one has synced;
2. the port index is rebuilt from a fresh, paginated LIST of HostPorts and classes (readiness
   is false until then), and kept current by the HostPort and class informers afterwards;
3. leader election (or none, if disabled);
4. while leading: every object is queued once, then the claim, HostPort, class, quota and
   StatefulSet controllers and the repair loop run.

Informers and the index run on every replica (the webhook reads them); the reconcilers, which
write, run on the leader only. Cancelling :meth:`Manager.run` stops leading first (in-flight
reconciles get their drain time), releases the Lease, then the informers stop.
"""

import anyio
import anyio.abc
import structlog

from hpa import api, index, kube, observability
from hpa.controllers import (
    _claim_provisioner,
    _claim_reconciler,
    _class_reconciler,
    _context,
    _controller,
    _controller_metrics,
    _eligible_nodes,
    _handlers,
    _hostport_reconciler,
    _quota_reconciler,
    _repair,
    _statefulset_reconciler,
    _watch_health,
)

logger = structlog.get_logger(__name__)

CHECK_CACHES = "caches-synced"
CHECK_INDEX = "index-rebuilt"


class Manager:
    """Composes and runs the operator.

    Args:
        client: the API client.
        identity: this replica's name (Lease holder, Event reportingInstance).
        namespace: the Lease's namespace, and where Events about cluster objects go.
        leader_elect: compete for the Lease; if False, reconcile at once (one replica only,
            or tests: ports stay unique anyway, see docs/architecture.md).
        lease_name: the Lease's name.
        workers: concurrent reconciles per controller.
        lease_duration, renew_deadline, retry_period: leader election timings.
        repair_interval, repair_grace: the repair loop's period and grace.
        watch_timeout: ``timeoutSeconds`` of each watch.
        readiness: the checks to update; a new object by default.
        liveness: the liveness checks to update (``/healthz``); a new object by default.
        watch_unready_after, watch_dead_after: seconds of failing informers after which the
            replica stops being ready, then live (``_watch_health``).
    """

    def __init__(
        self,
        client: kube.Client,
        *,
        identity: str,
        namespace: str,
        leader_elect: bool = True,
        lease_name: str = api.LEASE_NAME,
        workers: int = 4,
        lease_duration: float = 15.0,
        renew_deadline: float = 10.0,
        retry_period: float = 2.0,
        repair_interval: float = 60.0,
        repair_grace: float = 30.0,
        watch_timeout: int = 300,
        readiness: observability.Readiness | None = None,
        liveness: observability.Readiness | None = None,
        watch_unready_after: float = _watch_health.UNREADY_AFTER,
        watch_dead_after: float = _watch_health.DEAD_AFTER,
    ) -> None:
        self.client = client
        self.identity = identity
        self.readiness = readiness or observability.Readiness()
        self.liveness = liveness or observability.Readiness()
        self.caches = kube.Caches(client, watch_timeout=watch_timeout)
        self.watch_health = _watch_health.WatchHealth(
            self.caches,
            readiness=self.readiness,
            liveness=self.liveness,
            unready_after=watch_unready_after,
            dead_after=watch_dead_after,
        )
        self.ports = index.PortIndex()
        # Events about cluster-scoped objects go to ``default``, the recorder's default, as
        # client-go's do: kube-apiserver refuses them in any other namespace.
        self.recorder = kube.EventRecorder(client, instance=identity)
        self.context = _context.Context(
            client=client, caches=self.caches, ports=self.ports, recorder=self.recorder
        )
        claim_reconciler = _claim_reconciler.ClaimReconciler(self.context)
        self.claims = _controller.Controller("claim", claim_reconciler, workers=workers)
        #: Binds per-pod claims in the admission path (the webhook's ClaimProvisioner).
        self.provisioner = _claim_provisioner.ClaimProvisioner(self.context, claim_reconciler)
        self.statefulsets = _controller.Controller(
            "statefulset", _statefulset_reconciler.StatefulSetReconciler(self.context), workers=1
        )
        self.hostports = _controller.Controller(
            "hostport", _hostport_reconciler.HostPortReconciler(self.context), workers=workers
        )
        self.classes = _controller.Controller(
            "class", _class_reconciler.ClassReconciler(self.context), workers=1
        )
        self.quotas = _controller.Controller(
            "quota", _quota_reconciler.QuotaReconciler(self.context), workers=1
        )
        self.repairer = _repair.Repairer(
            self.context,
            interval=repair_interval,
            grace=repair_grace,
            requeue_claim=self.claims.queue.add,
            requeue_hostport=self.hostports.queue.add,
            requeue_class=self.classes.queue.add,
        )
        self.elector = (
            kube.LeaderElector(
                client,
                namespace=namespace,
                name=lease_name,
                identity=identity,
                lease_duration=lease_duration,
                renew_deadline=renew_deadline,
                retry_period=retry_period,
            )
            if leader_elect
            else None
        )
        self.leading = anyio.Event()
        self._wire()

    def _wire(self) -> None:
        caches = self.caches
        claims, hostports = self.claims.queue.add, self.hostports.queue.add
        caches.class_informer.add_handler(_handlers.index_classes(self.ports, caches))
        caches.hostport_informer.add_handler(_handlers.index_hostports(self.ports))
        caches.claim_informer.add_handler(
            _handlers.on_claim(caches=caches, claims=claims, hostports=hostports)
        )
        caches.hostport_informer.add_handler(
            _handlers.on_hostport(
                caches=caches,
                claims=claims,
                hostports=hostports,
                classes=self.classes.queue.add_after,
            )
        )
        caches.class_informer.add_handler(
            _handlers.on_class(caches=caches, claims=claims, classes=self.classes.queue.add)
        )
        caches.node_informer.add_handler(
            _handlers.on_node(
                caches=caches, ports=self.ports, claims=claims, classes=self.classes.queue.add
            )
        )
        caches.pod_informer.add_handler(_handlers.on_pod(claims=claims))
        caches.quota_informer.add_handler(_handlers.on_quota(quotas=self.quotas.queue.add))
        caches.statefulset_informer.add_handler(
            _handlers.on_statefulset(statefulsets=self.statefulsets.queue.add)
        )
        caches.claim_informer.add_handler(
            _handlers.claims_counted(caches=caches, quotas=self.quotas.queue.add)
        )

    async def run(
        self, *, task_status: anyio.abc.TaskStatus["Manager"] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Run until cancelled; started (with the manager) once the index is rebuilt."""
        self.readiness.set(CHECK_CACHES, False)
        self.readiness.set(CHECK_INDEX, False)
        async with anyio.create_task_group() as group:
            await group.start(self.caches.run, name="caches")
            await group.start(self.watch_health.run, name="watch-health")
            self.readiness.set(CHECK_CACHES, True)
            await self.rebuild_index()
            self.readiness.set(CHECK_INDEX, True)
            logger.info("operator ready", identity=self.identity)
            if self.elector is not None:
                group.start_soon(self.elector.run, self._lead, name="leader-election")
            else:
                group.start_soon(self._lead, name="leader-work")
            task_status.started(self)

    async def rebuild_index(self) -> None:
        """Replace the index with a fresh LIST of classes and HostPorts, and each per-node
        class's eligible nodes (from the synced Node cache).

        Ports the HostPort informer holds beyond the LIST (changes that raced it) are held
        too: holding a port too many is repaired later, handing one out twice never is.
        """
        classes = await self.client.list(kube.CLASSES, type=api.HostPortClass)
        hostports = await self.client.list(kube.HOSTPORTS, type=api.HostPort)
        nodes = {
            cls.metadata.name: count
            for cls in classes.items
            if (count := _eligible_nodes.of_class(self.caches, cls)) is not None
        }
        self.ports.rebuild(
            pools={
                cls.metadata.name: [(p.start, p.end) for p in cls.spec.pools]
                for cls in classes.items
            },
            held=[
                (hp.spec.port, hp.spec.host_port_class_name)
                for hp in hostports.items
                if hp.spec.slot is None
            ],
            slots=[
                (hp.spec.port, hp.spec.slot, hp.spec.host_port_class_name)
                for hp in hostports.items
                if hp.spec.slot is not None
            ],
            nodes=nodes,
        )
        for hostport in self.caches.hostport_informer.store:
            spec = hostport.spec
            self.ports.hold(spec.port, spec.host_port_class_name, slot=spec.slot)
        logger.info("port index rebuilt", held=self.ports.held_count(), classes=len(classes.items))

    async def _lead(self) -> None:
        for key in self.caches.class_informer.store.all_keys():
            self.classes.queue.add(key)
        for key in self.caches.hostport_informer.store.all_keys():
            self.hostports.queue.add(key)
        for key in self.caches.claim_informer.store.all_keys():
            self.claims.queue.add(key)
        for key in self.caches.quota_informer.store.all_keys():
            self.quotas.queue.add(key)
        for key in self.caches.statefulset_informer.store.all_keys():
            self.statefulsets.queue.add(key)
        self.leading.set()
        try:
            with _controller_metrics.leading(self.caches.claim_informer.store):
                async with anyio.create_task_group() as group:
                    await group.start(self.claims.run, name="claim-controller")
                    await group.start(self.hostports.run, name="hostport-controller")
                    await group.start(self.classes.run, name="class-controller")
                    await group.start(self.quotas.run, name="quota-controller")
                    await group.start(self.statefulsets.run, name="statefulset-controller")
                    await group.start(self.repairer.run, name="repair")
        finally:
            self.leading = anyio.Event()
