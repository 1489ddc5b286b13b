"""The whole hpa process: admission, metrics and health servers around the operator.

Start order follows controller-runtime's manager: the HTTP servers first (the webhook answers
from the moment the API server may call it; readiness stays false until the caches have
synced and the index is rebuilt), then the operator (informers, index, leader election,
controllers). Stop order is the reverse: a ``stop`` event ends the operator first (stop leading,
finish in-flight reconciles), then the servers, the admission server last among them so that
in-flight reviews finish.
"""

import dataclasses
import pathlib

import anyio
import anyio.abc
import structlog

from hpa import api, certs, controllers, kube, observability, serving, webhook
from hpa.cli import _operator

logger = structlog.get_logger(__name__)

#: A readiness check that fails from the moment the process is told to stop.
CHECK_NOT_STOPPING = "not-stopping"


@dataclasses.dataclass(frozen=True, kw_only=True)
class ServingConfig:
    """Where and how the process serves admission reviews, metrics and probes."""

    host: str = "0.0.0.0"
    webhook_port: int = api.WEBHOOK_PORT
    metrics_port: int = api.METRICS_PORT
    health_port: int = api.HEALTH_PORT
    #: The Service in front of the webhook: its DNS names go into the serving certificate.
    service: str = api.WEBHOOK_SERVICE
    #: Serve the certificate mounted here (cert-manager) instead of provisioning our own.
    cert_dir: pathlib.Path | None = None
    #: Extra names and addresses for the serving certificate (e.g. 127.0.0.1 for the sandbox).
    extra_dns_names: tuple[str, ...] = ()
    ip_addresses: tuple[str, ...] = ()
    namespace_selector: api.LabelSelector = api.DEFAULT_NAMESPACE_SELECTOR
    allow_host_network: bool = False


@dataclasses.dataclass(frozen=True, kw_only=True)
class Running:
    """What a started process reports: its manager and the ports it bound."""

    manager: controllers.Manager
    webhook_port: int
    metrics_port: int
    health_port: int


def _certificates(
    config: ServingConfig, *, client: kube.Client, namespace: str, tls: certs.ServingTLS
) -> certs.CertDirectory | certs.CertProvisioner:
    if config.cert_dir is not None:
        return certs.CertDirectory(directory=config.cert_dir, tls=tls)
    return certs.CertProvisioner(
        store=certs.SecretCertStore(client=client, namespace=namespace),
        names=certs.ServingNames(
            service=config.service,
            namespace=namespace,
            extra_dns_names=config.extra_dns_names,
            ip_addresses=config.ip_addresses,
        ),
        tls=tls,
    )


async def run_process(
    operator: _operator.OperatorConfig,
    config: ServingConfig,
    *,
    transport: kube.Transport,
    stop: anyio.Event | None = None,
    task_status: anyio.abc.TaskStatus[Running] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve and operate until ``stop`` is set (orderly) or the task is cancelled (at once).

    Args:
        operator: the operator's settings.
        config: the servers' settings.
        transport: where API calls go.
        stop: set it to shut down in order; without it, runs until cancelled.
    """
    client = kube.Client(transport)
    readiness = observability.Readiness()
    liveness = observability.Readiness()
    manager = _operator.manager_for(operator, client=client, readiness=readiness, liveness=liveness)
    tls = certs.ServingTLS()
    admission = webhook.AdmissionServer(
        handlers=webhook.handlers(
            claims=manager.caches,
            namespaces=manager.caches,
            classes=manager.caches,
            quotas=manager.caches,
            pods_using=manager.caches,
            provisioner=manager.provisioner,
            namespace_selector=config.namespace_selector,
            allow_host_network=config.allow_host_network,
        ),
        ssl_context=tls.context,
        host=config.host,
        port=config.webhook_port,
    )
    health = serving.HealthServer(
        checks=readiness.checks,
        live_checks=liveness.checks,
        host=config.host,
        port=config.health_port,
    )
    metrics = serving.MetricsServer(host=config.host, port=config.metrics_port)
    async with anyio.create_task_group() as servers:
        health_port = await servers.start(health.run, name="health server")
        metrics_port = await servers.start(metrics.run, name="metrics server")
        certificates = _certificates(config, client=client, namespace=operator.namespace, tls=tls)
        await servers.start(certificates.run, name="certificates")
        webhook_port = await servers.start(admission.run, name="admission server")
        async with anyio.create_task_group() as operating:
            await operating.start(manager.run, name="operator")
            task_status.started(
                Running(
                    manager=manager,
                    webhook_port=webhook_port,
                    metrics_port=metrics_port,
                    health_port=health_port,
                )
            )
            await (stop.wait() if stop is not None else anyio.sleep_forever())
            # Not ready first, so that no new review is routed here while the rest stops.
            readiness.set(CHECK_NOT_STOPPING, False)
            logger.info("stopping the operator")
            operating.cancel_scope.cancel()
        logger.info("stopping the servers")
        servers.cancel_scope.cancel()
