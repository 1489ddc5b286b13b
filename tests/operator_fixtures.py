"""What the operator scenarios need of a cluster, and manifests they create."""

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Protocol

import anyio

from hpa import api, controllers, kube
from hpa.cli import _operator

Obj = dict[str, Any]
Start = Callable[..., AbstractAsyncContextManager[controllers.Manager]]


class Cluster(Protocol):
    """An API server the scenarios drive: reads are synchronous snapshots."""

    async def add(self, plural: str, obj: Obj) -> None:
        """Create an object of the resource ``plural``."""

    async def delete(self, plural: str, name: str, namespace: str = "") -> None:
        """Delete an object (finalizers apply)."""

    def get(self, plural: str, name: str, namespace: str = "") -> Obj | None:
        """One object, or None."""

    def items(self, plural: str) -> list[Obj]:
        """Every object of a resource."""

    def count(self, plural: str, phase: str = "") -> int:
        """How many objects (with ``status.phase``, if given)."""

    def fail(self, *, verb: str, resource: str, status: int, times: int = 1) -> None:
        """Fail the next ``times`` matching requests with ``status``."""

    def drop_watches(self) -> None:
        """Close every open watch."""

    def expire(self) -> None:
        """Make every earlier resourceVersion answer 410 Gone."""


def operator_starter(transport: Callable[[], kube.Transport | None], **defaults: Any) -> Start:
    """A context manager factory that runs an operator; keyword arguments override config."""

    @asynccontextmanager
    async def start(**overrides: Any) -> AsyncIterator[controllers.Manager]:
        settings: dict[str, Any] = {
            "namespace": "default",
            "leader_elect": False,
            "repair_interval": 3600.0,
            **defaults,
            **overrides,
        }
        config = _operator.OperatorConfig(**settings)

        async def run(*, task_status: Any) -> None:
            await _operator.run_operator(config, transport=transport(), task_status=task_status)

        async with anyio.create_task_group() as group:
            yield await group.start(run)
            group.cancel_scope.cancel()

    return start


def sample_class(name: str = "sample", *pools: tuple[int, int]) -> Obj:
    """A HostPortClass manifest."""
    pools = pools or ((9000, 9500),)
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLASS,
        "metadata": {"name": name},
        "spec": {"pools": [{"start": s, "end": e} for s, e in pools]},
    }


def per_node_class(
    name: str, *pools: tuple[int, int], node_selector: dict[str, str] | None = None
) -> Obj:
    """A per-node HostPortClass manifest (allocation PerNode, an optional nodeSelector)."""
    obj = sample_class(name, *pools)
    obj["spec"]["allocation"] = api.ALLOCATION_PER_NODE
    if node_selector:
        obj["spec"]["nodeSelector"] = node_selector
    return obj


def node(name: str, *, labels: dict[str, str] | None = None, cordoned: bool = False) -> Obj:
    """A Node manifest; ``cordoned`` sets spec.unschedulable as ``kubectl cordon`` does."""
    obj: Obj = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name}, "spec": {}}
    if labels:
        obj["metadata"]["labels"] = labels
    if cordoned:
        obj["spec"]["unschedulable"] = True
    return obj


def claim(name: str, *, namespace: str = "default", class_name: str = "sample") -> Obj:
    """A HostPortClaim manifest."""
    return {
        "apiVersion": api.API_VERSION,
        "kind": api.KIND_CLAIM,
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hostPortClassName": class_name},
    }


def pod(name: str, *, namespace: str = "default", claims: dict[str, str]) -> Obj:
    """A pod that uses claims (port name → claim name), labelled as the webhook does."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {api.POD_LABEL: "true"},
            "annotations": {f"{api.CLAIM_ANNOTATION_PREFIX}{p}": c for p, c in claims.items()},
        },
        "spec": {
            "containers": [
                {
                    "name": "app",
                    "image": "registry.invalid/app:1",
                    "ports": [{"name": p, "containerPort": 8080 + i} for i, p in enumerate(claims)],
                }
            ]
        },
    }


def http_pod_spec() -> Obj:
    """The spec of a pod with one container port named ``http``."""
    container = {"name": "web", "image": "registry.invalid/web:1"}
    return {"containers": [{**container, "ports": [{"name": "http", "containerPort": 8080}]}]}
