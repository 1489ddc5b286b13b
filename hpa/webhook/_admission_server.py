"""The HTTPS admission server: routes reviews to handlers and answers every request well-formed.

A body that is not an AdmissionReview v1 gets a 4xx with a plain-text reason (400 malformed,
408 not sent within the body timeout, 413 too large, 415 not JSON, 404/405 from the router);
everything else gets HTTP 200 and an AdmissionReview echoing the request's uid — a denial when
the handler denies, cannot read the object (code 400) or fails (code 500, logged once here). No
request gets an HTTP 500.

Each request to a path is counted here once, by path and HTTP status (controller-runtime's
webhook metrics); each review once more, by resource and verdict (hpa's).
"""

import ssl
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Final

import anyio
import anyio.abc
import structlog
from aiohttp import web

from hpa import api, serving
from hpa.webhook import _admission_metrics as metrics
from hpa.webhook import _decoding as decoding
from hpa.webhook import _handling as handling
from hpa.webhook import _podmutation as podmutation
from hpa.webhook import _podvalidation as podvalidation
from hpa.webhook import _readers as readers
from hpa.webhook import _resource_validation as resource_validation
from hpa.webhook import _responses as responses
from hpa.webhook import _review_errors as errors
from hpa.webhook import _reviews as reviews
from hpa.webhook import _writers as writers

log = structlog.get_logger(__name__)

# Metric labels take these values only (anything else counts as "other"), so that requests
# with made-up resources cannot grow the number of time series without bound.
_OPERATIONS: Final = frozenset((reviews.CREATE, reviews.UPDATE, reviews.DELETE, reviews.CONNECT))
_RESOURCES: Final = frozenset(
    (
        "pods",
        "pods/ephemeralcontainers",
        api.PLURAL_CLASS,
        api.PLURAL_CLAIM,
        api.PLURAL_HOSTPORT,
    )
)
# The error counts exist at 0 from the start, so that rate() sees the first error too.
for _resource in (*_RESOURCES, "other"):
    for _code in ("400", "500"):
        metrics.ERRORS.labels(resource=_resource, code=_code)


class AdmissionServer:
    """Serves admission reviews over HTTPS, one handler per path."""

    def __init__(
        self,
        *,
        handlers: Mapping[str, handling.Handler],
        ssl_context: ssl.SSLContext | None,
        host: str = "0.0.0.0",
        port: int = api.WEBHOOK_PORT,
        shutdown_timeout: float = 30.0,
        limits: serving.Limits = serving.DEFAULT_LIMITS,
    ) -> None:
        """Args:
        handlers: URL path → handler, e.g. ``{api.PATH_MUTATE_PODS: PodMutator(...)}``.
        ssl_context: the server's TLS context (None serves plain HTTP, for tests only: the
            API server calls webhooks over HTTPS only).
        host: the address to bind.
        port: the port to bind; 0 picks a free one.
        shutdown_timeout: how long in-flight reviews may take once the server is stopped.
        limits: the cap on connections, and how long a client may take over the handshake,
            the headers, the body and between requests.
        """
        self._handlers = dict(handlers)
        self._ssl_context = ssl_context
        self._host = host
        self._port = port
        self._shutdown_timeout = shutdown_timeout
        self._limits = limits

    def app(self) -> web.Application:
        """The aiohttp application (also what tests drive with aiohttp's test client)."""
        # aiohttp refuses larger bodies with 413 while reading, chunked or not.
        app = web.Application(client_max_size=decoding.MAX_BODY_BYTES)
        for path, handler in self._handlers.items():
            endpoint = _endpoint(handler, body_timeout=self._limits.body_timeout)
            app.router.add_post(path, _instrumented(path, endpoint))
        return app

    async def run(
        self, *, task_status: anyio.abc.TaskStatus[int] = anyio.TASK_STATUS_IGNORED
    ) -> None:
        """Serve until cancelled, then finish in-flight reviews; reports the bound port."""
        await serving.serve(
            self.app(),
            name="admission",
            host=self._host,
            port=self._port,
            ssl_context=self._ssl_context,
            shutdown_timeout=self._shutdown_timeout,
            limits=self._limits,
            task_status=task_status,
        )


Endpoint = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _instrumented(path: str, endpoint: Endpoint) -> Endpoint:
    """``endpoint``, counted in controller-runtime's webhook metrics under ``path``."""
    in_flight = metrics.WEBHOOK_IN_FLIGHT.labels(path)
    latency = metrics.WEBHOOK_LATENCY.labels(path)

    async def instrumented(request: web.Request) -> web.StreamResponse:
        in_flight.inc()
        started = time.perf_counter()
        code = 500  # what aiohttp answers should the endpoint raise
        try:
            response = await endpoint(request)
            code = response.status
            return response
        finally:
            in_flight.dec()
            latency.observe(time.perf_counter() - started)
            metrics.WEBHOOK_REQUESTS.labels(path, str(code)).inc()

    return instrumented


