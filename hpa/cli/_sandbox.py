"""``hpa sandbox``: run the in-process API server with hpa's CRDs until interrupted.

The operator can run alongside in the same event loop: :func:`run` takes an optional
``alongside`` coroutine function, called with the sandbox's kubeconfig path once the server
is serving, and cancelled on Ctrl-C/SIGTERM.
"""

import argparse
import pathlib
import signal
from collections.abc import Callable, Coroutine
from typing import Any

import anyio

from hpa import sandbox

Alongside = Callable[[pathlib.Path], Coroutine[Any, Any, None]]


async def run(
    *,
    port: int,
    kubeconfig: pathlib.Path,
    alongside: Alongside | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM; run ``alongside(kubeconfig)`` meanwhile if given."""
    async with sandbox.Sandbox(port=port) as server:
        await server.install_crds()
        path = server.write_kubeconfig(kubeconfig)
        print(f"export KUBECONFIG={path}", flush=True)
        async with anyio.create_task_group() as group:
            if alongside is not None:
                group.start_soon(alongside, path, name="alongside the sandbox")
            with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
                async for _ in signals:
                    break
            group.cancel_scope.cancel()


def _serve(args: argparse.Namespace) -> int:
    anyio.run(lambda: run(port=args.port, kubeconfig=pathlib.Path(args.kubeconfig)))
    return 0


def add_parser(commands: "argparse._SubParsersAction[argparse.ArgumentParser]") -> None:
    """Register ``hpa sandbox``."""
    parser = commands.add_parser(
        "sandbox", help="run an in-process Kubernetes API server with hpa's CRDs"
    )
    parser.add_argument("--port", type=int, default=6443, help="port (default: %(default)s)")
    parser.add_argument(
        "--kubeconfig",
        default="hpa-sandbox.kubeconfig",
        help="kubeconfig to write (default: ./%(default)s)",
    )
    parser.set_defaults(handler=_serve)
