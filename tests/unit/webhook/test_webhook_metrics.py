"""controller-runtime's webhook metrics (by path and HTTP code) and hpa's admission errors,
recorded by the admission server for each request."""

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from aiohttp import web
from aiohttp.test_utils import TestClient

from hpa import api, webhook
from tests.unit.samples import sample
from tests.unit.webhook import support
from tests.unit.webhook.test_admission_server import Gate, Raising

Client = TestClient[web.Request, web.Application]
ClientFactory = Callable[[web.Application], Awaitable[Client]]
JSON = {"Content-Type": "application/json"}


async def _post(client: Client, path: str, body: dict[str, Any]) -> None:
    answer = await client.post(path, json=body)
    assert answer.status == 200


def requests(path: str, code: str) -> float:
    return sample("controller_runtime_webhook_requests_total", {"webhook": path, "code": code})


def latency_count(path: str) -> float:
    return sample("controller_runtime_webhook_latency_seconds_count", {"webhook": path})


def in_flight(path: str) -> float:
    return sample("controller_runtime_webhook_requests_in_flight", {"webhook": path})


async def test_each_request_is_counted_by_path_and_code(
    aiohttp_client: ClientFactory, cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A review answered is code 200 (whatever its verdict); a body that is none, its 4xx."""
    app = webhook.AdmissionServer(
        handlers={api.PATH_MUTATE_PODS: webhook.PodMutator(claims=cluster, namespaces=cluster)},
        ssl_context=None,
    ).app()
    client = await aiohttp_client(app)
    path = api.PATH_MUTATE_PODS
    ok, unsupported, timed = requests(path, "200"), requests(path, "415"), latency_count(path)
    answer = await client.post(path, json=support.review_body(pod))
    assert answer.status == 200
    answer = await client.post(path, data=b"{}", headers={"Content-Type": "text/plain"})
    assert answer.status == 415
    assert requests(path, "200") == ok + 1
    assert requests(path, "415") == unsupported + 1
    assert latency_count(path) == timed + 2
    assert in_flight(path) == 0


async def test_a_request_being_answered_is_in_flight(
    aiohttp_client: ClientFactory, pod: dict[str, Any]
) -> None:
    """controller_runtime_webhook_requests_in_flight counts requests not answered yet."""
    gated = Gate()
    path = "/metrics-gated"
    client = await aiohttp_client(
        webhook.AdmissionServer(handlers={path: gated}, ssl_context=None).app()
    )
    async with anyio.create_task_group() as group:
        group.start_soon(_post, client, path, support.review_body(pod))
        with anyio.fail_after(5):
            await gated.entered.wait()
        assert in_flight(path) == 1
        gated.release.set()
    assert in_flight(path) == 0
    assert requests(path, "200") == 1


async def test_a_failed_review_is_an_admission_error(
    aiohttp_client: ClientFactory, pod: dict[str, Any]
) -> None:
    """A handler that fails gets its review a denial with code 500 (HTTP 200), counted in
    hpa_admission_errors_total; an object that cannot be read, code 400."""
    client = await aiohttp_client(
        webhook.AdmissionServer(handlers={"/metrics-failing": Raising()}, ssl_context=None).app()
    )
    labels = {"resource": "pods", "code": "500"}
    before = sample("hpa_admission_errors_total", labels)
    answer = await client.post("/metrics-failing", json=support.review_body(pod), headers=JSON)
    assert answer.status == 200
    assert (await answer.json())["response"]["status"]["code"] == 500
    assert sample("hpa_admission_errors_total", labels) == before + 1
    assert requests("/metrics-failing", "200") == 1


async def test_an_unreadable_object_is_an_admission_error(cluster: support.FakeCluster) -> None:
    """An object the handler cannot read is answered with code 400 and counted as such."""
    labels = {"resource": "pods", "code": "400"}
    before = sample("hpa_admission_errors_total", labels)
    mutator = webhook.PodMutator(claims=cluster, namespaces=cluster)
    await webhook.review_with(mutator, support.make_request({"spec": {"containers": "nope"}}))
    assert sample("hpa_admission_errors_total", labels) == before + 1
