"""Node objects for the scheduler, and a stand-in kubelet for the pods bound to them.

No container runs here. What a kubelet would report, the stand-in reports: a bound pod becomes
Running and Ready (so that a StatefulSet's ordered rollout goes on), and a pod being deleted is
removed once its grace period would start (a kubelet confirms the deletion with a zero-grace
DELETE once its containers have stopped). Nothing else of the kubelet is imitated.
"""

import asyncio
import datetime
import logging
from typing import Any

import aiohttp

from localcluster._api import Api, ApiError, Obj

log = logging.getLogger("hack.cluster")

NODE_NAMES = ("node-1", "node-2", "node-3")
_CAPACITY = {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def create_nodes(api: Api) -> None:
    """Create the nodes, Ready and without the not-ready taint admission puts on new nodes."""
    for index, name in enumerate(NODE_NAMES, start=1):
        labels = {"kubernetes.io/hostname": name, "kubernetes.io/os": "linux"}
        await api.call(
            "POST",
            "/api/v1/nodes",
            {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels}},
        )
        # TaintNodesByCondition taints every new node not-ready until its kubelet reports in.
        await api.call(
            "PATCH",
            f"/api/v1/nodes/{name}",
            {"spec": {"taints": None}},
            content_type="application/merge-patch+json",
        )
        status = {
            "capacity": _CAPACITY,
            "allocatable": _CAPACITY,
            "addresses": [
                {"type": "InternalIP", "address": f"127.0.1.{index}"},
                {"type": "Hostname", "address": name},
            ],
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "stand-in kubelet (hack/cluster)",
                    "lastHeartbeatTime": _now(),
                    "lastTransitionTime": _now(),
                }
            ],
        }
        await api.call(
            "PATCH",
            f"/api/v1/nodes/{name}/status",
            {"status": status},
            content_type="application/merge-patch+json",
        )


def _running_status(pod: Obj) -> dict[str, Any]:
    now = _now()
    ready = [
        {"type": t, "status": "True", "lastTransitionTime": now}
        for t in ("PodScheduled", "Initialized", "ContainersReady", "Ready")
    ]
    containers = [
        {
            "name": c["name"],
            "image": c.get("image", ""),
            "imageID": "",
            "ready": True,
            "started": True,
            "restartCount": 0,
            "state": {"running": {"startedAt": now}},
        }
        for c in pod["spec"].get("containers", [])
    ]
    return {
        "phase": "Running",
        "conditions": ready,
        "containerStatuses": containers,
        "startTime": now,
    }


async def _handle(api: Api, pod: Obj) -> None:
    meta = pod["metadata"]
    path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}"
    if meta.get("deletionTimestamp"):
        body = {"gracePeriodSeconds": 0, "preconditions": {"uid": meta["uid"]}}
        await api.call("DELETE", path, body)
    elif pod.get("status", {}).get("phase") == "Pending":
        status = {"status": _running_status(pod)}
        await api.call(
            "PATCH", f"{path}/status", status, content_type="application/merge-patch+json"
        )


async def _act(api: Api, pod: Obj) -> None:
    try:
        await _handle(api, pod)
    except ApiError as error:
        if error.status not in (404, 409):  # gone already, or changed since: the watch follows
            log.warning("stand-in kubelet: %s", error)


async def run_kubelet(api: Api) -> None:
    """Watch the pods bound to the nodes and act on each as a kubelet would, until cancelled."""
    selector = {"fieldSelector": "spec.nodeName!="}
    while True:
        try:
            listed = await api.call("GET", "/api/v1/pods", params=selector)
            for pod in listed.get("items", []):
                await _act(api, pod)
            version = listed["metadata"]["resourceVersion"]
            params = {**selector, "resourceVersion": version, "timeoutSeconds": "300"}
            async for event in api.watch("/api/v1/pods", params):
                if event["type"] == "ERROR":  # 410 Gone, mostly: list again
                    break
                if event["type"] in ("ADDED", "MODIFIED"):
                    await _act(api, event["object"])
        except (ApiError, aiohttp.ClientError, OSError, TimeoutError, ValueError) as error:
            log.warning("stand-in kubelet: watch ended (%s), listing again", error)
            await asyncio.sleep(1)
