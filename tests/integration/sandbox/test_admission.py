"""Dynamic admission control (Dynamic Admission Control: "Webhook request and response",
"Matching requests", "Failure policy"; Admission controllers: "What are they?" for the order
mutating → schema validation → validating)."""

import base64
import pathlib
import ssl
import tempfile
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgspec
import pytest
from aiohttp import web

from hpa import sandbox as sandbox_module
from tests.integration.sandbox.conftest import CLAIMS, PODS, Api, claim, pod

JSON = dict[str, Any]
Reply = Callable[[JSON], JSON]
MUTATING = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
VALIDATING = "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations"


class Webhooks:
    """An HTTPS admission server whose answers tests choose per path."""

    def __init__(self) -> None:
        self.cert, self.key = sandbox_module.self_signed_certificate(
            ["127.0.0.1", "hook.system.svc"]
        )
        self.replies: dict[str, Reply] = {}
        self.calls: list[tuple[str, JSON]] = []
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        review = msgspec.json.decode(await request.read())
        self.calls.append((request.path, review["request"]))
        response = {"uid": review["request"]["uid"], "allowed": True}
        response.update(self.replies.get(request.path, lambda r: {})(review["request"]))
        body = {
            "apiVersion": "admission.k8s.io/v1",
            "kind": "AdmissionReview",
            "response": response,
        }
        return web.json_response(body)

    def ca_bundle(self) -> str:
        return base64.b64encode(self.cert).decode()

    def url(self, path: str) -> str:
        return f"https://127.0.0.1:{self.port}{path}"


def _server_context(cert_pem: bytes, key_pem: bytes) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as directory:
        cert, key = pathlib.Path(directory, "c"), pathlib.Path(directory, "k")
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        context.load_cert_chain(cert, key)
    return context


@pytest.fixture
async def webhooks() -> AsyncIterator[Webhooks]:
    """A running webhook server."""
    hooks = Webhooks()
    app = web.Application()
    app.router.add_post("/{tail:.*}", hooks.handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=_server_context(hooks.cert, hooks.key))
    await site.start()
    hooks.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield hooks
    await runner.cleanup()


def _webhook(name: str, client: JSON, *, resources: list[str], **extra: Any) -> JSON:
    return {
        "name": name,
        "clientConfig": client,
        "rules": [
            {
                "operations": ["CREATE", "UPDATE"],
                "apiGroups": ["*"],
                "apiVersions": ["*"],
                "resources": resources,
            }
        ],
        "sideEffects": "None",
        "admissionReviewVersions": ["v1"],
        **extra,
    }


async def _register(api: Api, path: str, name: str, *webhooks: JSON) -> None:
    answer = await api.post(path, {"metadata": {"name": name}, "webhooks": list(webhooks)})
    assert answer.status == 201, answer.body


def _patch(operations: list[JSON]) -> JSON:
    return {
        "patchType": "JSONPatch",
        "patch": base64.b64encode(msgspec.json.encode(operations)).decode(),
    }


async def test_mutation_runs_before_schema_validation_before_validating_webhooks(
    api: Api, webhooks: Webhooks
) -> None:
    """A mutating webhook's patch is applied, then the schema is checked, then validation runs.

    Ref: Admission controllers, "What are they?" (mutating, then object schema validation,
    then validating).
    """
    client = {"caBundle": webhooks.ca_bundle()}
    webhooks.replies["/mutate"] = lambda r: _patch(
        [{"op": "add", "path": "/spec/hostPortClassName", "value": "default"}]
    )
    await _register(
        api,
        MUTATING,
        "m",
        _webhook(
            "m.example.com",
            {**client, "url": webhooks.url("/mutate")},
            resources=["hostportclaims"],
        ),
    )
    await _register(
        api,
        VALIDATING,
        "v",
        _webhook(
            "v.example.com",
            {**client, "url": webhooks.url("/validate")},
            resources=["hostportclaims"],
        ),
    )
    body = claim("a")
    del body["spec"]["hostPortClassName"]
    answer = await api.post(CLAIMS, body)
    assert answer.status == 201, answer.body
    assert answer.body["spec"]["hostPortClassName"] == "default"
    assert [path for path, _ in webhooks.calls] == ["/mutate", "/validate"]
    assert webhooks.calls[1][1]["object"]["spec"]["hostPortClassName"] == "default"
    request = webhooks.calls[0][1]
    assert request["operation"] == "CREATE" and request["namespace"] == "default"
    assert request["resource"] == {
        "group": "hostport.rmb938.com",
        "version": "v1alpha1",
        "resource": "hostportclaims",
    }


async def test_schema_failure_after_mutation_skips_validating_webhooks(
    api: Api, webhooks: Webhooks
) -> None:
    """An object the mutation made invalid is refused with 422 before validating webhooks run.

    Ref: Admission controllers, "What are they?".
    """
    client = {"caBundle": webhooks.ca_bundle()}
    webhooks.replies["/mutate"] = lambda r: _patch(
        [{"op": "replace", "path": "/spec/hostPortClassName", "value": "NOT VALID"}]
    )
    await _register(
        api,
        MUTATING,
        "m",
        _webhook(
            "m.example.com",
            {**client, "url": webhooks.url("/mutate")},
            resources=["hostportclaims"],
        ),
    )
    await _register(
        api,
        VALIDATING,
        "v",
        _webhook(
            "v.example.com",
            {**client, "url": webhooks.url("/validate")},
            resources=["hostportclaims"],
        ),
    )
    answer = await api.post(CLAIMS, claim("a"))
    assert answer.status == 422
    assert [path for path, _ in webhooks.calls] == ["/mutate"]


