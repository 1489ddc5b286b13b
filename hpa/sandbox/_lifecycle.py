"""Deletion and what follows it: finalizers, garbage collection, namespaces and CRDs.

- "Finalizers" (Kubernetes concepts, "Objects"): a delete of an object with finalizers only
  sets ``deletionTimestamp``; the write that removes the last finalizer removes the object
  (done in :meth:`._engine.Engine.replace`).
- "Garbage collection" (``ownerReferences``): with ``Background`` propagation the owner goes
  at once and its dependents are deleted afterwards by a background worker, like kube's
  garbage collector; ``Foreground`` keeps the owner (finalizer ``foregroundDeletion``) until
  its dependents are gone; ``Orphan`` removes the owner references of the dependents.
- "Namespaces": deleting one marks it ``Terminating``, deletes its content, and removes it
  once nothing is left (objects with finalizers keep it waiting, as in a cluster).
- CRDs: storing one serves its resources (and updates discovery) with ``Established`` and
  ``NamesAccepted`` conditions; deleting one deletes its custom resources.
"""

import math
from typing import Any

import anyio
import structlog

from hpa.sandbox import _calls, _engine, _errors, _metadata, _resources, _store

JSON = dict[str, Any]
Ref = tuple[_store.StorageKey, _store.Key]
_CRDS = ("apiextensions.k8s.io", "customresourcedefinitions")
_NAMESPACES = ("", "namespaces")
#: Kinds whose delete answers with the deleted object rather than a Status.
_RETURNS_OBJECT = frozenset({("", "pods"), ("", "namespaces")})
_POLL = 0.02

logger = structlog.get_logger(__name__)


