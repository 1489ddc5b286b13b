"""Pod admission throughput and latency over TLS, beside a constant-allow aiohttp baseline.

Each server runs in its own process (so the client does not share its event loop) and is driven
with keep-alive connections at a fixed concurrency. The pod review is the quickstart pod with a
Bound claim in an in-memory cache, so the figure is the webhook's own cost: TLS, HTTP, review
decoding, the mutation and the JSON patch. The baseline reads the body and answers a constant
allow. Prints admissions/s, p50 and p99 latency for both, and the ratio of throughputs.

    python bench/webhook.py [--requests 5000] [--concurrency 32]
"""

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing
import pathlib
import ssl
import statistics
import sys
import time
from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import anyio
from aiohttp import web

# The quickstart pod is shared with the tests, which import as the ``tests`` package.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))

from hpa import api, certs, observability, serving, webhook
from tests.unit.webhook import support

ALLOW = json.dumps(
    {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "response": {"uid": "x", "allowed": True},
    }
).encode()


class Cache:
    """An in-memory cache with one Bound claim and the managed namespace."""

    def __init__(self) -> None:
        self._claim = api.HostPortClaim(
            metadata=api.ObjectMeta(name="echo-web", namespace="default"),
            spec=api.HostPortClaimSpec(host_port_class_name="sample"),
            status=api.HostPortClaimStatus(phase=api.PHASE_BOUND, port=9000),
        )

    def claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        return self._claim if (namespace, name) == ("default", "echo-web") else None

    async def fetch_claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        return self.claim(namespace, name)

    def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        return {api.NAMESPACE_LABEL: api.NAMESPACE_LABEL_VALUE}

    def classes(self) -> Iterable[api.HostPortClass]:
        return ()


def review() -> bytes:
    pod = support.quickstart_pod()
    return json.dumps(
        {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "request": {
                "uid": "705ab4f5-6393-11e8-b7cc-42010a800002",
                "kind": {"group": "", "version": "v1", "kind": "Pod"},
                "resource": {"group": "", "version": "v1", "resource": "pods"},
                "namespace": "default",
                "operation": "CREATE",
                "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
                "object": pod,
            },
        }
    ).encode()


def certificates() -> tuple[certs.KeyPair, certs.KeyPair]:
    now = dt.datetime.now(dt.UTC)
    ca = certs.new_ca(now=now, lifetime=dt.timedelta(days=1))
    pair = certs.new_serving(
        ca=ca,
        dns_names=["localhost"],
        ip_addresses=["127.0.0.1"],
        now=now,
        lifetime=dt.timedelta(days=1),
    )
    return ca, pair


async def _baseline(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(body=ALLOW, content_type="application/json")


def serve(kind: str, pair: certs.KeyPair, ports: Any) -> None:
    """Child process: serve ``kind`` over TLS until killed; report the port."""
    observability.configure_logging(level="info", json=True)  # as in a cluster
    tls = certs.ServingTLS()
    tls.load(pair)
    if kind == "hpa":
        cache = Cache()
        app = webhook.AdmissionServer(
            handlers={"/mutate-pods": webhook.PodMutator(claims=cache, namespaces=cache)},
            ssl_context=tls.context,
        ).app()
    else:
        app = web.Application()
        app.router.add_post("/mutate-pods", _baseline)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            port = await tg.start(
                lambda task_status: serving.serve(
                    app,
                    name=kind,
                    host="127.0.0.1",
                    port=0,
                    ssl_context=tls.context,
                    task_status=task_status,
                )
            )
            ports.put(port)

    anyio.run(main)


async def drive(port: int, ca: certs.KeyPair, *, requests: int, concurrency: int) -> list[float]:
    """Latencies (seconds) of ``requests`` reviews sent by ``concurrency`` workers."""
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    body = review()
    latencies: list[float] = []
    remaining = requests
    connector = aiohttp.TCPConnector(limit=concurrency, ssl=context)
    headers = {"Content-Type": "application/json"}
    url = f"https://127.0.0.1:{port}/mutate-pods"
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal remaining
            while remaining > 0:
                remaining -= 1
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as answer:
                    await answer.read()
                    assert answer.status == 200
                latencies.append(time.perf_counter() - started)

        async with asyncio.TaskGroup() as tg:
            for _ in range(concurrency):
                tg.create_task(worker())
    return latencies


def measure(kind: str, *, requests: int, concurrency: int) -> tuple[float, float, float]:
    """Admissions/s, p50 and p99 (ms) against a fresh server of ``kind``."""
    ca, pair = certificates()
    spawn = multiprocessing.get_context("spawn")
    ports = spawn.Queue()
    process = spawn.Process(target=serve, args=(kind, pair, ports), daemon=True)
    process.start()
    try:
        port = ports.get(timeout=60)
        asyncio.run(drive(port, ca, requests=min(500, requests), concurrency=concurrency))
        started = time.perf_counter()
        latencies = asyncio.run(drive(port, ca, requests=requests, concurrency=concurrency))
        elapsed = time.perf_counter() - started
    finally:
        process.kill()
        process.join()
    quantiles = statistics.quantiles(latencies, n=100)
    return len(latencies) / elapsed, quantiles[49] * 1000, quantiles[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    results = {
        kind: measure(kind, requests=args.requests, concurrency=args.concurrency)
        for kind in ("baseline", "hpa")
    }
    print(f"{args.requests} reviews over TLS, keep-alive, concurrency {args.concurrency}")
    for kind, label in (("baseline", "aiohttp constant allow"), ("hpa", "hpa pod mutation")):
        rate, p50, p99 = results[kind]
        print(f"  {label:24} {rate:8.0f} admissions/s   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
    ratio = results["hpa"][0] / results["baseline"][0]
    print(f"  throughput ratio hpa/baseline: {ratio:.0%} (target >= 50%)")


if __name__ == "__main__":
    main()
