"""The seam between hpa's client and the network: one request in, status and bytes out.

:class:`Transport` is the narrow protocol every call goes through; tests replace it with an
in-memory fake that injects faults per verb. :class:`Kr8sTransport` is the real one: kr8s
finds the configuration (kubeconfig or the in-cluster service account) and authenticates, and
its ``call_api`` sends the request. It is called with ``raise_for_status=False`` so that kr8s
never rebuilds its shared HTTP client on a 401/403 (which would kill every open watch); status
codes are mapped to typed errors by the client, and transport failures become
:class:`~hpa.kube.Retryable` here, chained with ``from``. Credentials are kept fresh by
:class:`~hpa.kube._credentials.Credentials`: a request refused with 401 is sent once more with
credentials loaded again.
"""

import contextlib
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, Protocol

import httpx
import kr8s
import kr8s.asyncio
import msgspec
import structlog

from hpa.kube import _credentials, _exceptions

logger = structlog.get_logger(__name__)


class Request(msgspec.Struct, frozen=True, kw_only=True):
    """One HTTP request to the API server.

    Attributes:
        timeout: seconds for the whole call; for a stream, the longest wait for the next line.
    """

    method: str
    path: str
    params: Mapping[str, str] = {}
    body: bytes | None = None
    content_type: str = "application/json"
    timeout: float = 30.0


class Response(msgspec.Struct, frozen=True, kw_only=True):
    """A complete response."""

    status: int
    body: bytes
    retry_after: str | None = None


class Transport(Protocol):
    """Sends requests to an API server.

    Both methods raise :class:`~hpa.kube.Retryable` on transport failures and timeouts, and
    return (or open) the response whatever its status code.
    """

    async def request(self, request: Request) -> Response:
        """Send a request and read the whole response."""
        ...

    def stream(self, request: Request) -> contextlib.AbstractAsyncContextManager["Stream"]:
        """Open a streaming response (a watch); the lines are read from the result."""
        ...


class Stream(Protocol):
    """An open streaming response."""

    status: int

    async def read(self) -> bytes:
        """The whole body (for an error status)."""
        ...

    def lines(self) -> AsyncGenerator[bytes, None]:
        """The body line by line; ends when the server closes the stream."""
        ...


class _Kr8sStream:
    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.status = response.status_code

    async def read(self) -> bytes:
        return await self._response.aread()

    async def lines(self) -> AsyncGenerator[bytes, None]:
        try:
            async for line in self._response.aiter_lines():
                if line:
                    yield line.encode()
        except httpx.TransportError as error:
            raise _exceptions.Retryable(
                "watch stream broke", reason=type(error).__name__
            ) from error


def _keep_idle_connections(api: Any) -> None:
    """Let kr8s's HTTP pool keep idle connections while watches hold others open.

    httpcore (1.0.9) closes an idle connection whenever the pool holds more connections than
    ``max_keepalive_connections`` (20 by default), counting busy ones too (encode/httpcore
    PR 1000, open). hpa keeps eight watches open, so under load nearly every request paid a new
    TLS handshake (23,348 handshakes against 3,275 in a 1,500-claim chaos run). Keeping as many
    idle connections as the pool may hold at all sidesteps that. kr8s builds its client lazily
    and again after a close, so this applies to the current client and to each later one;
    there is no public way to reach the pool.
    """
    create = api._create_session
    if getattr(create, "keeps_idle_connections", False):
        return

    async def create_session() -> None:
        await create()
        _raise_keepalive_limit(api._session)

    create_session.keeps_idle_connections = True  # type: ignore[attr-defined]
    api._create_session = create_session
    if api._session is not None:
        _raise_keepalive_limit(api._session)


def _raise_keepalive_limit(session: httpx.AsyncClient) -> None:
    pool = getattr(getattr(session, "_transport", None), "_pool", None)
    if pool is None or not hasattr(pool, "_max_keepalive_connections"):
        logger.warning("cannot raise the HTTP keep-alive limit; connections may churn")
        return
    pool._max_keepalive_connections = pool._max_connections


