"""Sandbox throughput: custom-resource creates per second and watch fan-out latency.

Run: ``python bench/sandbox.py [--objects 10000] [--watchers 50] [--updates 1000]``

Creates ``--objects`` HostPortClaims over HTTPS (32 concurrent clients), then opens
``--watchers`` watches on them and patches ``--updates`` claims one after another; each
patch carries its send time, and every watcher records send-to-receipt latency. Client and
server share one process and event loop (as in the test suite), so the figures include the
clients' own work.
"""

import argparse
import asyncio
import ssl
import statistics
import time
from typing import Any

import aiohttp
import msgspec

from hpa import sandbox

CLAIMS = "/apis/hostport.rmb938.com/v1alpha1/namespaces/default/hostportclaims"


def _claim(index: int) -> bytes:
    return msgspec.json.encode(
        {
            "apiVersion": "hostport.rmb938.com/v1alpha1",
            "kind": "HostPortClaim",
            "metadata": {"name": f"claim-{index:06d}"},
            "spec": {"hostPortClassName": "default"},
        }
    )


async def _create_all(session: aiohttp.ClientSession, base: str, count: int) -> float:
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(count):
        queue.put_nowait(index)

    async def worker() -> None:
        while not queue.empty():
            index = queue.get_nowait()
            async with session.post(base + CLAIMS, data=_claim(index)) as response:
                assert response.status == 201, await response.text()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(32)))
    return count / (time.perf_counter() - started)


async def _watch(
    session: aiohttp.ClientSession, base: str, rv: str, expected: int, latencies: list[float]
) -> None:
    params = {"watch": "1", "resourceVersion": rv, "timeoutSeconds": "600"}
    seen = 0
    async with session.get(base + CLAIMS, params=params) as response:
        async for line in response.content:
            event = msgspec.json.decode(line)
            sent = float(event["object"]["metadata"]["annotations"]["bench/sent"])
            latencies.append(time.perf_counter() - sent)
            seen += 1
            if seen == expected:
                return


async def _fan_out(
    session: aiohttp.ClientSession,
    base: str,
    server: sandbox.Sandbox,
    *,
    watchers: int,
    updates: int,
) -> list[float]:
    async with session.get(base + CLAIMS, params={"limit": "1"}) as response:
        rv = (await response.json())["metadata"]["resourceVersion"]
    latencies: list[float] = []
    tasks = [
        asyncio.create_task(_watch(session, base, rv, updates, latencies)) for _ in range(watchers)
    ]
    for _ in range(6000):  # every watch is registered within a minute
        if server.watch_count >= watchers:
            break
        await asyncio.sleep(0.01)
    headers = {"Content-Type": "application/merge-patch+json"}
    for index in range(updates):
        patch: dict[str, Any] = {
            "metadata": {"annotations": {"bench/sent": repr(time.perf_counter())}}
        }
        async with session.patch(
            f"{base}{CLAIMS}/claim-{index:06d}", data=msgspec.json.encode(patch), headers=headers
        ) as response:
            assert response.status == 200, await response.text()
    await asyncio.gather(*tasks)
    return latencies


async def main(objects: int, watchers: int, updates: int) -> None:
    async with sandbox.Sandbox() as server:
        await server.install_crds()
        context = ssl.create_default_context(cadata=server.cert_pem.decode())
        connector = aiohttp.TCPConnector(ssl=context, limit=watchers + 64)
        headers = {"Authorization": f"Bearer {server.token}", "Content-Type": "application/json"}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            rate = await _create_all(session, server.url, objects)
            latencies = await _fan_out(
                session, server.url, server, watchers=watchers, updates=updates
            )
    cuts = statistics.quantiles(latencies, n=100)
    print(
        f"creates: {objects} HostPortClaims at {rate:,.0f} writes/s (32 concurrent HTTPS clients)"
    )
    print(
        f"watch fan-out: {watchers} watchers x {updates} patches, write-to-receipt latency "
        f"p50 {cuts[49] * 1000:.1f} ms, p99 {cuts[98] * 1000:.1f} ms"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--watchers", type=int, default=50)
    parser.add_argument("--updates", type=int, default=1_000)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.objects, arguments.watchers, arguments.updates))