class Lifecycle:
    """Delete and the background work that follows (see the module docstring)."""

    def __init__(self, engine: _engine.Engine) -> None:
        self.engine = engine
        self.store = engine.store
        self.registry = engine.registry
        #: owner uid → dependents; uid → object.
        self._dependents: dict[str, set[Ref]] = {}
        self._uids: dict[str, Ref] = {}
        send, receive = anyio.create_memory_object_stream[tuple[str, Any]](math.inf)
        self._work_send = send
        self._work_receive = receive
        engine.hooks.append(self._on_event)
        engine.builtin_defaulters[_CRDS] = self._establish
        engine.builtin_defaulters[_NAMESPACES] = _activate

    # -- indexes and hooks ---------------------------------------------------------------

    def _on_event(self, resource: _resources.Resource, event: _store.Event) -> None:
        meta = event.obj["metadata"]
        ref: Ref = (event.storage, (meta.get("namespace", ""), meta["name"]))
        if event.old is not None:
            for owner in event.old["metadata"].get("ownerReferences") or ():
                self._dependents.get(owner.get("uid", ""), set()).discard(ref)
        if event.type == "DELETED":
            self._uids.pop(meta["uid"], None)
            self._work_send.send_nowait(("collect", meta["uid"]))
        else:
            self._uids[meta["uid"]] = ref
            for owner in meta.get("ownerReferences") or ():
                self._dependents.setdefault(owner.get("uid", ""), set()).add(ref)
                if owner.get("uid", "") not in self._uids:
                    self._work_send.send_nowait(("collect", owner.get("uid", "")))
        if event.storage == _CRDS:
            self._serve_crd(event)

    def _serve_crd(self, event: _store.Event) -> None:
        name = event.obj["metadata"]["name"]
        if event.type == "DELETED":
            for resource in self.registry.remove_crd(name)[:1]:
                self._work_send.send_nowait(("purge", resource.storage_key))
        else:
            self.registry.set_crd(event.obj)

    def _establish(self, crd: JSON) -> None:
        spec = crd.get("spec") or {}
        names = dict(spec.get("names") or {})
        if names.get("kind"):
            names.setdefault("singular", names["kind"].lower())
            names.setdefault("listKind", f"{names['kind']}List")
        stamp = _metadata.now()
        storage = [v["name"] for v in spec.get("versions") or () if v.get("storage")]
        crd["status"] = {
            "acceptedNames": names,
            "storedVersions": storage,
            "conditions": [
                {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts",
                 "message": "no conflicts found", "lastTransitionTime": stamp},
                {"type": "Established", "status": "True", "reason": "InitialNamesAccepted",
                 "message": "the initial names have been accepted", "lastTransitionTime": stamp},
            ],
        }  # fmt: skip

    # -- delete --------------------------------------------------------------------------

    async def delete(self, call: _calls.Call, options: JSON) -> tuple[int, JSON]:
        """DELETE of one object: the HTTP code and the body kube-apiserver would answer."""
        current = self.engine._current(call)
        _check_preconditions(call, current, options.get("preconditions") or {})
        if self.engine.admission is not None:
            await self.engine.admission.validate(call, operation="DELETE", obj=None, old=current)
        policy = options.get("propagationPolicy") or (
            "Orphan" if options.get("orphanDependents") else "Background"
        )
        if call.resource.storage_key == _NAMESPACES:
            return 200, await self._terminate(call, current)
        finalizers = list(current["metadata"].get("finalizers") or ())
        uid = current["metadata"]["uid"]
        if (
            policy == "Foreground"
            and self._dependents.get(uid)
            and "foregroundDeletion" not in finalizers
        ):
            finalizers.append("foregroundDeletion")
        if policy == "Orphan" and not call.dry_run:
            await self._orphan(uid)
        if finalizers:
            return 200, await self._mark_deleted(call, current, finalizers)
        if call.dry_run:
            return 200, self.engine.versioned(call.resource, current)
        removed = _engine.clone(current)
        await self.engine.commit("DELETED", call.resource, removed)
        if call.resource.storage_key in _RETURNS_OBJECT:
            return 200, self.engine.versioned(call.resource, removed)
        return 200, _success(call.resource, removed)

    async def _mark_deleted(self, call: _calls.Call, current: JSON, finalizers: list[str]) -> JSON:
        if current["metadata"].get("deletionTimestamp") and finalizers == current["metadata"].get(
            "finalizers"
        ):
            return self.engine.versioned(call.resource, current)
        marked = _engine.clone(current)
        marked["metadata"].setdefault("deletionTimestamp", _metadata.now())
        marked["metadata"].setdefault("deletionGracePeriodSeconds", 0)
        marked["metadata"]["finalizers"] = finalizers
        if call.dry_run:
            return self.engine.versioned(call.resource, marked)
        await self.engine.commit("MODIFIED", call.resource, marked)
        if "foregroundDeletion" in finalizers:
            self._work_send.send_nowait(("foreground", marked["metadata"]["uid"]))
        return self.engine.versioned(call.resource, marked)

    async def _terminate(self, call: _calls.Call, current: JSON) -> JSON:
        if current["metadata"].get("deletionTimestamp"):
            return dict(current)
        marked: JSON = _engine.clone(current)
        marked["metadata"]["deletionTimestamp"] = _metadata.now()
        marked["metadata"]["deletionGracePeriodSeconds"] = 0
        marked.setdefault("status", {})["phase"] = "Terminating"
        if call.dry_run:
            return marked
        await self.engine.commit("MODIFIED", call.resource, marked)
        self._work_send.send_nowait(("namespace", marked["metadata"]["name"]))
        return marked

    # -- background work -----------------------------------------------------------------

    def close(self) -> None:
        """Release the work queue (after :meth:`run` ended)."""
        self._work_send.close()
        self._work_receive.close()

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Process garbage collection and namespace termination until cancelled."""
        task_status.started()
        async with anyio.create_task_group() as group:
            async for kind, argument in self._work_receive:
                if kind == "collect":
                    await self._collect(argument)
                elif kind == "purge":
                    await self._purge(argument)
                elif kind == "namespace":
                    group.start_soon(self._finish_namespace, argument, name=f"namespace {argument}")
                elif kind == "foreground":
                    group.start_soon(
                        self._finish_foreground, argument, name=f"foreground {argument}"
                    )

    async def _remove(self, ref: Ref, *, policy: str = "Background") -> None:
        storage, key = ref
        resource = self.registry.by_storage(storage)
        if resource is None or self.store.get(storage, key) is None:
            return
        call = _calls.Call(resource=resource, verb="delete", namespace=key[0] or None, name=key[1])
        try:
            await self.delete(call, {"propagationPolicy": policy})
        except _errors.ApiError as error:
            logger.info("background delete failed", ref=str(ref), reason=error.reason)

    async def _collect(self, owner_uid: str) -> None:
        """Delete the dependents whose owners are all gone; drop dangling references."""
        if owner_uid in self._uids:
            return
        for ref in list(self._dependents.pop(owner_uid, ())):
            obj = self.store.get(*ref)
            if obj is None:
                continue
            owners = obj["metadata"].get("ownerReferences") or []
            alive = [o for o in owners if o.get("uid") in self._uids]
            if alive:
                await self._rewrite_owners(ref, obj, alive)
            else:
                await self._remove(ref)

    async def _rewrite_owners(self, ref: Ref, obj: JSON, owners: list[JSON]) -> None:
        resource = self.registry.by_storage(ref[0])
        if resource is None:
            return
        new = _engine.clone(obj)
        new["metadata"]["ownerReferences"] = owners
        if not owners:
            del new["metadata"]["ownerReferences"]
        await self.engine.commit("MODIFIED", resource, new)

    async def _orphan(self, owner_uid: str) -> None:
        for ref in list(self._dependents.pop(owner_uid, ())):
            obj = self.store.get(*ref)
            if obj is not None:
                owners = obj["metadata"].get("ownerReferences") or []
                await self._rewrite_owners(
                    ref, obj, [o for o in owners if o.get("uid") != owner_uid]
                )

    async def _purge(self, storage: _store.StorageKey) -> None:
        resource = self.registry.by_storage(storage)
        for obj in list(self.store.items(storage)):
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            rv = self.store.next_rv()
            removed = {**obj, "metadata": {**meta, "resourceVersion": str(rv)}}
            self.store.write("DELETED", storage, key, removed, rv=rv)
            if resource is not None:
                self._on_event(
                    resource, _store.Event("DELETED", removed, rv=rv, storage=storage, old=obj)
                )

    def _namespaced_storages(self) -> set[_store.StorageKey]:
        return {r.storage_key for r in self.registry.all() if r.namespaced}

    async def _finish_namespace(self, name: str) -> None:
        """Delete a terminating namespace's content, then the namespace itself."""
        while True:
            remaining = 0
            for storage in self._namespaced_storages():
                for obj in list(self.store.items(storage, namespace=name)):
                    remaining += 1
                    if not obj["metadata"].get("deletionTimestamp"):
                        await self._remove((storage, (name, obj["metadata"]["name"])))
            if not remaining:
                break
            await anyio.sleep(_POLL)
        namespace = self.store.get(_NAMESPACES, ("", name))
        resource = self.registry.by_storage(_NAMESPACES)
        if namespace is not None and resource is not None:
            removed = _engine.clone(namespace)
            removed.setdefault("spec", {})["finalizers"] = []
            await self.engine.commit("DELETED", resource, removed)

    async def _finish_foreground(self, uid: str) -> None:
        """Delete an owner's dependents, then drop its ``foregroundDeletion`` finalizer."""
        while True:
            dependents = [
                r for r in self._dependents.get(uid, ()) if self.store.get(*r) is not None
            ]
            if not dependents:
                break
            for ref in dependents:
                obj = self.store.get(*ref)
                if obj is not None and not obj["metadata"].get("deletionTimestamp"):
                    await self._remove(ref, policy="Foreground")
            await anyio.sleep(_POLL)
        found = self._uids.get(uid)
        if found is None:
            return
        ref = found
        obj = self.store.get(*ref)
        resource = self.registry.by_storage(ref[0])
        if obj is None or resource is None:
            return
        new = _engine.clone(obj)
        finalizers = [
            f for f in new["metadata"].get("finalizers") or () if f != "foregroundDeletion"
        ]
        new["metadata"]["finalizers"] = finalizers
        await self.engine.commit("MODIFIED" if finalizers else "DELETED", resource, new)


def _activate(namespace: JSON) -> None:
    namespace["status"] = {"phase": "Active"}
    namespace.setdefault("spec", {})["finalizers"] = ["kubernetes"]
    labels = namespace["metadata"].setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = namespace["metadata"]["name"]


def _check_preconditions(call: _calls.Call, current: JSON, preconditions: JSON) -> None:
    meta = current["metadata"]
    for field, label in (("uid", "UID"), ("resourceVersion", "ResourceVersion")):
        wanted = preconditions.get(field)
        if wanted and wanted != meta.get(field):
            raise _errors.conflict(
                group=call.resource.group,
                resource=call.resource.plural,
                name=call.name or "",
                detail=(
                    f"Precondition failed: {label} in precondition: {wanted}, "
                    f"{label} in object meta: {meta.get(field)}"
                ),
            )


def _success(resource: _resources.Resource, obj: JSON) -> JSON:
    details: JSON = {"name": obj["metadata"]["name"], "kind": resource.plural,
                     "uid": obj["metadata"]["uid"]}  # fmt: skip
    if resource.group:
        details["group"] = resource.group
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details}  # fmt: skip
