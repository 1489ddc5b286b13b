"""The fault proxy the operator reaches the control plane through (``tests/faultproxy.py``),
in front of the API server of ``--api-server``: it injects what it is told and nothing else."""

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from hpa import api, kube
from tests.clusters import Cluster
from tests.faultproxy import FaultProxy
from tests.operator_fixtures import claim, sample_class

CLAIMS = kube.CLAIMS.path(namespace="default")


@pytest.fixture
async def proxy(cluster: Cluster) -> AsyncIterator[FaultProxy]:
    """A proxy of its own in front of the API server."""
    async with FaultProxy(cluster.url, ssl_context=cluster.ssl_context()) as proxy:
        yield proxy


@pytest.fixture
async def client(cluster: Cluster, proxy: FaultProxy) -> AsyncIterator[httpx.AsyncClient]:
    """The admin, through the proxy."""
    headers = {"Authorization": f"Bearer {cluster.token}"}
    async with httpx.AsyncClient(base_url=proxy.url, headers=headers, timeout=10) as client:
        yield client


async def _watch(
    client: httpx.AsyncClient, version: str, proxy: FaultProxy
) -> list[dict[str, Any]]:
    """The events of a watch of claims from ``version``, dropped after the first one."""
    params = {"watch": "1", "resourceVersion": version, "timeoutSeconds": "10"}
    events = []
    async with client.stream("GET", CLAIMS, params=params) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line:
                events.append(json.loads(line))
                proxy.drop_watches()
    return events


async def _version(client: httpx.AsyncClient) -> str:
    listed = await client.get(CLAIMS)
    assert listed.status_code == 200
    return str(listed.json()["metadata"]["resourceVersion"])


async def test_requests_pass_with_the_callers_credentials(
    cluster: Cluster, proxy: FaultProxy
) -> None:
    """A request is forwarded as it came: without a token the API server refuses it."""
    async with httpx.AsyncClient(base_url=proxy.url) as anonymous:
        assert (await anonymous.get(CLAIMS)).status_code in (401, 403)


async def test_injected_failures_answer_a_status_then_stop(
    cluster: Cluster, proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    """The next matching requests get a kube Status with the code; others and later ones pass."""
    proxy.fail(verb="create", resource=api.PLURAL_CLAIM, status=503, times=1)
    assert (await client.get(CLAIMS)).status_code == 200
    failed = await client.post(CLAIMS, json=claim("a"))
    assert failed.status_code == 503
    assert failed.json()["reason"] == "ServiceUnavailable" and failed.json()["code"] == 503
    assert (await client.post(CLAIMS, json=claim("a"))).status_code == 201


async def test_expire_answers_old_versions_410_and_serves_new_ones(
    cluster: Cluster, proxy: FaultProxy, client: httpx.AsyncClient
) -> None:
    """After expire, a watch from a version seen before gets one ERROR event (410 Expired);
    one from a LIST answered afterwards gets the changes; drop_watches ends it."""
    old = await _version(client)
    await cluster.add(api.PLURAL_CLASS, sample_class())
    proxy.expire()
    [error] = await _watch(client, old, proxy)
    assert error["type"] == "ERROR" and error["object"]["code"] == 410
    assert error["object"]["reason"] == "Expired"
    fresh = await _version(client)
    await cluster.add(api.PLURAL_CLAIM, claim("after"))
    [added] = await _watch(client, fresh, proxy)
    assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "after"
