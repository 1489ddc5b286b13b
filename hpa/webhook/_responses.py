"""Builders of admission responses: allow, deny, patch (CR ``admission/response.go``).

Handlers return an :class:`reviews.AdmissionResponse` without ``uid``; the server fills it in
from the request (:func:`encode_review`), so no handler can echo the wrong one.
"""

from collections.abc import Iterable, Sequence
from typing import Final

import msgspec

from hpa.webhook import _patching as patching
from hpa.webhook import _reviews as reviews

REASON_FORBIDDEN: Final = "Forbidden"
REASON_INVALID: Final = "Invalid"
REASON_BAD_REQUEST: Final = "BadRequest"
REASON_INTERNAL: Final = "InternalError"


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """One reason to deny: the field at fault and what to do about it."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


def allowed(*, warnings: Iterable[str] = ()) -> reviews.AdmissionResponse:
    """Allow the request unchanged."""
    return reviews.AdmissionResponse(allowed=True, warnings=tuple(warnings))


def denied(
    message: str,
    *,
    code: int = 403,
    reason: str = REASON_FORBIDDEN,
    problems: Sequence[Problem] = (),
    warnings: Iterable[str] = (),
) -> reviews.AdmissionResponse:
    """Deny the request; ``message`` is what the user reads in kubectl's error."""
    details = None
    if problems:
        causes = tuple(
            reviews.StatusCause(reason="FieldValueInvalid", message=p.message, field=p.field)
            for p in problems
        )
        details = reviews.StatusDetails(causes=causes)
    status = reviews.Status(code=code, message=message, reason=reason, details=details)
    return reviews.AdmissionResponse(allowed=False, status=status, warnings=tuple(warnings))


def denied_for(
    problems: Sequence[Problem],
    *,
    code: int = 403,
    reason: str = REASON_FORBIDDEN,
    warnings: Iterable[str] = (),
) -> reviews.AdmissionResponse:
    """Deny the request for every problem found, all named in one message."""
    message = "; ".join(str(p) for p in problems)
    return denied(message, code=code, reason=reason, problems=problems, warnings=warnings)


def patched(
    operations: list[patching.Operation], *, warnings: Iterable[str] = ()
) -> reviews.AdmissionResponse:
    """Allow the request with a JSON patch applied (allow unchanged if there is none)."""
    if not operations:
        return allowed(warnings=warnings)
    return reviews.AdmissionResponse(
        allowed=True,
        patch=patching.encode(operations),
        patch_type=reviews.PATCH_TYPE_JSON,
        warnings=tuple(warnings),
    )


_encoder: Final = msgspec.json.Encoder()


def encode_review(uid: str, response: reviews.AdmissionResponse) -> bytes:
    """The AdmissionReview answering the request ``uid``, as JSON."""
    response = msgspec.structs.replace(response, uid=uid)
    review = reviews.AdmissionReviewResponse(
        api_version=reviews.API_VERSION, kind=reviews.KIND, response=response
    )
    return _encoder.encode(review)
