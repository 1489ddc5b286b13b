"""A StatefulSet controller, as kube-controller-manager runs one, for what hpa relies on.

For each StatefulSet it keeps the pods ``<name>-<ordinal>`` for ordinals ``0 … replicas-1``:
it creates the missing ones lowest first and deletes those at or above ``replicas`` highest
first. A pod is made from ``spec.template`` with an ownerReference to its StatefulSet
(``controller``, ``blockOwnerDeletion``) and the labels the real controller sets
(``statefulset.kubernetes.io/pod-name``, ``apps.kubernetes.io/pod-index``,
``controller-revision-hash``). It is created through the normal write path, admission
included, as kube-apiserver admits the pods the real controller creates: hpa's webhook sees
them. A refused create is an Event ``FailedCreate`` on the StatefulSet and is tried again with
a growing back-off. ``status`` counts the pods.

What it leaves out, as the sandbox has no kubelet: no pod ever becomes Ready here, so it does
not wait for one ordinal to be Ready before the next (``OrderedReady`` behaves as
``Parallel``), and ``readyReplicas`` stays 0. No rolling update of changed templates, no
ControllerRevisions, no ``volumeClaimTemplates``, no adoption of orphaned pods.
"""

import hashlib
import math
from typing import Any

import anyio
import msgspec
import structlog

from hpa.sandbox import _calls, _engine, _errors, _lifecycle, _metadata, _resources, _store

JSON = dict[str, Any]
Key = tuple[str, str]
STATEFULSETS: _store.StorageKey = ("apps", "statefulsets")
_PODS: _store.StorageKey = ("", "pods")
_EVENTS: _store.StorageKey = ("", "events")
_USER = "system:serviceaccount:kube-system:statefulset-controller"
_COMPONENT = "statefulset-controller"
#: First and longest wait before a StatefulSet whose pod create was refused is tried again.
_FIRST_RETRY = 0.05
_LONGEST_RETRY = 5.0

logger = structlog.get_logger(__name__)


def default(statefulset: JSON) -> None:
    """The defaults kube-apiserver gives a StatefulSet's spec."""
    spec = statefulset.setdefault("spec", {})
    if isinstance(spec, dict):
        spec.setdefault("replicas", 1)
        spec.setdefault("podManagementPolicy", "OrderedReady")
        spec.setdefault("revisionHistoryLimit", 10)
        spec.setdefault("persistentVolumeClaimRetentionPolicy",
                        {"whenDeleted": "Retain", "whenScaled": "Retain"})  # fmt: skip
        spec.setdefault("updateStrategy", {"type": "RollingUpdate",
                                           "rollingUpdate": {"partition": 0}})  # fmt: skip


def validate(statefulset: JSON, old: JSON | None) -> list[JSON]:
    """The spec rules of kube-apiserver that a controller depends on."""
    spec = statefulset.get("spec")
    spec = spec if isinstance(spec, dict) else {}
    causes = []
    replicas = spec.get("replicas")
    if not isinstance(replicas, int) or isinstance(replicas, bool) or replicas < 0:
        causes.append(
            _errors.field_cause(
                "spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0"
            )
        )
    selector = (spec.get("selector") or {}).get("matchLabels") or {}
    if not selector:
        causes.append(
            _errors.field_cause("spec.selector", "Required value", reason="FieldValueRequired")
        )
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if selector and any(labels.get(k) != v for k, v in selector.items()):
        causes.append(
            _errors.field_cause(
                "spec.template.metadata.labels",
                f"Invalid value: {labels}: `selector` does not match template `labels`",
            )
        )
    if old is not None:
        for field in ("selector", "serviceName", "podManagementPolicy"):
            if spec.get(field) != (old.get("spec") or {}).get(field):
                causes.append(
                    _errors.field_cause(
                        "spec",
                        "Forbidden: updates to statefulset spec for fields other than "
                        "'replicas', 'ordinals', 'template', 'updateStrategy', "
                        "'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are "
                        "forbidden",
                        reason="FieldValueForbidden",
                    )
                )
                break
    return causes


