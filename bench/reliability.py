"""Reliability figures: load, soak, chaos and failover at the sizes of the reliability issue.

Runs the scenarios of ``tests/reliability`` (which assert the same invariants: no port twice, no
leak, no lost claim, no crash) against a sandbox in this process, the operator in a child
process where its own RSS matters, and prints their figures:

- load: claims created as fast as the sandbox accepts them while pods are admitted through the
  webhook at a steady rate: creates/s, bound/s, claim-to-Bound and admission p50/p99, the
  operator's RSS at the end and its peak;
- soak: create/bind/delete cycles: cycles/s, the least-squares slope of the operator's RSS and
  task count over the cycles;
- chaos: a burst under killed leaders, dropped watches, 5xx/429, timeouts and 410s;
- failover: a partitioned and a SIGKILLed leader: seconds from its last renewal to takeover;
  chaos and failover run on a cluster-wide class and on a per-node one of 3 nodes (where the
  SIGKILL burst has a third more claims than pairs), or on the one ``--allocation`` names;
- shrink: a per-node class of ``--ports`` ports on 3 nodes, 4 claims a port, one node
  cordoned mid-burst: what was bound, and what is over capacity;
- cache: the operator's RSS once it caches N objects (half Bound claims, half their HostPorts,
  written straight into the sandbox so that no binding is needed), and its start-up time.

    python bench/reliability.py load --claims 10000 --pods-per-second 50
    python bench/reliability.py soak --cycles 100000
    python bench/reliability.py chaos --claims 3000
    python bench/reliability.py failover --claims 2000
    python bench/reliability.py chaos --claims 3000 --allocation PerNode
    python bench/reliability.py shrink --ports 200
    python bench/reliability.py cache --objects 100000
"""

import argparse
import pathlib
import sys
import tempfile
import time
from typing import Any

import anyio

# The scenarios live with the tests, which import them as the ``tests`` package.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from hpa import api, observability
from hpa.sandbox import Sandbox
from tests.reliability import chaos, failover, harness, load, per_node, shrink


async def _run(args: argparse.Namespace) -> None:
    observability.configure_logging(level="error", json=False)
    workdir = pathlib.Path(tempfile.mkdtemp(prefix="hpa-reliability-"))
    if args.scenario in ("chaos", "failover"):
        allocations = per_node.ALLOCATIONS if args.allocation == "both" else (args.allocation,)
        for allocation in allocations:
            (workdir / allocation).mkdir()
            figures = await _per_allocation(args, workdir / allocation, allocation)
            print(harness.render(f"{args.scenario} ({allocation})", figures), flush=True)
        return
    async with Sandbox() as server:
        await server.install_crds()
        if args.scenario == "load":
            figures = await load.load(
                server, workdir, claims=args.claims, pods_per_second=args.pods_per_second,
                within=args.within,
            )  # fmt: skip
        elif args.scenario == "soak":
            figures = await load.soak(
                server, workdir, cycles=args.cycles, window=args.window, within=args.within,
                progress=lambda line: print(line, flush=True),
            )  # fmt: skip
        elif args.scenario == "shrink":
            figures = await shrink.shrink(server, workdir, ports=args.ports, claims=args.ports * 4)
        else:
            figures = await _cache(server, workdir, objects=args.objects)
    print(harness.render(args.scenario, figures), flush=True)


async def _per_allocation(
    args: argparse.Namespace, workdir: pathlib.Path, allocation: str
) -> dict[str, Any]:
    """Chaos, or both failovers, on a class of ``allocation``, each on a sandbox of its own."""
    async with Sandbox() as server:
        await server.install_crds()
        if args.scenario == "chaos":
            return await chaos.chaos(
                server, workdir, claims=args.claims, within=args.within, allocation=allocation
            )
        figures = await failover.sigkill(server, workdir, claims=args.claims, allocation=allocation)
    async with Sandbox() as server:
        await server.install_crds()
        (workdir / "partition").mkdir()
        partitioned = await failover.partition(server, workdir / "partition", allocation=allocation)
    return figures | {f"partition: {k}": v for k, v in partitioned.items()}


