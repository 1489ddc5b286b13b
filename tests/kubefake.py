"""An in-memory API server behind the :class:`hpa.kube.Transport` seam, for unit tests.

Only what hpa uses, with kube-apiserver's semantics for it: resourceVersions, uids, create
conflicts, merge and JSON patches (with ``metadata.resourceVersion`` preconditions), the
``status`` subresource, delete preconditions, finalizers and deletionTimestamp, paginated lists,
label selectors and the ``metadata.name`` field selector, and watches (resume from a
resourceVersion, ``410 Gone`` when it is too old, ``timeoutSeconds``). Faults are injected per
verb and resource: ``fake.fail(verb="create", resource="hostports", status=500, times=2)``;
``drop_watches()`` closes every open watch and ``expire()`` makes every older resourceVersion too
old. No sockets, no threads.
"""

import copy
import dataclasses
import itertools
import json
import uuid
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc

from hpa import api, kube

Obj = dict[str, Any]


@dataclasses.dataclass
class _Fault:
    verb: str
    resource: str
    status: int
    times: int
    reason: str = ""
    message: str = "injected"


@dataclasses.dataclass
class _Path:
    plural: str
    namespace: str
    name: str
    subresource: str


def _parse(path: str) -> _Path:
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[0] == "api" else parts[3:]
    namespace = ""
    if rest[0] == "namespaces" and len(rest) >= 3:
        namespace, rest = rest[1], rest[2:]
    plural = rest[0]
    name = rest[1] if len(rest) > 1 else ""
    sub = rest[2] if len(rest) > 2 else ""
    return _Path(plural=plural, namespace=namespace, name=name, subresource=sub)


