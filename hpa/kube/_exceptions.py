"""Typed errors of every call to the API server.

kr8s and httpx errors are wrapped here, at the boundary, and chained with ``from``: the code
above ``hpa.kube`` decides by type (retry, re-list, give up) and never sees a third-party
exception or a bare status code. Status codes map as kube-apiserver documents them (API
conventions, "HTTP Status codes")::

    KubeError                 any failed call
    ├── NotFound              404: the object (or its namespace) does not exist
    ├── AlreadyExists         409, reason AlreadyExists: a create found the name taken
    ├── Conflict              409 otherwise: a precondition (resourceVersion, uid) or a test failed
    ├── Invalid               400, 422: the body or patch was refused; retrying won't help
    ├── Forbidden             403: RBAC refuses the verb
    ├── Unauthorized          401: the credentials are not accepted
    ├── Gone                  410: a list/watch resourceVersion is too old; re-list (also a 504
    │                         whose cause is ResourceVersionTooLarge: one this server has not
    │                         seen yet, e.g. behind another replica; client-go re-lists too)
    └── Retryable             429, 5xx, transport errors and timeouts; ``retry_after`` in seconds

``Retryable`` is the only type worth retrying as is; ``Conflict`` is worth retrying after
re-reading the object.
"""

from typing import Final

import msgspec


class Cause(msgspec.Struct, frozen=True, kw_only=True):
    """One ``details.causes[]`` entry of a ``metav1.Status``."""

    reason: str = ""
    message: str = ""


class Details(msgspec.Struct, frozen=True, kw_only=True):
    """The ``details`` of a ``metav1.Status``, as far as hpa reads them."""

    causes: tuple[Cause, ...] = ()


class Status(msgspec.Struct, frozen=True, kw_only=True):
    """The part of a ``metav1.Status`` body that hpa reads."""

    status: str = ""
    message: str = ""
    reason: str = ""
    code: int = 0
    details: Details = Details()


#: The cause kube-apiserver gives for a resourceVersion newer than its watch cache has.
TOO_LARGE_RESOURCE_VERSION: Final = "ResourceVersionTooLarge"


class KubeError(Exception):
    """A call to the API server failed.

    Attributes:
        status: the HTTP status code, 0 when no response was received.
        reason: the ``reason`` of the ``metav1.Status`` body, if any.
    """

    def __init__(self, message: str, *, status: int = 0, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason


class NotFound(KubeError):
    """404: the object does not exist."""


class AlreadyExists(KubeError):
    """409 AlreadyExists: a create found the name taken."""


class Conflict(KubeError):
    """409: a precondition or a JSON patch ``test`` failed; re-read and try again."""


class Invalid(KubeError):
    """400 or 422: the request was refused as malformed or invalid."""


class Forbidden(KubeError):
    """403: not allowed."""


class Unauthorized(KubeError):
    """401: credentials refused."""


class Gone(KubeError):
    """410: the resourceVersion is too old for a watch or a list continuation; re-list."""


class Retryable(KubeError):
    """429, 5xx, a transport error or a timeout: the same call may succeed later.

    Attributes:
        retry_after: seconds the server asked to wait (``Retry-After``), if it said.
    """

    def __init__(
        self, message: str, *, status: int = 0, reason: str = "", retry_after: float | None = None
    ) -> None:
        super().__init__(message, status=status, reason=reason)
        self.retry_after = retry_after


_STATUS_DECODER = msgspec.json.Decoder(Status)


def error_from_response(*, status: int, body: bytes, retry_after: str | None = None) -> KubeError:
    """The typed error for a failed response.

    Args:
        status: the HTTP status code (>= 400).
        body: the response body, a ``metav1.Status`` if the server followed the conventions.
        retry_after: the ``Retry-After`` header, if any.
    """
    try:
        parsed = _STATUS_DECODER.decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError):
        parsed = Status(message=body[:200].decode(errors="replace"))
    return error_from_status(parsed, http_status=status, retry_after=retry_after)


def error_from_status(
    parsed: Status, *, http_status: int = 0, retry_after: str | None = None
) -> KubeError:
    """The typed error for a ``metav1.Status`` (also the object of a watch ERROR event)."""
    code = http_status or parsed.code
    message = parsed.message or f"HTTP {code}"
    error_type: type[KubeError] = Retryable
    if code == 404:
        error_type = NotFound
    elif code == 409:
        error_type = AlreadyExists if parsed.reason == "AlreadyExists" else Conflict
    elif code in (400, 422):
        error_type = Invalid
    elif code == 401:
        error_type = Unauthorized
    elif code == 403:
        error_type = Forbidden
    elif code == 410 or parsed.reason in ("Expired", "Gone") or _too_large(parsed):
        error_type = Gone
    else:
        return Retryable(
            message, status=code, reason=parsed.reason, retry_after=_seconds(retry_after)
        )
    return error_type(message, status=code, reason=parsed.reason)


def _too_large(parsed: Status) -> bool:
    """A resourceVersion this API server has not reached: list again from scratch."""
    return any(c.reason == TOO_LARGE_RESOURCE_VERSION for c in parsed.details.causes) or (
        parsed.message.startswith("Too large resource version")
    )


def _seconds(header: str | None) -> float | None:
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        return None
