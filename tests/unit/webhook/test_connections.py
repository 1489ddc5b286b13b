"""Slow, stalled and surplus clients of the admission server, over TLS on loopback.

The server runs with timeouts of a fraction of a second (``LIMITS``), so that each test takes
about as long as the timeout it shows; every wait for the server is bounded by a deadline.
"""

import asyncio
import json
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import anyio
import pytest

from hpa import api, serving
from tests.unit.webhook import support

LIMITS = serving.Limits(
    handshake_timeout=0.3,
    header_timeout=0.5,
    body_timeout=0.7,
    idle_timeout=1.0,
    max_connections=50,
)
#: How much later than its timeout a connection may be dropped on a busy machine.
SLACK = 2.0

#: A review of a pod in a namespace hpa does not manage: allowed without reading anything.
REVIEW = json.dumps(support.review_body(support.quickstart_pod(), namespace="other")).encode()

Stream = tuple[asyncio.StreamReader, asyncio.StreamWriter]


def request(body: bytes, *, length: int | None = None) -> bytes:
    """A POST of ``body`` to the pod validation webhook, claiming ``length`` bytes of body."""
    length = len(body) if length is None else length
    head = (
        f"POST {api.PATH_VALIDATE_PODS} HTTP/1.1\r\nHost: hpa-webhook.hpa.svc\r\n"
        f"Content-Type: application/json\r\nContent-Length: {length}\r\n\r\n"
    )
    return head.encode() + body