def _endpoint(handler: handling.Handler, *, body_timeout: float) -> Endpoint:
    async def endpoint(request: web.Request) -> web.StreamResponse:
        if request.content_type != decoding.CONTENT_TYPE:
            metrics.MALFORMED.inc()
            return web.Response(status=415, text=f"Content-Type must be {decoding.CONTENT_TYPE}\n")
        try:
            with anyio.fail_after(body_timeout):
                body = await request.read()
        except TimeoutError:
            metrics.MALFORMED.inc()
            log.info("request body timed out", path=request.path, timeout=body_timeout)
            text = f"the body was not received within {body_timeout:g} s\n"
            return await serving.answer_and_close(request, web.Response(status=408, text=text))
        except web.RequestPayloadError as exc:  # e.g. a Content-Encoding it is not in
            metrics.MALFORMED.inc()
            text = f"the body cannot be read: {exc}\n"
            return await serving.answer_and_close(request, web.Response(status=400, text=text))
        except ConnectionError:
            # The client went away (an API server that gave up, a dropped connection). Handled
            # here, aiohttp would log it as a failed request with its traceback. The answer
            # reaches no one: aiohttp drops it quietly.
            log.info("client left before sending the body", path=request.path)
            return web.Response(status=400, text="the connection was lost\n")
        try:
            review = decoding.decode_review(body)
        except errors.MalformedReview as exc:
            metrics.MALFORMED.inc()
            return web.Response(status=400, text=f"{exc}\n")
        answer = await review_with(handler, review)
        return web.Response(body=answer, content_type=decoding.CONTENT_TYPE)

    return endpoint


async def review_with(handler: handling.Handler, request: reviews.AdmissionRequest) -> bytes:
    """The encoded AdmissionReview answering ``request``; never raises for a handler's failure."""
    resource = request.resource.resource
    if request.sub_resource:
        resource = f"{resource}/{request.sub_resource}"
    operation = request.operation if request.operation in _OPERATIONS else "other"
    metric_resource = resource if resource in _RESOURCES else "other"
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(
        uid=request.uid,
        operation=request.operation,
        resource=resource,
        namespace=request.namespace,
        name=request.name,
        user=request.user_info.username,
    ):
        try:
            response = await handler(request)
        except errors.BadObject as exc:
            metrics.ERRORS.labels(resource=metric_resource, code="400").inc()
            response = responses.denied(str(exc), code=400, reason=responses.REASON_BAD_REQUEST)
        except Exception:
            metrics.ERRORS.labels(resource=metric_resource, code="500").inc()
            log.exception("admission handler failed")
            response = responses.denied(
                "hpa failed to review this request; see the logs of hpa",
                code=500,
                reason=responses.REASON_INTERNAL,
            )
        if response.allowed:
            log.debug("admission allowed", patched=response.patch is not None)
        else:
            message = response.status.message if response.status else ""
            log.info("admission denied", message=message)
    metrics.DURATION.labels(resource=metric_resource).observe(time.perf_counter() - started)
    metrics.REQUESTS.labels(
        operation=operation, resource=metric_resource, allowed=str(response.allowed).lower()
    ).inc()
    return responses.encode_review(request.uid, response)


def handlers(
    *,
    claims: readers.ClaimReader,
    namespaces: readers.NamespaceReader,
    classes: readers.ClassReader,
    quotas: readers.QuotaReader | None = None,
    pods_using: readers.PodReader | None = None,
    provisioner: writers.ClaimProvisioner | None = None,
    namespace_selector: api.LabelSelector = api.DEFAULT_NAMESPACE_SELECTOR,
    allow_host_network: bool = False,
) -> dict[str, handling.Handler]:
    """hpa's three handlers at their conventional paths, ready for :class:`AdmissionServer`."""
    return {
        api.PATH_MUTATE_PODS: podmutation.PodMutator(
            claims=claims,
            namespaces=namespaces,
            namespace_selector=namespace_selector,
            provisioner=provisioner,
            classes=classes,
            pods_using=pods_using,
        ),
        api.PATH_VALIDATE_PODS: podvalidation.PodValidator(
            claims=claims,
            namespaces=namespaces,
            namespace_selector=namespace_selector,
            allow_host_network=allow_host_network,
        ),
        api.PATH_VALIDATE_RESOURCES: resource_validation.ResourceValidator(
            classes=classes, quotas=quotas, claims=claims
        ),
    }
