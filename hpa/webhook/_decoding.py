"""HTTP decoding of AdmissionReviews, apart from any handler (CR ``admission/http.go``).

The body is read with a cap, checked to be JSON, decoded into :class:`reviews.AdmissionRequest`
and checked for what every answer needs: ``apiVersion``, ``kind`` and a ``uid`` to echo. A body
that fails any of these is a :class:`errors.MalformedReview` (HTTP 400): it cannot come from a
conforming API server, so there is no uid to echo and no user to show a denial to.
"""

from typing import Final

import msgspec

from hpa.webhook import _errors as errors
from hpa.webhook import _reviews as reviews

#: Largest request body accepted. kube-apiserver refuses request bodies over 3 MiB, so an object
#: is at most 3 MiB of JSON; a review of an UPDATE carries ``object`` and ``oldObject`` (6 MiB),
#: plus the envelope and userInfo. 7 MiB (the limit controller-runtime chose by the same
#: reasoning) therefore admits every review a real API server can send and bounds the memory one
#: request may take.
MAX_BODY_BYTES: Final = 7 * 1024 * 1024

CONTENT_TYPE: Final = "application/json"

_decoder: Final = msgspec.json.Decoder(reviews.AdmissionReviewRequest)


def decode_review(body: bytes) -> reviews.AdmissionRequest:
    """The request of an AdmissionReview v1.

    Args:
        body: the HTTP request body.

    Returns:
        The review's ``request``.

    Raises:
        MalformedReview: the body is not JSON, not an ``admission.k8s.io/v1`` AdmissionReview,
            or has no request or uid.
    """
    if len(body) > MAX_BODY_BYTES:
        raise errors.MalformedReview(f"body is larger than {MAX_BODY_BYTES} bytes")
    try:
        review = _decoder.decode(body)
    except msgspec.DecodeError as exc:
        raise errors.MalformedReview(f"body is not an AdmissionReview: {exc}") from exc
    if review.api_version != reviews.API_VERSION or review.kind != reviews.KIND:
        raise errors.MalformedReview(
            f"expected apiVersion {reviews.API_VERSION} and kind {reviews.KIND}, "
            f"got apiVersion {review.api_version!r} and kind {review.kind!r}"
        )
    if review.request is None:
        raise errors.MalformedReview("AdmissionReview has no request")
    if not review.request.uid:
        raise errors.MalformedReview("AdmissionReview request has no uid")
    return review.request
