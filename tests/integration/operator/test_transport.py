"""The kr8s transport against the sandbox: how it uses connections."""

import contextlib
import pathlib

import anyio

from hpa import kube, sandbox
from tests.clusters import sandbox_only


@sandbox_only(
    "counts the connections the sandbox accepted (sandbox.counters); it tests hpa's client, "
    "not the API server, and kube-apiserver has no such count"
)
async def test_requests_reuse_connections_while_many_watches_are_open(
    sandbox: sandbox.Sandbox, kubeconfig: pathlib.Path
) -> None:
    """With more watches open than httpx keeps idle connections by default (20), requests
    still reuse their connections instead of paying a TLS handshake each."""
    transport = await kube.Kr8sTransport.connect(kubeconfig=str(kubeconfig))
    client = kube.Client(transport)
    try:
        async with contextlib.AsyncExitStack() as watches:
            for _ in range(24):
                await watches.enter_async_context(
                    client.watch(kube.LEASES, namespace="default", resource_version="")
                )
            sandbox.counters.reset()

            async def read(times: int) -> None:
                for _ in range(times):
                    await client.list_page(kube.LEASES, namespace="default")

            async with anyio.create_task_group() as readers:
                for _ in range(4):
                    readers.start_soon(read, 25)
            assert sandbox.counters.total == 100
            assert sandbox.counters.connections <= 8, "requests opened new connections"
    finally:
        await transport.aclose()
