"""Random, mutated, undecodable, huge and stalled requests thrown at the admission server.

The server is the real one (``AdmissionServer.run``: its listener, its limits and TLS) on a free
port of 127.0.0.1, run once per module in an event loop of its own thread (an anyio blocking
portal), so that its timers run on time while hypothesis drives the clients synchronously. Its
limits are a fraction of a second, so stalled clients cost little time.

Every answer must be well-formed: a 4xx, or HTTP 200 with an AdmissionReview echoing the uid;
never a 5xx. Every connection must be closed by the server once the part of the request it
stalled in is out of time.
"""

import asyncio
import copy
import dataclasses
import io
import json
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import aiohttp
import anyio
import anyio.from_thread
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hpa import api, serving, webhook
from tests.unit.webhook import support

PATHS = (api.PATH_MUTATE_PODS, api.PATH_VALIDATE_PODS, api.PATH_VALIDATE_RESOURCES)

#: Short, for stalled clients to cost little time, yet many times what a whole request takes
#: here (a 7 MiB body is read in some 30 ms); room for every stalled client of an example.
LIMITS = serving.Limits(
    handshake_timeout=0.2,
    header_timeout=0.3,
    body_timeout=0.5,
    idle_timeout=0.4,
    max_connections=1000,
)
#: How much later than its timeout a connection may be closed on a busy machine.
SLACK = 3.0

_T = TypeVar("_T")


@dataclasses.dataclass
class Served:
    """The running server, and how to reach it from the test's thread."""

    portal: anyio.from_thread.BlockingPortal
    port: int
    client_tls: ssl.SSLContext

    def run(self, fn: Callable[[], Awaitable[_T]]) -> _T:
        """``fn()`` run in the server's event loop."""
        return self.portal.call(fn)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """The admission server, over a cluster with one bound claim and a class, served over TLS."""
    cluster = support.managed_cluster()
    cluster.add_claim("echo-web", port=9000)
    cluster.add_class("games", (9400, 9600))
    tls, client_tls = support.serving_tls()
    server = support.admission_server(cluster, ssl_context=tls.context, limits=LIMITS)
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(support.running(server)) as port,
    ):
        yield Served(portal, port, client_tls)


FUZZ = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# -- bodies -----------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)


def _bases() -> list[dict[str, Any]]:
    pod = support.quickstart_pod()
    pod["spec"]["containers"][0]["ports"][0]["hostPort"] = 9000
    pool_class = {"metadata": {"name": "c"}, "spec": {"pools": [{"start": 9000, "end": 9500}]}}
    return [
        support.review_body(pod),
        support.review_body(pod, operation="UPDATE", old=support.quickstart_pod()),
        support.review_body(pod, operation="UPDATE", old=pod, sub_resource="ephemeralcontainers"),
        support.review_body(pool_class, group=api.GROUP, resource=api.PLURAL_CLASS),
        support.review_body(
            {"metadata": {"name": "port-1"}, "spec": {"port": 1, "hostPortClassName": "x"}},
            group=api.GROUP,
            resource=api.PLURAL_HOSTPORT,
            operation="UPDATE",
            old={"metadata": {"name": "port-1"}, "spec": {"port": 1}},
        ),
        support.review_body(
            {"spec": {"hostPortClassName": "x"}},
            group=api.GROUP,
            resource=api.PLURAL_CLAIM,
        ),
    ]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from _paths(child, (*prefix, key))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from _paths(child, (*prefix, index))


@st.composite
def mutated_reviews(draw: st.DrawFn) -> Any:
    """A realistic review with a few values replaced or removed."""
    review = copy.deepcopy(draw(st.sampled_from(_bases())))
    for _ in range(draw(st.integers(1, 4))):
        paths = [p for p in _paths(review) if p]
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent = review
        for token in path[:-1]:
            parent = parent[token]
        if isinstance(parent, dict) and draw(st.booleans()):
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(json_values)
    return review