async def _cache(server: Sandbox, workdir: pathlib.Path, *, objects: int) -> dict[str, Any]:
    """The operator's RSS with ``objects`` cached objects that need no work from it."""
    pairs = objects // 2
    for namespace in ("hpa-system", "apps"):
        await server.create(
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
        )
    await server.create(harness.host_port_class("bulk", 1024, 1024 + pairs - 1))
    stamp = api.now().isoformat().replace("+00:00", "Z")
    async with harness.Api(server) as http:
        for first in range(0, pairs, 1000):
            async with anyio.create_task_group() as group:
                for i in range(first, min(first + 1000, pairs)):
                    group.start_soon(_bound_pair, server, http, i, 1024 + i, stamp)
    writes = server.write_count
    operator = harness.OperatorProcess(
        kubeconfig=server.write_kubeconfig(workdir / "kubeconfig"), log=workdir / "operator.log",
        leader_elect=False, report_interval=1.0,
    )  # fmt: skip
    started = time.perf_counter()
    async with operator.running(within=1800):
        startup = time.perf_counter() - started
        quiet_since, last = time.perf_counter(), server.write_count
        while time.perf_counter() - quiet_since < 10:  # no write for 10 s: settled
            await anyio.sleep(1)
            if server.write_count != last:
                quiet_since, last = time.perf_counter(), server.write_count
        rss_kb = operator.samples[-1]["rss_kb"]
    return {
        "objects cached (claims + HostPorts)": 2 * pairs,
        "start-up until ready (list + index rebuild)": f"{startup:.1f} s",
        "operator writes while settling": server.write_count - writes,
        "operator RSS settled": f"{rss_kb / 1024:.1f} MB",
        "operator peak RSS": f"{operator.peak_rss_mb():.1f} MB",
    }


async def _bound_pair(
    server: Sandbox, http: harness.Api, index: int, port: int, stamp: str
) -> None:
    """A Bound claim and its HostPort, as hpa would have left them."""
    name, hostport = f"c{index}", api.hostport_name(port)
    claim = harness.claim(name, namespace="apps", class_name="bulk")
    claim["metadata"]["finalizers"] = [api.FINALIZER]
    claim["spec"]["hostPortName"] = hostport
    stored = await server.create(claim)
    await server.create(
        {
            "apiVersion": api.API_VERSION,
            "kind": api.KIND_HOSTPORT,
            "metadata": {"name": hostport, "finalizers": [api.FINALIZER]},
            "spec": {
                "hostPortClassName": "bulk",
                "port": port,
                "claimRef": {"namespace": "apps", "name": name, "uid": stored["metadata"]["uid"]},
            },
        }
    )
    condition = {
        "type": "Bound", "status": "True", "reason": "Bound", "observedGeneration": 1,
        "message": f"bound to HostPort {hostport} (port {port})", "lastTransitionTime": stamp,
    }  # fmt: skip
    merge = "application/merge-patch+json"
    status = {"phase": "Bound", "port": port, "observedGeneration": 1, "conditions": [condition]}
    for path, body in (
        (f"{harness.claims_path('apps')}/{name}/status", {"status": status}),
        (f"{harness.GROUP_PATH}/hostports/{hostport}/status",
         {"status": {"phase": "Allocated", "observedGeneration": 1}}),
    ):  # fmt: skip
        code, answer = await http.call("PATCH", path, body, content_type=merge)
        assert code == 200, (code, answer)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenario", choices=["load", "soak", "chaos", "failover", "cache", "shrink"]
    )
    parser.add_argument(
        "--allocation", choices=["both", *per_node.ALLOCATIONS], default="both",
        help="chaos, failover: the class's allocation",
    )  # fmt: skip
    parser.add_argument("--ports", type=int, default=200, help="shrink: the class's ports")
    parser.add_argument("--objects", type=int, default=100_000, help="cache: objects cached")
    parser.add_argument("--claims", type=int, default=10_000)
    parser.add_argument("--pods-per-second", type=float, default=50.0)
    parser.add_argument("--cycles", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=32, help="soak: claims in flight")
    parser.add_argument("--within", type=float, default=7200.0, help="deadline, seconds")
    anyio.run(_run, parser.parse_args())


if __name__ == "__main__":
    main()
