"""hpa on the real control plane (hack/cluster), as it ships: what it costs and how fast it binds.

Two runs of hack/cluster, each measured from outside with an admin client:

1. The API server's own limit. With only the CRDs installed and no hpa, HostPortClaims are
   created at a fixed concurrency: creates per second.
2. hpa installed and running (one ``hpa run`` as its ServiceAccount):
   - claims bound per second, and p50/p99 from a claim's creation to its phase Bound;
   - API writes per bound claim, from kube-apiserver's ``apiserver_request_total`` (writes to
     hostports and hostportclaims, less the claim creates themselves);
   - the API server's limit for hpa: its create rate divided by (writes per claim + 1 create);
   - what hpa adds to a pod CREATE: pods created one at a time, interleaved, in an unmanaged
     namespace, in a managed one without a claim, and in a managed one with a Bound claim;
     p50/p99 of each, and the ratios to the unmanaged pods.

Run: python bench/control_plane.py [--claims 1000] [--pods 200] [--concurrency 16]
"""

import argparse
import asyncio
import contextlib
import os
import pathlib
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "hack"))

from localcluster._api import Api, until  # noqa: E402

GROUP = "hostport.rmb938.com/v1alpha1"
CLAIMS = "/apis/hostport.rmb938.com/v1alpha1/namespaces/{ns}/hostportclaims"
_WRITE = re.compile(
    r'^apiserver_request_total\{(?=[^}]*resource="(hostports|hostportclaims)")'
    r'(?=[^}]*verb="(POST|PATCH|PUT|DELETE)")[^}]*\} (\d+)',
    re.M,
)


def _launch(directory: pathlib.Path, *args: str) -> subprocess.Popen[bytes]:
    """Start hack/cluster (the control plane is built first if it is not cached)."""
    binaries = subprocess.run(
        [str(ROOT / "hack" / "build-control-plane")], check=True, capture_output=True, text=True
    ).stdout.split()[-1]
    env = {**os.environ, "HPA_CONTROL_PLANE_BIN": binaries, "PYTHONPATH": str(ROOT / "hack")}
    argv = [sys.executable, "-m", "localcluster", "--kubeconfig", str(directory / "kubeconfig")]
    with (directory / "cluster.out").open("wb") as out:
        return subprocess.Popen([*argv, *args], stdout=out, stderr=subprocess.STDOUT, env=env)


def _manifests() -> list[dict[str, Any]]:
    rendered = subprocess.run(
        [sys.executable, "-m", "hpa", "manifests"], check=True, capture_output=True, text=True
    ).stdout
    return [d for d in yaml.safe_load_all(rendered) if d]


@contextlib.asynccontextmanager
async def cluster(*args: str) -> AsyncIterator[Api]:
    """hack/cluster with ``args``, and an admin client for it."""
    directory = pathlib.Path(tempfile.mkdtemp(prefix="hpa-bench-"))
    kubeconfig = directory / "kubeconfig"
    process = _launch(directory, *args)
    try:

        async def announced() -> bool:
            if process.poll() is not None:
                raise RuntimeError((directory / "cluster.out").read_text())
            return "export KUBECONFIG" in (directory / "cluster.out").read_text()

        await until(announced, what="hack/cluster", within=300)
        config = yaml.safe_load(kubeconfig.read_text())
        server = config["clusters"][0]["cluster"]
        token = config["users"][0]["user"]["token"]
        async with Api(
            server["server"], token=token, ca_cert=server["certificate-authority"]
        ) as api:
            yield api
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def _claim(name: str, namespace: str, class_name: str = "bench") -> dict[str, Any]:
    return {
        "apiVersion": GROUP,
        "kind": "HostPortClaim",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hostPortClassName": class_name},
    }


async def _bounded(count: int, concurrency: int, make: Callable[[int], Awaitable[Any]]) -> None:
    """Run ``make(0..count-1)`` with at most ``concurrency`` at a time."""
    numbers = iter(range(count))

    async def worker() -> None:
        for number in numbers:
            await make(number)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


async def _writes(api: Api) -> int:
    text = await api.text("/metrics")
    return sum(int(match[2]) for match in _WRITE.findall(text))


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


async def create_rate(claims: int, concurrency: int) -> float:
    """HostPortClaim creates per second on a control plane with the CRDs and no hpa."""
    async with cluster("--no-hpa") as api:
        for crd in (d for d in _manifests() if d["kind"] == "CustomResourceDefinition"):
            await api.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)

        async def established() -> bool:
            try:
                await api.call("GET", CLAIMS.format(ns="default"))
            except Exception:
                return False
            return True

        await until(established, what="the CRDs", within=60)
        path = CLAIMS.format(ns="default")
        started = time.perf_counter()
        await _bounded(
            claims, concurrency, lambda n: api.call("POST", path, _claim(f"c-{n}", "default"))
        )
        return claims / (time.perf_counter() - started)


