"""``hpa run``: the operator process.

Flags may also be given as environment variables (``HPA_KUBECONFIG``, ``HPA_NAMESPACE``,
``HPA_LEADER_ELECT``, ``HPA_LEASE_NAME``, ``HPA_WORKERS``, ``HPA_LOG_LEVEL``,
``HPA_LOG_FORMAT``); a flag wins over its variable. :func:`run_operator` starts the same
operator in-process, for the sandbox command and tests.
"""

import argparse
import dataclasses
import logging
import os
import pathlib
import signal
import socket
import uuid

import anyio
import anyio.abc
import structlog

from hpa import controllers, kube, observability

logger = structlog.get_logger(__name__)

#: Where Kubernetes mounts the pod's namespace (the Lease lives next to the operator).
_SERVICE_ACCOUNT_NAMESPACE = pathlib.Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
_DEFAULT_NAMESPACE = "hpa-system"


def _default_namespace() -> str:
    try:
        return _SERVICE_ACCOUNT_NAMESPACE.read_text().strip() or _DEFAULT_NAMESPACE
    except OSError:
        return _DEFAULT_NAMESPACE


def _default_identity() -> str:
    # client-go uses hostname + "_" + a uuid, so two processes on one host never collide.
    return f"{os.environ.get('HOSTNAME') or socket.gethostname()}_{uuid.uuid4().hex[:8]}"


@dataclasses.dataclass(frozen=True, kw_only=True)
class OperatorConfig:
    """Everything ``hpa run`` can be told."""

    kubeconfig: str | None = None
    namespace: str = dataclasses.field(default_factory=_default_namespace)
    identity: str = dataclasses.field(default_factory=_default_identity)
    leader_elect: bool = True
    lease_name: str = "hpa-leader"
    workers: int = 4
    lease_duration: float = 15.0
    renew_deadline: float = 10.0
    retry_period: float = 2.0
    repair_interval: float = 60.0
    repair_grace: float = 30.0
    watch_timeout: int = 300


async def run_operator(
    config: OperatorConfig,
    *,
    transport: kube.Transport | None = None,
    readiness: observability.Readiness | None = None,
    task_status: anyio.abc.TaskStatus[controllers.Manager] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Run the operator until cancelled; started with its :class:`~hpa.controllers.Manager`
    once the caches have synced and the port index is rebuilt.

    Args:
        config: the settings.
        transport: where API calls go; by default kr8s with ``config.kubeconfig`` (or
            $KUBECONFIG, ~/.kube/config, in-cluster).
        readiness: the checks the health server reads.
    """
    if transport is None:
        owned = await kube.Kr8sTransport.connect(kubeconfig=config.kubeconfig)
        try:
            await run_operator(
                config, transport=owned, readiness=readiness, task_status=task_status
            )
        finally:
            with anyio.CancelScope(shield=True):
                await owned.aclose()
        return
    manager = controllers.Manager(
        kube.Client(transport),
        identity=config.identity,
        namespace=config.namespace,
        leader_elect=config.leader_elect,
        lease_name=config.lease_name,
        workers=config.workers,
        lease_duration=config.lease_duration,
        renew_deadline=config.renew_deadline,
        retry_period=config.retry_period,
        repair_interval=config.repair_interval,
        repair_grace=config.repair_grace,
        watch_timeout=config.watch_timeout,
        readiness=readiness,
    )
    await manager.run(task_status=task_status)


async def _main(config: OperatorConfig) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(_stop_on_signal, group.cancel_scope, name="signals")
        await group.start(run_operator, config, name="operator")


async def _stop_on_signal(scope: anyio.CancelScope) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for number in signals:
            logger.info("stopping", signal=signal.Signals(number).name)
            scope.cancel()
            return


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _run(args: argparse.Namespace) -> int:
    observability.configure_logging(
        level=args.log_level,
        json={"json": True, "console": False}.get(args.log_format),
    )
    # httpx logs every request at INFO; hpa's own lines say what matters.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    config = OperatorConfig(
        kubeconfig=args.kubeconfig,
        namespace=args.namespace or _default_namespace(),
        leader_elect=args.leader_elect,
        lease_name=args.lease_name,
        workers=args.workers,
    )
    anyio.run(_main, config)
    return 0


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``hpa run``."""
    env = os.environ.get
    parser = commands.add_parser("run", help="run the operator")
    parser.add_argument(
        "--kubeconfig",
        default=env("HPA_KUBECONFIG"),
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)",
    )
    parser.add_argument(
        "--namespace",
        default=env("HPA_NAMESPACE"),
        help="namespace of the leader Lease (default: the pod's, else hpa-system)",
    )
    parser.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("HPA_LEADER_ELECT", True),
        help="compete for a Lease so that one replica reconciles (default: on)",
    )
    parser.add_argument(
        "--lease-name", default=env("HPA_LEASE_NAME", "hpa-leader"), help="%(default)s"
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=int(env("HPA_WORKERS", "4")),
        help="concurrent reconciles per controller (default: %(default)s)",
    )
    parser.add_argument(
        "--log-level",
        default=env("HPA_LOG_LEVEL", "info"),
        choices=["debug", "info", "warning", "error"],
    )
    parser.add_argument(
        "--log-format",
        default=env("HPA_LOG_FORMAT", "auto"),
        choices=["auto", "json", "console"],
        help="JSON lines, console, or JSON unless stderr is a terminal (default: auto)",
    )
    parser.set_defaults(handler=_run)
