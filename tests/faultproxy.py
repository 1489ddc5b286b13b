"""A fault-injecting reverse proxy between an operator under test and kube-apiserver.

kube-apiserver cannot be asked to fail a request, drop its watches or forget its event history,
so tests put this proxy at the transport seam instead: the operator's kubeconfig names the
proxy (plain HTTP on 127.0.0.1), and the proxy forwards every request to kube-apiserver with
the operator's own ``Authorization`` header, so the real authorizer still checks each call.
It serves in the test's event loop (aiohttp). Rules are those of the sandbox's faults:

- :meth:`FaultProxy.fail`: answer the next ``times`` requests of a verb (``get``, ``list``,
  ``watch``, ``create``, ``update``, ``patch``, ``delete``, ``deletecollection``) and resource
  (a plural, or ``plural/subresource``) with a kube ``Status`` of that code; ``None`` matches
  anything, ``times=None`` until :meth:`FaultProxy.clear`. The first matching rule wins.
- :meth:`FaultProxy.hang`: hold matching requests ``seconds``, then answer ``then_status``.
- :meth:`FaultProxy.drop_watches`: end every open watch stream, as an API server restart does.
- :meth:`FaultProxy.expire`: forget the history: a watch from any resourceVersion the proxy has
  passed so far gets a 410 ``ERROR`` event, as kube-apiserver answers a resourceVersion older
  than its watch cache; one from a LIST answered afterwards is served.

Only what passes through the proxy is affected: the test's own calls go straight to the API.
"""

import dataclasses
import json
import re
import ssl

import aiohttp
import anyio
from aiohttp import web

#: kube's reasons for the codes tests inject (``metav1.StatusReason``).
_REASONS = {
    400: "BadRequest",
    403: "Forbidden",
    404: "NotFound",
    409: "Conflict",
    410: "Expired",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}
#: Headers that describe one hop, not the message: never forwarded either way.
_HOP_HEADERS = {
    "connection",
    "keep-alive",
    "transfer-encoding",
    "content-length",
    "content-encoding",
    "accept-encoding",
    "host",
    "upgrade",
}
_RESOURCE_VERSION = re.compile(rb'"resourceVersion":"(\d+)"')


@dataclasses.dataclass
class Rule:
    """One injected fault (see the module docstring)."""

    verb: str | None
    resource: str | None
    status: int | None
    times: int | None
    delay: float = 0.0
    hits: int = 0

    def take(self, verb: str, resource: str) -> bool:
        """Whether the rule applies to the request (then counted as a hit)."""
        if self.times is not None and self.hits >= self.times:
            return False
        if self.verb not in (None, verb) or self.resource not in (None, resource):
            return False
        self.hits += 1
        return True


def classify(method: str, path: str, query: dict[str, str]) -> tuple[str, str]:
    """``(verb, resource)`` of a request, as kube's RequestInfo names them."""
    parts = path.strip("/").split("/")
    rest = parts[2:] if parts[:1] == ["api"] else parts[3:]
    if len(rest) >= 3 and rest[0] == "namespaces":
        rest = rest[2:]
    resource = "/".join(rest[:1] + rest[2:3])
    named = len(rest) > 1
    if method == "GET":
        verb = "watch" if query.get("watch") in ("true", "1") else "get" if named else "list"
    elif method == "DELETE":
        verb = "delete" if named else "deletecollection"
    else:
        verb = {"POST": "create", "PUT": "update", "PATCH": "patch"}.get(method, method.lower())
    return verb, resource


def status_body(code: int, message: str) -> bytes:
    """A kube ``Status`` for an error ``code``."""
    status = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": _REASONS.get(code, "InternalError"),
        "code": code,
    }
    return json.dumps(status).encode()


def _highest_version(data: bytes) -> int:
    """The highest resourceVersion in a body (a list's own is the highest of its items')."""
    return max((int(v) for v in _RESOURCE_VERSION.findall(data)), default=0)


