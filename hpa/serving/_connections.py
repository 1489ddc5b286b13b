"""Accepting connections under a cap, and dropping those whose client stalls.

aiohttp has no handshake, header or body timeout, and asyncio's server accepts without limit: a
client that opened TCP and never finished TLS, or sent part of a request and stopped, kept its
connection (a descriptor and some 300 KiB) as long as it liked. So hpa's servers accept
connections themselves (``loop.sock_accept``, then ``loop.connect_accepted_socket`` for the TLS
handshake, both public asyncio API) and hold each client to :class:`Limits`:

- ``max_connections``: a client accepted while that many connections are open (or in their
  handshake) waits for one to go. The connection idle longest is closed to make room for it;
  if none is idle, it waits until one closes or turns idle, and later clients queue in the
  listen backlog, as behind Go's ``netutil.LimitListener``. So idle connections cannot lock the
  API server out; only clients in the middle of a request can, and each part of a request is
  bounded by a timeout.
- ``handshake_timeout``: asyncio aborts a TLS handshake, and a TLS close, that takes longer.
- ``header_timeout``: from the first byte of a request until its headers are complete.
- ``idle_timeout``: a connection (new, or after a response) that sends nothing for this long.
- ``body_timeout``: from the headers until the whole body is read; enforced where the body is
  read (the admission endpoint), because aiohttp reads it only on demand.

Each connection's aiohttp protocol is wrapped in a :class:`_Connection`, which passes every
event on after noting the first byte of a request (data while idle); a middleware tells it when
aiohttp starts and ends handling a request. A connection over its time is aborted, not closed:
a client that does not read would stall a TLS close as well.
"""

import asyncio
import socket
import ssl
from collections.abc import Callable
from typing import Final, cast

import anyio
import anyio.abc
import msgspec
import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

log = structlog.get_logger(__name__)

#: How long to wait before accepting again after accept() failed for lack of descriptors or
#: memory (asyncio's own server waits 1 s too).
ACCEPT_RETRY: Final = 1.0


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """How long a client may take over each part of a connection, and how many may be open.

    The defaults suit an admission webhook: kube-apiserver gives a review 10 s
    (``timeoutSeconds``, at most 30) for everything from connecting to the answer, over a
    cluster network where a handshake or a request takes milliseconds. A phase that takes
    longer than the API server waits for the whole review can only come from a stalled or
    hostile client. docs/admission.md ("Slow and stalled clients") gives the reasons for each.
    """

    #: The TLS handshake (and the TLS close), from when the connection is let in.
    handshake_timeout: float = 5.0
    #: A request's headers, from its first byte.
    header_timeout: float = 10.0
    #: A request's body, from the end of its headers.
    body_timeout: float = 10.0
    #: Silence before a request: on a new connection after the handshake, and between requests.
    #: Longer than the 90 s after which Go's HTTP client (kube-apiserver's) drops an idle
    #: connection, so that the client closes first: a server closing a kept-alive connection
    #: just as the client sends a review on it fails that review.
    idle_timeout: float = 120.0
    #: Connections open at once, counting those in their TLS handshake. An idle TLS connection
    #: costs the process ~290 KiB (asyncio's TLS read buffer is 256 KiB), so 256 of them take
    #: ~75 MiB, under a tenth of the Deployment's 1 GiB limit. kube-apiserver holds one per
    #: review in flight (hpa speaks HTTP/1.1), and a review takes milliseconds.
    max_connections: int = 256


DEFAULT_LIMITS: Final = Limits()

_IDLE: Final = "idle"
_HEADERS: Final = "headers"
_BUSY: Final = "busy"
_CLOSING: Final = "closing"


class _Connection(asyncio.Protocol):
    """One client's connection: aiohttp's protocol (``inner``), and its deadline.

    ``state`` is idle (waiting for a request: idle timeout), headers (a request's first byte
    came: header timeout), busy (the application has the request; the body timeout is its
    own) or closing (aborted, its close not yet reported).
    """

    def __init__(
        self,
        inner: asyncio.Protocol,
        *,
        limits: Limits,
        server: str,
        opened: Callable[["_Connection"], None],
        idle: Callable[[], None],
        closed: Callable[["_Connection"], None],
    ) -> None:
        self.inner = inner
        self.state = _IDLE
        #: When the connection last turned idle (loop time): the longest idle goes first.
        self.idle_since = 0.0
        self._limits = limits
        self._server = server
        self._opened = opened
        self._idle = idle
        self._closed = closed
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._released = False

    # -- asyncio.Protocol: each event is passed on to aiohttp's protocol --------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        self._opened(self)
        self.idle_since = asyncio.get_running_loop().time()
        self._expect(self._limits.idle_timeout, _IDLE)
        self.inner.connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if self.state == _IDLE:
            self.state = _HEADERS
            self._expect(self._limits.header_timeout, _HEADERS)
        self.inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self.inner.eof_received()

    def pause_writing(self) -> None:
        self.inner.pause_writing()

    def resume_writing(self) -> None:
        self.inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        self._transport = None
        self.release()
        self.inner.connection_lost(exc)

    # -- what the listener and the middleware tell it --------------------------------------

    def request_started(self) -> None:
        """aiohttp has the request's headers and hands it to the application."""
        self.state = _BUSY
        self._cancel()

    def request_finished(self) -> None:
        """The application has answered; the connection waits for the next request."""
        if self._transport is None or self.state == _CLOSING:
            return
        self.state = _IDLE
        self.idle_since = asyncio.get_running_loop().time()
        self._expect(self._limits.idle_timeout, _IDLE)
        self._idle()

    def abort(self, *, reason: str) -> None:
        """Drop the connection at once."""
        if self._transport is None or self.state == _CLOSING:
            return
        self.state = _CLOSING
        self._cancel()
        peer = self._transport.get_extra_info("peername")
        log.debug("connection dropped", server=self._server, reason=reason, peer=str(peer))
        self._transport.abort()

    def release(self) -> None:
        """Count the connection as gone (once: both the handshake and the close may try)."""
        if not self._released:
            self._released = True
            self._closed(self)

    def _expect(self, timeout: float, phase: str) -> None:
        self._cancel()
        loop = asyncio.get_running_loop()
        self._deadline = loop.call_later(timeout, lambda: self.abort(reason=f"{phase} timeout"))

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