def _merge(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = _merge(result.get(key), value)
    return result


class _PatchFailed(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _pointer(doc: Any, pointer: str) -> tuple[Any, str]:
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]
    for token in tokens[:-1]:
        doc = doc[int(token)] if isinstance(doc, list) else doc[token]
    return doc, tokens[-1]


def _json_patch(doc: Obj, ops: list[Obj]) -> Obj:
    """RFC 6902 for add, remove, replace and test."""
    doc = copy.deepcopy(doc)
    for op in ops:
        try:
            parent, last = _pointer(doc, op["path"])
            if op["op"] == "test":
                current = parent[int(last)] if isinstance(parent, list) else parent.get(last)
                if current != op["value"]:
                    raise _PatchFailed(422, f"test failed at {op['path']}")
            elif op["op"] in ("add", "replace"):
                if isinstance(parent, list):
                    index = len(parent) if last == "-" else int(last)
                    if op["op"] == "add":
                        parent.insert(index, op["value"])
                    else:
                        parent[index] = op["value"]
                else:
                    parent[last] = op["value"]
            elif op["op"] == "remove":
                if isinstance(parent, list):
                    del parent[int(last)]
                else:
                    del parent[last]
        except (KeyError, IndexError, ValueError, TypeError) as error:
            raise _PatchFailed(422, f"cannot apply {op}: {error}") from error
    return doc


def _matches(labels: dict[str, str], selector: str) -> bool:
    for term in filter(None, selector.split(",")):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.split("=", 1)
            if labels.get(key.rstrip("=")) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _selected_name(fields: str) -> str:
    """The name of a ``metadata.name=<name>`` field selector (the one every resource has)."""
    return fields.removeprefix("metadata.name=")


class _Watch:
    def __init__(self, plural: str, namespace: str, selector: str, fields: str = "") -> None:
        self.plural = plural
        self.namespace = namespace
        self.selector = selector
        self.name = _selected_name(fields)
        self.buffer: deque[bytes | None] = deque()
        self.ready = anyio.Event()

    def send(self, line: bytes | None) -> None:
        self.buffer.append(line)
        self.ready.set()

    def wants(self, plural: str, obj: Obj) -> bool:
        meta = obj["metadata"]
        return (
            plural == self.plural
            and (not self.namespace or meta.get("namespace") == self.namespace)
            and _matches(meta.get("labels", {}), self.selector)
            and (not self.name or meta.get("name") == self.name)
        )


class _Stream:
    def __init__(self, status: int, body: bytes, watch: _Watch | None, timeout: float) -> None:
        self.status = status
        self._body = body
        self._watch = watch
        self._timeout = timeout

    async def read(self) -> bytes:
        return self._body

    async def lines(self) -> AsyncGenerator[bytes, None]:
        watch = self._watch
        assert watch is not None
        deadline = anyio.current_time() + self._timeout
        while True:
            while watch.buffer:
                line = watch.buffer.popleft()
                if line is None:
                    return
                yield line
            watch.ready = anyio.Event()
            with anyio.move_on_after(deadline - anyio.current_time()):
                await watch.ready.wait()
            if anyio.current_time() >= deadline:
                return


def status_body(code: int, message: str, reason: str = "") -> bytes:
    """A metav1.Status body."""
    return json.dumps(
        {
            "kind": "Status",
            "apiVersion": "v1",
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code,
        }
    ).encode()


_REASONS = {404: "NotFound", 409: "Conflict", 410: "Expired", 422: "Invalid", 500: "InternalError"}


class FakeApi:
    """An in-memory API server reachable through the :class:`hpa.kube.Transport` protocol."""

    def __init__(self, *, history: int = 100_000) -> None:
        self.objects: dict[str, dict[tuple[str, str], Obj]] = {}
        self.version = 1
        self.oldest = 1
        self.events: list[tuple[int, str, str, Obj]] = []
        self.history = history
        self.watches: list[_Watch] = []
        #: The query parameters of every watch request, in order.
        self.watch_params: list[dict[str, str]] = []
        self.faults: list[_Fault] = []
        self.writes: dict[tuple[str, str], int] = {}
        self.status_subresource = {api.PLURAL_CLASS, api.PLURAL_CLAIM, api.PLURAL_HOSTPORT}
        self.delay = 0.0
        self._uids = itertools.count()

    # --- test controls -------------------------------------------------------------------

    def fail(
        self,
        *,
        verb: str,
        resource: str,
        status: int,
        times: int = 1,
        reason: str = "",
        message: str = "injected",
    ) -> None:
        """Fail the next ``times`` calls of ``verb`` on ``resource`` (a plural) with ``status``."""
        self.faults.append(_Fault(verb, resource, status, times, reason, message))

    def drop_watches(self) -> None:
        """Close every open watch stream, as a restarting API server would."""
        for watch in self.watches:
            watch.send(None)
        self.watches.clear()

    def expire(self) -> None:
        """Make every resourceVersion seen so far too old to watch from (410 Gone)."""
        self.version += 1
        self.oldest = self.version
        self.events.clear()

    def items(self, plural: str) -> list[Obj]:
        """Every stored object of a resource."""
        return [copy.deepcopy(o) for o in self.objects.get(plural, {}).values()]

    def count(self, plural: str, phase: str = "") -> int:
        """How many objects of a resource there are (with ``status.phase``, if given)."""
        return sum(
            1
            for o in self.objects.get(plural, {}).values()
            if not phase or o.get("status", {}).get("phase") == phase
        )

    def get(self, plural: str, name: str, namespace: str = "") -> Obj | None:
        """One stored object, or None."""
        obj = self.objects.get(plural, {}).get((namespace, name))
        return copy.deepcopy(obj) if obj is not None else None

    def put(self, plural: str, obj: Obj) -> Obj:
        """Create an object directly (no faults counted as writes)."""
        return self._create(plural, obj.get("metadata", {}).get("namespace", ""), obj)

    async def add(self, plural: str, obj: Obj) -> None:
        """Create an object (the ``Cluster`` protocol of the operator scenarios)."""
        self.put(plural, obj)

    async def delete(self, plural: str, name: str, namespace: str = "") -> None:
        """Delete an object, as a client would (finalizers apply)."""
        path = _Path(plural=plural, namespace=namespace, name=name, subresource="")
        current = self.objects.get(plural, {}).get((namespace, name))
        if current is not None:
            self._delete(path, current, None)

    def total_writes(self, *plurals: str) -> int:
        """How many writes hpa made, to the given resources (all if none given)."""
        return sum(n for (_, plural), n in self.writes.items() if not plurals or plural in plurals)

    # --- the transport -------------------------------------------------------------------

    async def request(self, request: kube.Request) -> kube.Response:
        if self.delay:
            await anyio.sleep(self.delay)
        path = _parse(request.path)
        verb = self._verb(request.method, path)
        fault = self._fault(verb, path.plural)
        if fault is not None:
            return kube.Response(
                status=fault.status,
                body=status_body(
                    fault.status, fault.message, fault.reason or _REASONS.get(fault.status, "")
                ),
            )
        if verb in ("create", "patch", "delete"):
            key = (verb, path.plural)
            self.writes[key] = self.writes.get(key, 0) + 1
        body = json.loads(request.body) if request.body else None
        try:
            status, answer = self._handle(verb, path, request, body)
        except _PatchFailed as error:
            status, answer = (
                error.status,
                json.loads(status_body(error.status, str(error), "Invalid")),
            )
        return kube.Response(status=status, body=json.dumps(answer).encode())

    @asynccontextmanager
    async def stream(self, request: kube.Request) -> AsyncIterator[_Stream]:
        path = _parse(request.path)
        self.watch_params.append(dict(request.params))
        fault = self._fault("watch", path.plural)
        if fault is not None:
            body = status_body(fault.status, fault.message, fault.reason)
            yield _Stream(fault.status, body, None, 0)
            return
        since = request.params.get("resourceVersion", "")
        watch = _Watch(
            path.plural,
            path.namespace,
            request.params.get("labelSelector", ""),
            request.params.get("fieldSelector", ""),
        )
        if since and since != "0" and int(since) < self.oldest - 1:
            body = json.dumps(
                {"type": "ERROR", "object": json.loads(status_body(410, "too old", "Expired"))}
            )
            watch.send(body.encode())
            watch.send(None)
        elif not since or since == "0":
            for obj in self.objects.get(path.plural, {}).values():
                if watch.wants(path.plural, obj):
                    watch.send(json.dumps({"type": "ADDED", "object": obj}).encode())
            self.watches.append(watch)
        else:
            for version, type_, plural, obj in self.events:
                if version > int(since) and watch.wants(plural, obj):
                    watch.send(json.dumps({"type": type_, "object": obj}).encode())
            self.watches.append(watch)
        timeout = float(request.params.get("timeoutSeconds", "300"))
        try:
            yield _Stream(200, b"", watch, timeout)
        finally:
            if watch in self.watches:
                self.watches.remove(watch)

    # --- internals -----------------------------------------------------------------------

    def _verb(self, method: str, path: _Path) -> str:
        if method == "GET":
            return "get" if path.name else "list"
        return {"POST": "create", "PATCH": "patch", "DELETE": "delete"}[method]

    def _fault(self, verb: str, plural: str) -> _Fault | None:
        for fault in self.faults:
            if fault.verb == verb and fault.resource in (plural, "*") and fault.times > 0:
                fault.times -= 1
                return fault
        return None

    def _handle(self, verb: str, path: _Path, request: kube.Request, body: Any) -> tuple[int, Any]:
        store = self.objects.setdefault(path.plural, {})
        key = (path.namespace, path.name)
        if verb == "list":
            return 200, self._list(path, request)
        if verb == "create":
            name = body.get("metadata", {}).get("name", "")
            if (path.namespace, name) in store:
                return 409, json.loads(
                    status_body(409, f"{path.plural} {name!r} already exists", "AlreadyExists")
                )
            return 201, self._create(path.plural, path.namespace, body)
        current = store.get(key)
        if current is None:
            return 404, json.loads(
                status_body(404, f"{path.plural} {path.name!r} not found", "NotFound")
            )
        if verb == "get":
            return 200, current
        if verb == "patch":
            return self._patch(path, current, request, body)
        return self._delete(path, current, body)

    def _list(self, path: _Path, request: kube.Request) -> Obj:
        selector = request.params.get("labelSelector", "")
        name = _selected_name(request.params.get("fieldSelector", ""))
        items = sorted(
            (
                o
                for (ns, n), o in self.objects.get(path.plural, {}).items()
                if (not path.namespace or ns == path.namespace)
                and (not name or n == name)
                and _matches(o["metadata"].get("labels", {}), selector)
            ),
            key=lambda o: (o["metadata"].get("namespace", ""), o["metadata"]["name"]),
        )
        start = int(request.params.get("continue") or 0)
        limit = int(request.params.get("limit") or 0) or len(items)
        page = items[start : start + limit]
        meta: Obj = {"resourceVersion": str(self.version)}
        if start + limit < len(items):
            meta["continue"] = str(start + limit)
        return {"kind": "List", "apiVersion": "v1", "metadata": meta, "items": page}

    def _bump(self, plural: str, type_: str, obj: Obj) -> None:
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)
        snapshot = copy.deepcopy(obj)
        self.events.append((self.version, type_, plural, snapshot))
        if len(self.events) > self.history:
            dropped = self.events.pop(0)
            self.oldest = dropped[0] + 1
        line = json.dumps({"type": type_, "object": snapshot}).encode()
        for watch in list(self.watches):
            if watch.wants(plural, snapshot):
                watch.send(line)

    def _create(self, plural: str, namespace: str, body: Obj) -> Obj:
        obj = copy.deepcopy(body)
        meta = obj.setdefault("metadata", {})
        if namespace:
            meta["namespace"] = namespace
        meta["uid"] = str(uuid.UUID(int=next(self._uids) + 1))
        meta["creationTimestamp"] = api.now().isoformat().replace("+00:00", "Z")
        meta["generation"] = 1
        if plural in self.status_subresource:
            obj.pop("status", None)
        self.objects.setdefault(plural, {})[(namespace, meta["name"])] = obj
        self._bump(plural, "ADDED", obj)
        return obj

    def _patch(
        self, path: _Path, current: Obj, request: kube.Request, body: Any
    ) -> tuple[int, Any]:
        if "json-patch" in request.content_type:
            patched = _json_patch(current, body)
        else:
            wanted = body.get("metadata", {}).get("resourceVersion")
            if wanted and wanted != current["metadata"]["resourceVersion"]:
                return 409, json.loads(status_body(409, "the object has been modified", "Conflict"))
            patched = _merge(current, body)
        patched["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
        for frozen in ("uid", "name", "namespace", "creationTimestamp", "deletionTimestamp"):
            if frozen in current["metadata"]:
                patched["metadata"][frozen] = current["metadata"][frozen]
        if path.plural in self.status_subresource:
            if path.subresource == "status":
                patched = {**current, "status": patched.get("status", {})}
            else:
                patched["status"] = current.get("status")
                if patched["status"] is None:
                    patched.pop("status")
        if patched.get("spec") != current.get("spec"):
            patched["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
        if patched == current:
            return 200, current
        store = self.objects[path.plural]
        key = (path.namespace, path.name)
        if patched["metadata"].get("deletionTimestamp") and not patched["metadata"].get(
            "finalizers"
        ):
            del store[key]
            self._bump(path.plural, "DELETED", patched)
            return 200, patched
        store[key] = patched
        self._bump(path.plural, "MODIFIED", patched)
        return 200, patched

    def _delete(self, path: _Path, current: Obj, body: Any) -> tuple[int, Any]:
        preconditions = (body or {}).get("preconditions", {})
        meta = current["metadata"]
        for field in ("uid", "resourceVersion"):
            if field in preconditions and preconditions[field] != meta.get(field):
                return 409, json.loads(
                    status_body(409, f"precondition failed: {field}", "Conflict")
                )
        store = self.objects[path.plural]
        key = (path.namespace, path.name)
        if meta.get("finalizers"):
            if not meta.get("deletionTimestamp"):
                meta["deletionTimestamp"] = api.now().isoformat().replace("+00:00", "Z")
                self._bump(path.plural, "MODIFIED", current)
            return 200, current
        del store[key]
        self._bump(path.plural, "DELETED", current)
        return 200, current