class FaultProxy:
    """The proxy (an async context manager); ``url`` is where the operator connects.

    Args:
        upstream: kube-apiserver's base URL.
        ssl_context: verifies kube-apiserver's serving certificate.
    """

    def __init__(self, upstream: str, *, ssl_context: ssl.SSLContext) -> None:
        self.upstream = upstream.rstrip("/")
        self.url = ""
        self.rules: list[Rule] = []
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.ServerRunner | None = None
        self._watches: set[anyio.CancelScope] = set()
        self._seen = 0
        self._expired_through: int | None = None
        self._fresh: set[int] = set()

    async def __aenter__(self) -> "FaultProxy":
        connector = aiohttp.TCPConnector(ssl=self._ssl, limit=0)
        # Bodies pass through as they are: ask kube-apiserver for no compression.
        self._session = aiohttp.ClientSession(
            connector=connector, skip_auto_headers=("Accept-Encoding",)
        )
        self._runner = web.ServerRunner(web.Server(self._handle), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.drop_watches()
        assert self._runner is not None and self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    # -- the fault API -----------------------------------------------------------------------

    def fail(
        self, *, verb: str | None = None, resource: str | None = None, status: int = 500,
        times: int | None = 1,
    ) -> Rule:  # fmt: skip
        """Answer matching requests with ``status``."""
        rule = Rule(verb=verb, resource=resource, status=status, times=times)
        self.rules.append(rule)
        return rule

    def hang(
        self, *, verb: str | None = None, resource: str | None = None, seconds: float,
        times: int | None = 1, then_status: int | None = 504,
    ) -> Rule:  # fmt: skip
        """Hold matching requests ``seconds``, then answer ``then_status`` (None: forward)."""
        rule = Rule(verb=verb, resource=resource, status=then_status, times=times, delay=seconds)
        self.rules.append(rule)
        return rule

    def clear(self) -> None:
        """Remove every rule."""
        self.rules.clear()

    def drop_watches(self) -> None:
        """End every open watch stream."""
        for scope in self._watches:
            scope.cancel()

    def expire(self) -> None:
        """Make every resourceVersion passed so far too old to watch from."""
        self._expired_through = self._seen
        self._fresh.clear()

    # -- forwarding --------------------------------------------------------------------------

    def _note(self, data: bytes, *, listed: bool = False) -> None:
        version = _highest_version(data)
        self._seen = max(self._seen, version)
        if listed and self._expired_through is not None:
            self._fresh.add(version)

    def _expired(self, query: dict[str, str]) -> bool:
        version = query.get("resourceVersion", "")
        if self._expired_through is None or not version.isdigit() or version == "0":
            return False
        return int(version) <= self._expired_through and int(version) not in self._fresh

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        query = dict(request.query)
        verb, resource = classify(request.method, request.path, query)
        rule = next((r for r in self.rules if r.take(verb, resource)), None)
        if rule is not None:
            await anyio.sleep(rule.delay)
            if rule.status is not None:
                return self._error(rule.status, f"injected {rule.status} for {verb} {resource}")
        if verb == "watch" and self._expired(query):
            return await self._expired_watch(request, query["resourceVersion"])
        return await self._forward(request, watch=verb == "watch", listed=verb == "list")

    @staticmethod
    def _error(code: int, message: str) -> web.Response:
        headers = {"Retry-After": "1"} if code == 429 else {}
        return web.Response(
            status=code,
            body=status_body(code, message),
            content_type="application/json",
            headers=headers,
        )

    async def _expired_watch(self, request: web.BaseRequest, version: str) -> web.StreamResponse:
        status = json.loads(status_body(410, f"too old resource version: {version} (injected)"))
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        await response.write(json.dumps({"type": "ERROR", "object": status}).encode() + b"\n")
        await response.write_eof()
        return response

    async def _forward(
        self, request: web.BaseRequest, *, watch: bool, listed: bool
    ) -> web.StreamResponse:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        timeout = aiohttp.ClientTimeout(total=None if watch else 60, sock_connect=10)
        async with self._session.request(
            request.method,
            self.upstream + request.rel_url.path_qs,
            headers=headers,
            data=await request.read() if request.can_read_body else None,
            timeout=timeout,
        ) as upstream:
            kept = {k: v for k, v in upstream.headers.items() if k.lower() not in _HOP_HEADERS}
            if not watch or upstream.status != 200:
                body = await upstream.read()
                self._note(body, listed=listed and upstream.status == 200)
                return web.Response(status=upstream.status, body=body, headers=kept)
            response = web.StreamResponse(status=upstream.status, headers=kept)
            await response.prepare(request)
            scope = anyio.CancelScope()
            self._watches.add(scope)
            try:
                with scope:
                    async for chunk in upstream.content.iter_any():
                        self._note(chunk)
                        await response.write(chunk)
                await response.write_eof()
            except (aiohttp.ClientError, OSError):
                pass  # one side went away: so does the stream
            finally:
                self._watches.discard(scope)
            return response
