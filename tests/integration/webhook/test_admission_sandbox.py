"""hpa's admission webhook registered with the sandbox API server, driven with real kubectl.

The webhook serves HTTPS with a certificate from :class:`certs.CertProvisioner` (in-memory
store) for ``hpa-webhook.hpa.svc``; the sandbox's service map sends calls for that Service to
the local port. Claims are made Bound directly through the status subresource: no operator
runs here, only admission.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import msgspec
import pytest

from hpa import api, certs, manifests, sandbox, serving, webhook
from tests.sandbox_fixtures import Kubectl

SERVICE = ("hpa", "hpa-webhook", 443)


class SandboxReader:
    """The readers over the sandbox's store (standing in for the informer caches)."""

    def __init__(self, server: sandbox.Sandbox) -> None:
        self._server = server

    def claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        found = self._server.get(api.API_VERSION, api.KIND_CLAIM, name, namespace=namespace)
        return None if found is None else msgspec.convert(found, api.HostPortClaim)

    async def fetch_claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        return self.claim(namespace, name)

    def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        found = self._server.get("v1", "Namespace", name)
        return None if found is None else found["metadata"].get("labels", {})

    def classes(self) -> Iterable[api.HostPortClass]:
        storage = (api.GROUP, api.PLURAL_CLASS)
        return [msgspec.convert(o, api.HostPortClass) for o in self._server.store.items(storage)]


class MemoryStore:
    """A CertStore in memory."""

    def __init__(self) -> None:
        self.stored: certs.Stored | None = None

    async def load(self) -> certs.Stored | None:
        return self.stored

    async def save(
        self, data: Mapping[str, bytes], *, resource_version: str | None
    ) -> certs.Stored | None:
        self.stored = certs.Stored(data=dict(data), resource_version="1")
        return self.stored

    async def inject_ca_bundle(self, ca_bundle: bytes) -> bool:
        return False


class _Started:
    def __init__(self) -> None:
        self.port: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def started(self, value: int) -> None:
        self.port.set_result(value)


@pytest.fixture
async def admission(sandbox: sandbox.Sandbox) -> AsyncIterator[None]:
    """hpa's webhooks served over HTTPS and registered with the sandbox."""
    tls = certs.ServingTLS()
    store = MemoryStore()
    names = certs.ServingNames(service=SERVICE[1], namespace=SERVICE[0])
    await certs.CertProvisioner(store=store, names=names, tls=tls).ensure()
    reader = SandboxReader(sandbox)
    handlers = webhook.handlers(claims=reader, namespaces=reader, classes=reader)
    app = webhook.AdmissionServer(handlers=handlers, ssl_context=tls.context).app()
    status = _Started()
    task = asyncio.get_running_loop().create_task(
        serving.serve(
            app,
            name="admission",
            host="127.0.0.1",
            port=0,
            ssl_context=tls.context,
            task_status=status,  # type: ignore[arg-type]
        )
    )
    port = await status.port
    sandbox.service_map[SERVICE] = f"127.0.0.1:{port}"
    assert store.stored is not None
    bundle = store.stored.data[certs.CA_BUNDLE]
    for configuration in manifests.webhook_configurations(
        service=SERVICE[1], namespace=SERVICE[0], port=SERVICE[2], ca_bundle=bundle
    ):
        await sandbox.create(configuration)
    try:
        yield
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


QUICKSTART = """
apiVersion: hostport.rmb938.com/v1alpha1
kind: HostPortClass
metadata: {name: sample}
spec:
  pools: [{start: 9000, end: 9500}]
---
apiVersion: hostport.rmb938.com/v1alpha1
kind: HostPortClaim
metadata: {name: echo-web, namespace: default}
spec: {hostPortClassName: sample}
"""


def pod_manifest(
    *,
    name: str = "echo",
    namespace: str = "default",
    claim: str | None = "echo-web",
    host_port: int | None = None,
) -> str:
    """The original quickstart's pod, optionally with another claim or a raw hostPort."""
    port: dict[str, Any] = {"name": "web", "containerPort": 8080}
    if host_port is not None:
        port["hostPort"] = host_port
    annotations = {"claim.hostport.rmb938.com/web": claim} if claim else {}
    return json.dumps(
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
            "spec": {
                "containers": [
                    {
                        "name": "echo",
                        "image": "k8s.gcr.io/echoserver:1.4",
                        "ports": [port],
                        "env": [
                            {
                                "name": "MY_HOST_PORT",
                                "valueFrom": {
                                    "fieldRef": {
                                        "fieldPath": "metadata.annotations"
                                        "['port.hostport.rmb938.com/web']"
                                    }
                                },
                            }
                        ],
                    }
                ]
            },
        }
    )