async def test_denial_names_the_webhook_and_keeps_its_code(api: Api, webhooks: Webhooks) -> None:
    """A denial answers the webhook's Status with kube's message and warnings as headers.

    Ref: Dynamic Admission Control, "Response".
    """
    webhooks.replies["/deny"] = lambda r: {
        "allowed": False,
        "status": {"code": 422, "reason": "Invalid", "message": "claims must be labelled"},
        "warnings": ["think about labels"],
    }
    hook = _webhook(
        "deny.example.com",
        {"caBundle": webhooks.ca_bundle(), "url": webhooks.url("/deny")},
        resources=["hostportclaims"],
    )
    await _register(api, VALIDATING, "v", hook)
    answer = await api.post(CLAIMS, claim("a"))
    assert answer.status == 422
    assert (
        answer.body["message"]
        == 'admission webhook "deny.example.com" denied the request: claims must be labelled'
    )
    assert answer.headers.getall("Warning") == ['299 - "think about labels"']


@pytest.mark.parametrize(
    ("policy", "status"),
    [pytest.param("Fail", 500, id="fail-denies"), pytest.param("Ignore", 201, id="ignore-allows")],
)
async def test_failure_policy_when_the_webhook_is_down(api: Api, policy: str, status: int) -> None:
    """An unreachable webhook denies under Fail and is skipped under Ignore.

    Ref: Dynamic Admission Control, "Failure policy".
    """
    hook = _webhook(
        "down.example.com", {"url": "https://127.0.0.1:1/"}, resources=["*"], failurePolicy=policy
    )
    await _register(api, VALIDATING, "v", hook)
    answer = await api.post(CLAIMS, claim("a"))
    assert answer.status == status
    if status == 500:
        assert 'failed calling webhook "down.example.com"' in answer.body["message"]


async def test_ca_bundle_is_verified(api: Api, webhooks: Webhooks) -> None:
    """A webhook whose certificate does not chain to caBundle counts as a failed call.

    Ref: Dynamic Admission Control, "Contact the webhook" (caBundle).
    """
    other, _ = sandbox_module.self_signed_certificate(["127.0.0.1"])
    client = {"url": webhooks.url("/v"), "caBundle": base64.b64encode(other).decode()}
    await _register(api, VALIDATING, "v", _webhook("tls.example.com", client, resources=["*"]))
    answer = await api.post(CLAIMS, claim("a"))
    assert answer.status == 500 and not webhooks.calls


async def test_service_reference_goes_through_the_service_map(
    api: Api, sandbox: sandbox_module.Sandbox, webhooks: Webhooks
) -> None:
    """clientConfig.service is called at the mapped address and verified as <svc>.<ns>.svc.

    Ref: Dynamic Admission Control, "Contact the webhook" (service reference).
    """
    sandbox.service_map[("system", "hook", 443)] = f"127.0.0.1:{webhooks.port}"
    client = {
        "service": {"namespace": "system", "name": "hook", "path": "/svc"},
        "caBundle": webhooks.ca_bundle(),
    }
    await _register(api, VALIDATING, "v", _webhook("svc.example.com", client, resources=["pods"]))
    assert (await api.post(PODS, pod("p"))).status == 201
    assert [path for path, _ in webhooks.calls] == ["/svc"]


async def test_selectors_and_subresources_choose_the_calls(api: Api, webhooks: Webhooks) -> None:
    """namespaceSelector, objectSelector and ``pods/status`` rules limit which requests are sent.

    Ref: Dynamic Admission Control, "Matching requests: rules, namespaceSelector, objectSelector".
    """
    client = {"caBundle": webhooks.ca_bundle()}
    labelled = {"matchLabels": {"hostport.rmb938.com": "true"}}
    await _register(
        api,
        VALIDATING,
        "v",
        _webhook(
            "ns.example.com",
            {**client, "url": webhooks.url("/ns")},
            resources=["pods"],
            namespaceSelector=labelled,
        ),
        _webhook(
            "obj.example.com",
            {**client, "url": webhooks.url("/obj")},
            resources=["pods"],
            objectSelector={"matchLabels": {"app": "web"}},
        ),
        _webhook(
            "status.example.com",
            {**client, "url": webhooks.url("/status")},
            resources=["pods/status"],
        ),
    )
    await api.post(
        "/api/v1/namespaces",
        {"metadata": {"name": "managed", "labels": {"hostport.rmb938.com": "true"}}},
    )
    await api.post(PODS, pod("plain"))
    await api.post(PODS, pod("web", labels={"app": "web"}))
    await api.post("/api/v1/namespaces/managed/pods", pod("managed"))
    await api.patch(f"{PODS}/plain/status", {"status": {"phase": "Running"}})
    called = [(path, request["name"]) for path, request in webhooks.calls]
    assert called == [("/obj", "web"), ("/ns", "managed"), ("/status", "plain")]


async def test_dry_run_refuses_webhooks_with_side_effects(api: Api, webhooks: Webhooks) -> None:
    """dryRun requests fail on webhooks whose sideEffects are not None/NoneOnDryRun.

    Ref: Dynamic Admission Control, "Side effects".
    """
    hook = _webhook(
        "fx.example.com",
        {"caBundle": webhooks.ca_bundle(), "url": webhooks.url("/fx")},
        resources=["*"],
    )
    hook["sideEffects"] = "Some"
    await _register(api, VALIDATING, "v", hook)
    answer = await api.post(CLAIMS, claim("a"), params={"dryRun": "All"})
    assert answer.status == 400 and "does not support dry run" in answer.body["message"]
