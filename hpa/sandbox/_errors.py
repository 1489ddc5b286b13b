"""API errors as kube-apiserver spells them: a ``Status`` body with a reason and a code.

Every failure a handler can report is an :class:`ApiError`; the server turns it into the
``meta/v1 Status`` object clients (kubectl, client-go, kr8s) decode. The builders below copy
kube-apiserver's messages (``k8s.io/apimachinery/pkg/api/errors``) so that clients which match
on reason or message behave as they do against a real cluster.

    ApiError
     └─ carries code, reason, message, details
"""

from typing import Any

JSON = dict[str, Any]


class ApiError(Exception):
    """A request failed; :meth:`status` is the body to answer with."""

    def __init__(
        self, code: int, reason: str, message: str, *, details: JSON | None = None
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self) -> JSON:
        """The ``Status`` object for this error."""
        body: JSON = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details is not None:
            body["details"] = self.details
        return body


def _details(group: str, kind: str, name: str) -> JSON:
    details: JSON = {"name": name, "kind": kind}
    if group:
        details["group"] = group
    return details


def qualified(resource: str, group: str) -> str:
    """``plural.group`` (or ``plural`` for the core group), as messages name a resource."""
    return f"{resource}.{group}" if group else resource


def not_found(*, group: str, resource: str, name: str) -> ApiError:
    """404 for a missing object."""
    return ApiError(
        404,
        "NotFound",
        f'{qualified(resource, group)} "{name}" not found',
        details=_details(group, resource, name),
    )


def already_exists(*, group: str, resource: str, name: str) -> ApiError:
    """409 AlreadyExists for a create whose name is taken."""
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(resource, group)} "{name}" already exists',
        details=_details(group, resource, name),
    )


def conflict(*, group: str, resource: str, name: str, detail: str | None = None) -> ApiError:
    """409 Conflict for a write with a stale resourceVersion (optimistic concurrency)."""
    why = detail or (
        "the object has been modified; please apply your changes to the latest version "
        "and try again"
    )
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(resource, group)} "{name}": {why}',
        details=_details(group, resource, name),
    )


def invalid(*, group: str, kind: str, name: str, causes: list[JSON]) -> ApiError:
    """422 Invalid with one cause per field error (``field``, ``reason``, ``message``)."""
    texts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    summary = texts[0] if len(texts) == 1 else "[" + ", ".join(texts) + "]"
    details = _details(group, kind, name)
    details["causes"] = causes
    return ApiError(
        422,
        "Invalid",
        f'{qualified(kind, group)} "{name}" is invalid: {summary}',
        details=details,
    )


def bad_request(message: str) -> ApiError:
    """400 BadRequest."""
    return ApiError(400, "BadRequest", message)


def forbidden(message: str, *, code: int = 403, details: JSON | None = None) -> ApiError:
    """403 Forbidden (or the code an admission webhook chose)."""
    return ApiError(code, "Forbidden", message, details=details)


def gone(message: str) -> ApiError:
    """410 Expired: the requested resourceVersion or continue token is out of the window."""
    return ApiError(410, "Expired", message)


def unsupported_media_type(content_type: str) -> ApiError:
    """415 for a body the resource does not accept."""
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format - accepted media types include: "
        f"application/json-patch+json, application/merge-patch+json, "
        f'application/apply-patch+yaml (got "{content_type}")',
    )


def method_not_allowed(verb: str) -> ApiError:
    """405 for a verb the resource does not serve."""
    return ApiError(
        405,
        "MethodNotAllowed",
        f"the server does not allow this method on the requested resource ({verb})",
    )


def unauthorized() -> ApiError:
    """401 for a request without the bearer token."""
    return ApiError(401, "Unauthorized", "Unauthorized")


def internal(message: str, *, code: int = 500) -> ApiError:
    """500 (or another 5xx) InternalError."""
    return ApiError(code, "InternalError", message)


def too_many_requests() -> ApiError:
    """429 TooManyRequests, as the API priority and fairness filter answers."""
    return ApiError(
        429,
        "TooManyRequests",
        "Too many requests, please try again later.",
        details={"retryAfterSeconds": 1},
    )


def field_cause(field: str, message: str, *, reason: str = "FieldValueInvalid") -> JSON:
    """One ``details.causes[]`` entry."""
    return {"reason": reason, "message": message, "field": field}
