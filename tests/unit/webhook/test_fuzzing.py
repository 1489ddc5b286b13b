"""Random and mutated AdmissionReviews thrown at the admission server over HTTP.

Every answer must be well-formed: a 4xx, or HTTP 200 with an AdmissionReview echoing the uid.
The server runs once per module in its own event loop; hypothesis drives it synchronously.
"""

import asyncio
import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpa import api, webhook
from tests.unit.webhook import support

PATHS = (webhook.PATH_MUTATE_PODS, webhook.PATH_VALIDATE_PODS, webhook.PATH_VALIDATE_RESOURCES)

Client = TestClient[web.Request, web.Application]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[asyncio.Runner, Client]]:
    """A running admission server over a cluster with one bound claim, and a client."""
    cluster = support.managed_cluster()
    cluster.add_claim("echo-web", port=9000)
    cluster.add_class("games", (9400, 9600))
    handlers: dict[str, webhook.Handler] = {
        webhook.PATH_MUTATE_PODS: webhook.PodMutator(claims=cluster, namespaces=cluster),
        webhook.PATH_VALIDATE_PODS: webhook.PodValidator(claims=cluster, namespaces=cluster),
        webhook.PATH_VALIDATE_RESOURCES: webhook.ResourceValidator(classes=cluster),
    }
    app = webhook.AdmissionServer(handlers=handlers, ssl_context=None, port=0).app()

    async def start() -> Client:
        client: Client = TestClient(TestServer(app))
        await client.start_server()
        return client

    with asyncio.Runner() as runner:
        client = runner.run(start())
        try:
            yield runner, client
        finally:
            runner.run(client.close())


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _bases() -> list[dict[str, Any]]:
    pod = support.quickstart_pod()
    pod["spec"]["containers"][0]["ports"][0]["hostPort"] = 9000
    pool_class = {"metadata": {"name": "c"}, "spec": {"pools": [{"start": 9000, "end": 9500}]}}
    return [
        support.review_body(pod),
        support.review_body(pod, operation="UPDATE", old=support.quickstart_pod()),
        support.review_body(pod, operation="UPDATE", old=pod, sub_resource="ephemeralcontainers"),
        support.review_body(pool_class, group=api.GROUP, resource=api.PLURAL_CLASS),
        support.review_body(
            {"metadata": {"name": "port-1"}, "spec": {"port": 1, "hostPortClassName": "x"}},
            group=api.GROUP,
            resource=api.PLURAL_HOSTPORT,
            operation="UPDATE",
            old={"metadata": {"name": "port-1"}, "spec": {"port": 1}},
        ),
        support.review_body(
            {"spec": {"hostPortClassName": "x"}},
            group=api.GROUP,
            resource=api.PLURAL_CLAIM,
        ),
    ]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated_reviews(draw: st.DrawFn) -> Any:
    """A realistic review with a few values replaced or removed."""
    review = copy.deepcopy(draw(st.sampled_from(_bases())))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(review) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = review
        for token in path[:-1]:
            parent = parent[token]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return review


bodies = (
    mutated_reviews().map(lambda r: json.dumps(r).encode())
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.binary(max_size=64)
)


def _uid(body: bytes) -> Any:
    return json.loads(body)["request"]["uid"]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=st.sampled_from(PATHS), body=bodies)
def test_every_answer_is_well_formed(
    served: tuple[asyncio.Runner, Client], path: str, body: bytes
) -> None:
    """Any body gets a 4xx or a 200 AdmissionReview echoing the uid; never a 5xx or a hang."""
    runner, client = served

    async def post() -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json"}
        async with asyncio.timeout(10):
            answer = await client.post(path, data=body, headers=headers)
            return answer.status, await answer.read()

    status, answer = runner.run(post())
    assert status == 200 or 400 <= status < 500, (status, answer)
    if status == 200:
        review = json.loads(answer)
        assert review["apiVersion"] == "admission.k8s.io/v1"
        assert review["kind"] == "AdmissionReview"
        assert review["response"]["uid"] == _uid(body)
        assert isinstance(review["response"]["allowed"], bool)
        if not review["response"]["allowed"]:
            assert review["response"]["status"]["message"]
