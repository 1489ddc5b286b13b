"""``hpa sandbox``: an in-process API server with hpa installed and running, until interrupted.

The sandbox gets what a cluster install would give it (the namespace, CRDs, webhook
configurations and admission policies); the whole hpa process (webhook, operator, metrics,
health) then runs in the same event loop against it over HTTPS, exactly as ``hpa run`` does in
a cluster. The sandbox maps the webhook Service to the local admission server.
``--no-operator`` serves the API alone.
"""

import argparse
import errno
import pathlib
import signal
from typing import Any

import anyio
import anyio.abc

from hpa import api, kube, manifests, observability
from hpa.cli import _operator, _process

#: What of the install the sandbox needs; the Deployment's work is done in-process instead.
_INSTALLED_KINDS = {
    "Namespace",
    "MutatingWebhookConfiguration",
    "ValidatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}


async def run(
    *,
    port: int,
    kubeconfig: pathlib.Path,
    operator: bool = True,
    serving: _process.ServingConfig | None = None,
    task_status: anyio.abc.TaskStatus[pathlib.Path] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until SIGINT/SIGTERM, with hpa running against the sandbox unless told not to."""
    # Imported here: the sandbox needs the optional "sandbox" extra, `hpa run` must not.
    from hpa import sandbox

    async with sandbox.Sandbox(port=port) as server, anyio.create_task_group() as group:
        await server.install_crds()
        path = server.write_kubeconfig(kubeconfig)
        stop = anyio.Event()
        if operator:
            await _install(server)
            running = await group.start(_operate, path, serving or _local_serving(), stop)
            server.service_map[
                (api.DEFAULT_NAMESPACE, api.WEBHOOK_SERVICE, api.WEBHOOK_SERVICE_PORT)
            ] = f"127.0.0.1:{running.webhook_port}"
            print(
                f"# hpa is running: metrics http://127.0.0.1:{running.metrics_port}/metrics, "
                f"readiness http://127.0.0.1:{running.health_port}/readyz",
                flush=True,
            )
        print(f"export KUBECONFIG={path}", flush=True)
        task_status.started(path)
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for _ in signals:
                break
        stop.set()


def _local_serving() -> _process.ServingConfig:
    """Loopback only, on free ports; the certificate also names 127.0.0.1."""
    return _process.ServingConfig(
        host="127.0.0.1", webhook_port=0, metrics_port=0, health_port=0, ip_addresses=("127.0.0.1",)
    )


async def _install(server: Any) -> None:
    for document in manifests.install_documents():
        if document["kind"] in _INSTALLED_KINDS:
            await server.create(document)


async def _operate(
    kubeconfig: pathlib.Path,
    serving: _process.ServingConfig,
    stop: anyio.Event,
    *,
    task_status: anyio.abc.TaskStatus[_process.Running] = anyio.TASK_STATUS_IGNORED,
) -> None:
    transport = await kube.Kr8sTransport.connect(kubeconfig=str(kubeconfig))
    try:
        config = _operator.OperatorConfig(
            kubeconfig=str(kubeconfig), namespace=api.DEFAULT_NAMESPACE
        )
        await _process.run_process(
            config, serving, transport=transport, stop=stop, task_status=task_status
        )
    finally:
        with anyio.CancelScope(shield=True):
            await transport.aclose()


def _serve(args: argparse.Namespace) -> int:
    observability.configure_logging(level=args.log_level)

    async def main() -> None:
        await run(port=args.port, kubeconfig=pathlib.Path(args.kubeconfig), operator=args.operator)

    try:
        anyio.run(main)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        raise SystemExit(
            f"hpa sandbox: port {args.port} is in use (another hpa sandbox?); "
            "choose another with --port"
        ) from None
    return 0


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``hpa sandbox``."""
    parser = commands.add_parser(
        "sandbox",
        help="run an in-process Kubernetes API server with hpa installed and running",
        description="Start a local Kubernetes API server emulator with hpa's CRDs and webhooks, "
        "run hpa against it, and print the export KUBECONFIG=... line for kubectl.",
    )
    parser.add_argument("--port", type=int, default=6443, help="port (default: %(default)s)")
    parser.add_argument(
        "--kubeconfig",
        default="hpa-sandbox.kubeconfig",
        help="kubeconfig to write (default: ./%(default)s)",
    )
    parser.add_argument(
        "--operator",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="run hpa (webhook and operator) in the same process (default: on)",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    parser.set_defaults(handler=_serve)