class StatefulSets:
    """The controller (see the module docstring): a hook queues work, :meth:`run` does it."""

    def __init__(self, engine: _engine.Engine, lifecycle: _lifecycle.Lifecycle) -> None:
        self.engine = engine
        self.lifecycle = lifecycle
        self.store = engine.store
        send, receive = anyio.create_memory_object_stream[Key](math.inf)
        self._send = send
        self._receive = receive
        #: StatefulSets queued and not yet reconciled (a burst of events is one reconcile).
        self._queued: set[Key] = set()
        #: The back-off of StatefulSets whose last pod create was refused.
        self._retry: dict[Key, float] = {}
        engine.hooks.append(self._on_event)

    def _on_event(self, resource: _resources.Resource, event: _store.Event) -> None:
        meta = event.obj["metadata"]
        if event.storage == STATEFULSETS:
            self._queue((meta.get("namespace", ""), meta["name"]))
        elif event.storage == _PODS:
            for owner in meta.get("ownerReferences") or ():
                if owner.get("controller") and owner.get("kind") == "StatefulSet":
                    self._queue((meta.get("namespace", ""), owner.get("name", "")))

    def _queue(self, key: Key) -> None:
        if key not in self._queued:
            self._queued.add(key)
            self._send.send_nowait(key)

    def close(self) -> None:
        """Release the work queue (after :meth:`run` ended)."""
        self._send.close()
        self._receive.close()

    async def run(self) -> None:
        """Reconcile queued StatefulSets until cancelled."""
        async with anyio.create_task_group() as group:
            async for key in self._receive:
                self._queued.discard(key)
                try:
                    refused = await self._reconcile(key)
                except Exception:  # a bug here must not stop the sandbox's other work
                    logger.exception("statefulset reconcile failed", statefulset="/".join(key))
                    refused = True
                if refused:
                    delay = self._retry.get(key, _FIRST_RETRY)
                    self._retry[key] = min(delay * 2, _LONGEST_RETRY)
                    group.start_soon(self._requeue_after, key, delay)
                else:
                    self._retry.pop(key, None)

    async def _requeue_after(self, key: Key, delay: float) -> None:
        await anyio.sleep(delay)
        self._queue(key)

    # -- one StatefulSet -------------------------------------------------------------------

    async def _reconcile(self, key: Key) -> bool:
        """Bring the pods of one StatefulSet to its spec; whether a create was refused."""
        statefulset = self.store.get(STATEFULSETS, key)
        if statefulset is None or statefulset["metadata"].get("deletionTimestamp"):
            return False
        namespace, name = key
        uid = statefulset["metadata"]["uid"]
        replicas = statefulset["spec"].get("replicas", 1)
        pods = {
            pod["metadata"]["name"]: pod
            for pod in self.store.items(_PODS, namespace=namespace)
            if any(
                o.get("uid") == uid and o.get("controller")
                for o in pod["metadata"].get("ownerReferences") or ()
            )
        }
        refused = False
        for ordinal in range(replicas):
            pod_name = f"{name}-{ordinal}"
            if pod_name in pods or self.store.get(_PODS, (namespace, pod_name)) is not None:
                continue  # ours, or in the way (being deleted, or not ours: not adopted)
            created = await self._create_pod(statefulset, ordinal)
            if created is None:
                refused = True
                break
            pods[pod_name] = created
        extra = sorted(
            (_ordinal(pod_name, name), pod_name)
            for pod_name, pod in pods.items()
            if _ordinal(pod_name, name) >= replicas and not pod["metadata"].get("deletionTimestamp")
        )
        for _, pod_name in reversed(extra):
            await self._delete_pod(statefulset, pod_name)
            pods.pop(pod_name, None)
        await self._write_status(key, pods)
        return refused

    async def _create_pod(self, statefulset: JSON, ordinal: int) -> JSON | None:
        pod = _pod(statefulset, ordinal)
        name = pod["metadata"]["name"]
        call = self._call(_PODS, "create", statefulset["metadata"]["namespace"])
        try:
            created = await self.engine.create(call, pod)
        except _errors.ApiError as error:
            await self._record(
                statefulset, "Warning", "FailedCreate",
                f"create Pod {name} in StatefulSet {statefulset['metadata']['name']} failed "
                f"error: {error.message}",
            )  # fmt: skip
            return None
        await self._record(
            statefulset, "Normal", "SuccessfulCreate",
            f"create Pod {name} in StatefulSet {statefulset['metadata']['name']} successful",
        )  # fmt: skip
        return created

    async def _delete_pod(self, statefulset: JSON, name: str) -> None:
        resource = self.engine.registry.by_storage(_PODS)
        assert resource is not None
        call = _calls.Call(
            resource=resource, verb="delete", namespace=statefulset["metadata"]["namespace"],
            name=name, user=_USER,
        )  # fmt: skip
        try:
            await self.lifecycle.delete(call, {})
        except _errors.ApiError as error:
            if error.code != 404:
                await self._record(
                    statefulset, "Warning", "FailedDelete",
                    f"delete Pod {name} in StatefulSet {statefulset['metadata']['name']} failed "
                    f"error: {error.message}",
                )  # fmt: skip
            return
        await self._record(
            statefulset, "Normal", "SuccessfulDelete",
            f"delete Pod {name} in StatefulSet {statefulset['metadata']['name']} successful",
        )  # fmt: skip

    async def _write_status(self, key: Key, pods: dict[str, JSON]) -> None:
        current = self.store.get(STATEFULSETS, key)
        if current is None:
            return
        live = [p for p in pods.values() if not p["metadata"].get("deletionTimestamp")]
        ready = sum(1 for p in live if _ready(p))
        revision = _revision(current)
        counts = {"currentReplicas": len(live), "updatedReplicas": len(live),
                  "readyReplicas": ready}  # fmt: skip
        status = {
            "observedGeneration": current["metadata"].get("generation", 1),
            "replicas": len(live),
            "availableReplicas": ready,
            # the others are omitted when 0, as Go's omitempty writes them
            **{field: count for field, count in counts.items() if count},
            "currentRevision": revision,
            "updateRevision": revision,
            "collisionCount": 0,
        }
        if status == current.get("status"):
            return
        call = self._call(STATEFULSETS, "update", key[0], name=key[1], subresource="status")
        try:
            await self.engine.update(call, {**_engine.clone(current), "status": status})
        except _errors.ApiError as error:  # the next event brings it up to date
            logger.info("statefulset status not written", statefulset=key[1], reason=error.reason)

    async def _record(self, statefulset: JSON, type: str, reason: str, message: str) -> None:
        """An Event about the StatefulSet, as the real controller's recorder writes it."""
        meta = statefulset["metadata"]
        stamp = _metadata.now()
        event = {
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
            "involvedObject": {
                "apiVersion": "apps/v1", "kind": "StatefulSet", "namespace": meta["namespace"],
                "name": meta["name"], "uid": meta["uid"],
                "resourceVersion": meta["resourceVersion"],
            },
            "type": type, "reason": reason, "message": message,
            "source": {"component": _COMPONENT},
            "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
            "reportingComponent": _COMPONENT, "reportingInstance": "",
        }  # fmt: skip
        try:
            await self.engine.create(self._call(_EVENTS, "create", meta["namespace"]), event)
        except _errors.ApiError as error:  # e.g. the namespace is terminating
            logger.info("statefulset event not written", reason=error.reason)

    def _call(
        self,
        storage: _store.StorageKey,
        verb: str,
        namespace: str,
        *,
        name: str | None = None,
        subresource: str | None = None,
    ) -> _calls.Call:
        resource = self.engine.registry.by_storage(storage)
        assert resource is not None
        return _calls.Call(
            resource=resource, verb=verb, namespace=namespace, name=name,
            subresource=subresource, user=_USER,
        )  # fmt: skip


