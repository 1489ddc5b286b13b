"""The write path of the API server: create, update, patch and delete of one object.

Each write follows kube-apiserver's order (API concepts, "Admission control" in the
reference): decode and prune, default, mutating admission, re-prune and default, validation
(metadata, schema, CEL), validating admission, then the storage precondition checks
(``AlreadyExists``, resourceVersion ``Conflict``) and the write with the next
resourceVersion. ``dryRun=All`` runs all of it and stores nothing.

Status subresource split ("Subresources" in the CRD documentation): writes to the main
resource keep the stored ``status``; writes to ``/status`` keep everything but ``status``.
Lifecycle side effects (finalizers, garbage collection, namespaces, CRDs) are in
:mod:`._lifecycle`.
"""

import copy
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import msgspec

from hpa.sandbox import (
    _calls,
    _cel,
    _conversion,
    _errors,
    _metadata,
    _patching,
    _resources,
    _store,
    _validation,
)

JSON = dict[str, Any]

PATCH_TYPES = {
    "application/merge-patch+json": "merge",
    "application/json-patch+json": "json",
    "application/strategic-merge-patch+json": "strategic",
    "application/apply-patch+yaml": "apply",
}


class Admitter(Protocol):
    """The admission chain: mutating webhooks, then (after validation) validating ones."""

    async def mutate(
        self, call: _calls.Call, *, operation: str, obj: JSON | None, old: JSON | None
    ) -> JSON | None:
        """The object after mutating webhooks (raises ApiError on denial)."""

    async def validate(
        self, call: _calls.Call, *, operation: str, obj: JSON | None, old: JSON | None
    ) -> None:
        """Raise ApiError if a validating webhook denies."""


def clone(obj: Any) -> Any:
    """A deep copy of a JSON value (msgspec round trip: faster than ``copy.deepcopy``)."""
    return msgspec.json.decode(msgspec.json.encode(obj))


def storage_key(resource: _resources.Resource, namespace: str | None, name: str) -> _store.Key:
    """The store key of an object."""
    return (namespace or "", name) if resource.namespaced else ("", name)


def decode_patch(content_type: str, body: bytes, *, custom: bool) -> tuple[str, Any]:
    """The kind of a PATCH (see ``PATCH_TYPES``) and its decoded body; 415 for apply patches,
    and for strategic merge patches of custom resources, as kube-apiserver answers."""
    kind = PATCH_TYPES.get(content_type.split(";")[0].strip())
    if kind is None or kind == "apply" or (kind == "strategic" and custom):
        raise _errors.unsupported_media_type(content_type)
    try:
        return kind, msgspec.json.decode(body)
    except msgspec.DecodeError as error:
        raise _errors.bad_request(f"error decoding patch: {error}") from error


#: Tries of a patch without a resourceVersion precondition against concurrent writes.
_MAX_PATCH_ATTEMPTS = 5


class _Stale(Exception):
    """The stored object changed while an update's admission webhooks ran."""


def _names_resource_version(patch: Any) -> bool:
    """Whether a patch carries a resourceVersion precondition (merge, strategic or JSON)."""
    if isinstance(patch, dict):
        return bool((patch.get("metadata") or {}).get("resourceVersion"))
    if isinstance(patch, list):
        return any(
            isinstance(op, dict) and op.get("path") == "/metadata/resourceVersion" for op in patch
        )
    return False


