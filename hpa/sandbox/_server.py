"""The HTTP face of the sandbox: an aiohttp application that routes like kube-apiserver.

Middleware order: bearer-token authentication (``401``), error mapping (an
:class:`~._errors.ApiError` becomes its ``Status`` body), then the handlers: discovery,
OpenAPI, health, and one resource handler that turns method, URL and query into a verb and
calls the engine. Content negotiation knows JSON, ``as=Table`` (server-side printing) and
``as=PartialObjectMetadata[List]``. Requests are counted per verb and resource, and fault
rules apply before the verb runs.
"""

import collections
import hmac
import math
import re
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import msgspec
import structlog
import yaml
from aiohttp import web

from hpa.sandbox import (
    _calls,
    _conversion,
    _discovery,
    _engine,
    _errors,
    _faults,
    _lifecycle,
    _listing,
    _openapi,
    _protobuf,
    _routing,
    _scale,
    _selectors,
    _tables,
    _watching,
)

JSON = dict[str, Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

logger = structlog.get_logger(__name__)
_CALL: web.RequestKey[_calls.Call] = web.RequestKey("call", _calls.Call)
_WRITES = frozenset({"create", "update", "patch", "delete", "deletecollection"})
#: kube-apiserver's default ``--min-request-timeout``: watches without timeoutSeconds end
#: after a while, and clients re-watch.
DEFAULT_WATCH_TIMEOUT = 1800.0


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def encode(obj: Any) -> bytes:
    """JSON body bytes."""
    return msgspec.json.encode(obj)


def respond(obj: Any, *, status: int = 200, warnings: list[str] | None = None) -> web.Response:
    """A JSON response, with ``Warning`` headers."""
    response = web.Response(body=encode(obj), status=status, content_type="application/json")
    for warning in warnings or ():
        # Go's net/http turns control characters of header values into spaces; aiohttp refuses
        # to send them at all (the request would fail with a 500 and no answer).
        escaped = _CONTROL.sub(" ", warning).replace("\\", "\\\\").replace('"', '\\"')
        response.headers.add("Warning", f'299 - "{escaped}"')
    return response


class Counters:
    """Request counts: total, per verb, per (verb, resource); and client connections."""

    def __init__(self) -> None:
        self.total = 0
        self.by_verb: collections.Counter[str] = collections.Counter()
        self.by_resource: collections.Counter[tuple[str, str]] = collections.Counter()
        self.connections = 0
        self._transports: weakref.WeakSet[Any] = weakref.WeakSet()

    def connection(self, transport: Any) -> None:
        """Count a client connection the first time one of its requests arrives."""
        if transport is not None and transport not in self._transports:
            self._transports.add(transport)
            self.connections += 1

    def count(self, verb: str, resource: str) -> None:
        """Count one request."""
        self.total += 1
        self.by_verb[verb] += 1
        self.by_resource[(verb, resource)] += 1

    @property
    def writes(self) -> int:
        """Create, update, patch and delete requests."""
        return sum(n for verb, n in self.by_verb.items() if verb in _WRITES)

    def reset(self) -> None:
        """Start counting from zero (connections already seen are not counted again)."""
        self.total = 0
        self.by_verb.clear()
        self.by_resource.clear()
        self.connections = 0


class Server:
    """Request handling (see the module docstring)."""

    def __init__(
        self,
        *,
        engine: _engine.Engine,
        lifecycle: _lifecycle.Lifecycle,
        hub: _watching.Hub,
        faults: _faults.Faults,
        token: str,
    ) -> None:
        self.engine = engine
        self.lifecycle = lifecycle
        self.hub = hub
        self.faults = faults
        self.token = token
        self.counters = Counters()
        self.address = "127.0.0.1:0"
        self.bookmark_interval = 1.0

    def application(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(
            middlewares=[self._authenticate, self._errors], client_max_size=8 * 1024**2
        )
        app.router.add_route("*", "/{tail:.*}", self._route)
        return app

    @web.middleware
    async def _authenticate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Authorization", "")
        if request.path not in ("/healthz", "/livez", "/readyz") and not hmac.compare_digest(
            header.encode(), f"Bearer {self.token}".encode()
        ):
            return respond(_errors.unauthorized().status(), status=401)
        return await handler(request)

    @web.middleware
    async def _errors(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except _errors.ApiError as error:
            # Warnings gathered before the failure (e.g. from webhooks) are sent too, as
            # kube-apiserver's warning recorder does.
            call = request.get(_CALL)
            warnings = call.warnings if call is not None else None
            return respond(error.status(), status=error.code, warnings=warnings)
        except web.HTTPException:
            raise
        except Exception as error:
            logger.exception("request failed", method=request.method, path=request.path)
            return respond(_errors.internal(f"sandbox error: {error!r}").status(), status=500)

    # -- routing -------------------------------------------------------------------------

    async def _route(self, request: web.Request) -> web.StreamResponse:
        path = request.path.rstrip("/") or "/"
        fixed = self._fixed(path)
        if fixed is not None:
            return fixed
        if path.startswith("/openapi/v3/"):
            return self._openapi(path.removeprefix("/openapi/v3/"))
        target = _routing.resolve(self.engine.registry, path)
        if isinstance(target, _routing.GroupVersion):
            return self._group_version(target)
        if target is None:
            raise _errors.ApiError(
                404, "NotFound", "the server could not find the requested resource"
            )
        return await self._resource(request, target)

    def _fixed(self, path: str) -> web.StreamResponse | None:
        registry = self.engine.registry
        if path == "/version":
            return respond(_discovery.version())
        if path == "/api":
            return respond(_discovery.api_versions(self.address))
        if path == "/apis":
            return respond(_discovery.group_list(registry))
        if path == "/openapi/v3":
            return respond(_openapi.index(registry))
        if path in ("/healthz", "/livez", "/readyz"):
            return web.Response(text="ok")
        return None

    def _openapi(self, gv_path: str) -> web.Response:
        parts = gv_path.split("/")
        group, version = ("", parts[1]) if parts[0] == "api" and len(parts) == 2 else (
            (parts[1], parts[2]) if parts[0] == "apis" and len(parts) == 3 else ("", "")
        )  # fmt: skip
        document = _openapi.document(self.engine.registry, group, version) if version else None
        if document is None:
            raise _errors.ApiError(
                404, "NotFound", "the server could not find the requested resource"
            )
        return respond(document)

    def _group_version(self, target: _routing.GroupVersion) -> web.Response:
        registry = self.engine.registry
        if target.version is None:
            document = _discovery.group(registry, target.group)
        else:
            document = _discovery.resource_list(registry, target.group, target.version)
        if document is None:
            raise _errors.ApiError(
                404, "NotFound", "the server could not find the requested resource"
            )
        return respond(document)

    # -- resources -----------------------------------------------------------------------

    def _verb(self, request: web.Request, target: _routing.Target) -> str:
        method = request.method
        if method == "GET":
            if target.name is not None and not target.watch_path:
                return "get"
            if target.watch_path or request.query.get("watch") in ("1", "true", "True"):
                return "watch"
            return "list"
        verbs = {"POST": "create", "PUT": "update", "PATCH": "patch"}
        if method in verbs and (target.name is not None) == (method != "POST"):
            return verbs[method]
        if method == "DELETE":
            return "delete" if target.name is not None else "deletecollection"
        raise _errors.method_not_allowed(method)

    def _call(self, request: web.Request, target: _routing.Target) -> _calls.Call:
        verb = self._verb(request, target)
        resource = target.resource
        if target.subresource is not None and not (
            (target.subresource == "status" and resource.has_status)
            or (target.subresource == "scale" and resource.scalable)
            or (target.subresource == "finalize" and resource.plural == "namespaces")
        ):
            raise _errors.ApiError(
                404, "NotFound", "the server could not find the requested resource"
            )
        if resource.namespaced and target.namespace is None and verb not in ("list", "watch"):
            raise _errors.ApiError(
                404, "NotFound", "the server could not find the requested resource"
            )
        query = request.query
        return _calls.Call(
            resource=resource,
            verb=verb,
            namespace=target.namespace,
            name=target.name,
            subresource=target.subresource,
            dry_run="All" in query.getall("dryRun", []),
            field_validation=query.get("fieldValidation") or "Warn",
        )

    async def _apply_faults(self, call: _calls.Call) -> None:
        rule = self.faults.match(call)
        if rule is None:
            return
        if rule.delay:
            await anyio.sleep(rule.delay if math.isfinite(rule.delay) else 365 * 86400)
        error = rule.error()
        if error is not None:
            raise error

    async def _resource(self, request: web.Request, target: _routing.Target) -> web.StreamResponse:
        call = self._call(request, target)
        request[_CALL] = call
        label = target.resource.plural + (f"/{call.subresource}" if call.subresource else "")
        self.counters.count(call.verb, label)
        self.counters.connection(request.transport)
        await self._apply_faults(call)
        if call.subresource == "scale":
            return await self._scale(request, call)
        if call.verb == "watch":
            return await self._watch(request, call)
        if call.verb == "list":
            return self._list(request, call)
        if call.verb == "get":
            return self._single(request, call, self.engine.get(call))
        if call.verb == "delete":
            code, body = await self.lifecycle.delete(call, await _body(request, optional=True))
            return self._single(request, call, body, status=code)
        if call.verb == "deletecollection":
            return await self._delete_collection(request, call)
        if call.verb == "patch":
            raw = await request.read()
            obj = await self.engine.patch(call, request.content_type, raw)
            return self._single(request, call, obj)
        body = await _body(request)
        if call.verb == "create":
            return self._single(request, call, await self.engine.create(call, body), status=201)
        return self._single(request, call, await self.engine.update(call, body))

    async def _scale(self, request: web.Request, call: _calls.Call) -> web.Response:
        if call.verb == "get":
            return respond(_scale.get(self.engine, call))
        if call.verb == "patch":
            raw = await request.read()
            scale = await _scale.patch(self.engine, call, request.content_type, raw)
            return respond(scale, warnings=call.warnings)
        if call.verb == "update":
            scale = await _scale.update(self.engine, call, await _body(request))
            return respond(scale, warnings=call.warnings)
        raise _errors.method_not_allowed(request.method)

    def _single(
        self, request: web.Request, call: _calls.Call, obj: JSON, *, status: int = 200
    ) -> web.Response:
        accept = request.headers.get("Accept", "")
        if "as=Table" in accept and obj.get("kind") == call.resource.kind:
            include = request.query.get("includeObject", "Metadata")
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            obj = _tables.table(call.resource, [obj], list_meta=meta, include=include)
        elif "as=PartialObjectMetadata" in accept and obj.get("kind") == call.resource.kind:
            obj = _partial(obj)
        return respond(obj, status=status, warnings=call.warnings)

    def _selection(self, request: web.Request) -> _listing.Selection:
        query = request.query
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise _errors.bad_request("invalid limit") from None
        return _listing.Selection(
            labels=_selectors.parse_labels(query.get("labelSelector")),
            fields=_selectors.parse_fields(query.get("fieldSelector")),
            limit=max(limit, 0),
            continue_token=query.get("continue", ""),
            resource_version=query.get("resourceVersion", ""),
            resource_version_match=query.get("resourceVersionMatch", ""),
        )

    def _list(self, request: web.Request, call: _calls.Call) -> web.Response:
        result = _listing.list_objects(self.engine, call, self._selection(request))
        accept = request.headers.get("Accept", "")
        if "as=Table" in accept:
            include = request.query.get("includeObject", "Metadata")
            result = _tables.table(
                call.resource, result["items"], list_meta=result["metadata"], include=include
            )
        elif "as=PartialObjectMetadataList" in accept:
            result = {
                "kind": "PartialObjectMetadataList",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": result["metadata"],
                "items": [_partial(item) for item in result["items"]],
            }
        return respond(result)

    async def _delete_collection(self, request: web.Request, call: _calls.Call) -> web.Response:
        options = await _body(request, optional=True)
        selection = self._selection(request)
        listed = _listing.list_objects(self.engine, call, selection)
        for item in listed["items"]:
            meta = item["metadata"]
            one = _calls.Call(
                resource=call.resource,
                verb="delete",
                namespace=meta.get("namespace"),
                name=meta["name"],
                dry_run=call.dry_run,
            )
            try:
                await self.lifecycle.delete(one, options)
            except _errors.ApiError as error:
                if error.code != 404:
                    raise
        return respond({**listed, "metadata": {"resourceVersion": str(self.engine.store.rv)}})

    # -- watch ---------------------------------------------------------------------------

    async def _watch(self, request: web.Request, call: _calls.Call) -> web.StreamResponse:
        query = request.query
        selection = self._selection(request)
        if call.name is not None:
            by_name = _selectors.parse_fields(f"metadata.name={call.name}")
            fields = selection.fields
            selection.fields = by_name if fields is None else (lambda o: by_name(o) and fields(o))  # type: ignore[misc]
        send_initial = query.get("sendInitialEvents") == "true"
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1")
        try:
            timeout = float(query.get("timeoutSeconds") or DEFAULT_WATCH_TIMEOUT)
        except ValueError:
            raise _errors.bad_request("invalid timeoutSeconds") from None
        watch, initial, expired = _listing.open_watch(
            self.engine, call, selection, send_initial=send_initial
        )
        if expired is None:
            self.hub.add(watch)
        stream = _WatchStream(
            request, call, bookmarks=bookmarks, store_rv=lambda: self.engine.store.rv
        )
        try:
            await stream.open()
            if expired is not None:
                await stream.write({"type": "ERROR", "object": expired.status()})
                return stream.response
            for item in initial:
                await stream.send(item)
            if send_initial and bookmarks:
                await stream.bookmark(initial_end=True)
            with anyio.move_on_after(timeout):
                await self._pump(watch, stream, bookmarks=bookmarks)
        except (ConnectionResetError, ConnectionError):
            pass
        finally:
            self.hub.remove(watch)
        return stream.response

    async def _pump(
        self, watch: _watching.Watch, stream: "_WatchStream", *, bookmarks: bool
    ) -> None:
        interval = self.bookmark_interval if bookmarks else math.inf
        while True:
            item: _watching.Item | None = None
            with anyio.move_on_after(interval):
                item = await watch.receive.receive()
                if item is None:
                    return
                await stream.send(item)
                continue
            if bookmarks and item is None:
                await stream.bookmark()


class _WatchStream:
    """One watch response: newline-delimited JSON events, Tables when asked for."""

    def __init__(
        self,
        request: web.Request,
        call: _calls.Call,
        *,
        bookmarks: bool,
        store_rv: Callable[[], int],
    ) -> None:
        self.request = request
        self.call = call
        self.response = web.StreamResponse(headers={"Content-Type": "application/json"})
        self.response.enable_chunked_encoding()
        accept = request.headers.get("Accept", "")
        self.table = "as=Table" in accept
        self.partial = "as=PartialObjectMetadata" in accept
        self.include = request.query.get("includeObject", "Metadata")
        self.columns_sent = False
        self.store_rv = store_rv

    async def open(self) -> None:
        """Send the headers."""
        await self.response.prepare(self.request)

    async def write(self, event: JSON) -> None:
        """Send one event object."""
        await self.response.write(encode(event) + b"\n")

    async def send(self, item: _watching.Item) -> None:
        """Send one watch item, encoded as the client asked."""
        type, obj, event = item
        resource = self.call.resource
        if self.table:
            meta = {"resourceVersion": obj["metadata"].get("resourceVersion", "")}
            table = _tables.table(resource, [obj], list_meta=meta, include=self.include)
            if self.columns_sent:
                table["columnDefinitions"] = []
            self.columns_sent = True
            await self.write({"type": type, "object": table})
        elif self.partial:
            await self.write({"type": type, "object": _partial(obj)})
        elif event is not None and event.type == type and not _conversion.converts(resource):
            await self.response.write(event.encoded(resource.api_version))
        else:
            await self.write({"type": type, "object": _engine.Engine.versioned(resource, obj)})

    async def bookmark(self, *, initial_end: bool = False) -> None:
        """Send a BOOKMARK with the current resourceVersion."""
        meta: JSON = {"resourceVersion": str(self.store_rv())}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        resource = self.call.resource
        await self.write(
            {
                "type": "BOOKMARK",
                "object": {
                    "kind": resource.kind,
                    "apiVersion": resource.api_version,
                    "metadata": meta,
                },
            }
        )


def _partial(obj: JSON) -> JSON:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


async def _body(request: web.Request, *, optional: bool = False) -> JSON:
    raw = await request.read()
    if "cbor" in request.content_type:
        raise _errors.unsupported_media_type(request.content_type)
    if "protobuf" in request.content_type:
        return _protobuf.decode(raw)
    if not raw.strip():
        if optional:
            return {}
        raise _errors.bad_request("the request body is empty")
    try:
        body = yaml.safe_load(raw) if "yaml" in request.content_type else msgspec.json.decode(raw)
    except (msgspec.DecodeError, yaml.YAMLError) as error:
        raise _errors.bad_request(f"error decoding the body: {error}") from error
    if not isinstance(body, dict):
        raise _errors.bad_request("the body must be a JSON object")
    return body
