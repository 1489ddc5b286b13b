"""``hack/cluster [--no-hpa] [--replicas N] [--kubeconfig PATH]``: run until SIGINT or SIGTERM."""

import argparse
import asyncio
import contextlib
import logging
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import tempfile

from localcluster import _balancer as balancer
from localcluster import _controlplane as controlplane
from localcluster import _hpa as hpa
from localcluster import _nodes as nodes
from localcluster import _pki as pki
from localcluster import _processes as processes
from localcluster._api import Api

HACK = pathlib.Path(__file__).resolve().parent.parent
log = logging.getLogger("hack.cluster")


def binaries() -> pathlib.Path:
    """The control plane's binaries: $HPA_CONTROL_PLANE_BIN, or built (once) by
    hack/build-control-plane."""
    given = os.environ.get("HPA_CONTROL_PLANE_BIN")
    if given:
        return pathlib.Path(given)
    built = subprocess.run(
        [str(HACK / "build-control-plane")], check=True, stdout=subprocess.PIPE, text=True
    )
    return pathlib.Path(built.stdout.strip().splitlines()[-1])


async def _watch_children(children: list[processes.Child]) -> str:
    """Return the name and log of the first child that exits."""
    while True:
        for child in children:
            if child.exited() is not None:
                return f"{child.name} exited ({child.exited()}):\n{child.tail()}"
        await asyncio.sleep(0.5)


async def _serve(args: argparse.Namespace, bin_dir: pathlib.Path, state: pathlib.Path) -> int:
    plane = await controlplane.start(bin_dir, state)
    children = list(plane.children)
    tasks: list[asyncio.Task[object]] = []
    servers: list[asyncio.Server] = []
    try:
        async with Api(
            plane.url, token=plane.pki.admin_token, ca_cert=str(plane.pki.ca_cert)
        ) as api:
            await nodes.create_nodes(api)
            tasks.append(asyncio.create_task(nodes.run_kubelet(api), name="stand-in kubelet"))
            replicas: list[hpa.Replica] = []
            if args.hpa:
                service = balancer.Balancer()
                servers.append(await service.start())
                replicas = await _start_hpa(args, service, api, bin_dir, plane, state)
                children += [r.child for r in replicas]
            kubeconfig = pki.write_private(args.kubeconfig, plane.admin_kubeconfig.read_bytes())
            print(f"# control plane: {plane.url}; logs and state in {state}", flush=True)
            for replica in replicas:
                print(
                    f"# {replica.child.name}: metrics http://127.0.0.1:{replica.metrics_port}"
                    f"/metrics, readiness http://127.0.0.1:{replica.health_port}/readyz",
                    flush=True,
                )
            print(f"export KUBECONFIG={kubeconfig}", flush=True)
            return await _until_stopped(children)
    finally:
        for task in tasks:
            task.cancel()
        for server in servers:
            server.close()
        for child in reversed(children[len(plane.children) :]):
            await child.stop()
        await plane.stop()


async def _start_hpa(
    args: argparse.Namespace,
    service: balancer.Balancer,
    api: Api,
    bin_dir: pathlib.Path,
    plane: controlplane.ControlPlane,
    state: pathlib.Path,
) -> list[hpa.Replica]:
    deployment = await hpa.install(
        kubectl=bin_dir / "kubectl",
        kubeconfig=plane.admin_kubeconfig,
        webhook_url=f"https://127.0.0.1:{service.port}",
    )
    kubeconfig = await hpa.service_account_kubeconfig(
        api, plane=plane, path=state / "hpa.kubeconfig"
    )
    replicas = await hpa.start_replicas(
        args.replicas, deployment=deployment, kubeconfig=kubeconfig, state=state
    )
    service.backends[:] = [r.webhook_port for r in replicas]
    await hpa.wait_ready(replicas)
    return replicas


async def _until_stopped(children: list[processes.Child]) -> int:
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stopped.set)
    died = asyncio.create_task(_watch_children(children))
    waiting = asyncio.create_task(stopped.wait())
    done, _ = await asyncio.wait({died, waiting}, return_when=asyncio.FIRST_COMPLETED)
    for task in (died, waiting):
        task.cancel()
    if died in done:
        print(f"hack/cluster: {died.result()}", file=sys.stderr, flush=True)
        return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="hack/cluster",
        description="Run a real Kubernetes control plane (etcd, kube-apiserver, "
        "kube-controller-manager, kube-scheduler) on 127.0.0.1 with three Nodes, install hpa "
        "and run it as its ServiceAccount, print export KUBECONFIG=..., and run until "
        "interrupted.",
    )
    parser.add_argument("--no-hpa", dest="hpa", action="store_false", help="the bare control plane")
    parser.add_argument(
        "--replicas",
        type=int,
        default=1,
        help="hpa processes (default: 1); 0 installs hpa and runs none, a cluster with hpa down",
    )
    parser.add_argument(
        "--kubeconfig",
        default="hpa-cluster.kubeconfig",
        help="admin kubeconfig to write (default: ./%(default)s)",
    )
    parser.add_argument(
        "--keep-state", action="store_true", help="keep the state directory and logs on exit"
    )
    args = parser.parse_args()
    args.kubeconfig = pathlib.Path(args.kubeconfig).resolve()
    logging.basicConfig(level=logging.INFO, format="hack/cluster: %(message)s")
    bin_dir = binaries()
    state = pathlib.Path(tempfile.mkdtemp(prefix="hpa-cluster-"))
    try:
        return asyncio.run(_serve(args, bin_dir, state))
    except KeyboardInterrupt:
        return 130
    except (RuntimeError, TimeoutError) as error:
        print(f"hack/cluster: {error}", file=sys.stderr)
        args.keep_state = True
        return 1
    finally:
        if args.keep_state:
            print(f"# state kept in {state}", file=sys.stderr)
        else:
            with contextlib.suppress(OSError):
                shutil.rmtree(state)


if __name__ == "__main__":
    sys.exit(main())
