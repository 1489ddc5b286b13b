"""``hpa run``: the operator process, as a Deployment runs it.

Every flag may also be given as an environment variable, ``HPA_`` and the flag's name in upper
case with ``_`` for ``-`` (``--webhook-port`` is ``HPA_WEBHOOK_PORT``); a flag wins over its
variable. The README's configuration reference lists them all.
"""

import argparse
import ipaddress
import os
import pathlib
import pwd
import signal

import anyio
import structlog

from hpa import api, kube, observability
from hpa.cli import _operator, _process

logger = structlog.get_logger(__name__)


async def _main(operator: _operator.OperatorConfig, serving: _process.ServingConfig) -> None:
    stop = anyio.Event()
    transport = await kube.Kr8sTransport.connect(kubeconfig=operator.kubeconfig)
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_stop_on_signal, stop, name="signals")
            await _process.run_process(operator, serving, transport=transport, stop=stop)
            group.cancel_scope.cancel()
    finally:
        with anyio.CancelScope(shield=True):
            await transport.aclose()


async def _stop_on_signal(stop: anyio.Event) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for number in signals:
            logger.info("stopping", signal=signal.Signals(number).name)
            stop.set()
            return


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in ("1", "true", "yes", "on")


def _run(args: argparse.Namespace) -> int:
    # kr8s's default kubeconfig, ~/.kube/config, needs a home directory, and pathlib finds none
    # when HOME is unset and the uid has no passwd entry (hpa's image runs as 65532, which has
    # none): kr8s raises before it tries the in-cluster configuration. Fill HOME in as runc and
    # crun do: the passwd entry's home, else /. An in-cluster process has no other use for one.
    if "HOME" not in os.environ:
        os.environ["HOME"] = _passwd_home() or "/"
    observability.configure_logging(
        level=args.log_level,
        json={"json": True, "console": False}.get(args.log_format),
    )
    operator = _operator.OperatorConfig(
        kubeconfig=args.kubeconfig,
        namespace=args.namespace or _operator.default_namespace(),
        leader_elect=args.leader_elect,
        lease_name=args.lease_name,
        workers=args.workers,
    )
    serving = _process.ServingConfig(
        host=args.bind_address,
        webhook_port=args.webhook_port,
        metrics_port=args.metrics_port,
        health_port=args.health_port,
        service=args.webhook_service,
        cert_dir=pathlib.Path(args.cert_dir) if args.cert_dir else None,
        extra_dns_names=tuple(h for h in args.webhook_host if not _is_ip(h)),
        ip_addresses=tuple(h for h in args.webhook_host if _is_ip(h)),
        namespace_selector=_selector(args.namespace_label),
        allow_host_network=args.allow_host_network,
    )
    anyio.run(_main, operator, serving)
    return 0


def _passwd_home() -> str | None:
    """This uid's home directory in the passwd database, if it has an entry."""
    try:
        return pwd.getpwuid(os.getuid()).pw_dir
    except KeyError:
        return None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _hosts(value: str) -> list[str]:
    return [h.strip() for h in value.split(",") if h.strip()]


def _selector(label: str) -> api.LabelSelector:
    """``key=value`` as the label selector of managed namespaces."""
    key, sep, value = label.partition("=")
    if not sep or not key:
        raise SystemExit(f"--namespace-label must be key=value, not {label!r}")
    return api.LabelSelector(match_labels={key: value})


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``hpa run``."""
    env = os.environ.get
    parser = commands.add_parser(
        "run",
        help="run the operator",
        description="Run hpa as its Deployment does: the admission webhook, the metrics and "
        "health servers, and the operator (informers, port index, leader election, "
        "controllers), until SIGTERM or SIGINT.",
        epilog="Every flag can also be set by an environment variable: HPA_ and the flag's "
        "name in upper case with _ for - (--webhook-port is HPA_WEBHOOK_PORT, "
        "--leader-elect is HPA_LEADER_ELECT=true|false). A flag wins over its variable.",
    )
    parser.add_argument(
        "--kubeconfig",
        default=env("HPA_KUBECONFIG"),
        help="kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)",
    )
    parser.add_argument(
        "--namespace",
        default=env(api.ENV_NAMESPACE),
        help="hpa's own namespace: the Lease and the certificate Secret (default: the pod's, "
        "else hpa-system)",
    )
    parser.add_argument(
        "--leader-elect",
        action=argparse.BooleanOptionalAction,
        default=_env_bool("HPA_LEADER_ELECT", True),
        help="compete for a Lease so that one replica reconciles (default: on)",
    )
    parser.add_argument(
        "--lease-name", default=env(api.ENV_LEASE_NAME, api.LEASE_NAME), help="%(default)s"
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
        default=env(api.ENV_LOG_FORMAT, "auto"),
        choices=["auto", "json", "console"],
        help="JSON lines, console, or JSON unless stderr is a terminal (default: auto)",
    )
    parser.add_argument(
        "--bind-address", default=env("HPA_BIND_ADDRESS", "0.0.0.0"), help="default: %(default)s"
    )
    parser.add_argument(
        "--webhook-port",
        type=int,
        default=int(env("HPA_WEBHOOK_PORT", str(api.WEBHOOK_PORT))),
        help="HTTPS admission webhook (default: %(default)s)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=int(env("HPA_METRICS_PORT", str(api.METRICS_PORT))),
        help="Prometheus /metrics (default: %(default)s)",
    )
    parser.add_argument(
        "--health-port",
        type=int,
        default=int(env("HPA_HEALTH_PORT", str(api.HEALTH_PORT))),
        help="/healthz and /readyz (default: %(default)s)",
    )
    parser.add_argument(
        "--webhook-service",
        default=env("HPA_WEBHOOK_SERVICE", _process.ServingConfig.service),
        help="Service in front of the webhook, named in its certificate (default: %(default)s)",
    )
    parser.add_argument(
        "--webhook-host",
        action="extend",
        type=_hosts,
        default=_hosts(env("HPA_WEBHOOK_HOST", "")),
        metavar="HOST",
        help="a further DNS name or IP address for hpa's own serving certificate, where the API "
        "server calls the webhook by URL (hpa manifests --webhook-url); repeatable, "
        "comma-separated in the variable",
    )
    parser.add_argument(
        "--cert-dir",
        default=env("HPA_CERT_DIR"),
        help="serve tls.crt/tls.key from this directory (cert-manager) instead of hpa's own CA",
    )
    parser.add_argument(
        "--namespace-label",
        default=env(api.ENV_NAMESPACE_LABEL, f"{api.NAMESPACE_LABEL}={api.NAMESPACE_LABEL_VALUE}"),
        help="label of the namespaces whose pods hpa admits (default: %(default)s)",
    )
    parser.add_argument(
        "--allow-host-network",
        action=argparse.BooleanOptionalAction,
        default=_env_bool(api.ENV_ALLOW_HOST_NETWORK, False),
        help="admit pods with hostNetwork in managed namespaces (default: off)",
    )
    parser.set_defaults(handler=_run)
