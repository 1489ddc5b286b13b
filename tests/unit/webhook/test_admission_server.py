"""The admission, metrics and health servers, driven over HTTP with aiohttp's test client."""

import io
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import anyio
import pytest
import structlog
from aiohttp import web
from aiohttp.test_utils import TestClient

from hpa import api, observability, serving, webhook
from tests.unit.webhook import support

ClientFactory = Callable[[web.Application], Awaitable[TestClient[web.Request, web.Application]]]


class Raising:
    """A handler that fails like a bug would."""

    async def __call__(self, request: webhook.AdmissionRequest, /) -> webhook.AdmissionResponse:
        raise RuntimeError("boom")


def server(cluster: support.FakeCluster, **extra: webhook.Handler) -> webhook.AdmissionServer:
    handlers: dict[str, webhook.Handler] = {
        api.PATH_MUTATE_PODS: webhook.PodMutator(claims=cluster, namespaces=cluster),
        api.PATH_VALIDATE_PODS: webhook.PodValidator(claims=cluster, namespaces=cluster),
        api.PATH_VALIDATE_RESOURCES: webhook.ResourceValidator(classes=cluster),
        **{f"/{name}": handler for name, handler in extra.items()},
    }
    return webhook.AdmissionServer(handlers=handlers, ssl_context=None, port=0)


@pytest.fixture
async def client(
    aiohttp_client: ClientFactory, cluster: support.FakeCluster
) -> TestClient[web.Request, web.Application]:
    return await aiohttp_client(server(cluster, raising=Raising()).app())


def counter(name: str, **labels: str) -> float:
    return observability.REGISTRY.get_sample_value(name, labels) or 0.0


async def test_mutation_over_http_echoes_uid(
    client: TestClient[web.Request, web.Application],
    cluster: support.FakeCluster,
    pod: dict[str, Any],
) -> None:
    """A pod review gets HTTP 200 and an AdmissionReview with the uid and the patch."""
    cluster.add_claim("echo-web", port=9100)
    before = counter(
        "hpa_admission_requests_total", operation="CREATE", resource="pods", allowed="true"
    )
    answer = await client.post(api.PATH_MUTATE_PODS, json=support.review_body(pod, uid="u-1"))
    assert answer.status == 200
    review = await answer.json()
    assert review["apiVersion"] == "admission.k8s.io/v1"
    assert review["response"]["uid"] == "u-1"
    assert review["response"]["allowed"] is True
    assert review["response"]["patchType"] == "JSONPatch"
    after = counter(
        "hpa_admission_requests_total", operation="CREATE", resource="pods", allowed="true"
    )
    assert after == before + 1


@pytest.mark.parametrize(
    ("method", "path", "body", "headers", "status"),
    [
        pytest.param("POST", api.PATH_VALIDATE_PODS, b"{", None, 400, id="bad-json"),
        pytest.param(
            "POST",
            api.PATH_VALIDATE_PODS,
            b"{}",
            {"Content-Type": "text/plain"},
            415,
            id="not-json",
        ),
        pytest.param(
            "POST",
            api.PATH_VALIDATE_PODS,
            io.BytesIO(b" " * (webhook.MAX_BODY_BYTES + 1)),
            None,
            413,
            id="oversize",
        ),
        pytest.param("POST", "/nowhere", b"{}", None, 404, id="unknown-path"),
        pytest.param("GET", api.PATH_VALIDATE_PODS, None, None, 405, id="get"),
    ],
)
async def test_bad_requests_get_a_4xx(
    client: TestClient[web.Request, web.Application],
    method: str,
    path: str,
    body: bytes | io.BytesIO | None,
    headers: dict[str, str] | None,
    status: int,
) -> None:
    """Requests that are no AdmissionReview get a 4xx, never a 500."""
    headers = headers or {"Content-Type": "application/json"}
    answer = await client.request(method, path, data=body, headers=headers)
    assert answer.status == status


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"apiVersion": "admission.k8s.io/v1\xff"}', id="not-utf8"),
        pytest.param(b'{"request": {"uid": "\xc3"}}', id="truncated-utf8-in-uid"),
        pytest.param(b'{"x":' * 1000 + b"1" + b"}" * 1000, id="nested-1000-deep"),
    ],
)
async def test_undecodable_bodies_get_400_and_are_counted(
    client: TestClient[web.Request, web.Application], body: bytes
) -> None:
    """Bodies that are not UTF-8, or nested past what the decoder follows, get a counted 400."""
    before = counter("hpa_admission_malformed_requests_total")
    answer = await client.post(
        api.PATH_VALIDATE_PODS, data=body, headers={"Content-Type": "application/json"}
    )
    assert answer.status == 400, await answer.text()
    assert counter("hpa_admission_malformed_requests_total") == before + 1


@pytest.mark.parametrize(
    "request_",
    [
        pytest.param({"uid": "u"}, id="no-object-no-operation"),
        pytest.param(
            {
                "uid": "u",
                "operation": "CREATE",
                "resource": {"group": api.GROUP, "version": "v1alpha1", "resource": "hostports"},
                "object": "port-9000",
            },
            id="string-object",
        ),
    ],
)
async def test_resource_webhook_refuses_reviews_of_no_object(
    client: TestClient[web.Request, web.Application], request_: dict[str, Any]
) -> None:
    """A review without an object to judge is malformed (a counted 400), not allowed."""
    before = counter("hpa_admission_malformed_requests_total")
    review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request_}
    answer = await client.post(api.PATH_VALIDATE_RESOURCES, json=review)
    assert answer.status == 400, await answer.text()
    assert counter("hpa_admission_malformed_requests_total") == before + 1