class Engine:
    """Create, update, patch and delete against the store (see the module docstring)."""

    def __init__(self, *, registry: _resources.Registry, store: _store.Store) -> None:
        self.registry = registry
        self.store = store
        self.admission: Admitter | None = None
        #: Called after each committed write: (event) → side effects (CRDs, lifecycle).
        self.hooks: list[Callable[[_resources.Resource, _store.Event], Awaitable[None] | None]] = []
        #: Kind-specific validation and defaulting of built-in kinds, by storage key.
        self.builtin_validators: dict[
            tuple[str, str], Callable[[JSON, JSON | None], list[JSON]]
        ] = {}
        self.builtin_defaulters: dict[tuple[str, str], Callable[[JSON], None]] = {}
        #: Admission plugins that run after validating webhooks on create (ResourceQuota).
        self.create_checks: list[Callable[[_calls.Call, JSON], None]] = []

    # -- reads ---------------------------------------------------------------------------

    def get(self, call: _calls.Call) -> JSON:
        """The object addressed by a call, or 404."""
        assert call.name is not None
        obj = self.store.get(
            call.resource.storage_key, storage_key(call.resource, call.namespace, call.name)
        )
        if obj is None:
            raise _errors.not_found(
                group=call.resource.group, resource=call.resource.plural, name=call.name
            )
        return self.versioned(call.resource, obj)

    @staticmethod
    def versioned(resource: _resources.Resource, obj: JSON) -> JSON:
        """The object as the requested version spells it (see :mod:`._conversion`)."""
        return _conversion.from_storage(resource, obj)

    # -- checks --------------------------------------------------------------------------

    def check_namespace(self, call: _calls.Call, *, creating: bool) -> None:
        """404 if the namespace is missing; 403 on create in a terminating namespace."""
        if not call.resource.namespaced:
            return
        namespace = self.store.get(("", "namespaces"), ("", call.namespace or ""))
        if namespace is None:
            raise _errors.not_found(group="", resource="namespaces", name=call.namespace or "")
        if creating and namespace["metadata"].get("deletionTimestamp"):
            message = (
                f"unable to create new content in namespace {call.namespace} because it is "
                "being terminated"
            )
            raise _errors.forbidden(
                f'{_errors.qualified(call.resource.plural, call.resource.group)} '
                f'"{call.name or ""}" is forbidden: {message}',
                details={
                    "name": call.name or "",
                    "kind": call.resource.plural,
                    "causes": [
                        {"reason": "NamespaceTerminating", "message": message,
                         "field": "metadata.namespace"}
                    ],
                },
            )  # fmt: skip

    def _prune(self, call: _calls.Call, obj: JSON) -> None:
        schema = call.resource.schema
        if not call.resource.custom or schema is None:
            return
        dropped = _validation.prune(schema, obj)
        if dropped and call.field_validation == "Strict":
            text = ", ".join(f'unknown field "{path}"' for path in dropped)
            raise _errors.bad_request(f"strict decoding error: {text}")
        if dropped and call.field_validation == "Warn":
            call.warnings.extend(f'unknown field "{path}"' for path in dropped)
        _validation.apply_defaults(schema, obj)

    def _validate(self, call: _calls.Call, obj: JSON, old: JSON | None) -> None:
        resource = call.resource
        causes = _metadata.validate(resource, obj)
        if resource.custom and resource.schema is not None:
            body = {k: v for k, v in obj.items() if k not in ("metadata", "apiVersion", "kind")}
            causes.extend(_validation.validate(resource.schema, body))
            if not causes:
                causes.extend(_cel.validate(resource.schema, obj, old))
        validator = self.builtin_validators.get(resource.storage_key)
        if validator is not None:
            causes.extend(validator(obj, old))
        if causes:
            raise _errors.invalid(
                group=resource.group,
                kind=resource.kind,
                name=obj["metadata"].get("name", ""),
                causes=causes,
            )

    # -- create --------------------------------------------------------------------------

    def _settle_name(self, call: _calls.Call, obj: JSON) -> None:
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise _errors.bad_request("metadata must be an object")
        if (
            meta.get("namespace")
            and call.resource.namespaced
            and meta["namespace"] != call.namespace
        ):
            raise _errors.bad_request(
                "the namespace of the provided object does not match the namespace sent on the "
                "request"
            )
        if not meta.get("name") and meta.get("generateName"):
            meta["name"] = _metadata.generate_name(meta["generateName"])
        if not meta.get("name"):
            raise _errors.invalid(
                group=call.resource.group,
                kind=call.resource.kind,
                name="",
                causes=[
                    _errors.field_cause(
                        "metadata.name",
                        "Required value: name or generateName is required",
                        reason="FieldValueRequired",
                    )
                ],
            )
        call.name = meta["name"]

    def _check_kind(self, call: _calls.Call, obj: JSON) -> None:
        kind = obj.get("kind")
        if kind and kind != call.resource.kind:
            raise _errors.bad_request(
                f"the API version in the data ({obj.get('apiVersion')}) does not match the "
                f"expected API version ({call.resource.api_version}) or kind {kind!r} is not "
                f"{call.resource.kind!r}"
            )

    async def create(self, call: _calls.Call, body: Any) -> JSON:
        """POST: create an object (``201`` with the stored object)."""
        if not isinstance(body, dict):
            raise _errors.bad_request("the body of a create must be an object")
        self._check_kind(call, body)
        obj = _conversion.to_storage(call.resource, body)
        self._settle_name(call, obj)
        self.check_namespace(call, creating=True)
        self._prune(call, obj)
        resource = call.resource
        _metadata.prepare_create(resource, obj, call.namespace)
        if resource.has_status:
            obj.pop("status", None)
        defaulter = self.builtin_defaulters.get(resource.storage_key)
        if defaulter is not None:
            defaulter(obj)
        if self.admission is not None:
            mutated = await self.admission.mutate(call, operation="CREATE", obj=obj, old=None)
            if mutated is not None and mutated is not obj:
                _metadata.restore_system(obj, mutated, resource=resource)
                obj = mutated
                self._prune(call, obj)
        self._validate(call, obj, None)
        if self.admission is not None:
            await self.admission.validate(call, operation="CREATE", obj=obj, old=None)
        for check in self.create_checks:
            check(call, obj)
        key = storage_key(resource, call.namespace, obj["metadata"]["name"])
        if self.store.get(resource.storage_key, key) is not None:
            raise _errors.already_exists(
                group=resource.group, resource=resource.plural, name=obj["metadata"]["name"]
            )
        if call.dry_run:
            return self.versioned(resource, obj)
        return self.versioned(resource, await self.commit("ADDED", resource, obj))

    async def commit(self, type: str, resource: _resources.Resource, obj: JSON) -> JSON:
        """Store a write with the next resourceVersion and run the hooks."""
        rv = self.store.next_rv()
        obj["metadata"]["resourceVersion"] = str(rv)
        key = storage_key(resource, obj["metadata"].get("namespace"), obj["metadata"]["name"])
        event = self.store.write(type, resource.storage_key, key, obj, rv=rv)
        for hook in self.hooks:
            result = hook(resource, event)
            if result is not None:
                await result
        return obj

    # -- update --------------------------------------------------------------------------

    def _current(self, call: _calls.Call) -> JSON:
        assert call.name is not None
        key = storage_key(call.resource, call.namespace, call.name)
        current = self.store.get(call.resource.storage_key, key)
        if current is None:
            raise _errors.not_found(
                group=call.resource.group, resource=call.resource.plural, name=call.name
            )
        return current

    def _conflict(self, call: _calls.Call) -> _errors.ApiError:
        return _errors.conflict(
            group=call.resource.group, resource=call.resource.plural, name=call.name or ""
        )

    async def update(self, call: _calls.Call, body: Any) -> JSON:
        """PUT: replace an object (optimistic concurrency on ``metadata.resourceVersion``)."""
        if not isinstance(body, dict) or not isinstance(body.get("metadata", {}), dict):
            raise _errors.bad_request("the body of an update must be an object")
        self._check_kind(call, body)
        current = self._current(call)
        name = body.get("metadata", {}).get("name")
        if name and name != call.name:
            raise _errors.bad_request(
                f"the name of the object ({name}) does not match the name on the URL ({call.name})"
            )
        rv = body.get("metadata", {}).get("resourceVersion")
        if rv and rv != current["metadata"]["resourceVersion"]:
            raise self._conflict(call)
        body = _conversion.to_storage(call.resource, body)
        if not rv and call.resource.custom:
            raise _errors.invalid(
                group=call.resource.group,
                kind=call.resource.kind,
                name=call.name or "",
                causes=[
                    _errors.field_cause(
                        "metadata.resourceVersion",
                        "Invalid value: 0x0: must be specified for an update",
                    )
                ],
            )
        try:
            return await self.replace(call, current, body)
        except _Stale:
            raise self._conflict(call) from None

    async def patch(self, call: _calls.Call, content_type: str, body: bytes) -> JSON:
        """PATCH: apply a merge, JSON or strategic merge patch to the stored object."""
        kind, patch = decode_patch(content_type, body, custom=call.resource.custom)
        # As GuaranteedUpdate: a patch is applied to the object as stored; if another write
        # lands while admission runs, a patch without a resourceVersion precondition is applied
        # again to the new object, one with it is a Conflict.
        for _ in range(_MAX_PATCH_ATTEMPTS):
            current = self._current(call)
            patched = self._apply_patch(call, kind, patch, current)
            rv = patched["metadata"].get("resourceVersion")
            if rv and rv != current["metadata"]["resourceVersion"]:
                raise self._conflict(call)
            try:
                return await self.replace(call, current, patched)
            except _Stale:
                if _names_resource_version(patch):
                    raise self._conflict(call) from None
        raise self._conflict(call)

    def _apply_patch(self, call: _calls.Call, kind: str, patch: Any, current: JSON) -> JSON:
        patched = _patching.apply(kind, self.versioned(call.resource, current), patch)
        if not isinstance(patched, dict) or not isinstance(patched.get("metadata"), dict):
            raise _errors.bad_request("the patched object is not a Kubernetes object")
        stored: JSON = _conversion.to_storage(call.resource, clone(patched))
        return stored

    def _split_status(self, call: _calls.Call, current: JSON, new: JSON) -> JSON:
        if call.subresource == "finalize":
            # Namespaces' /finalize writes spec.finalizers only.
            merged = clone(current)
            finalizers = (new.get("spec") or {}).get("finalizers") or []
            merged.setdefault("spec", {})["finalizers"] = finalizers
            return dict(merged)
        if call.subresource == "status":
            merged = copy.copy(current)
            merged["metadata"] = dict(current["metadata"])
            if "status" in new:
                merged["status"] = new["status"]
            else:
                merged.pop("status", None)
            return merged
        if call.resource.has_status:
            if "status" in current:
                new["status"] = current["status"]
            else:
                new.pop("status", None)
        return new

    async def replace(self, call: _calls.Call, current: JSON, body: JSON) -> JSON:
        """Write ``body`` over ``current`` (the common tail of update and patch)."""
        resource = call.resource
        new = self._split_status(call, current, body)
        _metadata.carry_over(resource, current, new)
        self._prune(call, new)
        self._check_finalizers(call, current, new)
        if self.admission is not None:
            mutated = await self.admission.mutate(call, operation="UPDATE", obj=new, old=current)
            if mutated is not None and mutated is not new:
                new = self._split_status(call, current, mutated)
                _metadata.carry_over(resource, current, new)
                self._prune(call, new)
        self._validate(call, new, current)
        if self.admission is not None:
            await self.admission.validate(call, operation="UPDATE", obj=new, old=current)
            # webhooks were awaited: another write may have landed meanwhile (the storage's
            # compare-and-swap on resourceVersion, which kube-apiserver does after admission)
            stored = self.store.get(
                resource.storage_key,
                storage_key(
                    resource, current["metadata"].get("namespace"), current["metadata"]["name"]
                ),
            )
            if (
                stored is None
                or stored["metadata"]["resourceVersion"] != (current["metadata"]["resourceVersion"])
            ):
                raise _Stale
        new["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        if _metadata.same_content(current, new):
            return self.versioned(resource, current)
        if call.dry_run:
            return self.versioned(resource, new)
        if new["metadata"].get("deletionTimestamp") and not new["metadata"].get("finalizers"):
            return self.versioned(resource, await self.commit("DELETED", resource, new))
        return self.versioned(resource, await self.commit("MODIFIED", resource, new))

    def _check_finalizers(self, call: _calls.Call, current: JSON, new: JSON) -> None:
        if not current["metadata"].get("deletionTimestamp"):
            return
        old = set(current["metadata"].get("finalizers") or ())
        added = [f for f in new["metadata"].get("finalizers") or () if f not in old]
        if added:
            raise _errors.invalid(
                group=call.resource.group,
                kind=call.resource.kind,
                name=call.name or "",
                causes=[
                    _errors.field_cause(
                        "metadata.finalizers",
                        "Forbidden: no new finalizers can be added if the object is being deleted, "
                        f"found new finalizers {added!r}",
                        reason="FieldValueForbidden",
                    )
                ],
            )
