"""An HTTP client for the sandbox, to test its API behaviour without kubectl."""

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import msgspec
import pytest

from hpa import sandbox as sandbox_module

GROUP = "hostport.rmb938.com"
CLAIMS = f"/apis/{GROUP}/v1alpha1/namespaces/default/hostportclaims"
CLASSES = f"/apis/{GROUP}/v1alpha1/hostportclasses"
HOSTPORTS = f"/apis/{GROUP}/v1alpha1/hostports"
PODS = "/api/v1/namespaces/default/pods"
GROUP_PATH = "/apis/admissionregistration.k8s.io/v1"
JSON = dict[str, Any]


class Answer(msgspec.Struct):
    """A response: status, decoded JSON body and headers."""

    status: int
    body: Any
    headers: Any


class Api:
    """Minimal JSON client for the sandbox."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base

    async def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        params: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        """Send one request and decode the JSON answer."""
        data = None if body is None else msgspec.json.encode(body)
        all_headers = {"Content-Type": content_type, **(headers or {})}
        async with self.session.request(
            method, self.base + path, data=data, params=params, headers=all_headers
        ) as response:
            raw = await response.read()
            decoded = msgspec.json.decode(raw) if raw.strip().startswith(b"{") else raw
            return Answer(response.status, decoded, response.headers)

    async def get(self, path: str, **kwargs: Any) -> Answer:
        """GET."""
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, body: Any, **kwargs: Any) -> Answer:
        """POST."""
        return await self.request("POST", path, body, **kwargs)

    async def put(self, path: str, body: Any, **kwargs: Any) -> Answer:
        """PUT."""
        return await self.request("PUT", path, body, **kwargs)

    async def patch(self, path: str, body: Any, kind: str = "merge", **kwargs: Any) -> Answer:
        """PATCH with a ``merge``, ``json`` or ``strategic-merge`` patch."""
        return await self.request(
            "PATCH", path, body, content_type=f"application/{kind}-patch+json", **kwargs
        )

    async def delete(self, path: str, body: Any = None, **kwargs: Any) -> Answer:
        """DELETE."""
        return await self.request("DELETE", path, body, **kwargs)

    async def lines(self, path: str, params: dict[str, str]) -> list[dict[str, Any]]:
        """A whole watch stream (until the server ends it), one dict per event."""
        async with self.session.get(self.base + path, params=params) as response:
            raw = await response.read()
        return [msgspec.json.decode(line) for line in raw.splitlines() if line.strip()]


def ssl_context(server: sandbox_module.Sandbox) -> ssl.SSLContext:
    """A client TLS context trusting the sandbox's certificate."""
    return ssl.create_default_context(cadata=server.cert_pem.decode())


@pytest.fixture
async def api(sandbox: sandbox_module.Sandbox) -> AsyncIterator[Api]:
    """A JSON client authenticated to the sandbox."""
    connector = aiohttp.TCPConnector(ssl=ssl_context(sandbox))
    headers = {"Authorization": f"Bearer {sandbox.token}"}
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        yield Api(session, sandbox.url)


def claim(name: str, class_name: str = "default", **extra: Any) -> dict[str, Any]:
    """A HostPortClaim manifest."""
    spec = {"hostPortClassName": class_name, **extra}
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "HostPortClaim",
        "metadata": {"name": name},
        "spec": spec,
    }


def port_class(name: str, pools: list[dict[str, int]]) -> dict[str, Any]:
    """A HostPortClass manifest."""
    return {
        "apiVersion": f"{GROUP}/v1alpha1",
        "kind": "HostPortClass",
        "metadata": {"name": name},
        "spec": {"pools": pools},
    }


def pod(name: str, **metadata: Any) -> dict[str, Any]:
    """A Pod manifest with one container."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, **metadata},
        "spec": {
            "containers": [
                {"name": "app", "image": "nginx", "ports": [{"containerPort": 80, "name": "http"}]}
            ]
        },
    }


def vap(name: str, validations: list[JSON], **spec: Any) -> JSON:
    """A ValidatingAdmissionPolicy of pod creates and updates."""
    match = {
        "resourceRules": [
            {
                "apiGroups": [""],
                "apiVersions": ["v1"],
                "operations": ["CREATE", "UPDATE"],
                "resources": ["pods"],
            }
        ]
    }
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": name},
        "spec": {"matchConstraints": match, "validations": validations, **spec},
    }


def vap_binding(name: str, actions: list[str], **spec: Any) -> JSON:
    """The binding of the policy of the same name."""
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicyBinding",
        "metadata": {"name": name},
        "spec": {"policyName": name, "validationActions": actions, **spec},
    }


async def install_vap(api: Api, policy: JSON, binding: JSON) -> None:
    """Create a policy and its binding."""
    assert (await api.post(f"{GROUP_PATH}/validatingadmissionpolicies", policy)).status == 201
    answer = await api.post(f"{GROUP_PATH}/validatingadmissionpolicybindings", binding)
    assert answer.status == 201