async def _namespace(api: Api, name: str, *, managed: bool) -> None:
    labels = {"hostport.rmb938.com": "true"} if managed else {}
    await api.call("POST", "/api/v1/namespaces", {"metadata": {"name": name, "labels": labels}})

    async def account() -> bool:
        try:
            await api.call("GET", f"/api/v1/namespaces/{name}/serviceaccounts/default")
        except Exception:
            return False
        return True

    await until(account, what=f"the default ServiceAccount of {name}", within=60)


async def bind(api: Api, claims: int, concurrency: int) -> dict[str, float]:
    """Create ``claims`` claims; how fast and how cheaply hpa binds them."""
    path = CLAIMS.format(ns="bench")
    created: dict[str, float] = {}
    bound: dict[str, float] = {}

    async def watch(version: str) -> None:
        async for event in api.watch(path, {"resourceVersion": version}):
            obj = event["object"]
            name = obj.get("metadata", {}).get("name", "")
            if obj.get("status", {}).get("phase") == "Bound" and name not in bound:
                bound[name] = time.perf_counter()
                if len(bound) == claims:
                    return

    async def create(number: int) -> None:
        created[f"c-{number}"] = time.perf_counter()
        await api.call("POST", path, _claim(f"c-{number}", "bench"))

    writes_before = await _writes(api)
    listed = await api.call("GET", path)  # the watch starts here, whenever it connects
    watcher = asyncio.create_task(watch(listed["metadata"]["resourceVersion"]))
    started = time.perf_counter()
    await _bounded(claims, concurrency, create)
    await asyncio.wait_for(watcher, 600)
    elapsed = time.perf_counter() - started

    async def settled() -> bool:  # the HostPorts' status writes follow the binding
        before = await _writes(api)
        await asyncio.sleep(1)
        return await _writes(api) == before

    await until(settled, what="hpa's writes", within=120, interval=0)
    writes = await _writes(api) - writes_before - claims
    latencies = [bound[n] - created[n] for n in bound]
    return {
        "bound_per_s": claims / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": _pct(latencies, 0.99),
        "writes_per_claim": writes / claims,
    }


def _pod(name: str, namespace: str, claim: str = "") -> dict[str, Any]:
    annotations = {"claim.hostport.rmb938.com/web": claim} if claim else {}
    port = {"name": "web", "containerPort": 8080}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
        "spec": {"containers": [{"name": "app", "image": "busybox", "ports": [port]}]},
    }


async def pod_cost(api: Api, pods: int) -> dict[str, list[float]]:
    """Create latency of pods, interleaved: unmanaged, managed without claim, with a claim."""
    kinds = {
        "unmanaged": ("bench-plain", False),
        "no claim": ("bench", False),
        "claim": ("bench", True),
    }
    latencies: dict[str, list[float]] = {kind: [] for kind in kinds}
    for number in range(pods):
        for kind, (namespace, with_claim) in kinds.items():
            claim = f"c-{number}" if with_claim else ""
            name = f"{kind.replace(' ', '-')}-{number}"
            started = time.perf_counter()
            await api.call(
                "POST", f"/api/v1/namespaces/{namespace}/pods", _pod(name, namespace, claim)
            )
            latencies[kind].append(time.perf_counter() - started)
    return latencies


async def main(claims: int, pods: int, concurrency: int) -> None:
    rate = await create_rate(claims, concurrency)
    print(f"API server's own rate:      {rate:.0f} HostPortClaim creates/s (no hpa)")
    async with cluster("--replicas", "1") as api:
        klass = {"apiVersion": GROUP, "kind": "HostPortClass", "metadata": {"name": "bench"}}
        klass["spec"] = {"pools": [{"start": 20000, "end": 20000 + 2 * claims}]}
        await api.call("POST", "/apis/hostport.rmb938.com/v1alpha1/hostportclasses", klass)
        await _namespace(api, "bench", managed=True)
        await _namespace(api, "bench-plain", managed=False)
        figures = await bind(api, claims, concurrency)
        limit = rate / (figures["writes_per_claim"] + 1)
        print(f"claims:                     {claims} (concurrency {concurrency})")
        print(f"bound/s:                    {figures['bound_per_s']:.1f}")
        print(
            f"claim to Bound p50 / p99:   {figures['p50_ms']:.0f} ms / {figures['p99_ms']:.0f} ms"
        )
        print(f"API writes per bound claim: {figures['writes_per_claim']:.2f} (besides its create)")
        print(
            f"API server's limit for hpa: {limit:.1f} claims/s (its rate / (writes + 1)); "
            f"hpa reaches {figures['bound_per_s'] / limit:.0%} of it (target: 50 %)"
        )
        latencies = await pod_cost(api, min(pods, claims))
        base50, base99 = (
            statistics.median(latencies["unmanaged"]) * 1000,
            _pct(latencies["unmanaged"], 0.99),
        )
        for kind, values in latencies.items():
            p50, p99 = statistics.median(values) * 1000, _pct(values, 0.99)
            print(
                f"pod CREATE, {kind + ':':<16}p50 {p50:6.1f} ms ({p50 / base50:.2f}x), "
                f"p99 {p99:6.1f} ms (+{p99 - base99:.1f} ms)"
            )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    asyncio.run(main(args.claims, args.pods, args.concurrency))