class Kr8sTransport:
    """The transport to a real API server, through kr8s."""

    def __init__(self, api: Any, *, credentials_max_age: float = 60.0) -> None:
        self._api = api
        self._credentials = _credentials.Credentials(api.auth, max_age=credentials_max_age)
        _keep_idle_connections(api)

    @classmethod
    async def connect(
        cls, *, kubeconfig: str | None = None, credentials_max_age: float = 60.0
    ) -> "Kr8sTransport":
        """Configuration from ``kubeconfig``, or $KUBECONFIG/~/.kube/config, or in-cluster;
        credentials are loaded again when ``credentials_max_age`` seconds old, and after a 401.

        Raises:
            Retryable: the API server could not be reached.
        """
        try:
            with warnings.catch_warnings():
                # kr8s warns about server versions it has not been tested with; hpa only uses
                # stable endpoints, so the warning would only be noise (or, in tests, an error).
                warnings.simplefilter("ignore")
                api = await kr8s.asyncio.api(kubeconfig=kubeconfig)
        except (httpx.HTTPError, kr8s.ServerError, OSError) as error:
            raise _exceptions.Retryable("cannot reach the API server") from error
        return cls(api, credentials_max_age=credentials_max_age)

    async def aclose(self) -> None:
        """Close the HTTP connections (kr8s opens them again if the transport is reused)."""
        session = getattr(self._api, "_session", None)
        if session is not None:
            await session.aclose()

    @property
    def namespace(self) -> str:
        """The namespace of the configuration (service account or kubeconfig context)."""
        return str(self._api.namespace)

    def _kwargs(self, request: Request, token: str | None) -> dict[str, Any]:
        # kr8s joins base, version and url with "/"; split off the last segment so that the
        # path comes out exactly as given, without a trailing slash.
        base, _, last = request.path.rpartition("/")
        kwargs: dict[str, Any] = {
            "method": request.method,
            "version": "",
            "base": base,
            "url": last,
            "raise_for_status": False,
            "params": dict(request.params),
            "timeout": httpx.Timeout(request.timeout, connect=min(request.timeout, 10.0)),
            "headers": _credentials.authorization(token),
        }
        if request.body is not None:
            kwargs["content"] = request.body
            kwargs["headers"]["content-type"] = request.content_type
        return kwargs

    async def request(self, request: Request) -> Response:
        for attempt in (1, 2):
            sent = await self._credentials.current()
            try:
                async with self._api.call_api(**self._kwargs(request, sent)) as response:
                    if response.status_code == 401 and attempt == 1:
                        await self._credentials.reload(seen=sent)
                        continue
                    return Response(
                        status=response.status_code,
                        body=response.content,
                        retry_after=response.headers.get("retry-after"),
                    )
            except (httpx.TransportError, kr8s.APITimeoutError) as error:
                raise _exceptions.Retryable(
                    "request to the API server failed", reason=type(error).__name__
                ) from error
        raise AssertionError("unreachable: the second attempt returns")

    @contextlib.asynccontextmanager
    async def stream(self, request: Request) -> AsyncIterator[Stream]:
        try:
            sent = await self._credentials.current()
            async with self._open(request, sent) as response:
                if response.status_code != 401:
                    yield _Kr8sStream(response)
                    return
            await self._credentials.reload(seen=sent)
            async with self._open(request, await self._credentials.current()) as response:
                yield _Kr8sStream(response)
        except (httpx.TransportError, kr8s.APITimeoutError) as error:
            raise _exceptions.Retryable(
                "watch request failed", reason=type(error).__name__
            ) from error

    @contextlib.asynccontextmanager
    async def _open(self, request: Request, token: str | None) -> AsyncIterator[httpx.Response]:
        async with self._api.call_api(stream=True, **self._kwargs(request, token)) as response:
            yield response
