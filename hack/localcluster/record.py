"""``python -m localcluster.record OUT.json``: record the AdmissionReview kube-apiserver sends.

Starts the bare control plane, registers a mutating webhook for pods in managed namespaces that
calls a recorder on loopback (serving with the API server's own certificate, which names
127.0.0.1, so the cluster CA is its caBundle), creates the README's quickstart pod, and writes
the review the recorder received. tests/fixtures/ keeps one such recording, so the webhook's
decoding is tested against what a real API server sends (hack/record-admission-review).
"""

import asyncio
import base64
import json
import pathlib
import ssl
import sys
import tempfile

from aiohttp import web

from localcluster import __main__ as cli
from localcluster import _controlplane as controlplane
from localcluster import _nodes as nodes
from localcluster._api import Api, ApiError, until

_POD = {
    "apiVersion": "v1",
    "kind": "Pod",
    "metadata": {
        "name": "echo",
        "namespace": "default",
        "annotations": {"claim.hostport.rmb938.com/web": "echo-web"},
    },
    "spec": {
        "containers": [
            {
                "name": "echo",
                "image": "k8s.gcr.io/echoserver:1.4",
                "ports": [{"name": "web", "containerPort": 8080}],
            }
        ]
    },
}


async def _record(plane: controlplane.ControlPlane, api: Api) -> dict[str, object]:
    received: asyncio.Future[dict[str, object]] = asyncio.get_running_loop().create_future()

    async def review(request: web.Request) -> web.Response:
        body = await request.json()
        if not received.done():
            received.set_result(body)
        uid = body["request"]["uid"]
        answer = {"uid": uid, "allowed": True}
        return web.json_response(
            {**{k: body[k] for k in ("apiVersion", "kind")}, "response": answer}
        )

    app = web.Application()
    app.router.add_post("/record", review)
    runner = web.AppRunner(app)
    await runner.setup()
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(plane.pki.serving_cert, plane.pki.serving_key)
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        bundle = base64.b64encode(plane.pki.ca_cert.read_bytes()).decode()
        hook = {
            "name": "record.hostport.rmb938.com",
            "clientConfig": {"url": f"https://127.0.0.1:{port}/record", "caBundle": bundle},
            "rules": [
                {
                    "apiGroups": [""],
                    "apiVersions": ["v1"],
                    "resources": ["pods"],
                    "operations": ["CREATE"],
                }
            ],
            "namespaceSelector": {"matchLabels": {"hostport.rmb938.com": "true"}},
            "sideEffects": "None",
            "admissionReviewVersions": ["v1"],
        }
        configuration = {"metadata": {"name": "record"}, "webhooks": [hook]}
        path = "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations"
        await api.call("POST", path, configuration)
        label = {"metadata": {"labels": {"hostport.rmb938.com": "true"}}}
        await api.call(
            "PATCH",
            "/api/v1/namespaces/default",
            label,
            content_type="application/merge-patch+json",
        )

        async def account() -> bool:  # kube-controller-manager makes it; pods need it
            try:
                await api.call("GET", "/api/v1/namespaces/default/serviceaccounts/default")
            except ApiError:
                return False
            return True

        await until(account, what="the default ServiceAccount", within=60)
        await api.call("POST", "/api/v1/namespaces/default/pods", _POD)
        return await asyncio.wait_for(received, 30)
    finally:
        await runner.cleanup()


async def record() -> dict[str, object]:
    """The review of the quickstart pod's CREATE, from a fresh control plane."""
    state = pathlib.Path(tempfile.mkdtemp(prefix="hpa-record-"))
    plane = await controlplane.start(cli.binaries(), state)
    try:
        async with Api(
            plane.url, token=plane.pki.admin_token, ca_cert=str(plane.pki.ca_cert)
        ) as api:
            await nodes.create_nodes(api)
            return await _record(plane, api)
    finally:
        await plane.stop()


if __name__ == "__main__":
    out = pathlib.Path(sys.argv[1])
    out.write_text(json.dumps(asyncio.run(record()), indent=2, sort_keys=True) + "\n")
