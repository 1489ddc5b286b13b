"""Typed calls to the API server: get, list, create, patch, delete and watch.

Responses are decoded with msgspec straight into the wire Structs of ``hpa.api`` (or a
caller's type), never into kr8s objects: kr8s wraps every object in a Box, which costs ~3 ms an
object and would dominate a list of thousands. Every call carries an explicit timeout; every
failure is a typed :mod:`~hpa.kube._exceptions` error.

Writes are patches: a merge patch (with ``metadata.resourceVersion`` when the write must not
race) or a JSON patch (with a ``test`` op). A decoded Struct is never sent back whole, since it
would drop fields this version does not know.
"""

import contextlib
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from typing import Any, Final, Generic, Literal, TypeVar

import msgspec

from hpa.kube import _endpoints, _exceptions, _transport

T = TypeVar("T")

PatchType = Literal["merge", "json"]
_CONTENT_TYPES: Final = {
    "merge": "application/merge-patch+json",
    "json": "application/json-patch+json",
}

#: Seconds a single call may take unless the caller says otherwise.
DEFAULT_TIMEOUT: Final = 10.0


class _List(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    metadata: msgspec.Raw = msgspec.Raw(b"{}")
    items: list[T] | None = None


class _ListMeta(msgspec.Struct, frozen=True, kw_only=True):
    resource_version: str = msgspec.field(default="", name="resourceVersion")
    continue_: str = msgspec.field(default="", name="continue")


class WatchEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event of a watch stream, its object still undecoded.

    ``type`` is ADDED, MODIFIED, DELETED, BOOKMARK or ERROR.
    """

    type: str
    object: msgspec.Raw


class Page(msgspec.Struct, Generic[T], frozen=True, kw_only=True):
    """The items of a complete (all pages) list and the resourceVersion to watch from."""

    items: list[T]
    resource_version: str


@functools.cache
def _decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_)


def _hashable(type_: Any) -> Any:
    """Types are hashable; mypy cannot tell for a ``type[T]``."""
    return type_


_EVENT_DECODER: Final = msgspec.json.Decoder(WatchEvent)
_META_DECODER: Final = msgspec.json.Decoder(_ListMeta)


class Client:
    """Typed calls to one API server through a :class:`~hpa.kube.Transport`.

    Args:
        transport: where requests go.
        timeout: seconds per call when a call does not give its own.
        field_manager: the name written in managedFields for hpa's writes.
    """

    def __init__(
        self,
        transport: _transport.Transport,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        field_manager: str = "hpa",
    ) -> None:
        self.transport = transport
        self._timeout = timeout
        self._field_manager = field_manager

    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: bytes | None = None,
        content_type: str = "application/json",
        request_timeout: float | None = None,
    ) -> bytes:
        response = await self.transport.request(
            _transport.Request(
                method=method,
                path=path,
                params=params or {},
                body=body,
                content_type=content_type,
                timeout=request_timeout or self._timeout,
            )
        )
        if response.status >= 400:
            raise _exceptions.error_from_response(
                status=response.status, body=response.body, retry_after=response.retry_after
            )
        return response.body

    async def get(
        self,
        resource: _endpoints.Resource,
        name: str,
        *,
        type: type[T],
        namespace: str = "",
        request_timeout: float | None = None,
    ) -> T:
        """Read one object.

        Raises:
            NotFound: it does not exist.
            KubeError: any other failure.
        """
        body = await self._call(
            "GET", resource.path(namespace=namespace, name=name), request_timeout=request_timeout
        )
        result: T = _decoder(_hashable(type)).decode(body)
        return result

    async def list_page(
        self,
        resource: _endpoints.Resource,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 500,
        continue_: str = "",
        request_timeout: float | None = None,
    ) -> tuple[list[msgspec.Raw], str, str]:
        """One page of a list: raw items, the list's resourceVersion and the continue token."""
        params = {"limit": str(limit), **_selectors(label_selector, field_selector)}
        if continue_:
            params["continue"] = continue_
        body = await self._call(
            "GET",
            resource.path(namespace=namespace),
            params=params,
            request_timeout=request_timeout,
        )
        page: _List[msgspec.Raw] = _decoder(_List[msgspec.Raw]).decode(body)
        meta = _META_DECODER.decode(page.metadata)
        return page.items or [], meta.resource_version, meta.continue_

    async def list_raw(
        self,
        resource: _endpoints.Resource,
        *,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 500,
        request_timeout: float | None = None,
    ) -> Page[msgspec.Raw]:
        """Every object, page by page (``limit``/``continue``), still undecoded.

        Raises:
            Gone: the continue token expired before the last page; list again.
        """
        items: list[msgspec.Raw] = []
        continue_ = ""
        while True:
            page, resource_version, continue_ = await self.list_page(
                resource,
                namespace=namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                limit=limit,
                continue_=continue_,
                request_timeout=request_timeout,
            )
            items.extend(page)
            if not continue_:
                return Page(items=items, resource_version=resource_version)

    async def list(
        self,
        resource: _endpoints.Resource,
        *,
        type: type[T],
        namespace: str = "",
        label_selector: str = "",
        limit: int = 500,
        request_timeout: float | None = None,
    ) -> Page[T]:
        """Every object, page by page, decoded as ``type``."""
        raw = await self.list_raw(
            resource,
            namespace=namespace,
            label_selector=label_selector,
            limit=limit,
            request_timeout=request_timeout,
        )
        decoder = _decoder(_hashable(type))
        return Page(
            items=[decoder.decode(item) for item in raw.items],
            resource_version=raw.resource_version,
        )

    async def create(
        self,
        resource: _endpoints.Resource,
        body: Any,
        *,
        type: type[T],
        namespace: str = "",
        request_timeout: float | None = None,
    ) -> T:
        """Create an object from a Struct or a mapping; returns it as the server stored it.

        Raises:
            AlreadyExists: the name is taken.
        """
        document = msgspec.to_builtins(body)
        document.setdefault("apiVersion", resource.api_version)
        document.setdefault("kind", resource.kind)
        answer = await self._call(
            "POST",
            resource.path(namespace=namespace),
            params={"fieldManager": self._field_manager},
            body=msgspec.json.encode(document),
            request_timeout=request_timeout,
        )
        result: T = _decoder(_hashable(type)).decode(answer)
        return result

    async def patch(
        self,
        resource: _endpoints.Resource,
        name: str,
        patch: Mapping[str, Any] | Sequence[Mapping[str, Any]],
        *,
        type: type[T],
        namespace: str = "",
        patch_type: PatchType = "merge",
        subresource: str = "",
        request_timeout: float | None = None,
    ) -> T:
        """Patch an object (or its ``status`` subresource); returns the result.

        Args:
            patch: a merge patch (mapping) or a JSON patch (list of operations).
            patch_type: ``merge`` or ``json``.
            subresource: e.g. ``status``.

        Raises:
            NotFound: the object does not exist.
            Conflict: ``metadata.resourceVersion`` or a ``test`` op did not match.
        """
        answer = await self._call(
            "PATCH",
            resource.path(namespace=namespace, name=name, subresource=subresource),
            params={"fieldManager": self._field_manager},
            body=msgspec.json.encode(patch),
            content_type=_CONTENT_TYPES[patch_type],
            request_timeout=request_timeout,
        )
        result: T = _decoder(_hashable(type)).decode(answer)
        return result

    async def delete(
        self,
        resource: _endpoints.Resource,
        name: str,
        *,
        namespace: str = "",
        uid: str = "",
        resource_version: str = "",
        request_timeout: float | None = None,
    ) -> None:
        """Delete an object, only if it still has ``uid``/``resource_version`` when given.

        With finalizers, the object stays (with a deletionTimestamp) until they are removed.

        Raises:
            NotFound: it does not exist.
            Conflict: a precondition did not match.
        """
        preconditions: dict[str, str] = {}
        if uid:
            preconditions["uid"] = uid
        if resource_version:
            preconditions["resourceVersion"] = resource_version
        options: dict[str, Any] = {"apiVersion": "v1", "kind": "DeleteOptions"}
        if preconditions:
            options["preconditions"] = preconditions
        await self._call(
            "DELETE",
            resource.path(namespace=namespace, name=name),
            body=msgspec.json.encode(options),
            request_timeout=request_timeout,
        )

    @contextlib.asynccontextmanager
    async def watch(
        self,
        resource: _endpoints.Resource,
        *,
        resource_version: str,
        namespace: str = "",
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int = 300,
    ) -> AsyncIterator[AsyncIterator[WatchEvent]]:
        """Open a watch from ``resource_version``, with bookmarks; yields the event stream.

        The server ends the stream after ``timeout_seconds``; the client waits 30 s longer for
        a line before it gives up. The stream also ends when the server closes it: the caller
        re-watches from the last resourceVersion it saw.

        Raises:
            Gone: ``resource_version`` is too old (also as an ERROR event); re-list.
            Retryable: transport errors, 429 and 5xx, when opening or while reading.
        """
        params = {
            "watch": "true",
            "resourceVersion": resource_version,
            "allowWatchBookmarks": "true",
            "timeoutSeconds": str(timeout_seconds),
            **_selectors(label_selector, field_selector),
        }
        request = _transport.Request(
            method="GET",
            path=resource.path(namespace=namespace),
            params=params,
            timeout=timeout_seconds + 30.0,
        )
        async with self.transport.stream(request) as stream:
            if stream.status >= 400:
                raise _exceptions.error_from_response(
                    status=stream.status, body=await stream.read()
                )
            # aclosing: a consumer that stops early closes the generators here, in its own
            # task, instead of leaving them to the garbage collector.
            async with contextlib.aclosing(_events(stream)) as events:
                yield events


def _selectors(label_selector: str, field_selector: str) -> dict[str, str]:
    """The query parameters of the selectors that are set."""
    params = {}
    if label_selector:
        params["labelSelector"] = label_selector
    if field_selector:
        params["fieldSelector"] = field_selector
    return params


async def _events(stream: _transport.Stream) -> AsyncGenerator[WatchEvent, None]:
    async with contextlib.aclosing(stream.lines()) as lines:
        async for line in lines:
            try:
                event = _EVENT_DECODER.decode(line)
            except (msgspec.DecodeError, msgspec.ValidationError) as error:
                raise _exceptions.Retryable("malformed watch event", reason="Malformed") from error
            if event.type == "ERROR":
                status = msgspec.json.decode(event.object, type=_exceptions.Status)
                raise _exceptions.error_from_status(status)
            yield event
