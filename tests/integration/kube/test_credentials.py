"""Credentials that change while hpa runs: a rotated token is picked up without a restart."""

import json
import pathlib
import sys
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from hpa import kube

_PLUGIN = """
import json, pathlib, sys
token = pathlib.Path(sys.argv[1]).read_text().strip()
print(json.dumps({"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                  "status": {"token": token}}))
"""


class TokenServer:
    """An API server stand-in that accepts one bearer token at a time, and records each."""

    def __init__(self) -> None:
        self.accepted = "one"
        self.seen: list[tuple[str, int]] = []

    async def handle(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        status = 200 if token == self.accepted else 401
        if request.path.rstrip("/") != "/version":
            self.seen.append((token, status))
        if status == 401:
            return web.json_response({"kind": "Status", "code": 401}, status=401)
        if request.path.rstrip("/") == "/version":
            return web.json_response({"major": "1", "minor": "30", "gitVersion": "v1.30.14"})
        if request.query.get("watch"):
            response = web.StreamResponse()
            await response.prepare(request)
            await response.write(json.dumps({"type": "BOOKMARK", "object": {}}).encode() + b"\n")
            return response
        return web.json_response({"kind": "NamespaceList", "items": []})


@pytest.fixture
async def server(aiohttp_server: object) -> AsyncIterator[tuple[TokenServer, str]]:
    tokens = TokenServer()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", tokens.handle)
    running = await aiohttp_server(app)  # type: ignore[operator]
    yield tokens, str(running.make_url(""))


def _kubeconfig(directory: pathlib.Path, url: str, token_file: pathlib.Path) -> pathlib.Path:
    plugin = directory / "plugin.py"
    plugin.write_text(_PLUGIN)
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(plugin), str(token_file)],
            "interactiveMode": "Never",
        }
    }
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": url.rstrip("/")}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "c",
    }
    path = directory / "kubeconfig"
    path.write_text(json.dumps(config))
    return path


async def test_rotated_exec_token_is_used_after_a_401(
    server: tuple[TokenServer, str], tmp_path: pathlib.Path
) -> None:
    """When the API server stops accepting the token, the exec plugin is run again and the
    request (and the next watch) succeed with the new token."""
    tokens, url = server
    token_file = tmp_path / "token"
    token_file.write_text("one")
    transport = await kube.Kr8sTransport.connect(
        kubeconfig=str(_kubeconfig(tmp_path, url, token_file))
    )
    try:
        request = kube.Request(method="GET", path="/api/v1/namespaces")
        assert (await transport.request(request)).status == 200
        token_file.write_text("two")
        tokens.accepted = "two"
        assert (await transport.request(request)).status == 200
        watch = kube.Request(method="GET", path="/api/v1/namespaces", params={"watch": "1"})
        async with transport.stream(watch) as stream:
            assert stream.status == 200
    finally:
        await transport.aclose()
    assert tokens.seen == [("one", 200), ("one", 401), ("two", 200), ("two", 200)]


async def test_token_is_reloaded_once_it_is_a_minute_old(
    server: tuple[TokenServer, str], tmp_path: pathlib.Path
) -> None:
    """A rotated token is picked up before the old one is refused (the kubelet rotates
    projected service-account tokens well before they expire)."""
    tokens, url = server
    token_file = tmp_path / "token"
    token_file.write_text("one")
    transport = await kube.Kr8sTransport.connect(
        kubeconfig=str(_kubeconfig(tmp_path, url, token_file)), credentials_max_age=0
    )
    try:
        token_file.write_text("two")
        tokens.accepted = "two"
        assert (await transport.request(kube.Request(method="GET", path="/api/v1/x"))).status == 200
    finally:
        await transport.aclose()
    assert tokens.seen == [("two", 200)]