#: Byte sequences that are not UTF-8: a lone continuation byte, a truncated sequence, an overlong
#: encoding, a surrogate, a code point past U+10FFFF, bytes UTF-8 never uses.
INVALID_UTF8 = [b"\x80", b"\xc3", b"\xe2\x82", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"]
INVALID_UTF8 += [b"\xff", b"\xfe\xff"]


@dataclasses.dataclass(frozen=True)
class Body:
    """A request body, and the uid a 200 must echo (None when it holds no review)."""

    data: bytes
    uid: str | None = None


def _review(review: Any) -> Body:
    request = review.get("request") if isinstance(review, dict) else None
    uid = request.get("uid") if isinstance(request, dict) else None
    return Body(json.dumps(review).encode(), uid if isinstance(uid, str) else None)


@st.composite
def invalid_encodings(draw: st.DrawFn) -> Body:
    """A review with bytes that are not UTF-8 put somewhere in it, inside a string or not."""
    body = _review(draw(mutated_reviews()))
    strings = [m.end() - 1 for m in re.finditer(rb'"[^"\\]*"', body.data)]
    at = draw(st.sampled_from(strings) if strings else st.integers(0, len(body.data)))
    bad = draw(st.sampled_from(INVALID_UTF8))
    return Body(body.data[:at] + bad + body.data[at:], body.uid)


@st.composite
def deep_nesting(draw: st.DrawFn) -> Body:
    """A review holding arrays or objects nested up to 5,000 deep: as its object, inside it,
    or in a field the decoder skips."""
    review = copy.deepcopy(draw(st.sampled_from(_bases())))
    request = review["request"]
    where = draw(st.sampled_from(["object", "oldObject", "object.spec", "future"]))
    if where == "object.spec":
        request["object"]["spec"] = "NESTED"
    else:
        request[where] = "NESTED"
    depth = draw(st.integers(500, 5000))
    opening, closing = draw(st.sampled_from([(b'{"a":', b"}"), (b"[", b"]")]))
    nested = opening * depth + b"1" + closing * depth
    return Body(json.dumps(review).encode().replace(b'"NESTED"', nested, 1), request["uid"])


bodies = (
    mutated_reviews().map(_review)
    | json_values.map(lambda v: Body(json.dumps(v).encode()))
    | st.binary(max_size=64).map(Body)
    | invalid_encodings()
    | deep_nesting()
)


def assert_well_formed(status: int, answer: bytes, body: Body) -> None:
    """A 4xx, or a 200 AdmissionReview echoing the uid (a denial with a message)."""
    assert status == 200 or 400 <= status < 500, (status, answer)
    if status == 200:
        review = json.loads(answer)
        assert review["apiVersion"] == "admission.k8s.io/v1"
        assert review["kind"] == "AdmissionReview"
        assert review["response"]["uid"] == body.uid
        assert isinstance(review["response"]["allowed"], bool)
        if not review["response"]["allowed"]:
            assert review["response"]["status"]["message"]


async def post(served: Served, path: str, data: bytes | io.BytesIO) -> tuple[int, bytes]:
    """POST ``data`` to ``path`` on a connection of its own; the status and the body."""
    headers = {"Content-Type": "application/json"}
    # One connection per request: a connection kept between examples could be closed by the
    # server's idle timeout just as the next example sends on it.
    connector = aiohttp.TCPConnector(ssl=served.client_tls, force_close=True)
    with anyio.fail_after(10):
        async with (
            aiohttp.ClientSession(connector=connector) as session,
            session.post(served.url + path, data=data, headers=headers) as answer,
        ):
            return answer.status, await answer.read()


@settings(FUZZ, max_examples=300)
@given(path=st.sampled_from(PATHS), body=bodies)
def test_every_answer_is_well_formed(served: Served, path: str, body: Body) -> None:
    """Any body gets a 4xx or a 200 AdmissionReview echoing the uid; never a 5xx or a hang."""
    status, answer = served.run(lambda: post(served, path, body.data))
    assert_well_formed(status, answer, body)


@settings(FUZZ, max_examples=6)
@given(
    path=st.sampled_from(PATHS),
    size=st.sampled_from([webhook.MAX_BODY_BYTES, webhook.MAX_BODY_BYTES + 1, 20 * 2**20]),
    padding=st.sampled_from([b" ", b"\xff"]),
)
def test_huge_bodies_are_answered(served: Served, path: str, size: int, padding: bytes) -> None:
    """A review padded to the cap is answered; past it, 413; never a 5xx."""
    body = _review(support.review_body(support.quickstart_pod()))
    data = body.data + padding * (size - len(body.data))
    status, answer = served.run(lambda: post(served, path, io.BytesIO(data)))
    if size > webhook.MAX_BODY_BYTES:
        assert status == 413, (status, answer[:200])
    else:
        assert_well_formed(status, answer, body)


# -- stalled clients --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Stall:
    """A client that sends ``data`` (over TLS, or raw bytes where TLS is expected) and then
    nothing, and how long the server may keep its connection after that."""

    tls: bool
    data: bytes
    within: float


def _request(path: str, body: bytes, *, chunked: bool, encoding: str) -> tuple[bytes, bytes]:
    """The head and the body of a POST, its body sent whole or in chunks."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: hpa-webhook.hpa.svc\r\n"
        f"Content-Type: application/json\r\nContent-Encoding: {encoding}\r\n"
    )
    if not chunked:
        return f"{head}Content-Length: {len(body)}\r\n\r\n".encode(), body
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:7], body[7:]) if c)
    return f"{head}Transfer-Encoding: chunked\r\n\r\n".encode(), chunks + b"0\r\n\r\n"


@st.composite
def stalls(draw: st.DrawFn) -> Stall:
    """A client stalled at any point: before or inside TLS, inside the headers or the body,
    or after a whole request (then idle)."""
    if draw(st.booleans()):
        hello = draw(st.binary(max_size=40) | st.just(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc"))
        return Stall(tls=False, data=hello, within=LIMITS.handshake_timeout)
    path = draw(st.sampled_from(PATHS))
    body = draw(bodies).data
    if draw(st.booleans()):
        body = draw(st.binary(max_size=30))  # in a chunked body, garbage breaks the chunking
    # A body in no encoding it claims (gzip, deflate) fails in aiohttp's reading of it.
    encoding = draw(st.sampled_from(["identity", "identity", "gzip", "deflate"]))
    head, payload = _request(path, body, chunked=draw(st.booleans()), encoding=encoding)
    data = head + payload
    cut = draw(st.integers(0, len(data)))
    if cut == 0:
        within = LIMITS.idle_timeout
    elif cut < len(head):
        within = LIMITS.header_timeout
    elif cut < len(data):
        within = LIMITS.body_timeout
    else:  # answered at once, then idle
        within = LIMITS.idle_timeout
    return Stall(tls=True, data=data[:cut], within=within)


_STATUS = re.compile(rb"HTTP/1\.[01] (\d{3}) ")


async def stall(served: Served, plan: Stall) -> tuple[float, list[int]]:
    """Play ``plan``; how long the server kept the connection, and the statuses it answered."""
    started = time.monotonic()
    tls = served.client_tls if plan.tls else None
    reader, writer = await asyncio.open_connection("127.0.0.1", served.port, ssl=tls)
    received = b""
    try:
        writer.write(plan.data)
        with anyio.fail_after(plan.within + SLACK):
            try:
                while chunk := await reader.read(65536):
                    received += chunk
            except (ConnectionError, ssl.SSLError):
                pass
    finally:
        writer.transport.abort()
    return time.monotonic() - started, [int(s) for s in _STATUS.findall(received)]


async def stall_all(served: Served, plans: list[Stall]) -> list[tuple[float, list[int]]]:
    return await asyncio.gather(*(stall(served, plan) for plan in plans))


@settings(FUZZ, max_examples=15)
@given(plans=st.lists(stalls(), min_size=1, max_size=40))
def test_no_stalled_connection_outlives_its_timeout(served: Served, plans: list[Stall]) -> None:
    """Clients stalled anywhere, many at once, are each answered without a 5xx (if at all)
    and disconnected once the part they stalled in is out of time."""
    outcomes = served.run(lambda: stall_all(served, plans))
    for plan, (elapsed, statuses) in zip(plans, outcomes, strict=True):
        assert all(s < 500 for s in statuses), (plan, statuses)
        assert elapsed <= plan.within + SLACK, (plan, elapsed)