Factory = Callable[[], asyncio.Protocol]


class Listener:
    """Accepts connections for an aiohttp server within :class:`Limits`."""

    def __init__(self, *, name: str, limits: Limits, ssl_context: ssl.SSLContext | None) -> None:
        """Args:
        name: the server's name in logs.
        limits: the cap and the timeouts.
        ssl_context: complete a TLS handshake on each connection with this context.
        """
        self._name = name
        self._limits = limits
        self._ssl_context = ssl_context
        #: Connections open or in their handshake.
        self._count = 0
        #: Open connections (past their handshake) by aiohttp's protocol.
        self._open: dict[asyncio.BaseProtocol, _Connection] = {}
        #: Set when a connection closes or turns idle: a client waiting for room may get some.
        self._changed = anyio.Event()

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Tells the request's connection when its handling starts and ends (an aiohttp
        middleware: add it to the application before it is frozen)."""
        connection = self._open.get(request.protocol)
        if connection is None:
            return await handler(request)
        connection.request_started()
        try:
            return await handler(request)
        finally:
            connection.request_finished()

    async def run(
        self,
        sock: socket.socket,
        factory: Factory,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
    ) -> None:
        """Accept on the listening socket ``sock`` until cancelled; ``factory`` makes the
        protocol of each connection (aiohttp's ``web.Server``)."""
        sock.setblocking(False)
        async with anyio.create_task_group() as handshakes:
            task_status.started()
            while True:
                client = await self._accept(sock)
                if client is None:
                    continue
                try:
                    await self._room()
                except BaseException:
                    client.close()
                    raise
                self._count += 1
                handshakes.start_soon(self._handshake, client, factory, name="handshake")

    async def _room(self) -> None:
        """Wait until a connection can be added, closing the one idle longest to make room."""
        while self._count >= self._limits.max_connections:
            changed = self._changed = anyio.Event()
            idle = [c for c in self._open.values() if c.state == _IDLE]
            if idle:
                min(idle, key=lambda c: c.idle_since).abort(reason="closed to make room")
            await changed.wait()

    async def _accept(self, sock: socket.socket) -> socket.socket | None:
        """The next client's socket; None when accept failed and should be tried again."""
        loop = asyncio.get_running_loop()
        try:
            client, _ = await loop.sock_accept(sock)
        except ConnectionAbortedError:  # the client left before we accepted it
            return None
        except OSError as error:  # out of descriptors or memory: wait, others may be freed
            log.warning("accept failed", server=self._name, error=str(error))
            await anyio.sleep(ACCEPT_RETRY)
            return None
        return client

    async def _handshake(self, client: socket.socket, factory: Factory) -> None:
        """Wrap ``client`` in a transport and a protocol, after a TLS handshake if serving TLS."""
        loop = asyncio.get_running_loop()
        timeouts: dict[str, float] = {}
        if self._ssl_context is not None:
            timeouts = {
                "ssl_handshake_timeout": self._limits.handshake_timeout,
                "ssl_shutdown_timeout": self._limits.handshake_timeout,
            }
        connection: _Connection | None = None
        try:
            connection = _Connection(
                factory(),
                limits=self._limits,
                server=self._name,
                opened=self._opened,
                idle=self._changed_state,
                closed=self._closed,
            )
            protocol = connection
            await loop.connect_accepted_socket(
                lambda: protocol, client, ssl=self._ssl_context, **timeouts
            )
        except BaseException as error:
            client.close()  # asyncio closed its transport, if it made one
            if connection is None:
                self._gone()
            else:
                connection.release()
            if isinstance(error, OSError):
                # A client that speaks no TLS, gave up or took too long: its business.
                log.debug("handshake failed", server=self._name, error=str(error) or repr(error))
            elif isinstance(error, Exception):  # a bug: one connection lost, not the server
                log.exception("connection setup failed", server=self._name)
            else:
                raise

    def _opened(self, connection: _Connection) -> None:
        self._open[connection.inner] = connection

    def _changed_state(self) -> None:
        self._changed.set()

    def _closed(self, connection: _Connection) -> None:
        self._open.pop(connection.inner, None)
        self._gone()

    def _gone(self) -> None:
        self._count -= 1
        self._changed.set()