async def answer(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """The status and body of the next response."""
    with anyio.fail_after(5):
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode().split("\r\n")
        headers = dict(line.split(": ", 1) for line in lines[1:] if line)
        body = await reader.readexactly(int(headers["Content-Length"]))
    return int(lines[0].split()[1]), body


async def exchange(stream: Stream, body: bytes = REVIEW) -> int:
    """Send a review on ``stream`` and read the answer; its HTTP status."""
    reader, writer = stream
    writer.write(request(body))
    await writer.drain()
    status, _ = await answer(reader)
    return status


async def dropped_after(reader: asyncio.StreamReader, *, within: float) -> float:
    """Seconds until the server closes the connection (what it sends first is read and dropped)."""
    started = time.monotonic()
    with anyio.fail_after(within):
        try:
            while await reader.read(65536):
                pass
        except (ConnectionError, ssl.SSLError):
            pass
    return time.monotonic() - started


class Clients:
    """Opens connections to the server and closes them all at the end."""

    def __init__(self, port: int, tls: ssl.SSLContext) -> None:
        self.port = port
        self.tls = tls
        self._writers: list[asyncio.StreamWriter] = []

    async def tcp(self) -> Stream:
        """A connection that never starts TLS."""
        return self._keep(await asyncio.open_connection("127.0.0.1", self.port))

    async def tls_stream(self) -> Stream:
        """A connection past its TLS handshake."""
        return self._keep(await asyncio.open_connection("127.0.0.1", self.port, ssl=self.tls))

    def _keep(self, stream: Stream) -> Stream:
        self._writers.append(stream[1])
        return stream

    def close(self) -> None:
        for writer in self._writers:
            writer.transport.abort()


async def serve(cluster: support.FakeCluster, limits: serving.Limits) -> AsyncIterator[Clients]:
    tls, client_tls = support.serving_tls()
    server = support.admission_server(cluster, ssl_context=tls.context, limits=limits)
    async with support.running(server) as port:
        clients = Clients(port, client_tls)
        try:
            yield clients
        finally:
            clients.close()


@pytest.fixture
async def clients(cluster: support.FakeCluster) -> AsyncIterator[Clients]:
    """Clients of an admission server with :data:`LIMITS`."""
    async for served in serve(cluster, LIMITS):
        yield served


async def no_tls(clients: Clients) -> asyncio.StreamReader:
    reader, _ = await clients.tcp()
    return reader


async def part_of_a_client_hello(clients: Clients) -> asyncio.StreamReader:
    reader, writer = await clients.tcp()
    writer.write(b"\x16\x03\x01\x02\x00\x01")  # a TLS record header, and no more
    return reader


async def silence_after_the_handshake(clients: Clients) -> asyncio.StreamReader:
    reader, _ = await clients.tls_stream()
    return reader


async def part_of_the_headers(clients: Clients) -> asyncio.StreamReader:
    reader, writer = await clients.tls_stream()
    writer.write(request(REVIEW)[:40])
    return reader


async def part_of_the_body(clients: Clients) -> asyncio.StreamReader:
    reader, writer = await clients.tls_stream()
    writer.write(request(REVIEW[:10], length=len(REVIEW)))
    return reader


async def silence_after_an_answer(clients: Clients) -> asyncio.StreamReader:
    stream = await clients.tls_stream()
    assert await exchange(stream) == 200
    return stream[0]


Stall = Callable[[Clients], Awaitable[asyncio.StreamReader]]


@pytest.mark.parametrize(
    ("stall", "limit"),
    [
        pytest.param(no_tls, LIMITS.handshake_timeout, id="no-tls"),
        pytest.param(part_of_a_client_hello, LIMITS.handshake_timeout, id="part-of-a-hello"),
        pytest.param(silence_after_the_handshake, LIMITS.idle_timeout, id="silent-after-tls"),
        pytest.param(part_of_the_headers, LIMITS.header_timeout, id="part-of-the-headers"),
        pytest.param(part_of_the_body, LIMITS.body_timeout, id="part-of-the-body"),
        pytest.param(silence_after_an_answer, LIMITS.idle_timeout, id="silent-after-an-answer"),
    ],
)
async def test_stalled_clients_are_dropped_after_their_timeout(
    clients: Clients, stall: Stall, limit: float
) -> None:
    """A client that stops anywhere in a connection is dropped once that part's time is up."""
    reader = await stall(clients)
    elapsed = await dropped_after(reader, within=limit + SLACK)
    assert elapsed >= limit - 0.05


async def test_a_stalled_body_is_answered_408(clients: Clients) -> None:
    """A body that does not arrive in time gets 408 (counted as malformed), then the close."""
    before = observability_counter()
    reader = await part_of_the_body(clients)
    status, body = await answer(reader)
    assert (status, body) == (408, b"the body was not received within 0.7 s\n")
    assert observability_counter() == before + 1
    await dropped_after(reader, within=SLACK)


def observability_counter() -> float:
    from hpa import observability

    return observability.REGISTRY.get_sample_value("hpa_admission_malformed_requests_total") or 0.0


async def test_headers_sent_a_byte_at_a_time_get_no_more_time(clients: Clients) -> None:
    """Trickling the headers does not stretch their timeout: it runs from the first byte."""
    reader, writer = await clients.tls_stream()
    data = request(REVIEW)

    async def trickle() -> None:
        for byte in data:
            if writer.is_closing() or reader.at_eof():
                return
            writer.write(bytes([byte]))
            await anyio.sleep(0.05)  # the client's pace, not a wait for the server

    async with anyio.create_task_group() as group:
        group.start_soon(trickle)
        elapsed = await dropped_after(reader, within=LIMITS.header_timeout + SLACK)
        group.cancel_scope.cancel()
    assert elapsed >= LIMITS.header_timeout - 0.05


async def test_a_client_beyond_the_cap_waits_for_a_free_connection(
    cluster: support.FakeCluster,
) -> None:
    """With every connection taken by clients mid-handshake, the next waits, and is served as
    soon as one of them goes."""
    limits = serving.Limits(handshake_timeout=60, max_connections=2)
    async for clients in serve(cluster, limits):
        stalled = [await clients.tcp(), await clients.tcp()]
        waiting = asyncio.ensure_future(clients.tls_stream())
        done, _ = await asyncio.wait([waiting], timeout=0.5)
        assert not done, "a third connection was let in"
        stalled[0][1].transport.abort()
        with anyio.fail_after(5):
            stream = await waiting
        assert await exchange(stream) == 200


async def test_the_longest_idle_connection_makes_room_at_the_cap(
    cluster: support.FakeCluster,
) -> None:
    """At the cap, a new client is served and the connection idle longest is closed for it."""
    limits = serving.Limits(idle_timeout=60, max_connections=2)
    async for clients in serve(cluster, limits):
        first, second = await clients.tls_stream(), await clients.tls_stream()
        assert await exchange(first) == 200
        assert await exchange(second) == 200
        with anyio.fail_after(5):
            third = await clients.tls_stream()
        assert await exchange(third) == 200
        await dropped_after(first[0], within=SLACK)
        assert await exchange(second) == 200
