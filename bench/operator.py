"""Operator benchmark: 1,000 concurrent claims against the sandbox API server.

Prints claims bound per second, the p50/p99 latency from a claim's creation to its phase
Bound, the API writes per bound claim (HostPort create, claim spec patch, claim status patch,
HostPort status patch; Events and class status counted apart), and, for comparison, what one
write costs the sandbox itself over HTTPS. The operator and the sandbox share one process and
event loop, so the figures are a floor for a real cluster's operator cost, not its ceiling.

The Go original needs 6 object writes per bound claim (claim finalizer, HostPort create,
HostPort finalizer, HostPort status, claim spec, claim status).

Run: python bench/operator.py [--claims N] [--workers N]
"""

import argparse
import pathlib
import statistics
import tempfile
import time
from typing import Any

import anyio

from hpa import api, kube, observability
from hpa.cli import _operator
from hpa.sandbox import Sandbox

_NOISE = {"events", "leases", "hostportclasses", "hostportclasses/status"}


def _claim(number: int) -> dict[str, Any]:
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLAIM,
        "metadata": {"name": f"bench-{number}", "namespace": "default"},
        "spec": {"hostPortClassName": "bench"},
    }


async def _bench(claims: int, workers: int) -> None:
    observability.configure_logging(level="warning", json=False)
    async with Sandbox() as sandbox:
        await sandbox.install_crds()
        kubeconfig = sandbox.write_kubeconfig(pathlib.Path(tempfile.mkdtemp()) / "kubeconfig")
        await sandbox.create(
            {
                "apiVersion": api.API_VERSION,
                "kind": api.KIND_CLASS,
                "metadata": {"name": "bench"},
                "spec": {"pools": [{"start": 20000, "end": 20000 + claims * 2}]},
            }
        )
        created: dict[str, float] = {}
        bound: dict[str, float] = {}
        all_bound = anyio.Event()

        def observe(event: Any) -> None:
            obj = event.obj
            if obj.get("kind") != api.KIND_CLAIM:
                return
            name = obj["metadata"]["name"]
            if obj.get("status", {}).get("phase") == api.PHASE_BOUND and name not in bound:
                bound[name] = time.perf_counter()
                if len(bound) == claims:
                    all_bound.set()

        sandbox.store.subscribe(observe)
        config = _operator.OperatorConfig(
            kubeconfig=str(kubeconfig), namespace="default", leader_elect=False, workers=workers
        )
        async with anyio.create_task_group() as group:
            await group.start(
                lambda task_status: _operator.run_operator(config, task_status=task_status)
            )
            sandbox.counters.reset()
            started = time.perf_counter()
            for number in range(claims):
                created[f"bench-{number}"] = time.perf_counter()
                await sandbox.create(_claim(number))
            await all_bound.wait()
            elapsed = time.perf_counter() - started
            await anyio.sleep(1.5)  # let the HostPort status writes and class status settle
            group.cancel_scope.cancel()
        by_resource = dict(sandbox.counters.by_resource)
        writes = {
            key: n
            for key, n in by_resource.items()
            if key[0] in ("create", "update", "patch", "delete")
        }
        core = sum(n for (verb, res), n in writes.items() if res not in _NOISE)
        events = sum(n for (verb, res), n in writes.items() if res == "events")
        classes = sum(n for (verb, res), n in writes.items() if res.startswith("hostportclasses"))
        latencies = sorted(bound[name] - created[name] for name in bound)
        print(f"claims:                     {claims} (workers per controller: {workers})")
        print(f"bound/s:                    {claims / elapsed:.0f}  ({elapsed:.2f} s in all)")
        print(f"latency p50:                {statistics.median(latencies) * 1000:.0f} ms")
        print(
            f"latency p99:                {latencies[int(len(latencies) * 0.99) - 1] * 1000:.0f} ms"
        )
        print(f"object writes/bound claim:  {core / claims:.2f}  (target <= 4; the original: 6)")
        breakdown = {f"{v} {r}": n for (v, r), n in sorted(writes.items()) if r not in _NOISE}
        print(f"  of which:                 {breakdown}")
        print(f"events/bound claim:         {events / claims:.2f}")
        print(f"class status writes:        {classes} in all")
        await _sandbox_write_cost(sandbox, kubeconfig)


async def _sandbox_write_cost(sandbox: Sandbox, kubeconfig: pathlib.Path, count: int = 300) -> None:
    transport = await kube.Kr8sTransport.connect(kubeconfig=str(kubeconfig))
    client = kube.Client(transport)
    try:
        started = time.perf_counter()
        for number in range(count):
            await client.create(
                kube.CLAIMS, _claim(100_000 + number), namespace="default", type=api.HostPortClaim
            )
        per_write = (time.perf_counter() - started) / count
    finally:
        await transport.aclose()
    print(f"sandbox cost per write:     {per_write * 1000:.2f} ms (sequential creates over HTTPS)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    args = parser.parse_args()
    anyio.run(_bench, args.claims, args.workers)


if __name__ == "__main__":
    main()