async def test_unreadable_object_is_denied_with_code_400(
    client: TestClient[web.Request, web.Application],
) -> None:
    """A review whose object is not a pod is answered 200 with a code-400 denial."""
    body = support.review_body({"spec": {"containers": "nope"}}, uid="u-2")
    review = await (await client.post(api.PATH_MUTATE_PODS, json=body)).json()
    assert review["response"]["uid"] == "u-2"
    assert review["response"]["allowed"] is False
    assert review["response"]["status"]["code"] == 400
    assert "request.object is not a valid Pod" in review["response"]["status"]["message"]


async def test_failing_handler_is_denied_with_code_500_and_logged(
    client: TestClient[web.Request, web.Application], pod: dict[str, Any]
) -> None:
    """A handler bug becomes a code-500 denial (HTTP 200), logged once with the review's uid."""
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        answer = await client.post("/raising", json=support.review_body(pod, uid="u-3"))
    assert answer.status == 200
    review = await answer.json()
    assert review["response"]["status"]["code"] == 500
    failures = [e for e in logs if e["event"] == "admission handler failed"]
    assert len(failures) == 1
    assert failures[0]["uid"] == "u-3"
    assert failures[0]["user"] == "alice"


async def test_denial_is_logged_with_context(
    client: TestClient[web.Request, web.Application], pod: dict[str, Any]
) -> None:
    """A denial is logged with a constant message and the request's context."""
    with structlog.testing.capture_logs(
        processors=[structlog.contextvars.merge_contextvars]
    ) as logs:
        await client.post(api.PATH_MUTATE_PODS, json=support.review_body(pod, uid="u-4"))
    [entry] = [e for e in logs if e["event"] == "admission denied"]
    assert entry["uid"] == "u-4"
    assert entry["resource"] == "pods"
    assert entry["namespace"] == "default"
    assert entry["name"] == "echo"
    assert "does not exist" in entry["message"]


class Gate:
    """A handler that answers only once released."""

    def __init__(self) -> None:
        self.entered = anyio.Event()
        self.release = anyio.Event()

    async def __call__(self, request: webhook.AdmissionRequest, /) -> webhook.AdmissionResponse:
        self.entered.set()
        await self.release.wait()
        return webhook.allowed()


async def test_shutdown_finishes_in_flight_reviews(
    cluster: support.FakeCluster, pod: dict[str, Any]
) -> None:
    """A stopped server answers the reviews it had accepted before it returns."""
    gate = Gate()
    admission = server(cluster, gate=gate)
    original_app = admission.app

    def app_releasing_on_shutdown() -> web.Application:
        app = original_app()

        async def release(app: web.Application) -> None:
            gate.release.set()  # only once the server has begun to shut down

        app.on_shutdown.append(release)
        return app

    admission.app = app_releasing_on_shutdown  # type: ignore[method-assign]
    answers: list[dict[str, Any]] = []

    async def call(session: aiohttp.ClientSession, port: int) -> None:
        url = f"http://127.0.0.1:{port}/gate"
        async with session.post(url, json=support.review_body(pod, uid="late")) as answer:
            assert answer.status == 200
            answers.append(await answer.json())

    # Exits in reverse: the servers' group (drained) before the calls', then the session.
    async with (
        aiohttp.ClientSession() as session,
        anyio.create_task_group() as calls,
        anyio.create_task_group() as servers,
    ):
        port = await servers.start(admission.run)
        calls.start_soon(call, session, port)
        await gate.entered.wait()
        servers.cancel_scope.cancel()
    assert [a["response"]["uid"] for a in answers] == ["late"]


@pytest.mark.parametrize(
    ("checks", "status", "text"),
    [
        pytest.param({}, 503, "not ready: no checks reported yet\n", id="no-checks-yet"),
        pytest.param(
            {"caches": False, "certificate": True, "index": False},
            503,
            "not ready: caches, index\n",
            id="some-failing",
        ),
        pytest.param({"caches": True, "certificate": True}, 200, "ok\n", id="all-passing"),
    ],
)
async def test_health_server_reports_failing_checks(
    aiohttp_client: ClientFactory, checks: dict[str, bool], status: int, text: str
) -> None:
    """/readyz names failing checks with 503 until all pass; /healthz does not follow them."""
    health = serving.HealthServer(checks=lambda: checks, port=0)
    client = await aiohttp_client(health.app())
    assert (await client.get("/healthz")).status == 200
    answer = await client.get("/readyz")
    assert (answer.status, await answer.text()) == (status, text)


async def test_health_server_reports_failing_liveness_checks(
    aiohttp_client: ClientFactory,
) -> None:
    """/healthz answers 503 naming each failing liveness check, 200 while none fails."""
    live = {"watches-working": False}
    health = serving.HealthServer(checks=dict, live_checks=lambda: live, port=0)
    client = await aiohttp_client(health.app())
    answer = await client.get("/healthz")
    assert (answer.status, await answer.text()) == (503, "not live: watches-working\n")
    live["watches-working"] = True
    assert (await client.get("/healthz")).status == 200


async def test_metrics_server_exposes_admission_metrics(
    aiohttp_client: ClientFactory,
    client: TestClient[web.Request, web.Application],
    pod: dict[str, Any],
) -> None:
    """/metrics serves the Prometheus exposition including the admission metrics."""
    await client.post(api.PATH_VALIDATE_PODS, json=support.review_body(pod))
    metrics = await aiohttp_client(serving.MetricsServer(port=0).app())
    answer = await metrics.get("/metrics")
    assert answer.status == 200
    text = await answer.text()
    assert "hpa_admission_requests_total{" in text
    assert "hpa_admission_duration_seconds_bucket{" in text