def _pod(statefulset: JSON, ordinal: int) -> JSON:
    """The pod of an ordinal, from the StatefulSet's template."""
    meta = statefulset["metadata"]
    spec = statefulset["spec"]
    template = _engine.clone(spec.get("template") or {})
    template_meta = template.get("metadata") or {}
    name = f"{meta['name']}-{ordinal}"
    labels = {
        **(template_meta.get("labels") or {}),
        "controller-revision-hash": _revision(statefulset),
        "statefulset.kubernetes.io/pod-name": name,
        "apps.kubernetes.io/pod-index": str(ordinal),
    }
    pod_spec = template.get("spec") or {}
    pod_spec.setdefault("hostname", name)
    if spec.get("serviceName"):
        pod_spec.setdefault("subdomain", spec["serviceName"])
    pod_meta: JSON = {
        "name": name,
        "namespace": meta["namespace"],
        "labels": labels,
        "ownerReferences": [
            {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": meta["name"],
             "uid": meta["uid"], "controller": True, "blockOwnerDeletion": True}
        ],
    }  # fmt: skip
    if template_meta.get("annotations"):
        pod_meta["annotations"] = template_meta["annotations"]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": pod_meta, "spec": pod_spec}


def _revision(statefulset: JSON) -> str:
    """A name for the template's revision (a hash of it, as ControllerRevisions are named)."""
    template = msgspec.json.encode(statefulset["spec"].get("template") or {}, order="sorted")
    return f"{statefulset['metadata']['name']}-{hashlib.sha256(template).hexdigest()[:10]}"


def _ordinal(pod_name: str, statefulset_name: str) -> int:
    suffix = pod_name.removeprefix(f"{statefulset_name}-")
    return int(suffix) if suffix.isdigit() else -1


def _ready(pod: JSON) -> bool:
    conditions = (pod.get("status") or {}).get("conditions") or ()
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)
