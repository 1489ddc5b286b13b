"""Fakes and builders for the webhook tests: an in-memory cluster and review requests."""

import asyncio
import contextlib
import copy
import datetime as dt
import json
import ssl
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

import msgspec

from hpa import api, certs, kube, webhook


class FakeCluster:
    """ClaimReader, NamespaceReader and ClassReader over dicts; counts live reads."""

    def __init__(self) -> None:
        self.cached: dict[tuple[str, str], api.HostPortClaim] = {}
        self.live: dict[tuple[str, str], api.HostPortClaim] = {}
        self.namespaces: dict[str, dict[str, str]] = {}
        self.hostport_classes: list[api.HostPortClass] = []
        self.fetches: list[tuple[str, str]] = []
        self.fetch_error: Exception | None = None
        self.claimed_pods: list[kube.Pod] = []

    def claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        return self.cached.get((namespace, name))

    async def fetch_claim(self, namespace: str, name: str) -> api.HostPortClaim | None:
        self.fetches.append((namespace, name))
        if self.fetch_error is not None:
            raise self.fetch_error
        return self.live.get((namespace, name))

    def namespace_labels(self, name: str) -> Mapping[str, str] | None:
        return self.namespaces.get(name)

    def classes(self) -> Iterable[api.HostPortClass]:
        return list(self.hostport_classes)

    def pods_using(self, namespace: str, claim_name: str) -> list[kube.Pod]:
        return [
            p
            for p in self.claimed_pods
            if p.namespace == namespace and claim_name in p.claims.values()
        ]

    def add_claim(
        self,
        name: str,
        *,
        namespace: str = "default",
        phase: str = api.PHASE_BOUND,
        port: int = 9000,
        cached: bool = True,
        deleting: bool = False,
    ) -> api.HostPortClaim:
        meta = api.ObjectMeta(
            name=name,
            namespace=namespace,
            deletion_timestamp=api.now() if deleting else None,
        )
        claim = api.HostPortClaim(
            metadata=meta,
            spec=api.HostPortClaimSpec(host_port_class_name="sample"),
            status=api.HostPortClaimStatus(phase=phase, port=port if phase else 0),
        )
        self.live[(namespace, name)] = claim
        if cached:
            self.cached[(namespace, name)] = claim
        return claim

    def add_class(self, name: str, *pools: tuple[int, int]) -> None:
        self.hostport_classes.append(
            api.HostPortClass(
                metadata=api.ObjectMeta(name=name),
                spec=api.HostPortClassSpec(
                    pools=tuple(api.PortPool(start=s, end=e) for s, e in pools)
                ),
            )
        )


def managed_cluster() -> FakeCluster:
    """A cluster with the managed namespace ``default`` and the unmanaged ``other``."""
    c = FakeCluster()
    c.namespaces["default"] = {api.NAMESPACE_LABEL: api.NAMESPACE_LABEL_VALUE}
    c.namespaces["other"] = {}
    return c


def quickstart_pod() -> dict[str, Any]:
    """The pod of the original project's quickstart."""
    return {
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


def review_body(
    obj: Any,
    *,
    operation: str = "CREATE",
    old: Any = None,
    namespace: str = "default",
    group: str = "",
    resource: str = "pods",
    sub_resource: str = "",
    uid: str = "0f1e2d3c",
    name: str = "",
    dry_run: bool = False,
) -> dict[str, Any]:
    """An AdmissionReview v1 as the API server sends it."""
    request: dict[str, Any] = {
        "uid": uid,
        "kind": {"group": group, "version": "v1", "kind": "Pod"},
        "resource": {"group": group, "version": "v1", "resource": resource},
        "name": name or (obj or {}).get("metadata", {}).get("name", ""),
        "namespace": namespace,
        "operation": operation,
        "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
        "object": obj,
        "oldObject": old,
    }
    if sub_resource:
        request["subResource"] = sub_resource
    if dry_run:
        request["dryRun"] = True
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def make_request(obj: Any, **kwargs: Any) -> webhook.AdmissionRequest:
    """The decoded request of :func:`review_body`."""
    return webhook.decode_review(json.dumps(review_body(obj, **kwargs)).encode())


def _unescape(token: str) -> str:
    return token.replace("~1", "/").replace("~0", "~")


def apply_patch(obj: Any, response: webhook.AdmissionResponse) -> Any:
    """``obj`` with the response's JSON patch applied (the ``add`` operations hpa emits)."""
    result = copy.deepcopy(obj)
    if response.patch is None:
        return result
    assert response.patch_type == "JSONPatch"
    for op in json.loads(response.patch):
        assert op["op"] == "add", op
        tokens = [_unescape(t) for t in op["path"].split("/")[1:]]
        target = result
        for token in tokens[:-1]:
            target = target[int(token)] if isinstance(target, list) else target[token]
        target[tokens[-1]] = op["value"]
    return result


def wire(response: webhook.AdmissionResponse) -> dict[str, Any]:
    """The response as the API server reads it (patch base64-encoded)."""
    encoded: dict[str, Any] = json.loads(msgspec.json.encode(response))
    return encoded


def json_patch(response: webhook.AdmissionResponse) -> list[dict[str, Any]]:
    """The response's JSON patch, decoded."""
    assert response.patch is not None
    operations: list[dict[str, Any]] = json.loads(response.patch)
    return operations


def serving_tls() -> tuple[certs.ServingTLS, ssl.SSLContext]:
    """A server TLS context holding a certificate for 127.0.0.1, and a client context that
    trusts it."""
    now = dt.datetime.now(dt.UTC)
    ca = certs.new_ca(now=now, lifetime=dt.timedelta(days=1))
    pair = certs.new_serving(
        ca=ca,
        dns_names=["hpa-webhook.hpa.svc"],
        ip_addresses=["127.0.0.1"],
        now=now,
        lifetime=dt.timedelta(hours=1),
    )
    tls = certs.ServingTLS()
    tls.load(pair)
    return tls, ssl.create_default_context(cadata=ca.cert_pem.decode())


def admission_server(
    cluster: FakeCluster, *, ssl_context: ssl.SSLContext | None, **options: Any
) -> webhook.AdmissionServer:
    """hpa's three handlers over ``cluster``, served on a free port of 127.0.0.1."""
    handlers = webhook.handlers(claims=cluster, namespaces=cluster, classes=cluster)
    return webhook.AdmissionServer(
        handlers=handlers, ssl_context=ssl_context, host="127.0.0.1", port=0, **options
    )


class _Started:
    """The ``task_status`` of a server run as a plain asyncio task."""

    def __init__(self) -> None:
        self.port: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    def started(self, value: int) -> None:
        self.port.set_result(value)


@contextlib.asynccontextmanager
async def running(server: webhook.AdmissionServer) -> AsyncIterator[int]:
    """``server`` running inside the block; yields its port.

    It runs as an asyncio task rather than in a task group, so that pytest fixtures, whose
    set-up and tear-down run in different tasks, can hold it open.
    """
    status = _Started()
    task = asyncio.get_running_loop().create_task(server.run(task_status=status))  # type: ignore[arg-type]
    try:
        await asyncio.wait([status.port, task], return_when=asyncio.FIRST_COMPLETED)
        yield status.port.result()
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
