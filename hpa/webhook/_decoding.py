"""HTTP decoding of AdmissionReviews, apart from any handler (CR ``admission/http.go``).

The body is read with a cap, checked to be UTF-8 JSON, decoded into
:class:`reviews.AdmissionRequest` and checked for what every answer needs (``apiVersion``,
``kind`` and a ``uid`` to echo) and for what makes it the review of an object: an operation, a
resource, and ``object``/``oldObject`` that are JSON objects, present where the operation has
them (CREATE and UPDATE carry ``object``, UPDATE carries ``oldObject`` too). A body that fails any
of these is a :class:`errors.MalformedReview` (HTTP 400): it cannot come from a conforming API
server, so there is no user to show a denial to, and a handler given it could only guess (until
these checks, the resource webhook allowed a review with no object at all).

msgspec reports two kinds of bad input with other exceptions than ``DecodeError``: invalid UTF-8
inside a string it decodes (``UnicodeDecodeError``), and nesting deeper than the interpreter's
recursion limit (``RecursionError``: its decoder recurses, guarded like any C extension). Every
decode of request JSON goes through :func:`decode_json`, which turns both into ``DecodeError``,
so that no caller can forget one and answer a client's mistake with a 500.
"""

from typing import Final, TypeVar

import msgspec

from hpa.webhook import _review_errors as errors
from hpa.webhook import _reviews as reviews

#: Largest request body accepted. kube-apiserver refuses request bodies over 3 MiB, so an object
#: is at most 3 MiB of JSON; a review of an UPDATE carries ``object`` and ``oldObject`` (6 MiB),
#: plus the envelope and userInfo. 7 MiB (the limit controller-runtime chose by the same
#: reasoning) therefore admits every review a real API server can send and bounds the memory one
#: request may take.
MAX_BODY_BYTES: Final = 7 * 1024 * 1024

CONTENT_TYPE: Final = "application/json"

_T = TypeVar("_T")


def decode_json(data: bytes | msgspec.Raw, type_: type[_T]) -> _T:
    """``data``, JSON, decoded as ``type_``.

    Raises:
        msgspec.DecodeError: ``data`` is not the JSON of a ``type_``, holds a string that is not
            UTF-8, or is nested deeper than the decoder can follow (about 1,000 levels, less
            the depth of the caller's stack; no Kubernetes object comes near).
    """
    try:
        return msgspec.json.decode(data, type=type_)
    except UnicodeDecodeError as exc:
        raise msgspec.DecodeError(f"JSON holds a string that is not UTF-8: {exc.reason}") from exc
    except RecursionError as exc:
        raise msgspec.DecodeError("JSON is nested too deeply") from exc


def decode_review(body: bytes) -> reviews.AdmissionRequest:
    """The request of an AdmissionReview v1.

    Args:
        body: the HTTP request body.

    Returns:
        The review's ``request``.

    Raises:
        MalformedReview: the body is not UTF-8 JSON, not an ``admission.k8s.io/v1`` AdmissionReview,
            has no request or uid, or is not the review of an object (see the module's doc).
    """
    if len(body) > MAX_BODY_BYTES:
        raise errors.MalformedReview(f"body is larger than {MAX_BODY_BYTES} bytes")
    # JSON between systems is UTF-8 (RFC 8259, section 8.1). msgspec checks only the strings it
    # decodes, not those it skips (unknown fields) or keeps raw (object, oldObject), which the
    # handlers would then meet; checking the whole body here costs ~0.5 ms for 7 MiB.
    try:
        str(body, "utf-8")
    except UnicodeDecodeError as exc:
        raise errors.MalformedReview(
            f"body is not UTF-8: {exc.reason} at byte {exc.start}"
        ) from exc
    try:
        review = decode_json(body, reviews.AdmissionReviewRequest)
    except msgspec.DecodeError as exc:
        raise errors.MalformedReview(f"body is not an AdmissionReview: {exc}") from exc
    if review.api_version != reviews.API_VERSION or review.kind != reviews.KIND:
        raise errors.MalformedReview(
            f"expected apiVersion {reviews.API_VERSION} and kind {reviews.KIND}, "
            f"got apiVersion {review.api_version!r} and kind {review.kind!r}"
        )
    if review.request is None:
        raise errors.MalformedReview("AdmissionReview has no request")
    _check_request(review.request)
    return review.request


#: What a JSON value is, by its first byte (msgspec keeps a raw value without whitespace).
_JSON_KINDS: Final = {b"{": "an object", b"[": "an array", b'"': "a string", b"n": "null"}


def _json_kind(raw: msgspec.Raw) -> str:
    first = memoryview(raw)[:1].tobytes()
    return _JSON_KINDS.get(first, "a boolean" if first in (b"t", b"f") else "a number")


def _check_request(request: reviews.AdmissionRequest) -> None:
    """``request`` has a uid to echo and is the review of an object, as API servers send it."""
    if not request.uid:
        raise errors.MalformedReview("AdmissionReview request has no uid")
    if not request.operation:
        raise errors.MalformedReview("request.operation is required")
    if not request.resource.resource:
        raise errors.MalformedReview("request.resource is required")
    present = {}
    for field, raw in (("object", request.object), ("oldObject", request.old_object)):
        kind = _json_kind(raw)
        if kind not in ("an object", "null"):
            raise errors.MalformedReview(
                f"request.{field} must be a JSON object or null, got {kind}"
            )
        present[field] = kind == "an object"
    if request.operation in (reviews.CREATE, reviews.UPDATE) and not present["object"]:
        raise errors.MalformedReview(f"request.object is required on {request.operation}")
    if request.operation == reviews.UPDATE and not present["oldObject"]:
        raise errors.MalformedReview("request.oldObject is required on UPDATE")