async def bind(kubectl: Kubectl, claim: str, port: int) -> None:
    """Make a claim Bound to ``port`` through the status subresource (as the operator would)."""
    status = json.dumps({"status": {"phase": "Bound", "port": port}})
    await kubectl(
        "patch",
        "hostportclaim",
        claim,
        "-n",
        "default",
        "--subresource=status",
        "--type=merge",
        "-p",
        status,
    )


@pytest.fixture
async def quickstart(admission: None, kubectl: Kubectl) -> None:
    """The quickstart's steps 1-3: the labelled namespace, the class and the claim."""
    await kubectl("label", "namespace", "default", "hostport.rmb938.com=true")
    await kubectl("apply", "-f", "-", input=QUICKSTART)


async def test_quickstart_pod_gets_its_host_port(quickstart: None, kubectl: Kubectl) -> None:
    """The quickstart pod gets the Bound claim's port as hostPort, annotation and label."""
    await bind(kubectl, "echo-web", 9123)
    await kubectl("apply", "-f", "-", input=pod_manifest())
    pod = json.loads((await kubectl("get", "pod", "echo", "-o", "json")).stdout)
    assert pod["spec"]["containers"][0]["ports"][0]["hostPort"] == 9123
    assert pod["metadata"]["annotations"]["port.hostport.rmb938.com/web"] == "9123"
    assert pod["metadata"]["labels"][api.POD_LABEL] == "true"


async def test_raw_host_port_in_managed_namespace_is_denied(
    quickstart: None, kubectl: Kubectl
) -> None:
    """A pod with a hostPort of its own is refused with a message naming field and fix."""
    result = await kubectl(
        "apply", "-f", "-", input=pod_manifest(claim=None, host_port=8080), check=False
    )
    assert result.returncode != 0
    assert (
        "spec.containers[0].ports[0].hostPort: 8080 is not given by a HostPortClaim"
        in result.stderr
    )


async def test_unmanaged_namespace_is_untouched(quickstart: None, kubectl: Kubectl) -> None:
    """In a namespace without the label, pods are neither changed nor policed."""
    # (applied rather than `kubectl create namespace`, which sends protobuf to the sandbox)
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "plain"}}
    await kubectl("apply", "-f", "-", input=json.dumps(namespace))
    await kubectl("apply", "-f", "-", input=pod_manifest(namespace="plain", host_port=8080))
    pod = json.loads((await kubectl("get", "pod", "echo", "-n", "plain", "-o", "json")).stdout)
    assert pod["spec"]["containers"][0]["ports"][0]["hostPort"] == 8080
    assert "port.hostport.rmb938.com/web" not in pod["metadata"].get("annotations", {})
    assert api.POD_LABEL not in pod["metadata"].get("labels", {})


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        pytest.param(
            "echo-web", "HostPortClaim default/echo-web is Pending, not Bound", id="unbound"
        ),
        pytest.param("missing", "HostPortClaim default/missing does not exist", id="unknown"),
    ],
)
async def test_pod_naming_an_unusable_claim_is_denied(
    quickstart: None, kubectl: Kubectl, claim: str, expected: str
) -> None:
    """A pod whose claim is not Bound, or does not exist, is refused saying which and why."""
    result = await kubectl("apply", "-f", "-", input=pod_manifest(claim=claim), check=False)
    assert result.returncode != 0
    assert expected in result.stderr


async def test_class_overlapping_another_is_allowed_with_a_warning(
    quickstart: None, kubectl: Kubectl
) -> None:
    """kubectl shows the webhook's warning naming the other class whose pools overlap."""
    games = {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLASS,
        "metadata": {"name": "games"},
        "spec": {"pools": [{"start": 9400, "end": 9600}]},
    }
    result = await kubectl("apply", "-f", "-", input=json.dumps(games))
    assert (
        "Warning: spec.pools[0]: 9400-9600 overlaps pool 9000-9500 of HostPortClass 'sample'"
        in result.stderr
    )
